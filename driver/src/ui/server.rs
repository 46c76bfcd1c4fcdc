//! The HTTP server of the web UI and of `ember-history` (axum), on the
//! context's own tokio runtime: the same routes serve one live application
//! or every application of an event log directory.
//!
//! Routes:
//! - pages: `/jobs/`, `/jobs/job/?id=N`, `/stages/`, `/stages/stage/?id=N&attempt=M`
//!   (with Spark's `task.page`, `task.pageSize`, `task.sort`, `task.desc` for its task table),
//!   `/storage/`, `/storage/rdd/?id=N`, `/environment/`, `/executors/` — for the
//!   live application at the root, for any application under `/history/<app id>`;
//! - `/`: the live application's jobs, or the list of applications (history);
//! - the JSON API under `/api/v1/` (see [`super::api`]);
//! - `POST /stages/<id>/kill`: the kill link of an active stage in the live
//!   UI (see [`kill_stage`]).
//!
//! A request holds an application's state lock only while its answer is
//! rendered; bad ids in paths or queries are 400/404 answers, never panics.

use super::pages::{self, PageContext};
use super::state::{AppStore, StageStatus};
use super::task_list::TaskQuery;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::http::header::{HOST, LOCATION, ORIGIN};
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ember_rdd::ids::{JobId, RddId, StageId};
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// Ports tried after a taken one, as Spark's `spark.port.maxRetries`.
pub const PORT_RETRIES: u16 = 32;

#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error("cannot serve the web UI on {address}: ports {first}..={last} are taken")]
    PortsTaken { address: IpAddr, first: u16, last: u16 },
    #[error("cannot serve the web UI on {address}: {source}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The applications a server shows.
pub trait AppCatalog: Send + Sync + 'static {
    /// Every application, oldest first.
    fn apps(&self) -> Vec<Arc<AppStore>>;
    /// Whether this is a running program's own UI (one live application).
    fn is_live(&self) -> bool;
    fn find(&self, id: &str) -> Option<Arc<AppStore>> {
        self.apps().into_iter().find(|a| a.app_id() == id)
    }
    /// Whether active stages get a kill link (the live UI, with `ember.ui.killEnabled`).
    fn can_kill(&self) -> bool {
        false
    }
    /// Kills `stage`: cancels the jobs that run it.
    fn kill_stage(&self, _stage: StageId) -> KillOutcome {
        KillOutcome::NotLive
    }
}

/// Cancels the jobs that need a stage, through the scheduler (posts its
/// `CancelJobs` event).
pub type StageKiller = Arc<dyn Fn(StageId) + Send + Sync>;

/// What a kill request did.
#[derive(Debug, PartialEq, Eq)]
pub enum KillOutcome {
    /// The stage's jobs are being cancelled.
    Killed,
    /// The stage is not running (finished, failed, or unknown).
    NotRunning,
    /// `ember.ui.killEnabled` is false.
    Disabled,
    /// A history server: nothing runs.
    NotLive,
}

/// The live UI's catalog: this program's application, and what kills its
/// stages when `ember.ui.killEnabled`.
pub struct LiveApp {
    pub store: Arc<AppStore>,
    pub killer: Option<StageKiller>,
}

impl AppCatalog for LiveApp {
    fn apps(&self) -> Vec<Arc<AppStore>> {
        vec![self.store.clone()]
    }
    fn is_live(&self) -> bool {
        true
    }
    fn can_kill(&self) -> bool {
        self.killer.is_some()
    }
    fn kill_stage(&self, stage: StageId) -> KillOutcome {
        let Some(killer) = &self.killer else { return KillOutcome::Disabled };
        // Only a stage the UI shows running: a finished map stage is kept
        // for reuse, and killing it would cancel a later job that skips it.
        let running = self
            .store
            .read(|s| s.attempts.range((stage, 0)..=(stage, u32::MAX)).any(|(_, a)| a.status == StageStatus::Active));
        if !running {
            return KillOutcome::NotRunning;
        }
        killer(stage);
        KillOutcome::Killed
    }
}

type Catalog = Arc<dyn AppCatalog>;

/// Binds `address:port`, or the next free port up to [`PORT_RETRIES`] later
/// (port 0: any free port).
pub fn bind(address: IpAddr, port: u16) -> Result<TcpListener, UiError> {
    let last = if port == 0 { 0 } else { port.saturating_add(PORT_RETRIES) };
    for p in port..=last {
        let at = SocketAddr::new(address, p);
        match TcpListener::bind(at) {
            Ok(listener) => return Ok(listener),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
            Err(source) => return Err(UiError::Bind { address: at, source }),
        }
    }
    Err(UiError::PortsTaken { address, first: port, last })
}

