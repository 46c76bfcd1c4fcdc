//! The executor backend's gRPC service.
//!
//! `Attach` is the control stream of one application: the driver's `Hello`
//! is checked (same executable), then stage plans are decoded once per stage
//! attempt and kept, task launches are queued on the task pool, and task
//! statuses and block updates flow back, batched. When the driver's side of
//! the stream ends (the driver exited or died), the backend shuts down.
//! `FetchShuffle` serves this backend's map outputs to reducers elsewhere.

use crate::block_manager::BlockUpdate;
use crate::env::{ExecutorConfig, ExecutorEnv, StageEnv};
use crate::fetch::ShuffleFetcher;
use crate::shipped_objects::ShippedObjects;
use crate::shuffle_service::{ChunkStream, serve_blocks};
use crate::task_runner::{KillSwitches, TaskPool, run_task};
use crate::wire::{block_update_to_proto, failure_to_proto, locations_from_proto, outcome_to_proto};
use ember_proto::v1 as pb;
use ember_proto::v1::driver_message::Kind as DriverKind;
use ember_proto::v1::executor_message::Kind as ExecKind;
use ember_rdd::TaskError;
use ember_rdd::ids::{BroadcastId, RddId, ShuffleId, StageId};
use ember_rdd::memory::MemoryConfig;
use ember_rdd::rdd::StageRoot;
use ember_rdd::shipping::{ObjectFiles, StagePlan};
use ember_rdd::task::TaskContext;
use ember_security::tls::PeerTls;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

/// How a backend is set up.
#[derive(Clone, Debug)]
pub struct BackendConfig {
    pub cores: usize,
    pub work_dir: PathBuf,
    pub heartbeat_interval: Duration,
    /// host:port on which this backend serves (filled in once bound).
    pub address: String,
    /// The token a driver must present (its launcher's, from stdin).
    pub token: String,
    /// The most memory a driver may have this backend cache (0 = no cap).
    pub memory_cap: u64,
    /// How to reach peer backends when the cluster serves TLS (`None`: plain).
    pub peer_tls: Option<PeerTls>,
}

/// Messages queued for the driver, batched by the sender task.
enum Outgoing {
    Status(pb::TaskStatus),
    Block(pb::BlockUpdate),
}

/// A decoded stage attempt: its root and the environment of its tasks.
struct StageEntry {
    root: Arc<dyn StageRoot>,
    env: Arc<StageEnv>,
}

/// The application this backend serves.
struct Session {
    env: Arc<ExecutorEnv>,
    /// (stage, attempt) -> decoded plan, or why it could not be decoded.
    stages: Mutex<HashMap<(u64, u32), Result<Arc<StageEntry>, TaskError>>>,
    out: mpsc::UnboundedSender<Outgoing>,
    /// What a peer fetching shuffle blocks must present (from Hello).
    shuffle_token: String,
    /// The most bytes this backend caches for it (0 = unlimited).
    memory_bytes: u64,
    /// The tasks given and not finished, to kill on the driver's word.
    kill_switches: Arc<KillSwitches>,
    /// Where the application's code objects (REPL cells) are loaded from.
    objects: ObjectFiles,
    /// Code objects the driver ships (when Hello said so).
    shipped: ShippedObjects,
}

pub struct BackendService {
    config: BackendConfig,
    exe_sha256: String,
    pool: Arc<TaskPool>,
    session: Arc<Mutex<Option<Arc<Session>>>>,
    /// Notified when the backend should exit.
    pub shutdown: Arc<Notify>,
    /// Notified when a driver attaches.
    pub attached: Arc<Notify>,
    rt: tokio::runtime::Handle,
}

impl BackendService {
    pub fn new(config: BackendConfig, exe_sha256: String, rt: tokio::runtime::Handle) -> std::io::Result<Self> {
        let pool = Arc::new(TaskPool::new(config.cores, "ember-task")?);
        Ok(BackendService {
            config,
            exe_sha256,
            pool,
            session: Arc::new(Mutex::new(None)),
            shutdown: Arc::new(Notify::new()),
            attached: Arc::new(Notify::new()),
            rt,
        })
    }

