//! `ember://host:port[,host:port...]`: executors started by standing
//! daemons. Every name is resolved to all its addresses (a docker-compose
//! service scaled to N is N executors); a backend is launched on each daemon
//! (up to `ember.executor.instances`) and attached to, all concurrently,
//! over TLS when `ember.tls.enabled`.

use super::ExecutorId;
use super::daemon_client::{LaunchSpec, launch, resolve};
use super::remote::{AttachRequest, attach};
use crate::conf::Settings;
use crate::scheduler::{EventSender, SchedulerEvent};
use ember_rdd::EmberError;
use std::sync::Arc;
use std::time::Duration;

/// The executors that came up.
pub struct Started {
    pub executors: usize,
    /// Their task threads in all.
    pub cores: usize,
}

/// Launches and attaches one backend per daemon; fails if none comes up.
pub async fn start(
    entries: &[String],
    settings: &Settings,
    app_id: &str,
    shuffle_token: &str,
    exe_sha256: &str,
    events: &EventSender,
) -> Result<Started, EmberError> {
    let connect_timeout = settings.registration_timeout.min(Duration::from_secs(5));
    let mut daemons = resolve(entries, connect_timeout).await?;
    if let Some(n) = settings.executor_instances {
        daemons.truncate(n);
    }
    let spec = Arc::new(LaunchSpec {
        app_id: app_id.to_string(),
        shuffle_token: shuffle_token.to_string(),
        exe_sha256: exe_sha256.to_string(),
        secret: settings.auth_secret.as_ref().map(|s| s.expose().to_vec()),
        // 0 asks for all of each daemon's cores, as a Spark standalone
        // executor takes its worker's cores unless spark.executor.cores says.
        cores: settings.executor_cores.unwrap_or(0),
        connect_timeout,
        call_timeout: settings.network_timeout,
        tls: settings.tls.clone(),
    });
    let starts = daemons.iter().enumerate().map(|(i, daemon)| {
        let (spec, events) = (spec.clone(), events.clone());
        let memory_bytes = settings.executor_memory;
        let register_timeout = settings.registration_timeout;
        async move {
            let backend = launch(daemon, &spec).await?;
            let id = ExecutorId(format!("exec-{i}"));
            let req = AttachRequest {
                address: backend.address.clone(),
                executor: id.clone(),
                app_id: spec.app_id.clone(),
                exe_sha256: spec.exe_sha256.clone(),
                memory_bytes,
                connect_timeout,
                register_timeout,
                token: backend.token,
                shuffle_token: spec.shuffle_token.clone(),
                tls: daemon.tls_config(&spec),
            };
            let (link, reg) = attach(req, events.clone()).await?;
            tracing::info!(%id, %daemon, backend = %reg.address, uploaded = backend.uploaded, "executor ready");
            events.post(SchedulerEvent::ExecutorAdded {
                executor: id,
                link: Arc::new(link),
                cores: reg.cores,
                address: backend.address,
            });
            Ok::<_, EmberError>(reg.cores)
        }
    });
    let results = futures::future::join_all(starts).await;
    let started = Started {
        executors: results.iter().filter(|r| r.is_ok()).count(),
        cores: results.iter().filter_map(|r| r.as_ref().ok()).sum(),
    };
    for (daemon, r) in daemons.iter().zip(&results) {
        if let Err(e) = r {
            tracing::warn!(%daemon, error = %e, "no executor on this daemon");
        }
    }
    match results.into_iter().find_map(Result::err) {
        Some(e) if started.executors == 0 => Err(e),
        _ => Ok(started),
    }
}
