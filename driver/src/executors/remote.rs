//! A link to an executor backend in another process, over its `Attach`
//! stream.
//!
//! Messages to the backend go into an unbounded queue that feeds the stream,
//! so the scheduler never waits on the network. A reader task turns the
//! backend's messages into scheduler events; when the stream breaks (the
//! process died, the network is cut) it posts `ExecutorLost` at once.
//!
//! A REPL driver's backends on executor daemons get the code objects of its
//! cells (ADR 0009) on the same stream: each object once per backend, in
//! pieces, before the first stage plan that names it (`object_shipping`).

use super::object_shipping::ShippedObjects;
use super::{AppIdentity, ExecutorId, ExecutorLink, ExecutorResources, RemoveTarget, StageDescription, TaskLaunch};
use crate::listener::ExecutorMemory;
use crate::scheduler::{EventSender, SchedulerEvent};
use ember_executor::wire::{block_update_from_proto, locations_to_proto, outcome_from_proto};
use ember_proto::MAX_MESSAGE_BYTES;
use ember_proto::v1 as pb;
use ember_proto::v1::driver_message::Kind as DriverKind;
use ember_proto::v1::executor_backend_client::ExecutorBackendClient;
use ember_proto::v1::executor_message::Kind as ExecKind;
use ember_rdd::EmberError;
use ember_rdd::ids::{BroadcastId, TaskId};
use ember_rdd::storage::AnyValue;
use ember_security::tls::{error_chain, scheme};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::transport::{ClientTlsConfig, Endpoint};

/// What the driver knows of a backend after registering with it.
pub struct Registration {
    pub cores: usize,
    /// The most bytes the backend caches (0 = unlimited).
    pub memory_bytes: u64,
    pub address: String,
    pub pid: u32,
}

pub struct RemoteExecutor {
    tx: mpsc::UnboundedSender<pb::DriverMessage>,
    /// The code objects this backend has been sent, when the driver ships
    /// them (`None`: it loads them from the driver's paths, same host).
    shipped_objects: Option<ShippedObjects>,
}

fn message(kind: DriverKind) -> pb::DriverMessage {
    pb::DriverMessage { kind: Some(kind) }
}

/// The parameters of an attach.
pub struct AttachRequest {
    pub address: String,
    pub executor: ExecutorId,
    pub app: AppIdentity,
    /// Its memory and local directory, as the application asks.
    pub resources: ExecutorResources,
    pub connect_timeout: Duration,
    /// The backend must answer `Hello` with `Registered` within this time.
    pub register_timeout: Duration,
    /// The token a daemon gave for this backend (empty for local-cluster backends).
    pub token: String,
    /// TLS to the backend, as to the daemon that started it (`None`: plain TCP).
    pub tls: Option<ClientTlsConfig>,
    /// Send the backend the code objects its stages need (a daemon's
    /// backend, maybe on another host) instead of letting it load them
    /// from the driver's paths.
    pub ship_code_objects: bool,
}

/// Opens the `Attach` stream with `hello_queue` (Hello first) and waits for
/// the backend's `Registered`.
async fn register(
    client: &mut ExecutorBackendClient<tonic::transport::Channel>,
    hello_queue: mpsc::UnboundedReceiver<pb::DriverMessage>,
    address: &str,
) -> Result<(pb::Registered, tonic::Streaming<pb::ExecutorMessage>), EmberError> {
    let refused = |s: tonic::Status| {
        EmberError::Executor(format!("executor at {address} refused the application: {}", s.message()))
    };
    let mut inbound = client.attach(UnboundedReceiverStream::new(hello_queue)).await.map_err(refused)?.into_inner();
    match inbound.message().await {
        Ok(Some(pb::ExecutorMessage { kind: Some(ExecKind::Registered(r)) })) => Ok((r, inbound)),
        Ok(_) => Err(EmberError::Executor(format!("executor at {address} did not register"))),
        Err(s) => Err(refused(s)),
    }
}