    /// What removes the served application's local directory when the backend exits.
    pub fn local_dir_cleanup(&self) -> LocalDirCleanup {
        LocalDirCleanup(self.session.clone())
    }

    fn session(&self) -> Option<Arc<Session>> {
        self.session.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn start_session(&self, hello: &pb::Hello) -> (Arc<Session>, mpsc::UnboundedReceiver<Outgoing>) {
        let (out, out_rx) = mpsc::unbounded_channel();
        let block_out = out.clone();
        let on_update = Arc::new(move |u: BlockUpdate| {
            let _ = block_out.send(Outgoing::Block(block_update_to_proto(&u)));
        });
        let fetcher = Arc::new(ShuffleFetcher::new(
            self.rt.clone(),
            Duration::from_secs(5),
            self.config.peer_tls.clone(),
            hello.shuffle_token.clone(),
        ));
        let cap = self.config.memory_cap;
        let memory = match (hello.memory_bytes, cap) {
            (asked, 0) => asked,
            (0, cap) => cap,
            (asked, cap) => asked.min(cap),
        };
        let local_dir = match hello.local_dir.as_str() {
            "" => self.config.work_dir.join("local"),
            dir => PathBuf::from(dir).join(format!("ember-{}-{}", hello.app_id, hello.executor_id)),
        };
        let objects_dir = self.config.work_dir.join("objects");
        let defaults = MemoryConfig::default();
        let config = ExecutorConfig {
            executor_id: hello.executor_id.clone(),
            // A driver that left the fractions out gets the defaults.
            memory: MemoryConfig {
                executor_memory: memory,
                fraction: Some(hello.memory_fraction).filter(|f| *f > 0.0).unwrap_or(defaults.fraction),
                storage_fraction: Some(hello.storage_fraction)
                    .filter(|f| *f > 0.0)
                    .unwrap_or(defaults.storage_fraction),
            },
            local_dir,
            compress_shuffle: hello.compress_shuffle,
        };
        let env = Arc::new(ExecutorEnv::new(config, on_update, Some(fetcher)));
        let session = Arc::new(Session {
            env,
            stages: Mutex::new(HashMap::new()),
            out,
            shuffle_token: hello.shuffle_token.clone(),
            memory_bytes: memory,
            kill_switches: Arc::default(),
            objects: if hello.code_objects_shipped {
                ObjectFiles::shipped_to(objects_dir.clone())
            } else {
                ObjectFiles::in_dir(objects_dir.clone())
            },
            shipped: ShippedObjects::new(objects_dir),
        });
        *self.session.lock().unwrap_or_else(|p| p.into_inner()) = Some(session.clone());
        (session, out_rx)
    }
}

/// Removes the local directory (shuffle and spill files) of the application
/// a backend served, which may lie outside its work directory (`ember.local.dir`).
pub struct LocalDirCleanup(Arc<Mutex<Option<Arc<Session>>>>);

impl LocalDirCleanup {
    pub fn run(&self) {
        if let Some(session) = self.0.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            session.env.remove_local_dir();
        }
    }
}

/// Sends queued statuses and block updates to the driver, batching whatever
/// has accumulated since the last send into one message of each kind.
async fn send_batches(
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    tx: mpsc::Sender<Result<pb::ExecutorMessage, Status>>,
) {
    let mut buf = Vec::with_capacity(256);
    while rx.recv_many(&mut buf, 1024).await > 0 {
        let (mut statuses, mut blocks) = (Vec::new(), Vec::new());
        for item in buf.drain(..) {
            match item {
                Outgoing::Status(s) => statuses.push(s),
                Outgoing::Block(b) => blocks.push(b),
            }
        }
        // Block updates first: the driver must know where a block is cached
        // before it learns that the task which cached it finished.
        if !blocks.is_empty() {
            let msg = pb::ExecutorMessage { kind: Some(ExecKind::BlockUpdates(pb::BlockUpdates { updates: blocks })) };
            if tx.send(Ok(msg)).await.is_err() {
                return;
            }
        }
        if !statuses.is_empty() {
            let msg = pb::ExecutorMessage { kind: Some(ExecKind::StatusUpdates(pb::StatusUpdates { statuses })) };
            if tx.send(Ok(msg)).await.is_err() {
                return;
            }
        }
    }
}