/// How long `shutdown` waits for open connections to finish.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);

/// A running server; dropping it (or `shutdown`) stops it.
pub struct ServerHandle {
    pub local_addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    /// Told when the server has let go of its port.
    stopped: std::sync::mpsc::Receiver<()>,
}

impl ServerHandle {
    /// Stops accepting connections and waits (a little) until the port is free.
    pub fn shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
            let _ = self.stopped.recv_timeout(SHUTDOWN_WAIT);
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Serves `catalog` on `listener`, on `runtime`.
pub fn spawn(
    runtime: &tokio::runtime::Handle,
    listener: TcpListener,
    catalog: Catalog,
) -> Result<ServerHandle, UiError> {
    let io = |source| UiError::Io { path: "web UI listener".into(), source };
    let local_addr = listener.local_addr().map_err(io)?;
    listener.set_nonblocking(true).map_err(io)?;
    let listener = {
        let _entered = runtime.enter();
        tokio::net::TcpListener::from_std(listener).map_err(io)?
    };
    let (tx, rx) = oneshot::channel::<()>();
    let (stopped_tx, stopped) = std::sync::mpsc::channel();
    let app = router(catalog);
    runtime.spawn(async move {
        let served = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = rx.await;
        });
        if let Err(e) = served.await {
            tracing::warn!(error = %e, "the web UI server stopped");
        }
        let _ = stopped_tx.send(());
    });
    Ok(ServerHandle { local_addr, shutdown: Some(tx), stopped })
}

/// Every route of the UI and the API.
pub fn router(catalog: Catalog) -> Router {
    let mut r = Router::new().route("/", get(index));
    for prefix in ["", "/history/{app_id}"] {
        for (path, handler) in [
            ("/jobs/", get(jobs_page)),
            ("/jobs/job/", get(job_page)),
            ("/stages/", get(stages_page)),
            ("/stages/stage/", get(stage_page)),
            ("/storage/", get(storage_page)),
            ("/storage/rdd/", get(rdd_page)),
            ("/environment/", get(environment_page)),
            ("/executors/", get(executors_page)),
        ] {
            r = r.route(&format!("{prefix}{path}"), handler.clone());
            r = r.route(&format!("{prefix}{}", path.trim_end_matches('/')), handler);
        }
    }
    r.route("/stages/{stage}/kill", post(kill_stage))
        .route("/history/{app_id}", get(history_app_root))
        .route("/history/{app_id}/", get(history_app_root))
        .merge(super::api_routes::routes())
        .with_state(catalog)
}

/// The application a page is about, and how to render it.
pub struct SelectedApp {
    pub store: Arc<AppStore>,
    pub ctx: PageContext,
}

impl FromRequestParts<Catalog> for SelectedApp {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, catalog: &Catalog) -> Result<Self, Self::Rejection> {
        let path = parts.uri.path();
        let (store, base) = match path.strip_prefix("/history/") {
            Some(rest) => {
                let id = rest.split('/').next().unwrap_or_default();
                let store = catalog.find(id);
                (store, format!("/history/{id}"))
            }
            None => (catalog.apps().into_iter().next_back(), String::new()),
        };
        let Some(store) = store else {
            return Err((StatusCode::NOT_FOUND, "no such application").into_response());
        };
        let live = catalog.is_live();
        let now = store.read(|s| s.clock(live));
        let kill = catalog.can_kill() && base.is_empty();
        Ok(SelectedApp { store, ctx: PageContext { base, live, now, kill } })
    }
}

#[derive(Deserialize)]
pub struct IdQuery {
    id: u64,
}

/// A stage page's query: the attempt, and the page and order of its task table.
#[derive(Deserialize)]
pub struct StagePageQuery {
    id: u64,
    attempt: Option<u32>,
    #[serde(rename = "task.page")]
    task_page: Option<usize>,
    #[serde(rename = "task.pageSize")]
    task_page_size: Option<usize>,
    #[serde(rename = "task.sort")]
    task_sort: Option<String>,
    #[serde(rename = "task.desc")]
    task_desc: Option<bool>,
}

