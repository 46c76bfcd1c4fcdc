//! The records the UI's state store keeps: an application, its jobs, stage
//! attempts with their tasks, executors and cached block copies. Plain data,
//! changed only by [`super::state::AppState::apply`].

pub use super::task_table::{PartitionSet, TaskTable};
use crate::listener::{BlockPlacement, TaskMetrics, UnixMillis};
use ember_rdd::ids::{JobId, StageId, TaskId};
use std::sync::Arc;
use std::time::Duration;

/// How much finished history the store keeps.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    pub jobs: usize,
    pub stages: usize,
    pub tasks_per_stage: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Retention { jobs: 1000, stages: 1000, tasks_per_stage: 100_000 }
    }
}

/// The application: who, what, when, and its (redacted) configuration.
#[derive(Clone, Debug, Default)]
pub struct AppSummary {
    pub id: String,
    pub name: String,
    pub master: String,
    pub user: String,
    pub configuration: Vec<(String, String)>,
    pub started: UnixMillis,
    pub ended: Option<UnixMillis>,
    /// The time of the latest event.
    pub last_event: UnixMillis,
}

/// Where a job is: Running → Succeeded | Failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    Running,
    Succeeded,
    Failed,
}

/// One job (one action): its stages and how it ended.
#[derive(Clone, Debug)]
pub struct JobRecord {
    pub id: JobId,
    pub name: String,
    pub stages: Vec<StageId>,
    pub submitted: UnixMillis,
    pub completed: Option<UnixMillis>,
    pub status: JobStatus,
    pub error: Option<String>,
}

/// Where a stage attempt is: Active → Complete | Failed for an attempt that
/// ran; Pending → Skipped for the placeholder of a stage that never ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StageStatus {
    Pending,
    Active,
    Complete,
    Failed,
    Skipped,
}

/// Where a task attempt is: Running → Success | Failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskStatus {
    Running,
    Success,
    Failed,
}

/// One task attempt, as the stage page's task table shows it.
#[derive(Clone, Debug)]
pub struct TaskRecord {
    pub id: TaskId,
    pub partition: usize,
    /// Attempts of this partition that failed before this one.
    pub attempt: u32,
    /// Shared with its executor's record (no allocation per task).
    pub executor: Arc<str>,
    pub launched: UnixMillis,
    pub finished: Option<UnixMillis>,
    pub status: TaskStatus,
    pub error: Option<String>,
    pub metrics: TaskMetricsRecord,
}

/// What a finished task measured (zeros while it runs).
#[derive(Clone, Copy, Debug, Default)]
pub struct TaskMetricsRecord {
    pub run_time: Duration,
    /// What the task read and wrote: input (a source or a cached block)
    /// and shuffle records and bytes.
    pub io: TaskMetrics,
    pub result_size_bytes: u64,
}

impl TaskMetricsRecord {
    pub(super) fn add(&mut self, other: &TaskMetricsRecord) {
        self.run_time += other.run_time;
        self.io.add(&other.io);
        self.result_size_bytes += other.result_size_bytes;
    }
}

/// One attempt of a stage (or, as attempt 0, a stage that has not run).
#[derive(Clone, Debug)]
pub struct AttemptRecord {
    pub stage: StageId,
    pub attempt: u32,
    pub name: String,
    pub status: StageStatus,
    pub jobs: Vec<JobId>,
    pub num_tasks: usize,
    pub submitted: Option<UnixMillis>,
    pub first_task_launched: Option<UnixMillis>,
    pub completed: Option<UnixMillis>,
    pub failure: Option<String>,
    pub active_tasks: usize,
    pub complete_tasks: usize,
    pub failed_tasks: usize,
    /// Partitions with a successful task.
    pub completed_partitions: PartitionSet,
    /// Totals over finished tasks.
    pub totals: TaskMetricsRecord,
    /// The latest tasks (at most `Retention::tasks_per_stage`).
    pub tasks: TaskTable,
}

impl AttemptRecord {
    pub(super) fn new(
        stage: StageId,
        attempt: u32,
        name: String,
        status: StageStatus,
        jobs: Vec<JobId>,
        tasks: usize,
    ) -> Self {
        AttemptRecord {
            stage,
            attempt,
            name,
            status,
            jobs,
            num_tasks: tasks,
            submitted: None,
            first_task_launched: None,
            completed: None,
            failure: None,
            active_tasks: 0,
            complete_tasks: 0,
            failed_tasks: 0,
            completed_partitions: PartitionSet::default(),
            totals: TaskMetricsRecord::default(),
            tasks: TaskTable::default(),
        }
    }
    pub fn is_finished(&self) -> bool {
        !matches!(self.status, StageStatus::Pending | StageStatus::Active)
    }
}

/// One executor, alive or dead, and the tasks it ran.
#[derive(Clone, Debug)]
pub struct ExecutorRecord {
    pub id: Arc<str>,
    pub host_port: String,
    pub active: bool,
    pub cores: usize,
    /// Memory for cached blocks (0 = unlimited).
    pub max_memory: u64,
    pub added: UnixMillis,
    pub removed: Option<UnixMillis>,
    pub remove_reason: Option<String>,
    pub active_tasks: usize,
    pub completed_tasks: usize,
    pub failed_tasks: usize,
    /// Wall-clock time of its finished tasks, in ms.
    pub task_time_ms: u64,
    pub totals: TaskMetricsRecord,
}

impl ExecutorRecord {
    /// An executor known so far only by its id.
    pub fn new(id: &str) -> Self {
        ExecutorRecord {
            id: Arc::from(id),
            host_port: String::new(),
            active: false,
            cores: 0,
            max_memory: 0,
            added: UnixMillis::default(),
            removed: None,
            remove_reason: None,
            active_tasks: 0,
            completed_tasks: 0,
            failed_tasks: 0,
            task_time_ms: 0,
            totals: TaskMetricsRecord::default(),
        }
    }
}

/// A cached block's copy on one executor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockCopy {
    pub placement: BlockPlacement,
    pub size_bytes: u64,
}
