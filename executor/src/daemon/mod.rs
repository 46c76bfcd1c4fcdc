//! `ember-executor`: the executor daemon (see DESIGN.md's process model).
//!
//! A long-running, generic process per host or container. It accepts an
//! application from an authenticated driver ([`auth`]), keeps the
//! application's binary by SHA-256 ([`store`]), starts that binary as an
//! executor backend and reports the backend's address and token to the driver
//! ([`launcher`]). The driver then attaches to the backend directly. Backends
//! exit when their driver goes away (their control stream ends) or never
//! attaches, and the daemon removes what they left.
//!
//! Protocol: `Challenge` → `Prepare` (authenticates; nothing is stored or
//! started before it succeeds) → `Upload` (only if the daemon lacks the
//! binary) → `Start`, with a one-time ticket tying the calls together.
//!
//! A driver in a REPL has no executable to upload: its code is a cell's
//! shared object (ADR 0009). It announces the object's hash as the binary's
//! and names the Rust runtime library the object needs (`hosted` in
//! `Prepare`); the daemon stores both by hash, and starts its own executable
//! as the backend's host, which loads the object ([`crate::object_host`]).
//!
//! With a TLS identity ([`crate::tls`]) the daemon serves TLS and so do the
//! backends it starts, which are given the paths of the same PEM files.

pub mod auth;
pub mod launcher;
pub mod store;

use auth::Authenticator;
use ember_proto::v1 as pb;
use ember_proto::v1::executor_daemon_server::{ExecutorDaemon, ExecutorDaemonServer};
use ember_security::tls::{ExecutorTls, error_chain};
use launcher::{Launcher, Program};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use store::BinaryStore;
use tonic::{Request, Response, Status, Streaming};

/// How a daemon is set up.
#[derive(Clone, Debug)]
pub struct DaemonConfig {
    /// Address to listen on (and on which backends listen).
    pub host: String,
    pub port: u16,
    /// Most task threads a backend may have.
    pub cores: usize,
    /// Most memory (bytes) a backend may cache; 0 = as the driver asks.
    pub memory: u64,
    pub work_dir: PathBuf,
    /// The shared secret; `None` only when started with `--insecure`.
    pub secret: Option<Vec<u8>>,
    /// A backend no driver attaches to within this time exits.
    pub attach_timeout: Duration,
    /// Serve TLS (the daemon and its backends) with this identity; `None`: plain TCP.
    pub tls: Option<ExecutorTls>,
}

/// What a ticket from `Prepare` allows.
#[derive(Clone)]
struct Ticket {
    app_id: String,
    exe_sha256: String,
    /// The runtime library of a hosted object (`None`: an executable).
    hosted: Option<pb::HostedCode>,
    issued: Instant,
}

const TICKET_TTL: Duration = Duration::from_secs(300);

pub struct DaemonService {
    /// Held (locked) while the daemon runs: one daemon per work directory.
    _work_dir_lock: std::fs::File,
    config: DaemonConfig,
    auth: Authenticator,
    store: BinaryStore,
    launcher: Launcher,
    tickets: Mutex<HashMap<String, Ticket>>,
    /// Random for this run of the daemon (see `ChallengeResponse`).
    daemon_id: String,
}

impl DaemonService {
    /// A daemon working in `config.work_dir`, which it locks and clears of a
    /// previous run's leftovers.
    pub fn new(config: DaemonConfig) -> std::io::Result<Self> {
        let work_dir_lock = lock_work_dir(&config.work_dir)?;
        let store = BinaryStore::open(&config.work_dir)?;
        let tls_files = config.tls.as_ref().map(|t| t.files().clone());
        let launcher =
            Launcher::new(&config.work_dir, config.host.clone(), config.attach_timeout, config.memory, tls_files)?;
        Ok(DaemonService {
            _work_dir_lock: work_dir_lock,
            auth: Authenticator::new(config.secret.clone()),
            store,
            launcher,
            tickets: Mutex::new(HashMap::new()),
            daemon_id: auth::random_hex(16),
            config,
        })
    }