/// Attaches to the backend at `req.address` and starts relaying its messages
/// as scheduler events.
pub async fn attach(req: AttachRequest, events: EventSender) -> Result<Registration, EmberError> {
    let address = req.address.clone();
    let tls = req.tls.is_some();
    let endpoint = Endpoint::from_shared(format!("{}://{address}", scheme(tls)))
        .map_err(|e| EmberError::Executor(format!("bad executor address {address}: {e}")))?
        .connect_timeout(req.connect_timeout)
        .tcp_nodelay(true);
    let endpoint = match req.tls {
        Some(config) => endpoint
            .tls_config(config)
            .map_err(|e| EmberError::Config(format!("TLS settings for executor at {address}: {}", error_chain(&e))))?,
        None => endpoint,
    };
    let channel = tokio::time::timeout(req.connect_timeout, endpoint.connect())
        .await
        .map_err(|_| {
            EmberError::Executor(format!(
                "cannot reach executor at {address}: timed out after {:?}",
                req.connect_timeout
            ))
        })?
        .map_err(|e| {
            EmberError::Executor(format!(
                "cannot reach executor at {address}: {}{}",
                error_chain(&e),
                if tls { super::daemon_client::tls_hint(&e, true) } else { "" }
            ))
        })?;
    let mut client = ExecutorBackendClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let (tx, rx) = mpsc::unbounded_channel();
    let hello = pb::Hello {
        app_id: req.app.app_id.clone(),
        executor_id: req.executor.0.clone(),
        exe_sha256: req.app.exe_sha256.clone(),
        memory_bytes: req.resources.memory.executor_memory,
        token: req.token.clone(),
        shuffle_token: req.app.shuffle_token.clone(),
        memory_fraction: req.resources.memory.fraction,
        storage_fraction: req.resources.memory.storage_fraction,
        compress_shuffle: req.resources.compress_shuffle,
        local_dir: req.resources.local_dir.as_ref().map(|d| d.display().to_string()).unwrap_or_default(),
        code_objects_shipped: req.ship_code_objects,
    };
    tx.send(message(DriverKind::Hello(hello))).map_err(|_| EmberError::Executor("attach queue closed".into()))?;
    let (registered, mut inbound) =
        tokio::time::timeout(req.register_timeout, register(&mut client, rx, &address)).await.map_err(|_| {
            EmberError::Executor(format!("executor at {address} did not register within {:?}", req.register_timeout))
        })??;
    let registration = Registration {
        cores: registered.cores.max(1) as usize,
        memory_bytes: registered.memory_bytes,
        address: registered.address,
        pid: registered.pid,
    };
    // The scheduler hears of the executor before anything the reader may
    // post about it (its loss, if the stream breaks at once).
    events.post(SchedulerEvent::ExecutorAdded {
        executor: req.executor.clone(),
        link: std::sync::Arc::new(RemoteExecutor {
            tx,
            shipped_objects: req.ship_code_objects.then(ShippedObjects::default),
        }),
        cores: registration.cores,
        address: req.address.clone(),
        max_memory: registration.memory_bytes,
    });
    let executor = req.executor.clone();
    tokio::spawn(async move {
        let reason = loop {
            match inbound.message().await {
                Ok(Some(pb::ExecutorMessage { kind: Some(kind) })) => relay(&executor, kind, &events),
                Ok(Some(_)) => {}
                Ok(None) => break "the executor closed its stream".to_string(),
                Err(s) => break format!("the executor's stream broke: {}", s.message()),
            }
        };
        events.post(SchedulerEvent::ExecutorLost { executor, reason });
    });
    Ok(registration)
}

fn relay(executor: &ExecutorId, kind: ExecKind, events: &EventSender) {
    match kind {
        ExecKind::StatusUpdates(s) => {
            for status in s.statuses {
                let task = TaskId(status.task_id);
                events.post(SchedulerEvent::TaskEnded {
                    executor: executor.clone(),
                    task,
                    outcome: outcome_from_proto(status),
                });
            }
        }
        ExecKind::BlockUpdates(b) => {
            for u in b.updates {
                let update = block_update_from_proto(u);
                events.post(SchedulerEvent::BlockUpdated { executor: executor.clone(), update });
            }
        }
        ExecKind::Heartbeat(hb) => {
            let memory =
                ExecutorMemory { storage_bytes: hb.memory_used_bytes, execution_bytes: hb.execution_memory_bytes };
            events.post(SchedulerEvent::Heartbeat { executor: executor.clone(), memory });
        }
        ExecKind::Registered(_) => tracing::warn!(%executor, "ignoring a second registration"),
    }
}

impl RemoteExecutor {
    fn send(&self, kind: DriverKind) {
        // A closed queue means the executor is gone; its loss is reported by
        // the reader task, so there is nothing more to do here.
        let _ = self.tx.send(message(kind));
    }
}

impl ExecutorLink for RemoteExecutor {
    fn register_stage(&self, stage: &std::sync::Arc<StageDescription>) -> Result<(), EmberError> {
        let plan = stage.plan()?;
        if let Some(shipped) = &self.shipped_objects {
            for piece in shipped.pieces_to_send(&plan.code_objects)? {
                self.send(DriverKind::PutCodeObject(piece));
            }
        }
        let shuffle_locations = locations_to_proto(&stage.locations);
        self.send(DriverKind::RegisterStage(pb::RegisterStage {
            stage_id: stage.stage.0,
            attempt: stage.attempt,
            plan: plan.bytes.as_ref().clone(),
            shuffle_locations,
        }));
        Ok(())
    }

    fn launch(&self, tasks: Vec<TaskLaunch>) {
        let tasks = tasks
            .into_iter()
            .map(|t| pb::TaskDescription {
                task_id: t.task.0,
                stage_id: t.stage.0,
                stage_attempt: t.stage_attempt,
                partition: t.partition as u32,
                attempt: t.attempt,
            })
            .collect();
        self.send(DriverKind::LaunchTasks(pb::LaunchTasks { tasks }));
    }

    fn put_broadcast(&self, id: BroadcastId, bytes: &std::sync::Arc<Vec<u8>>, _: &AnyValue) {
        self.send(DriverKind::PutBroadcast(pb::PutBroadcast { broadcast_id: id.0, value: bytes.as_ref().clone() }));
    }

    fn remove(&self, target: RemoveTarget) {
        use pb::remove_data::Target;
        let target = match target {
            RemoveTarget::Rdd(id) => Target::RddId(id.0),
            RemoveTarget::Shuffle(id) => Target::ShuffleId(id.0),
            RemoveTarget::Broadcast(id) => Target::BroadcastId(id.0),
            RemoveTarget::Stage(id) => Target::StageId(id.0),
        };
        self.send(DriverKind::RemoveData(pb::RemoveData { target: Some(target) }));
    }

    fn kill(&self, tasks: &[ember_rdd::ids::TaskId], reason: &str) {
        let task_ids = tasks.iter().map(|t| t.0).collect();
        self.send(DriverKind::KillTasks(pb::KillTasks { task_ids, reason: reason.to_string() }));
    }

    fn shutdown(&self) {
        self.send(DriverKind::Shutdown(pb::Shutdown {}));
    }
}
