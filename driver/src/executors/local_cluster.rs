//! `local-cluster[N]`: N executor backends as child processes of the driver,
//! on 127.0.0.1, speaking real gRPC.
//!
//! Each child is this very executable, started with `EMBER_BACKEND` set, so it
//! becomes a backend before reaching `main` (see `ember_executor::backend`).
//! The driver keeps each child's stdin open: when the driver exits or dies the
//! pipe closes and the child exits too, so no backend outlives its driver.
//! The child's stdout (after the address line) is forwarded to the driver's
//! stderr, so output printed by tasks never mixes with the program's results.

use ember_executor::backend::{ENV_BACKEND, ENV_CORES, ENV_HEARTBEAT_MS, ENV_WORK_DIR, LISTENING_PREFIX};
use ember_rdd::EmberError;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A started backend process.
pub struct BackendProcess {
    pub child: Child,
    pub address: String,
    pub pid: u32,
}

/// Starts one backend and waits (up to `timeout`) for its address.
pub async fn spawn_backend(
    index: usize,
    cores: usize,
    heartbeat: Duration,
    timeout: Duration,
) -> Result<BackendProcess, EmberError> {
    let exe = std::env::current_exe().map_err(|e| EmberError::Executor(format!("cannot find own executable: {e}")))?;
    let work_dir = std::env::temp_dir().join(format!("ember-{}-backend-{index}", std::process::id()));
    let mut child = Command::new(&exe)
        .env(ENV_BACKEND, "127.0.0.1:0")
        .env(ENV_CORES, cores.to_string())
        .env(ENV_WORK_DIR, &work_dir)
        .env(ENV_HEARTBEAT_MS, heartbeat.as_millis().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| EmberError::Executor(format!("cannot start backend {}: {e}", exe.display())))?;
    let pid = child.id().unwrap_or(0);
    let stdout = child.stdout.take().ok_or_else(|| EmberError::Executor("backend has no stdout".into()))?;
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(timeout, lines.next_line())
        .await
        .map_err(|_| EmberError::Executor(format!("backend {index} (pid {pid}) did not start within {timeout:?}")))?
        .map_err(|e| EmberError::Executor(format!("backend {index}: {e}")))?;
    let address =
        first.as_deref().and_then(|l| l.strip_prefix(LISTENING_PREFIX)).map(str::to_string).ok_or_else(|| {
            EmberError::Executor(format!(
                "backend {index} (pid {pid}) exited or printed {first:?} instead of its address; \
                 is the `ember` crate linked into this binary?"
            ))
        })?;
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("[backend {index}] {line}");
        }
    });
    Ok(BackendProcess { child, address, pid })
}