impl Session {
    fn put_code_object(&self, piece: pb::PutCodeObject) {
        let sha256 = piece.sha256.clone();
        match self.shipped.put(piece) {
            Ok(Some(path)) => tracing::info!(%sha256, path = %path.display(), "received a code object"),
            Ok(None) => {}
            Err(e) => tracing::error!(%sha256, error = %e, "cannot keep a shipped code object"),
        }
    }

    fn register_stage(&self, r: pb::RegisterStage) {
        let decoded = StagePlan::from_bytes(&r.plan).and_then(|plan| {
            // SAFETY: the driver that sent this plan passed the code check in
            // `attach` (same SHA-256 as the code this backend runs), so the
            // plan's entry points are offsets of decoders in this executable,
            // or in code objects that are loaded only once their SHA-256
            // equals the one the driver computed of its own copy.
            let root = unsafe { plan.decode(&self.objects) }?;
            let locations = Arc::new(locations_from_proto(r.shuffle_locations));
            let env = Arc::new(StageEnv::new(self.env.clone(), locations, true));
            Ok(Arc::new(StageEntry { root, env }))
        });
        if let Err(e) = &decoded {
            tracing::error!(stage = r.stage_id, error = %e, "cannot decode stage plan");
        }
        self.stages.lock().unwrap_or_else(|p| p.into_inner()).insert((r.stage_id, r.attempt), decoded);
    }

    fn launch(self: &Arc<Self>, pool: &TaskPool, tasks: Vec<pb::TaskDescription>) {
        for t in tasks {
            let entry =
                self.stages.lock().unwrap_or_else(|p| p.into_inner()).get(&(t.stage_id, t.stage_attempt)).cloned();
            let entry = match entry {
                Some(Ok(e)) => e,
                Some(Err(e)) => {
                    self.fail(t.task_id, e);
                    continue;
                }
                None => {
                    self.fail(
                        t.task_id,
                        TaskError::engine(format!("stage {} attempt {} not registered", t.stage_id, t.stage_attempt)),
                    );
                    continue;
                }
            };
            let out = self.out.clone();
            let env: Arc<dyn ember_rdd::task::TaskEnv> = entry.env.clone();
            let tc = Arc::new(TaskContext::new(StageId(t.stage_id), t.partition as usize, t.attempt, env));
            self.kill_switches.register(t.task_id, tc.kill_switch());
            let kill_switches = self.kill_switches.clone();
            pool.spawn(move || {
                let outcome = run_task(&*entry.root, tc);
                kill_switches.finished(t.task_id);
                let _ = out.send(Outgoing::Status(outcome_to_proto(t.task_id, outcome)));
            });
        }
    }

    fn fail(&self, task_id: u64, e: TaskError) {
        let status = pb::TaskStatus {
            task_id,
            outcome: Some(pb::task_status::Outcome::Failure(failure_to_proto(&e))),
            metrics: None,
        };
        let _ = self.out.send(Outgoing::Status(status));
    }

    fn remove(&self, r: pb::RemoveData) {
        use pb::remove_data::Target;
        match r.target {
            Some(Target::RddId(id)) => self.env.blocks.remove_rdd(RddId(id)),
            Some(Target::ShuffleId(id)) => self.env.shuffles.remove_shuffle(ShuffleId(id)),
            Some(Target::BroadcastId(id)) => self.env.remove_broadcast(BroadcastId(id)),
            Some(Target::StageId(id)) => {
                self.stages.lock().unwrap_or_else(|p| p.into_inner()).retain(|(s, _), _| *s != id)
            }
            None => {}
        }
    }
}

type MessageStream = ReceiverStream<Result<pb::ExecutorMessage, Status>>;

#[tonic::async_trait]
impl pb::executor_backend_server::ExecutorBackend for BackendService {
    type AttachStream = MessageStream;
    type FetchShuffleStream = ChunkStream;

