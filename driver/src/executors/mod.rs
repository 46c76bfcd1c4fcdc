//! Executors as the scheduler sees them: an [`ExecutorLink`] per executor,
//! through which stages are registered and tasks launched, whatever the
//! executor is (in process, a child process, a remote daemon's backend).
//!
//! Links report back by posting [`SchedulerEvent`](crate::scheduler::SchedulerEvent)s:
//! task ends, block updates, heartbeats and their own loss. The trait is the
//! seam that lets the scheduler be tested without processes.

pub mod backend_program;
pub mod daemon_client;
pub mod local;
pub mod local_cluster;
pub mod object_shipping;
pub mod remote;
pub mod standalone;

/// The id of the in-process executor of `local[N]`.
pub const LOCAL_EXECUTOR_ID: &str = "driver";

use ember_rdd::EmberError;
use ember_rdd::code_objects::CodeObject;
pub use ember_rdd::ids::ExecutorId;
use ember_rdd::ids::{BroadcastId, RddId, ShuffleId, StageId, TaskId};
use ember_rdd::rdd::StageRoot;
use ember_rdd::shipping::StagePlan;
use ember_rdd::shuffle::map_output::ShuffleLocations;
use ember_rdd::storage::AnyValue;
use std::sync::{Arc, OnceLock};

/// Who an application is, to daemons and to its backends: every launch and
/// attach carries it.
#[derive(Clone, Debug)]
pub struct AppIdentity {
    pub app_id: String,
    /// A random secret of the application that its executors present to
    /// each other when they fetch shuffle blocks.
    pub shuffle_token: String,
    /// SHA-256 of the driver's executable, which executors must run too.
    pub exe_sha256: String,
}

/// What every executor of an application is given: its memory budget and
/// where and how it writes shuffle and spill data.
#[derive(Clone, Debug)]
pub struct ExecutorResources {
    /// `ember.executor.memory` (0: no limit), `ember.memory.fraction` and
    /// `ember.memory.storageFraction`.
    pub memory: ember_rdd::memory::MemoryConfig,
    /// `ember.shuffle.compress`.
    pub compress_shuffle: bool,
    /// `ember.local.dir` (`None`: each executor's work directory).
    pub local_dir: Option<std::path::PathBuf>,
    /// `ember.executor.heartbeatInterval`: how often an executor reports its memory.
    pub heartbeat_interval: std::time::Duration,
}

/// One task to launch.
#[derive(Clone, Debug)]
pub struct TaskLaunch {
    pub task: TaskId,
    pub stage: StageId,
    pub stage_attempt: u32,
    pub partition: usize,
    /// How many attempts of this task failed before.
    pub attempt: u32,
}

/// A stage attempt, as registered with executors before its tasks launch.
pub struct StageDescription {
    pub stage: StageId,
    pub attempt: u32,
    pub root: Arc<dyn StageRoot>,
    pub locations: Arc<ShuffleLocations>,
    /// The encoded plan, built once per stage attempt on first need.
    plan: OnceLock<Result<EncodedPlan, String>>,
}

/// A stage's plan as other processes get it.
#[derive(Clone)]
pub struct EncodedPlan {
    pub bytes: Arc<Vec<u8>>,
    /// The code objects (REPL cells) its entry points are in.
    pub code_objects: Arc<[CodeObject]>,
}

impl StageDescription {
    pub fn new(stage: StageId, attempt: u32, root: Arc<dyn StageRoot>, locations: ShuffleLocations) -> Self {
        StageDescription { stage, attempt, root, locations: Arc::new(locations), plan: OnceLock::new() }
    }

    /// The stage's plan for other processes (lineage serialized once per stage attempt).
    pub fn plan(&self) -> Result<EncodedPlan, EmberError> {
        self.plan
            .get_or_init(|| {
                let plan = StagePlan::build(&*self.root).map_err(|e| e.to_string())?;
                let bytes = Arc::new(plan.to_bytes().map_err(|e| e.to_string())?);
                Ok(EncodedPlan { bytes, code_objects: plan.code_objects().into() })
            })
            .clone()
            .map_err(EmberError::Serialization)
    }
}

/// What an executor is told to drop.
#[derive(Clone, Copy, Debug)]
pub enum RemoveTarget {
    Rdd(RddId),
    Shuffle(ShuffleId),
    Broadcast(BroadcastId),
    Stage(StageId),
}

/// The scheduler's handle on one executor.
pub trait ExecutorLink: Send + Sync {
    /// Makes a stage attempt's tasks launchable on this executor.
    fn register_stage(&self, stage: &Arc<StageDescription>) -> Result<(), EmberError>;
    fn launch(&self, tasks: Vec<TaskLaunch>);
    fn put_broadcast(&self, id: BroadcastId, bytes: &Arc<Vec<u8>>, value: &AnyValue);
    fn remove(&self, target: RemoveTarget);
    /// Stops these tasks, running or queued (their job was cancelled); each
    /// ends with `TaskError::Killed`.
    fn kill(&self, tasks: &[TaskId], reason: &str);
    /// Asks the executor to stop serving this application.
    fn shutdown(&self);
}
