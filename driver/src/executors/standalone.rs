//! `ember://host:port[,host:port...]`: executors started by standing
//! daemons. Every name is resolved to all its addresses (a docker-compose
//! service scaled to N is N executors); a backend is launched on each daemon
//! (up to `ember.executor.instances`) and attached to, all concurrently,
//! over TLS when `ember.tls.enabled`.
//!
//! The membership is not fixed at start. Every `ember.master.rescanInterval`
//! the names are resolved again and a backend is launched on each daemon
//! that has none of this application's: a daemon that was down at start, a
//! replica added by scaling the service, or a daemon that came back after
//! its executor was lost (the scheduler reports losses). This is what a
//! Spark standalone application gets when a worker joins its cluster.

use super::daemon_client::{DaemonAddress, Launch, LaunchSpec, launch, resolve};
use super::remote::{AttachRequest, attach};
use super::{AppIdentity, ExecutorId, ExecutorResources};
use crate::conf::Settings;
use crate::scheduler::EventSender;
use ember_rdd::EmberError;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// The executors that came up at start.
pub struct Started {
    pub executors: usize,
    /// Their task threads in all.
    pub cores: usize,
}

/// What launching and attaching an executor needs, shared by the start and
/// the rescans.
struct Launcher {
    spec: LaunchSpec,
    resources: ExecutorResources,
    register_timeout: Duration,
    events: EventSender,
}

/// What adding an executor on a daemon gave.
enum Added {
    Executor {
        cores: usize,
        daemon_id: String,
    },
    /// The daemon `daemon_id`, reached at another address, runs one already.
    Alias {
        daemon_id: String,
    },
}

impl Launcher {
    /// Launches a backend on `daemon`, attaches to it as executor `id` and
    /// tells the scheduler.
    async fn add_executor(&self, daemon: &DaemonAddress, id: ExecutorId) -> Result<Added, EmberError> {
        let spec = &self.spec;
        let backend = match launch(daemon, spec).await? {
            Launch::Started(backend) => backend,
            Launch::AlreadyRunning { daemon_id } => return Ok(Added::Alias { daemon_id }),
        };
        let daemon_id = backend.daemon_id.clone();
        let req = AttachRequest {
            address: backend.address.clone(),
            executor: id.clone(),
            app: spec.app.clone(),
            resources: self.resources.clone(),
            connect_timeout: spec.connect_timeout,
            register_timeout: self.register_timeout,
            token: backend.token,
            tls: daemon.tls_config(spec),
            ship_code_objects: true,
        };
        let reg = attach(req, self.events.clone()).await.inspect_err(|_| spec.release_daemon(&daemon_id))?;
        tracing::info!(%id, %daemon, backend = %reg.address, uploaded = backend.uploaded, "executor ready");
        Ok(Added::Executor { cores: reg.cores, daemon_id })
    }
}

/// Which daemon runs which of this application's executors.
#[derive(Default)]
struct Membership {
    /// Address → (executor, the daemon's `daemon_id`).
    by_daemon: HashMap<SocketAddr, (ExecutorId, String)>,
    /// Addresses found to reach another address's daemon (its `daemon_id`):
    /// covered while that daemon has an executor in `by_daemon`.
    aliases: HashMap<SocketAddr, String>,
    next_id: usize,
}

impl Membership {
    fn new_id(&mut self) -> ExecutorId {
        self.next_id += 1;
        ExecutorId(format!("exec-{}", self.next_id - 1))
    }

    /// Whether `address` has an executor of this application, or reaches a
    /// daemon that has.
    fn covers(&self, address: &SocketAddr) -> bool {
        self.by_daemon.contains_key(address)
            || self.aliases.get(address).is_some_and(|alias| self.by_daemon.values().any(|(_, d)| d == alias))
    }

    /// Records what adding an executor at `address` gave.
    fn record(&mut self, address: SocketAddr, id: ExecutorId, added: Added) -> usize {
        match added {
            Added::Executor { cores, daemon_id } => {
                self.by_daemon.insert(address, (id, daemon_id));
                cores
            }
            Added::Alias { daemon_id } => {
                self.aliases.insert(address, daemon_id);
                0
            }
        }
    }

    /// Launches on each of `daemons` concurrently and records what each
    /// gave: the executors added, and the daemons that failed.
    async fn add_executors<'d>(
        &mut self,
        launcher: &Launcher,
        daemons: &'d [DaemonAddress],
    ) -> (Started, Vec<(&'d DaemonAddress, EmberError)>) {
        let ids: Vec<ExecutorId> = daemons.iter().map(|_| self.new_id()).collect();
        let launches = daemons.iter().zip(&ids).map(|(daemon, id)| launcher.add_executor(daemon, id.clone()));
        let results = futures::future::join_all(launches).await;
        let mut started = Started { executors: 0, cores: 0 };
        let mut failures = Vec::new();
        for ((daemon, id), result) in daemons.iter().zip(ids).zip(results) {
            match result {
                Ok(added) => {
                    started.executors += usize::from(matches!(added, Added::Executor { .. }));
                    started.cores += self.record(daemon.address, id, added);
                }
                Err(e) => failures.push((daemon, e)),
            }
        }
        (started, failures)
    }

    /// Forgets the executor `lost`, so that its daemon may get another
    /// (at any of its addresses: its aliases no longer count as covered).
    fn forget(&mut self, lost: &ExecutorId, spec: &LaunchSpec) {
        self.by_daemon.retain(|_, (id, daemon_id)| {
            let keep = id != lost;
            if !keep {
                spec.release_daemon(daemon_id);
            }
            keep
        });
    }
}

