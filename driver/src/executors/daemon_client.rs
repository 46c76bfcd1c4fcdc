//! The driver's side of the executor daemon protocol (`ember://` masters):
//! authenticate, upload this program's binary if the daemon lacks it, and
//! have the daemon start a backend, which the driver then attaches to.
//!
//! A driver in a REPL (its Ember code in a cell's shared object, ADR 0009)
//! uploads that object instead, with the Rust runtime library it needs; the
//! daemon's backend then hosts the object, and later cells' objects follow
//! on the control stream (`remote`).
//!
//! With `ember.tls.enabled` the driver talks TLS to the daemon (and to its
//! backends), verifying certificates against `ember.tls.caFile` for the name
//! `ember.tls.serverName`, else the host the master URL names. A failure
//! that is really a TLS mismatch says so and what to set.

use super::AppIdentity;
use crate::conf::TlsSettings;
use ember_proto::MAX_MESSAGE_BYTES;
use ember_proto::v1 as pb;
use ember_proto::v1::executor_daemon_client::ExecutorDaemonClient;
use ember_rdd::EmberError;
use ember_rdd::code_objects;
use ember_security::auth::proof;
use ember_security::tls::{error_chain, handshake_failure, scheme};
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;
use tonic::transport::{ClientTlsConfig, Endpoint};

/// A backend a daemon started for us.
pub struct LaunchedBackend {
    /// The daemon that started it (its `daemon_id`).
    pub daemon_id: String,
    pub address: String,
    pub token: String,
    pub cores: usize,
    /// Whether this launch uploaded the binary (false when the daemon had it).
    pub uploaded: bool,
}

/// What a driver needs to launch a backend on a daemon.
pub struct LaunchSpec {
    pub app: AppIdentity,
    pub secret: Option<Vec<u8>>,
    /// Task threads to ask for; 0: all the daemon offers.
    pub cores: usize,
    pub connect_timeout: Duration,
    /// How long one call may take before the daemon counts as unresponsive
    /// (`ember.network.timeout`; an upload gets more time per byte).
    pub call_timeout: Duration,
    /// TLS to the daemons and their backends (`None`: plain TCP).
    pub tls: Option<TlsSettings>,
    /// The daemons (by `daemon_id`) that run a backend of this application.
    pub claimed_daemons: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl LaunchSpec {
    /// Lets the daemon `daemon_id` start another backend of this application
    /// (its previous one was lost).
    pub fn release_daemon(&self, daemon_id: &str) {
        self.claimed_daemons.lock().unwrap_or_else(|p| p.into_inner()).remove(daemon_id);
    }
}

/// A daemon to launch on: one address a master entry resolved to.
#[derive(Clone, Debug)]
pub struct DaemonAddress {
    pub address: SocketAddr,
    /// The host as the master URL names it (the name TLS certificates are
    /// checked against unless `ember.tls.serverName` is set).
    pub host: String,
}

impl std::fmt::Display for DaemonAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.address.fmt(f)
    }
}

impl DaemonAddress {
    /// How to reach this daemon and its backends over TLS, when enabled.
    pub fn tls_config(&self, spec: &LaunchSpec) -> Option<ClientTlsConfig> {
        spec.tls.as_ref().map(|t| t.client_config(&self.host, spec.connect_timeout))
    }
}

const CHUNK_BYTES: usize = 1 << 20;

fn daemon_error(daemon: SocketAddr, what: &str, s: tonic::Status) -> EmberError {
    EmberError::Executor(format!("executor daemon at {daemon} refused to {what}: {}", s.message()))
}

