//! The driver's side of the executor daemon protocol (`ember://` masters):
//! authenticate, upload this program's binary if the daemon lacks it, and
//! have the daemon start a backend, which the driver then attaches to.

use ember_executor::daemon::auth::proof;
use ember_executor::fetch::MAX_MESSAGE_BYTES;
use ember_proto::v1 as pb;
use ember_proto::v1::executor_daemon_client::ExecutorDaemonClient;
use ember_rdd::EmberError;
use std::io::Read;
use std::net::SocketAddr;
use std::time::Duration;
use tonic::transport::Endpoint;

/// A backend a daemon started for us.
pub struct LaunchedBackend {
    pub address: String,
    pub token: String,
    pub cores: usize,
    /// Whether this launch uploaded the binary (false when the daemon had it).
    pub uploaded: bool,
}

/// What a driver needs to launch a backend on a daemon.
pub struct LaunchSpec {
    pub app_id: String,
    pub exe_sha256: String,
    pub secret: Option<Vec<u8>>,
    pub cores: usize,
    pub connect_timeout: Duration,
}

const CHUNK_BYTES: usize = 1 << 20;

fn daemon_error(daemon: SocketAddr, what: &str, s: tonic::Status) -> EmberError {
    EmberError::Executor(format!("executor daemon at {daemon} refused to {what}: {}", s.message()))
}

/// Resolves `host:port` entries to every address each name has (a compose
/// service scaled to N resolves to N containers).
pub async fn resolve(entries: &[String]) -> Result<Vec<SocketAddr>, EmberError> {
    let mut all = Vec::new();
    for entry in entries {
        let addrs = tokio::net::lookup_host(entry.as_str())
            .await
            .map_err(|e| EmberError::Executor(format!("cannot resolve executor daemon address {entry}: {e}")))?;
        for a in addrs {
            if !all.contains(&a) {
                all.push(a);
            }
        }
    }
    if all.is_empty() {
        return Err(EmberError::Executor(format!("{} resolve to no address", entries.join(","))));
    }
    Ok(all)
}

/// Launches one backend on the daemon at `daemon`.
pub async fn launch(daemon: SocketAddr, spec: &LaunchSpec) -> Result<LaunchedBackend, EmberError> {
    let endpoint = Endpoint::from_shared(format!("http://{daemon}"))
        .map_err(|e| EmberError::Executor(format!("bad daemon address {daemon}: {e}")))?
        .connect_timeout(spec.connect_timeout)
        .tcp_nodelay(true);
    let channel = tokio::time::timeout(spec.connect_timeout, endpoint.connect())
        .await
        .map_err(|_| EmberError::Executor(format!("cannot reach executor daemon at {daemon}: timed out")))?
        .map_err(|e| EmberError::Executor(format!("cannot reach executor daemon at {daemon}: {e}")))?;
    let mut client = ExecutorDaemonClient::new(channel).max_encoding_message_size(MAX_MESSAGE_BYTES);
    let nonce = client.challenge(pb::ChallengeRequest {}).await.map_err(|s| daemon_error(daemon, "answer", s))?;
    let nonce = nonce.into_inner().nonce;
    let answer = spec.secret.as_deref().map(|s| proof(s, &nonce, &spec.app_id, &spec.exe_sha256)).unwrap_or_default();
    let prepared = client
        .prepare(pb::PrepareRequest {
            nonce,
            proof: answer,
            app_id: spec.app_id.clone(),
            exe_sha256: spec.exe_sha256.clone(),
        })
        .await
        .map_err(|s| daemon_error(daemon, "accept this driver", s))?
        .into_inner();
    if prepared.need_binary {
        let chunks = binary_chunks(&prepared.ticket)?;
        client.upload(tokio_stream::iter(chunks)).await.map_err(|s| daemon_error(daemon, "store the binary", s))?;
    }
    let started = client
        .start(pb::StartRequest { ticket: prepared.ticket, cores: spec.cores as u32 })
        .await
        .map_err(|s| daemon_error(daemon, "start a backend", s))?
        .into_inner();
    Ok(LaunchedBackend {
        address: started.backend_address,
        token: started.backend_token,
        cores: started.cores.max(1) as usize,
        uploaded: prepared.need_binary,
    })
}

/// This executable, in upload chunks (the first carries the ticket).
fn binary_chunks(ticket: &str) -> Result<Vec<pb::UploadChunk>, EmberError> {
    let path = std::env::current_exe().map_err(|e| EmberError::Executor(format!("cannot find own executable: {e}")))?;
    let io = |e: std::io::Error| EmberError::Io { path: path.display().to_string(), error: e };
    let mut file = std::fs::File::open(&path).map_err(io)?;
    let mut chunks = Vec::new();
    loop {
        let mut buf = vec![0u8; CHUNK_BYTES];
        let mut filled = 0;
        while filled < CHUNK_BYTES {
            let n = file.read(&mut buf[filled..]).map_err(io)?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        buf.truncate(filled);
        let ticket = if chunks.is_empty() { ticket.to_string() } else { String::new() };
        chunks.push(pb::UploadChunk { ticket, data: buf });
        if filled < CHUNK_BYTES {
            return Ok(chunks);
        }
    }
}
