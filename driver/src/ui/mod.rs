//! Seeing a job: the web UI, its JSON API, the event log, the history server
//! and the console progress bar — all listeners on the [listener
//! bus](crate::listener), so none of them runs on the scheduler loop.
//!
//! ```text
//!  scheduler ──post──▶ ListenerBus thread ──▶ AppStore (state.rs) ◀── axum server (server.rs,
//!                                        │                              pages/, api.rs)
//!                                        ├──▶ EventLogWriter ──▶ <dir>/<app id> (JSON lines)
//!                                        │                          │ replay
//!                                        │                          ▼
//!                                        │            ember-history: HistoryIndex ─▶ same server
//!                                        └──▶ ConsoleProgress ──▶ stderr (indicatif)
//! ```
//!
//! The state store reads events only, so the live UI and a replayed log
//! answer alike. [`UiServices`] is what a context starts (according to
//! `ember.ui.*` and `ember.eventLog.*`) and stops: the server runs on the
//! context's own tokio runtime, on `ember.ui.port` or the next free port.

pub mod api;
pub mod api_routes;
pub mod dag_svg;
pub mod event_line;
pub mod event_log;
pub mod format;
pub mod history;
pub mod pages;
pub mod progress;
pub mod records;
pub mod server;
pub mod state;
pub mod summary;
pub mod svg_chart;
pub mod task_list;
pub mod task_stream;
pub mod task_table;
pub mod timeline;

use crate::conf::{Conf, Settings, UiSettings};
use crate::listener::{Listener, ListenerBus, ListenerEvent, UnixMillis};
use ember_rdd::{EmberError, Result};
use event_log::EventLogWriter;
use progress::ConsoleProgress;
use server::{LiveApp, ServerHandle, StageKiller};
use state::{AppStore, Retention};
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::sync::Arc;

impl From<&UiSettings> for Retention {
    fn from(s: &UiSettings) -> Self {
        Retention { jobs: s.retained_jobs, stages: s.retained_stages, tasks_per_stage: s.retained_tasks }
    }
}

/// The UI parts a context runs, as its settings ask.
#[derive(Default)]
pub struct UiServices {
    server: Option<ServerHandle>,
    url: Option<String>,
    event_log: Option<Arc<EventLogWriter>>,
    progress: Option<Arc<ConsoleProgress>>,
}

impl UiServices {
    /// Adds the UI's listeners to `bus` and starts the server on `runtime`
    /// (its kill links call `killer` when `ember.ui.killEnabled`), then posts
    /// the application's start. A UI that cannot get a port is
    /// reported and left out (the program runs on); an event log that cannot
    /// be created fails the start, since the user asked for a record.
    pub fn start(
        settings: &Settings,
        conf: &Conf,
        app_id: &str,
        bus: &ListenerBus,
        runtime: &tokio::runtime::Handle,
        killer: StageKiller,
    ) -> Result<UiServices> {
        let ui = &settings.ui;
        let mut services = UiServices::default();
        let start = application_start(settings, conf, app_id);
        if let Some(dir) = &ui.event_log_dir {
            let log = EventLogWriter::create_at(dir, app_id, &settings.io.store)
                .map_err(|e| EmberError::Config(format!("ember.eventLog.dir: {e}")))?;
            let log = Arc::new(log);
            bus.add(log.clone());
            services.event_log = Some(log);
        }
        if ui.enabled {
            let store = Arc::new(AppStore::new(ui.into(), true));
            // Known at once, not when the bus gets to it (applying it twice is harmless).
            store.on_event(&start);
            bus.add(store.clone());
            let served = server::bind(ui.bind_address, ui.port).and_then(|l| {
                let killer = ui.kill_enabled.then_some(killer);
                server::spawn(runtime, l, Arc::new(LiveApp { store, killer }))
            });
            match served {
                Ok(handle) => {
                    let url = display_url(handle.local_addr);
                    eprintln!("ember: web UI for {app_id} at {url}");
                    services.url = Some(url);
                    services.server = Some(handle);
                }
                Err(e) => {
                    eprintln!("ember: no web UI: {e}");
                    tracing::warn!(error = %e, "the web UI is off");
                }
            }
        }
        if ui.show_console_progress && std::io::stderr().is_terminal() {
            match ConsoleProgress::start() {
                Ok(p) => {
                    let p = Arc::new(p);
                    bus.add(p.clone());
                    services.progress = Some(p);
                }
                Err(e) => tracing::warn!(error = %e, "cannot start the console progress bar"),
            }
        }
        bus.post(start);
        Ok(services)
    }

    /// The web UI's address, when it runs.
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// Where the web UI listens, when it runs.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.server.as_ref().map(|s| s.local_addr)
    }

    /// The console progress bar, when it is drawn.
    pub fn console_progress(&self) -> Option<Arc<ConsoleProgress>> {
        self.progress.clone()
    }

    /// Where the event log is written, when it is.
    pub fn event_log_path(&self) -> Option<&std::path::Path> {
        self.event_log.as_ref().map(|l| l.path())
    }

    /// Stops everything; call once the bus has delivered `ApplicationEnd`.
    pub fn stop(&mut self) {
        if let Some(p) = self.progress.take() {
            p.stop();
        }
        if let Some(log) = self.event_log.take() {
            log.finish();
        }
        if let Some(mut server) = self.server.take() {
            server.shutdown();
        }
    }
}

/// `http://<host name>:<port>` for a wildcard address, else the address itself.
pub fn display_url(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        format!("http://{host}:{}", addr.port())
    } else {
        format!("http://{addr}")
    }
}

/// Who runs the program: `$USER`, `$LOGNAME`, else the numeric user id.
fn user_name() -> String {
    std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| {
        // SAFETY: getuid has no preconditions and cannot fail.
        format!("uid {}", unsafe { libc::getuid() })
    })
}

/// The first event of an application: who, what, and its configuration
/// (secrets redacted here, so that neither the UI nor the log ever holds them).
fn application_start(settings: &Settings, conf: &Conf, app_id: &str) -> ListenerEvent {
    let effective = conf.effective().unwrap_or_else(|_| conf.clone());
    let master = effective
        .get("ember.master")
        .map(str::to_string)
        .or_else(|| std::env::var("EMBER_MASTER").ok())
        .unwrap_or_else(|| "local[*]".into());
    let mut configuration = effective.redacted_entries();
    for (k, v) in [("ember.app.id", app_id.to_string()), ("ember.master", master.clone())] {
        if !configuration.iter().any(|(key, _)| key == k) {
            configuration.push((k.to_string(), v));
        }
    }
    configuration.sort();
    ListenerEvent::ApplicationStart {
        app_id: app_id.to_string(),
        app_name: settings.app_name.clone(),
        master,
        user: user_name(),
        configuration,
        time: UnixMillis::now(),
    }
}