/// What to do about a failed connection or first call when TLS may be the
/// cause: the rustls error inside says, when there is one; a driver without
/// TLS whose first call dies below gRPC may be talking to a TLS server.
pub fn tls_hint(error: &(dyn std::error::Error + 'static), tls: bool) -> &'static str {
    use rustls::CertificateError as Cert;
    match handshake_failure(error) {
        Some(rustls::Error::InvalidCertificate(Cert::NotValidForName | Cert::NotValidForNameContext { .. })) => {
            " (the executor's TLS certificate is not for this name: set ember.tls.serverName to a name it carries)"
        }
        Some(rustls::Error::InvalidCertificate(_)) => {
            " (the executor's TLS certificate is not trusted: ember.tls.caFile must be the CA that signed it)"
        }
        Some(_) => " (TLS handshake failed: is the executor serving TLS, started with --tls-cert and --tls-key?)",
        None if !tls => {
            " (if the executor serves TLS, started with --tls-cert, set ember.tls.enabled=true and ember.tls.caFile)"
        }
        None => "",
    }
}

/// A failure of a call that never reached the daemon's service, with what it
/// may mean for TLS; refusals by the service itself as [`daemon_error`].
fn call_error(daemon: SocketAddr, what: &str, s: tonic::Status, tls: bool) -> EmberError {
    use std::error::Error;
    match s.source() {
        Some(transport) => EmberError::Executor(format!(
            "cannot talk to executor daemon at {daemon}: {}{}",
            error_chain(transport),
            tls_hint(transport, tls)
        )),
        None => daemon_error(daemon, what, s),
    }
}

/// The host of a `host:port` master entry (IPv6 without its brackets).
fn entry_host(entry: &str) -> &str {
    let host = entry.rsplit_once(':').map_or(entry, |(host, _)| host);
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host)
}

/// Resolves `host:port` entries to every address each name has (a compose
/// service scaled to N resolves to N containers), each within `timeout`.
/// Each entry on its own: one that does not resolve hides no other. Returns
/// the daemons found (without repeats) and each failed entry's error.
pub async fn resolve(entries: &[String], timeout: Duration) -> (Vec<DaemonAddress>, Vec<EmberError>) {
    let (mut all, mut errors): (Vec<DaemonAddress>, Vec<EmberError>) = (Vec::new(), Vec::new());
    for entry in entries {
        let cannot =
            |why: String| EmberError::Executor(format!("cannot resolve executor daemon address {entry}: {why}"));
        let found = match tokio::time::timeout(timeout, tokio::net::lookup_host(entry.as_str())).await {
            Err(_) => Err(cannot(format!("no answer within {timeout:?}"))),
            Ok(Err(e)) => Err(cannot(e.to_string())),
            Ok(Ok(addrs)) => Ok(addrs.collect::<Vec<_>>()),
        };
        match found {
            Ok(addrs) if addrs.is_empty() => errors.push(cannot("no address".into())),
            Ok(addrs) => {
                for address in addrs {
                    if !all.iter().any(|d| d.address == address) {
                        all.push(DaemonAddress { address, host: entry_host(entry).to_string() });
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }
    (all, errors)
}

/// What launching on a daemon gave.
pub enum Launch {
    Started(LaunchedBackend),
    /// The daemon `daemon_id`, reached at another address, already runs
    /// one of this application's backends.
    AlreadyRunning {
        daemon_id: String,
    },
}

/// Launches one backend on the daemon at `target`.
pub async fn launch(target: &DaemonAddress, spec: &LaunchSpec) -> Result<Launch, EmberError> {
    let daemon = target.address;
    let tls = target.tls_config(spec);
    let endpoint = Endpoint::from_shared(format!("{}://{daemon}", scheme(tls.is_some())))
        .map_err(|e| EmberError::Executor(format!("bad daemon address {daemon}: {e}")))?
        .connect_timeout(spec.connect_timeout)
        .tcp_nodelay(true);
    let endpoint = match tls {
        Some(tls) => endpoint.tls_config(tls).map_err(|e| {
            EmberError::Config(format!("TLS settings for executor daemon at {daemon}: {}", error_chain(&e)))
        })?,
        None => endpoint,
    };
    let channel = tokio::time::timeout(spec.connect_timeout, endpoint.connect())
        .await
        .map_err(|_| EmberError::Executor(format!("cannot reach executor daemon at {daemon}: timed out")))?
        .map_err(|e| {
            EmberError::Executor(format!(
                "cannot reach executor daemon at {daemon}: {}{}",
                error_chain(&e),
                tls_hint(&e, spec.tls.is_some())
            ))
        })?;
    let mut client = ExecutorDaemonClient::new(channel).max_encoding_message_size(MAX_MESSAGE_BYTES);
    let nonce = within(daemon, spec.call_timeout, client.challenge(pb::ChallengeRequest {}))
        .await?
        .map_err(|s| call_error(daemon, "answer", s, spec.tls.is_some()))?;
    let pb::ChallengeResponse { nonce, daemon_id } = nonce.into_inner();
    if !spec.claimed_daemons.lock().unwrap_or_else(|p| p.into_inner()).insert(daemon_id.clone()) {
        tracing::debug!(%daemon, %daemon_id, "this address reaches a daemon already in use");
        return Ok(Launch::AlreadyRunning { daemon_id });
    }
    let launched = start_backend(client, daemon, spec, nonce, daemon_id.clone()).await;
    if launched.is_err() {
        spec.release_daemon(&daemon_id);
    }
    launched.map(Launch::Started)
}

/// Authenticates with the daemon's `nonce`, uploads the binary if the
/// daemon lacks it and starts a backend.
async fn start_backend(
    mut client: ExecutorDaemonClient<tonic::transport::Channel>,
    daemon: SocketAddr,
    spec: &LaunchSpec,
    nonce: Vec<u8>,
    daemon_id: String,
) -> Result<LaunchedBackend, EmberError> {
    let timeout = spec.call_timeout;
    let answer =
        spec.secret.as_deref().map(|s| proof(s, &nonce, &spec.app.app_id, &spec.app.exe_sha256)).unwrap_or_default();
    let code = CodeFiles::of_this_process()?;
    let prepare = pb::PrepareRequest {
        nonce,
        proof: answer,
        app_id: spec.app.app_id.clone(),
        exe_sha256: spec.app.exe_sha256.clone(),
        hosted: code
            .runtime
            .as_ref()
            .map(|r| pb::HostedCode { runtime_name: r.name.clone(), runtime_sha256: r.sha256.clone() }),
    };
    let prepared = within(daemon, timeout, client.prepare(prepare))
        .await?
        .map_err(|s| daemon_error(daemon, "accept this driver", s))?
        .into_inner();
    if prepared.need_binary {
        let chunks = BinaryChunks::open(&code.program, &prepared.ticket, false)?;
        upload(&mut client, daemon, timeout, chunks, "store the binary").await?;
    }
    if let (true, Some(runtime)) = (prepared.need_runtime, &code.runtime) {
        let chunks = BinaryChunks::open(&runtime.path, &prepared.ticket, true)?;
        upload(&mut client, daemon, timeout, chunks, "store the Rust runtime library").await?;
    }
    // Starting waits for the backend to listen (the daemon allows it 30 s).
    let start = pb::StartRequest { ticket: prepared.ticket, cores: spec.cores as u32 };
    let started = within(daemon, timeout + Duration::from_secs(30), client.start(start))
        .await?
        .map_err(|s| daemon_error(daemon, "start a backend", s))?
        .into_inner();
    Ok(LaunchedBackend {
        daemon_id,
        address: started.backend_address,
        token: started.backend_token,
        cores: started.cores.max(1) as usize,
        uploaded: prepared.need_binary,
    })
}

/// Streams `chunks` (a file of `bytes` bytes) to the daemon, allowing the
/// call `timeout` plus a slow link's time for the bytes.
async fn upload(
    client: &mut ExecutorDaemonClient<tonic::transport::Channel>,
    daemon: SocketAddr,
    timeout: Duration,
    (chunks, bytes): (BinaryChunks, usize),
    what: &str,
) -> Result<(), EmberError> {
    within(daemon, timeout + upload_time(bytes), client.upload(tokio_stream::iter(chunks)))
        .await?
        .map_err(|s| daemon_error(daemon, what, s))?;
    Ok(())
}

/// `call` to the daemon at `daemon`, or an error naming it once `timeout`
/// passes (a daemon that accepted the connection but stopped answering).
async fn within<T>(
    daemon: SocketAddr,
    timeout: Duration,
    call: impl std::future::Future<Output = T>,
) -> Result<T, EmberError> {
    tokio::time::timeout(timeout, call)
        .await
        .map_err(|_| EmberError::Executor(format!("executor daemon at {daemon} did not answer within {timeout:?}")))
}

/// Time allowed for uploading `bytes` beyond a call's own timeout: 1 s per
/// 4 MiB, a slow link's pace.
fn upload_time(bytes: usize) -> Duration {
    Duration::from_secs((bytes >> 22) as u64)
}

/// What a daemon must store to run this driver's backends.
struct CodeFiles {
    /// This executable, or the cell object holding Ember in a REPL.
    program: PathBuf,
    /// The Rust runtime library a cell object needs (`None`: an executable).
    runtime: Option<RuntimeLibrary>,
}

#[derive(Clone)]
struct RuntimeLibrary {
    path: PathBuf,
    /// Its file name, which the object's dependency names.
    name: String,
    sha256: String,
}

impl CodeFiles {
    fn of_this_process() -> Result<CodeFiles, EmberError> {
        let own = code_objects::own_object()
            .map_err(|e| EmberError::Executor(format!("cannot tell where Ember's code is loaded from: {e}")))?;
        let Some(object) = own else {
            let program = std::env::current_exe()
                .map_err(|e| EmberError::Executor(format!("cannot find own executable: {e}")))?;
            return Ok(CodeFiles { program, runtime: None });
        };
        Ok(CodeFiles { program: object.path.clone(), runtime: Some(runtime_library(&object.path)?) })
    }
}

/// The loaded Rust runtime library (hashed once per process).
fn runtime_library(object: &Path) -> Result<RuntimeLibrary, EmberError> {
    static RUNTIME: OnceLock<Result<RuntimeLibrary, String>> = OnceLock::new();
    let found = RUNTIME.get_or_init(|| {
        let path = code_objects::runtime_library().ok_or_else(|| {
            "no Rust runtime library (libstd-*.so) is loaded; was the cell built with -C prefer-dynamic?".to_string()
        })?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let sha256 = code_objects::file_sha256(&path).map_err(|e| e.to_string())?;
        Ok(RuntimeLibrary { path, name, sha256 })
    });
    found
        .clone()
        .map_err(|why| EmberError::Executor(format!("cannot ship {} to executor daemons: {why}", object.display())))
}

/// A file as upload chunks (the first carries the ticket and says whether
/// it is the runtime library), read as the upload goes, so each upload
/// holds one chunk in memory. A read error ends the stream early: the
/// daemon then refuses the upload (its hash is not the announced one) and
/// the error is logged here.
struct BinaryChunks {
    file: std::fs::File,
    path: PathBuf,
    ticket: Option<String>,
    runtime: bool,
    done: bool,
}

impl BinaryChunks {
    fn open(path: &Path, ticket: &str, runtime: bool) -> Result<(BinaryChunks, usize), EmberError> {
        let io = |e: std::io::Error| EmberError::Io { path: path.display().to_string(), error: e };
        let file = std::fs::File::open(path).map_err(io)?;
        let bytes = file.metadata().map_err(io)?.len() as usize;
        let path = path.to_path_buf();
        Ok((BinaryChunks { file, path, ticket: Some(ticket.to_string()), runtime, done: false }, bytes))
    }
}

impl Iterator for BinaryChunks {
    type Item = pb::UploadChunk;

    fn next(&mut self) -> Option<pb::UploadChunk> {
        if self.done {
            return None;
        }
        let mut data = Vec::with_capacity(CHUNK_BYTES);
        match (&mut self.file).take(CHUNK_BYTES as u64).read_to_end(&mut data) {
            Ok(n) if n < CHUNK_BYTES => self.done = true,
            Ok(_) => {}
            Err(e) => {
                tracing::error!(path = %self.path.display(), error = %e, "cannot read a file to upload");
                self.done = true;
                return None;
            }
        }
        if data.is_empty() && self.ticket.is_none() {
            return None;
        }
        let first = self.ticket.is_some();
        Some(pb::UploadChunk { ticket: self.ticket.take().unwrap_or_default(), data, runtime: first && self.runtime })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_object_without_a_loaded_rust_runtime_cannot_be_shipped_and_says_why() {
        // A test binary links Rust's standard library statically: there is
        // no libstd-*.so to send with an object, as in a cell built without
        // -C prefer-dynamic.
        assert!(code_objects::runtime_library().is_none());
        let err = runtime_library(Path::new("/tmp/code_3.so")).err().expect("no runtime to ship").to_string();
        assert!(err.contains("cannot ship /tmp/code_3.so") && err.contains("prefer-dynamic"), "{err}");
    }

    #[test]
    fn a_compiled_program_ships_its_own_executable_and_no_runtime() {
        let code = CodeFiles::of_this_process().unwrap();
        assert_eq!(code.program, std::env::current_exe().unwrap());
        assert!(code.runtime.is_none());
    }
}