    fn ticket(&self, id: &str, consume: bool) -> Result<Ticket, Status> {
        let mut tickets = self.tickets.lock().unwrap_or_else(|p| p.into_inner());
        tickets.retain(|_, t| t.issued.elapsed() < TICKET_TTL);
        let t = if consume { tickets.remove(id) } else { tickets.get(id).cloned() };
        t.ok_or_else(|| Status::unauthenticated("unknown or expired ticket"))
    }

    /// What a backend of the application with this ticket runs.
    fn program(&self, ticket: &Ticket) -> Result<Program, Status> {
        let binary = self.store.get(&ticket.exe_sha256);
        let binary =
            binary.ok_or_else(|| Status::failed_precondition("the binary was not uploaded; call Upload first"))?;
        let Some(hosted) = &ticket.hosted else { return Ok(Program::Executable(binary)) };
        let runtime_dir = self.store.runtime_dir(&hosted.runtime_sha256, &hosted.runtime_name).ok_or_else(|| {
            Status::failed_precondition("the runtime library was not uploaded; call Upload with runtime set first")
        })?;
        let host = std::env::current_exe().map_err(|e| Status::internal(format!("cannot find own executable: {e}")))?;
        Ok(Program::Hosted { host, object: binary, sha256: ticket.exe_sha256.clone(), runtime_dir })
    }
}