/// Launches and attaches one backend per daemon; fails if none comes up.
/// Unless `ember.master.rescanInterval` is 0, keeps adding executors on
/// daemons that appear (see the module doc); `lost` reports the executors
/// the scheduler lost (present exactly when the master is rescanned).
pub async fn start(
    entries: &[String],
    settings: &Settings,
    app: AppIdentity,
    events: &EventSender,
    lost: Option<mpsc::UnboundedReceiver<ExecutorId>>,
) -> Result<Started, EmberError> {
    let connect_timeout = settings.registration_timeout.min(Duration::from_secs(5));
    let (mut daemons, unresolved) = resolve(entries, connect_timeout).await;
    match unresolved.into_iter().next() {
        // No name resolved: the error of the first.
        Some(e) if daemons.is_empty() => return Err(e),
        Some(e) => tracing::warn!(error = %e, "a master entry does not resolve now (rescans will retry it)"),
        None => {}
    }
    let limit = settings.executor_instances.unwrap_or(usize::MAX);
    daemons.truncate(limit);
    let launcher = Arc::new(Launcher {
        spec: LaunchSpec {
            app,
            secret: settings.auth_secret.as_ref().map(|s| s.expose().to_vec()),
            // 0 asks for all of each daemon's cores, as a Spark standalone
            // executor takes its worker's cores unless spark.executor.cores says.
            cores: settings.executor_cores.unwrap_or(0),
            connect_timeout,
            call_timeout: settings.network_timeout,
            tls: settings.tls.clone(),
            claimed_daemons: Default::default(),
        },
        resources: settings.executor_resources.clone(),
        register_timeout: settings.registration_timeout,
        events: events.clone(),
    });
    let mut membership = Membership::default();
    let (started, failures) = membership.add_executors(&launcher, &daemons).await;
    let mut first_error = None;
    for (daemon, e) in failures {
        // A name's other addresses (localhost's ::1 beside 127.0.0.1, when
        // the daemon listens on IPv4 only) need no warning once one served.
        if daemons.iter().any(|d| d.host == daemon.host && membership.covers(&d.address)) {
            tracing::debug!(%daemon, error = %e, "no executor at this address of a daemon's name");
        } else {
            tracing::warn!(%daemon, error = %e, "no executor on this daemon");
        }
        first_error.get_or_insert(e);
    }
    if started.executors == 0
        && let Some(e) = first_error
    {
        return Err(e);
    }
    // The scheduler reports losses only when the master is rescanned.
    if let Some(lost) = lost
        && !settings.master_rescan_interval.is_zero()
    {
        let rescan = Rescan { entries: entries.to_vec(), interval: settings.master_rescan_interval, limit };
        tokio::spawn(rescan.run(launcher, membership, lost));
    }
    Ok(started)
}

/// The periodic search for daemons without an executor of this application.
struct Rescan {
    entries: Vec<String>,
    interval: Duration,
    /// `ember.executor.instances`: never more live executors than this.
    limit: usize,
}

impl Rescan {
    /// Runs until the scheduler is gone (the context stopped).
    async fn run(
        self,
        launcher: Arc<Launcher>,
        mut membership: Membership,
        mut lost: mpsc::UnboundedReceiver<ExecutorId>,
    ) {
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                reported = lost.recv() => match reported {
                    Some(id) => membership.forget(&id, &launcher.spec),
                    None => return,
                },
                _ = tick.tick() => {
                    if launcher.events.is_closed() {
                        return;
                    }
                    self.add_missing(&launcher, &mut membership).await;
                }
            }
        }
    }

    /// Launches an executor on each daemon the names now resolve to that has
    /// none (concurrently), within the limit.
    async fn add_missing(&self, launcher: &Launcher, membership: &mut Membership) {
        let (daemons, unresolved) = resolve(&self.entries, launcher.spec.connect_timeout).await;
        for e in unresolved {
            tracing::debug!(error = %e, "a master entry does not resolve now");
        }
        let room = self.limit.saturating_sub(membership.by_daemon.len());
        let missing: Vec<DaemonAddress> =
            daemons.into_iter().filter(|d| !membership.covers(&d.address)).take(room).collect();
        let (_, failures) = membership.add_executors(launcher, &missing).await;
        // Daemons that stay down are tried at every rescan: quietly.
        for (daemon, e) in failures {
            tracing::debug!(%daemon, error = %e, "still no executor on this daemon");
        }
    }
}
