//! `local-cluster[N]`: N executor backends as child processes of the driver,
//! on 127.0.0.1, speaking real gRPC.
//!
//! Each child is this very executable, started with `EMBER_BACKEND` set, so it
//! becomes a backend before reaching `main` (see `ember_executor::backend`).
//! The driver keeps each child's stdin open: when the driver exits or dies the
//! pipe closes and the child exits too, so no backend outlives its driver.
//! The child's stdout (after the address line) is forwarded to the driver's
//! stderr, so output printed by tasks never mixes with the program's results.

use super::backend_program::BackendProgram;
use super::remote::{AttachRequest, attach};
use super::{AppIdentity, ExecutorId, ExecutorResources};
use crate::scheduler::EventSender;
use ember_executor::backend::{ENV_BACKEND, ENV_CORES, ENV_HEARTBEAT_MS, ENV_WORK_DIR, LISTENING_PREFIX};
use ember_rdd::EmberError;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;
use tokio::sync::mpsc;

/// A started backend process.
pub struct BackendProcess {
    pub child: Child,
    pub address: String,
    pub pid: u32,
    /// Its work directory (it removes it when it exits normally).
    pub work_dir: std::path::PathBuf,
    /// What a driver must present to attach (handed over on its stdin).
    pub token: String,
}

impl BackendProcess {
    /// Kills the process if it still runs, waits a moment for it to be
    /// gone, and removes its directories: a killed backend cannot.
    fn kill_and_clean(mut self, extra_dir: Option<std::path::PathBuf>) {
        let _ = self.child.start_kill();
        for _ in 0..50 {
            if !matches!(self.child.try_wait(), Ok(None)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        for dir in std::iter::once(self.work_dir.clone()).chain(extra_dir) {
            if let Err(e) = std::fs::remove_dir_all(&dir)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot remove a backend's directory");
            }
        }
    }
}

/// Starts one backend and waits (up to `timeout`) for its address.
/// Its work directory is `<temp>/ember-<app>-backend-<index>`: unique to
/// the application, since one process may run several contexts.
pub async fn spawn_backend(
    app_id: &str,
    index: usize,
    cores: usize,
    heartbeat: Duration,
    timeout: Duration,
) -> Result<BackendProcess, EmberError> {
    let program = BackendProgram::for_this_process()?;
    let work_dir = std::env::temp_dir().join(format!("ember-{app_id}-backend-{index}"));
    let mut child = program
        .command()
        .env(ENV_BACKEND, "127.0.0.1:0")
        .env(ENV_CORES, cores.to_string())
        .env(ENV_WORK_DIR, &work_dir)
        .env(ENV_HEARTBEAT_MS, heartbeat.as_millis().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| EmberError::Executor(format!("cannot start backend {}: {e}", program.describe())))?;
    let pid = child.id().unwrap_or(0);
    let token = ember_security::auth::random_hex(32);
    ember_executor::backend::hand_over_token(&mut child, &token)
        .await
        .map_err(|e| EmberError::Executor(format!("backend {index} (pid {pid}): cannot hand over its token: {e}")))?;
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
    Ok(BackendProcess { child, address, pid, work_dir, token })
}

/// The backends of a `local-cluster[N]` context, and their replacement when
/// one dies (`ember.localCluster.replaceLostExecutors`).
pub struct LocalCluster {
    state: Mutex<ClusterState>,
    spec: ClusterSpec,
}

/// What every backend of a local cluster is started with.
#[derive(Clone)]
pub struct ClusterSpec {
    pub cores: usize,
    pub heartbeat: Duration,
    pub timeout: Duration,
    pub resources: ExecutorResources,
    pub app: AppIdentity,
}

struct ClusterState {
    /// Live and dead backends, in the order they were started.
    backends: Vec<(ExecutorId, BackendProcess)>,
    next_index: usize,
}

impl LocalCluster {
    /// Starts `executors` backends and registers each with the scheduler.
    pub async fn start(
        executors: usize,
        spec: ClusterSpec,
        events: &EventSender,
    ) -> Result<Arc<LocalCluster>, EmberError> {
        let cluster =
            Arc::new(LocalCluster { state: Mutex::new(ClusterState { backends: Vec::new(), next_index: 0 }), spec });
        let starts = (0..executors).map(|_| cluster.add_executor(events));
        futures::future::try_join_all(starts).await?;
        Ok(cluster)
    }

    /// Starts one more backend, attaches to it and hands it to the scheduler.
    pub async fn add_executor(&self, events: &EventSender) -> Result<ExecutorId, EmberError> {
        let index = {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            st.next_index += 1;
            st.next_index - 1
        };
        let s = &self.spec;
        let process = spawn_backend(&s.app.app_id, index, s.cores, s.heartbeat, s.timeout).await?;
        let id = ExecutorId(format!("exec-{index}"));
        let req = AttachRequest {
            address: process.address.clone(),
            executor: id.clone(),
            app: s.app.clone(),
            resources: s.resources.clone(),
            connect_timeout: s.timeout,
            register_timeout: s.timeout,
            token: process.token.clone(),
            tls: None,
            ship_code_objects: false,
        };
        attach(req, events.clone()).await?;
        self.state.lock().unwrap_or_else(|p| p.into_inner()).backends.push((id.clone(), process));
        Ok(id)
    }

    /// Replaces every executor reported lost on `lost` with a new backend.
    pub fn replace_lost(self: Arc<Self>, mut lost: mpsc::UnboundedReceiver<ExecutorId>, events: EventSender) {
        tokio::spawn(async move {
            while let Some(dead) = lost.recv().await {
                let (cluster, gone) = (self.clone(), dead.clone());
                // Waiting for the process to be gone blocks: not on a runtime worker.
                let _ = tokio::task::spawn_blocking(move || cluster.forget(&gone)).await;
                match self.add_executor(&events).await {
                    Ok(id) => tracing::info!(%dead, replacement = %id, "replaced a lost executor"),
                    Err(e) => tracing::error!(%dead, error = %e, "cannot replace a lost executor"),
                }
            }
        });
    }

    /// Kills (if still running) the backend of `executor` and removes its files.
    fn forget(&self, executor: &ExecutorId) {
        let gone: Vec<(ExecutorId, BackendProcess)> = {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let (gone, kept) = std::mem::take(&mut st.backends).into_iter().partition(|(id, _)| id == executor);
            st.backends = kept;
            gone
        };
        for (id, process) in gone {
            process.kill_and_clean(self.local_dir_of(&id));
        }
    }

    /// The directory an executor keeps under `ember.local.dir`, if set.
    fn local_dir_of(&self, executor: &ExecutorId) -> Option<std::path::PathBuf> {
        let base = self.spec.resources.local_dir.as_ref()?;
        Some(base.join(format!("ember-{}-{executor}", self.spec.app.app_id)))
    }

    /// (executor, pid) of every backend started and not yet forgotten.
    pub fn backends(&self) -> Vec<(ExecutorId, u32)> {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.backends.iter().map(|(id, p)| (id.clone(), p.pid)).collect()
    }

    /// Kills every backend (they also exit by themselves when the driver's
    /// control streams close) and removes their files.
    pub fn shutdown(&self) {
        let backends = std::mem::take(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()).backends);
        for (id, process) in backends {
            process.kill_and_clean(self.local_dir_of(&id));
        }
    }
}