/// Locks `work_dir/daemon.lock`, so that a second daemon given the same
/// directory refuses to start instead of deleting the first one's files.
fn lock_work_dir(work_dir: &std::path::Path) -> std::io::Result<std::fs::File> {
    std::fs::create_dir_all(work_dir)?;
    let path = work_dir.join("daemon.lock");
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(std::io::Error::other(format!(
            "{} is in use by another ember-executor daemon; give each daemon on a host its own --work-dir",
            work_dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

#[tonic::async_trait]
impl ExecutorDaemon for DaemonService {
    async fn challenge(&self, _: Request<pb::ChallengeRequest>) -> Result<Response<pb::ChallengeResponse>, Status> {
        Ok(Response::new(pb::ChallengeResponse { nonce: self.auth.challenge(), daemon_id: self.daemon_id.clone() }))
    }

    async fn prepare(&self, request: Request<pb::PrepareRequest>) -> Result<Response<pb::PrepareResponse>, Status> {
        let peer = request.remote_addr();
        let r = request.into_inner();
        if let Err(why) = self.auth.verify(&r.nonce, &r.proof, &r.app_id, &r.exe_sha256) {
            tracing::warn!(?peer, app = %r.app_id, "refused a driver: {why}");
            return Err(Status::unauthenticated(why));
        }
        let ticket = auth::random_hex(24);
        let need_binary = self.store.get(&r.exe_sha256).is_none();
        let need_runtime = match &r.hosted {
            None => false,
            Some(h) => {
                self.store.runtime_path(&h.runtime_sha256, &h.runtime_name).map_err(Status::invalid_argument)?;
                self.store.runtime_dir(&h.runtime_sha256, &h.runtime_name).is_none()
            }
        };
        let issued = Instant::now();
        let t = Ticket { app_id: r.app_id, exe_sha256: r.exe_sha256, hosted: r.hosted, issued };
        self.tickets.lock().unwrap_or_else(|p| p.into_inner()).insert(ticket.clone(), t);
        Ok(Response::new(pb::PrepareResponse { ticket, need_binary, need_runtime }))
    }

    async fn upload(
        &self,
        request: Request<Streaming<pb::UploadChunk>>,
    ) -> Result<Response<pb::UploadResponse>, Status> {
        let mut chunks = request.into_inner();
        let first = chunks.message().await?.ok_or_else(|| Status::invalid_argument("empty upload"))?;
        let ticket = self.ticket(&first.ticket, false)?;
        let runtime = match (first.runtime, &ticket.hosted) {
            (false, _) => None,
            (true, Some(hosted)) => Some(hosted),
            (true, None) => return Err(Status::invalid_argument("a runtime library upload for an executable")),
        };
        let mut upload = self.store.begin(&first.ticket).map_err(|e| Status::internal(e.to_string()))?;
        upload.write(&first.data).map_err(|e| Status::internal(e.to_string()))?;
        while let Some(chunk) = chunks.message().await? {
            upload.write(&chunk.data).map_err(|e| Status::internal(e.to_string()))?;
        }
        let (path, bytes) = match runtime {
            None => self.store.finish(upload, &ticket.exe_sha256),
            Some(h) => self.store.finish_runtime(upload, &h.runtime_sha256, &h.runtime_name),
        }
        .map_err(Status::invalid_argument)?;
        tracing::info!(bytes, path = %path.display(), "stored an upload");
        Ok(Response::new(pb::UploadResponse { bytes }))
    }

    async fn start(&self, request: Request<pb::StartRequest>) -> Result<Response<pb::StartResponse>, Status> {
        let local = request.local_addr();
        let r = request.into_inner();
        let ticket = self.ticket(&r.ticket, true)?;
        let program = self.program(&ticket)?;
        let offered = self.config.cores.max(1);
        let cores = if r.cores == 0 { offered } else { (r.cores as usize).min(offered) };
        let ip = local.map(|a: SocketAddr| a.ip()).unwrap_or([127, 0, 0, 1].into());
        let started = self.launcher.start(&program, &ticket.app_id, cores, ip).await.map_err(Status::internal)?;
        Ok(Response::new(pb::StartResponse {
            backend_address: started.address,
            backend_token: started.token,
            cores: cores as u32,
        }))
    }
}

/// Runs the daemon until the process is stopped; SIGTERM or SIGINT stops it
/// at once (its backends see their stdin close and exit too).
pub async fn serve(config: DaemonConfig) -> Result<(), String> {
    let address = format!("{}:{}", config.host, config.port);
    let insecure = config.secret.is_none();
    let mut server = tonic::transport::Server::builder();
    if let Some(tls) = &config.tls {
        server = server.tls_config(tls.server_config()).map_err(|e| error_chain(&e))?;
    }
    let tls = config.tls.is_some();
    // The work directory is locked and cleared before the port opens: a
    // driver (or a test) that can connect finds a daemon ready to serve.
    let service = DaemonService::new(config).map_err(|e| format!("work directory: {e}"))?;
    let listener =
        tokio::net::TcpListener::bind(&address).await.map_err(|e| format!("cannot listen on {address}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(%bound, insecure, tls, "ember-executor daemon listening");
    eprintln!(
        "ember-executor: listening on {bound}{}{}",
        if tls { " (TLS)" } else { "" },
        if insecure { " (INSECURE: no authentication)" } else { "" }
    );
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let server = server
        .add_service(ExecutorDaemonServer::new(service).max_decoding_message_size(crate::fetch::MAX_MESSAGE_BYTES))
        .serve_with_incoming(incoming);
    // Not a graceful drain: a stopping daemon owes its drivers nothing, and
    // its backends stop as it exits.
    tokio::select! {
        served = server => served.map_err(|e| e.to_string()),
        () = termination() => Ok(()),
    }
}

/// Resolves on SIGTERM (`docker compose down`, a Kubernetes pod deletion)
/// or SIGINT. A daemon is often PID 1 in its container, where signals
/// without a handler are ignored and a stop would wait out its grace period.
async fn termination() {
    use tokio::signal::unix::{SignalKind, signal};
    let (term, int) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()));
    let (Ok(mut term), Ok(mut int)) = (term, int) else {
        tracing::warn!("cannot handle SIGTERM/SIGINT; the daemon stops only when killed");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: stopping"),
        _ = int.recv() => tracing::info!("SIGINT: stopping"),
    }
}