    async fn attach(&self, request: Request<Streaming<pb::DriverMessage>>) -> Result<Response<MessageStream>, Status> {
        let mut inbound = request.into_inner();
        let hello = match inbound.message().await? {
            Some(pb::DriverMessage { kind: Some(DriverKind::Hello(h)) }) => h,
            _ => return Err(Status::invalid_argument("the first message on Attach must be Hello")),
        };
        if hello.token.is_empty() {
            return Err(Status::unauthenticated(
                "no backend token: a backend serves the driver that started it (or asked a daemon to), which \
                 presents the token it was given",
            ));
        }
        if !ember_security::auth::constant_time_eq(self.config.token.as_bytes(), hello.token.as_bytes()) {
            return Err(Status::unauthenticated("wrong backend token: this backend was started for another driver"));
        }
        if hello.exe_sha256 != self.exe_sha256 {
            return Err(Status::failed_precondition(format!(
                "executable mismatch: the driver runs a binary with SHA-256 {} but this backend runs {}; \
                 executors must run the driver's own binary",
                hello.exe_sha256, self.exe_sha256
            )));
        }
        if self.session().is_some() {
            return Err(Status::already_exists("this backend already serves an application"));
        }
        let (session, out_rx) = self.start_session(&hello);
        self.attached.notify_one();
        tracing::info!(executor = %hello.executor_id, app = %hello.app_id, "attached to driver");

        let (tx, rx) = mpsc::channel(256);
        let registered = pb::ExecutorMessage {
            kind: Some(ExecKind::Registered(pb::Registered {
                executor_id: hello.executor_id.clone(),
                exe_sha256: self.exe_sha256.clone(),
                cores: self.config.cores as u32,
                pid: std::process::id(),
                address: self.config.address.clone(),
                memory_bytes: session.memory_bytes,
            })),
        };
        tx.send(Ok(registered)).await.map_err(|_| Status::cancelled("driver went away"))?;
        tokio::spawn(send_batches(out_rx, tx.clone()));

        let heartbeat = self.config.heartbeat_interval;
        let hb_session = session.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(heartbeat);
            loop {
                tick.tick().await;
                let usage = hb_session.env.memory.usage();
                let hb = pb::Heartbeat {
                    memory_used_bytes: usage.storage_bytes,
                    execution_memory_bytes: usage.execution_bytes,
                };
                if tx.send(Ok(pb::ExecutorMessage { kind: Some(ExecKind::Heartbeat(hb)) })).await.is_err() {
                    return;
                }
            }
        });

        let pool = self.pool.clone();
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            loop {
                match inbound.message().await {
                    Ok(Some(pb::DriverMessage { kind: Some(kind) })) => match kind {
                        DriverKind::RegisterStage(r) => session.register_stage(r),
                        DriverKind::LaunchTasks(l) => session.launch(&pool, l.tasks),
                        DriverKind::PutBroadcast(b) => {
                            session.env.put_broadcast_bytes(BroadcastId(b.broadcast_id), b.value)
                        }
                        DriverKind::RemoveData(r) => session.remove(r),
                        DriverKind::KillTasks(k) => session.kill_switches.kill(&k.task_ids, &k.reason),
                        DriverKind::PutCodeObject(piece) => session.put_code_object(piece),
                        DriverKind::Shutdown(_) => break,
                        DriverKind::Hello(_) => tracing::warn!("ignoring a second Hello"),
                    },
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
            tracing::info!("driver disconnected; shutting down");
            shutdown.notify_one();
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn fetch_shuffle(&self, request: Request<pb::FetchShuffleRequest>) -> Result<Response<ChunkStream>, Status> {
        let req = request.into_inner();
        let session = self.session().ok_or_else(|| Status::unavailable("no application attached"))?;
        if !ember_security::auth::constant_time_eq(session.shuffle_token.as_bytes(), req.token.as_bytes()) {
            return Err(Status::permission_denied(
                "a shuffle fetch without this application's shuffle token (only its own executors may fetch)",
            ));
        }
        let shuffle = ShuffleId(req.shuffle_id);
        serve_blocks(&session.env.shuffles, shuffle, req.reduce_index, req.map_indices).map(Response::new)
    }
}
