//! The executor backend process: the user's own binary started in executor
//! mode.
//!
//! A driver in `local-cluster[N]` mode starts its own executable N times with
//! `EMBER_BACKEND=<bind address>` set. The `ember` crate runs
//! [`run_if_requested`] before `main`, so such a process never reaches the
//! user's `main`: it reads its *attach token* from the first line of its
//! stdin, binds its gRPC port, prints one line
//! `EMBER_BACKEND_LISTENING <host:port>` on stdout for the driver to read, and
//! serves until the driver's control stream ends or its stdin closes (the
//! driver died), then exits.
//!
//! The attach token is a random secret of each launch, written by whoever
//! started the backend (the local-cluster driver, a daemon) into the pipe of
//! its stdin: only a driver that presents it may attach, so another local
//! process cannot take the backend over before its driver does, and unlike
//! an environment variable it is not readable in `/proc/PID/environ`.
//!
//! A daemon serving TLS sets `EMBER_BACKEND_TLS_CERT`/`_KEY` (and `_CA`) to
//! its PEM files: the backend then serves TLS with that identity and fetches
//! shuffle blocks from its peers over TLS, trusting those roots.

use crate::fetch::MAX_MESSAGE_BYTES;
use crate::service::{BackendConfig, BackendService};
use crate::wire::code_sha256;
use ember_proto::v1::executor_backend_server::ExecutorBackendServer;
use ember_security::tls::{ExecutorTls, Origins, TlsFiles, error_chain};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

/// Set to the address to bind (e.g. `127.0.0.1:0`) to start in backend mode.
pub const ENV_BACKEND: &str = "EMBER_BACKEND";
/// Number of task threads.
pub const ENV_CORES: &str = "EMBER_BACKEND_CORES";
/// Directory for spilled blocks.
pub const ENV_WORK_DIR: &str = "EMBER_BACKEND_WORK_DIR";
/// Heartbeat interval in milliseconds.
pub const ENV_HEARTBEAT_MS: &str = "EMBER_BACKEND_HEARTBEAT_MS";
/// Exit if no driver attaches within this many milliseconds (set by a daemon).
pub const ENV_ATTACH_TIMEOUT_MS: &str = "EMBER_BACKEND_ATTACH_TIMEOUT_MS";
/// The most bytes a driver may have this backend cache (set by a daemon).
pub const ENV_MEMORY_CAP: &str = "EMBER_BACKEND_MEMORY_CAP";
/// The PEM certificate to serve TLS with (a path; set by a daemon serving TLS).
pub const ENV_TLS_CERT: &str = "EMBER_BACKEND_TLS_CERT";
/// The PEM private key of that certificate (a path).
pub const ENV_TLS_KEY: &str = "EMBER_BACKEND_TLS_KEY";
/// The PEM CA that signed the executors' certificates (a path; unset: trust
/// the certificate itself).
pub const ENV_TLS_CA: &str = "EMBER_BACKEND_TLS_CA";
/// What names those variables in errors.
const TLS_ENV_ORIGINS: Origins = Origins { cert: ENV_TLS_CERT, key: ENV_TLS_KEY, ca: ENV_TLS_CA };
/// The line prefix announcing the bound address on stdout.
pub const LISTENING_PREFIX: &str = "EMBER_BACKEND_LISTENING ";

/// Set (to the object's path) when the backend's code is a REPL cell's
/// shared object loaded by a host process (`crate::object_host`): the
/// object's load-time hook must then not start the backend (the host calls
/// [`run_hosted`] once loading is done).
pub const ENV_BACKEND_OBJECT: &str = "EMBER_BACKEND_OBJECT";
/// The SHA-256 the host must find in that object before loading it.
pub const ENV_BACKEND_OBJECT_SHA256: &str = "EMBER_BACKEND_OBJECT_SHA256";

/// Runs the backend and exits the process if this process was started as one.
pub fn run_if_requested() {
    if std::env::var_os(ENV_BACKEND_OBJECT).is_some() {
        return;
    }
    let Ok(bind) = std::env::var(ENV_BACKEND) else { return };
    run_and_exit(&bind);
}

/// Runs the backend of a hosted object (see [`ENV_BACKEND_OBJECT`]) and exits.
pub fn run_hosted() -> ! {
    match std::env::var(ENV_BACKEND) {
        Ok(bind) => run_and_exit(&bind),
        Err(_) => {
            eprintln!("ember executor backend: {ENV_BACKEND} is not set");
            std::process::exit(1)
        }
    }
}

fn run_and_exit(bind: &str) -> ! {
    let code = match run(bind) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("ember executor backend: {e}");
            1
        }
    };
    std::process::exit(code);
}

fn env_parse<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match std::env::var(name) {
        Ok(v) => v.parse().map_err(|_| format!("{name}={v} is not valid")),
        Err(_) => Ok(default),
    }
}