async fn index(State(catalog): State<Catalog>) -> Response {
    if catalog.is_live() {
        return Redirect::to("/jobs/").into_response();
    }
    Html(super::history::index_page(&catalog.apps())).into_response()
}

async fn history_app_root(Path(app_id): Path<String>) -> Response {
    // App ids are `app-<pid>-<millis>`: anything else cannot name a log.
    if !app_id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return (StatusCode::NOT_FOUND, "no such application").into_response();
    }
    Redirect::to(&format!("/history/{app_id}/jobs/")).into_response()
}

async fn jobs_page(app: SelectedApp) -> Html<String> {
    Html(app.store.read(|s| pages::jobs::jobs_page(s, &app.ctx)))
}

async fn job_page(app: SelectedApp, Query(q): Query<IdQuery>) -> Html<String> {
    Html(app.store.read(|s| pages::jobs::job_page(s, &app.ctx, JobId(q.id))))
}

async fn stages_page(app: SelectedApp) -> Html<String> {
    Html(app.store.read(|s| pages::stages::stages_page(s, &app.ctx)))
}

async fn stage_page(app: SelectedApp, Query(q): Query<StagePageQuery>) -> Html<String> {
    let tasks = TaskQuery::from_page(q.task_page, q.task_page_size, q.task_sort.as_deref(), q.task_desc == Some(true));
    Html(app.store.read(|s| {
        let attempt = q.attempt.unwrap_or_else(|| {
            s.attempts.range((StageId(q.id), 0)..=(StageId(q.id), u32::MAX)).next_back().map_or(1, |(k, _)| k.1)
        });
        pages::stages::stage_page(s, &app.ctx, StageId(q.id), attempt, &tasks)
    }))
}

/// `POST /stages/<id>/kill`: the kill link of an active stage (Spark's
/// `/stages/stage/kill/`). Cancels every job that needs the stage through
/// the scheduler, as `Context::cancel_job` does: they fail with
/// `EmberError::Cancelled`, their tasks are killed, the context goes on.
/// Answers 303 to the stages page; 403 when `ember.ui.killEnabled` is false
/// or the request comes from a page of another site (a browser's `Origin`
/// naming another host: a link elsewhere must not kill stages here), 405
/// in the history server, 409 when the stage is not running.
async fn kill_stage(State(catalog): State<Catalog>, Path(stage): Path<u64>, headers: HeaderMap) -> Response {
    let header = |name| headers.get(name).and_then(|v: &axum::http::HeaderValue| v.to_str().ok());
    if let Some(origin) = header(ORIGIN) {
        let origin_host = origin.split_once("://").map_or(origin, |(_, host)| host);
        if Some(origin_host) != header(HOST) {
            return (StatusCode::FORBIDDEN, format!("a page of {origin} cannot kill stages of this application"))
                .into_response();
        }
    }
    match catalog.kill_stage(StageId(stage)) {
        KillOutcome::Killed => (StatusCode::SEE_OTHER, [(LOCATION, "/stages/")]).into_response(),
        KillOutcome::NotRunning => (StatusCode::CONFLICT, format!("stage {stage} is not running")).into_response(),
        KillOutcome::Disabled => {
            (StatusCode::FORBIDDEN, "killing stages from the web UI is off (ember.ui.killEnabled=false)")
                .into_response()
        }
        KillOutcome::NotLive => {
            (StatusCode::METHOD_NOT_ALLOWED, "the history server shows ended applications: nothing to kill")
                .into_response()
        }
    }
}

async fn storage_page(app: SelectedApp) -> Html<String> {
    Html(app.store.read(|s| pages::storage::storage_page(s, &app.ctx)))
}

async fn rdd_page(app: SelectedApp, Query(q): Query<IdQuery>) -> Html<String> {
    Html(app.store.read(|s| pages::storage::rdd_page(s, &app.ctx, RddId(q.id))))
}

async fn environment_page(app: SelectedApp) -> Html<String> {
    Html(app.store.read(|s| pages::environment::environment_page(s, &app.ctx)))
}

async fn executors_page(app: SelectedApp) -> Html<String> {
    Html(app.store.read(|s| pages::executors::executors_page(s, &app.ctx)))
}

/// JSON for the API, with Spark's 404 for what does not exist.
pub fn json_or_404<T: serde::Serialize>(value: Option<T>, what: impl FnOnce() -> String) -> Response {
    match value {
        Some(v) => Json(v).into_response(),
        None => (StatusCode::NOT_FOUND, what()).into_response(),
    }
}