fn run(bind: &str) -> Result<(), String> {
    // Rust's runtime has not set this up yet when we run before main: a write
    // to a closed socket must fail with EPIPE, not kill the process.
    // SAFETY: setting a signal disposition to SIG_IGN has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("EMBER_LOG").unwrap_or_else(|_| "warn".into()))
        .try_init();
    let cores = env_parse(ENV_CORES, 1usize)?;
    let heartbeat_ms = env_parse(ENV_HEARTBEAT_MS, 1000u64)?;
    let attach_timeout_ms = env_parse(ENV_ATTACH_TIMEOUT_MS, 0u64)?;
    let memory_cap = env_parse(ENV_MEMORY_CAP, 0u64)?;
    let token = read_attach_token()?;
    let tls = tls_from_env().map_err(|e| e.to_string())?;
    let work_dir = std::env::var(ENV_WORK_DIR)
        .map(PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join(format!("ember-backend-{}", std::process::id())));
    let exe = code_sha256().map_err(|e| format!("cannot hash own executable: {e}"))?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let result = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(bind).await.map_err(|e| format!("cannot bind {bind}: {e}"))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?.to_string();
        let config = BackendConfig {
            cores,
            work_dir: work_dir.clone(),
            heartbeat_interval: Duration::from_millis(heartbeat_ms),
            address: address.clone(),
            token,
            memory_cap,
            peer_tls: tls.as_ref().map(|t| t.peer().clone()),
        };
        let service = BackendService::new(config, exe, tokio::runtime::Handle::current()).map_err(|e| e.to_string())?;
        let shutdown = service.shutdown.clone();
        let cleanup = service.local_dir_cleanup();
        watch_stdin(shutdown.clone());
        if attach_timeout_ms > 0 {
            let (attached, shutdown) = (service.attached.clone(), shutdown.clone());
            tokio::spawn(async move {
                let wait = Duration::from_millis(attach_timeout_ms);
                if tokio::time::timeout(wait, attached.notified()).await.is_err() {
                    eprintln!("ember executor backend: no driver attached within {wait:?}; exiting");
                    shutdown.notify_one();
                }
            });
        }
        // Nagle's algorithm would hold small messages (task launches,
        // statuses) back by up to 40 ms; the builder's tcp_nodelay does not
        // apply to a listener we bound ourselves, so set it on the incoming.
        let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        // HTTP/2 pings find a driver that vanished without closing its
        // connection (a partition, a host lost): the control stream then
        // breaks and the backend exits instead of waiting for ever.
        let mut server = tonic::transport::Server::builder()
            .http2_keepalive_interval(Some(DRIVER_PING_INTERVAL))
            .http2_keepalive_timeout(Some(DRIVER_PING_TIMEOUT));
        if let Some(tls) = &tls {
            server = server.tls_config(tls.server_config()).map_err(|e| error_chain(&e))?;
        }
        let server = server
            .initial_stream_window_size(crate::fetch::STREAM_WINDOW_BYTES)
            .initial_connection_window_size(crate::fetch::CONNECTION_WINDOW_BYTES)
            .add_service(
                ExecutorBackendServer::new(service)
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES),
            )
            .serve_with_incoming(incoming);
        let mut out = std::io::stdout();
        writeln!(out, "{LISTENING_PREFIX}{address}").and_then(|_| out.flush()).map_err(|e| e.to_string())?;
        // On shutdown, exit at once: a graceful drain would wait for the
        // driver's long-lived control stream, which may never end.
        let served = tokio::select! {
            served = server => served.map_err(|e| e.to_string()),
            _ = shutdown.notified() => Ok(()),
        };
        cleanup.run();
        served
    });
    let _ = std::fs::remove_dir_all(&work_dir);
    // Do not wait for running tasks: the driver is gone.
    rt.shutdown_timeout(Duration::from_millis(100));
    result
}

/// How often a backend pings its driver's connection, and how long an
/// unanswered ping may wait before the driver counts as gone: generous, so
/// that a driver busy on a loaded machine is not taken for a vanished one.
const DRIVER_PING_INTERVAL: Duration = Duration::from_secs(15);
const DRIVER_PING_TIMEOUT: Duration = Duration::from_secs(45);

/// The TLS identity a daemon passed in the environment, if any.
fn tls_from_env() -> Result<Option<ExecutorTls>, ember_security::tls::TlsError> {
    let path = |name| std::env::var_os(name).map(PathBuf::from);
    let files = TlsFiles::from_options(path(ENV_TLS_CERT), path(ENV_TLS_KEY), path(ENV_TLS_CA), &TLS_ENV_ORIGINS)?;
    files.map(|f| ExecutorTls::load(f, &TLS_ENV_ORIGINS)).transpose()
}

/// Writes `token` as the first line of a started backend's stdin (which the
/// caller keeps open: its end tells the backend its starter died).
pub async fn hand_over_token(child: &mut tokio::process::Child, token: &str) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let stdin = child.stdin.as_mut().ok_or_else(|| std::io::Error::other("the backend has no stdin pipe"))?;
    stdin.write_all(format!("{token}\n").as_bytes()).await?;
    stdin.flush().await
}

/// The attach token: the first line of stdin (the pipe of whoever started
/// this backend), which must not be empty.
fn read_attach_token() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(|e| format!("cannot read the attach token from stdin: {e}"))?;
    let token = line.trim_end_matches(['\r', '\n']).to_string();
    if token.is_empty() {
        return Err("no attach token on stdin: a backend is started by a driver or a daemon, which write one".into());
    }
    Ok(token)
}

/// Notifies `shutdown` when stdin reaches end of file: the driver, which holds
/// the other end of the pipe, has exited or died.
fn watch_stdin(shutdown: std::sync::Arc<tokio::sync::Notify>) {
    let _ = std::thread::Builder::new().name("ember-stdin-watch".into()).spawn(move || {
        let mut buf = [0u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
        shutdown.notify_one();
    });
}
