//! The records the UI's state store keeps: an application, its jobs, stage
//! attempts with their tasks, executors and cached block copies. Plain data,
//! changed only by [`super::state::AppState::apply`].

pub use super::task_table::{PartitionSet, TaskTable};
use crate::listener::{BlockPlacement, TaskMetrics, UnixMillis};
use ember_rdd::ids::{JobId, StageId, TaskId};
use std::collections::VecDeque;
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
    /// When the driver sent it to its executor.
    pub launched: UnixMillis,
    /// When it took one of its executor's cores (launched tasks beyond the
    /// cores wait in the executor's queue: `ember.executor.prefetchTasks`):
    /// the end of the task that freed the core, as the driver sees it.
    pub started: Option<UnixMillis>,
    pub finished: Option<UnixMillis>,
    pub status: TaskStatus,
    pub error: Option<String>,
    pub metrics: TaskMetricsRecord,
}

impl TaskRecord {
    /// Whether it holds a core now (launched, not queued, not ended).
    pub fn is_running(&self) -> bool {
        self.status == TaskStatus::Running && self.started.is_some()
    }
    /// Launch to end, in ms (to `now` while unfinished).
    pub fn wall_ms(&self, now: UnixMillis) -> f64 {
        self.finished.unwrap_or(now).since(self.launched) as f64
    }
    /// The time its code ran on the executor, in ms (Spark's "Duration").
    pub fn run_ms(&self) -> f64 {
        self.metrics.run_time.as_secs_f64() * 1e3
    }
    /// Spark's "Scheduler Delay" of a finished task: launch to end, less
    /// the run time: the time in the executor's queue, shipping the task
    /// and its result, and deserializing both.
    pub fn scheduler_delay_ms(&self) -> f64 {
        match self.finished {
            Some(end) => (end.since(self.launched) as f64 - self.run_ms()).max(0.0),
            None => 0.0,
        }
    }
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
    /// Tasks launched and not ended: running, or queued on their executor.
    pub launched_tasks: usize,
    /// Of those, the ones holding a core.
    pub running_tasks: usize,
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
            launched_tasks: 0,
            running_tasks: 0,
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
    /// Its tasks launched and not ended, in launch order: the first `cores`
    /// run, the others wait in its queue (its task pool is first in, first out).
    pub launched: VecDeque<LaunchedTask>,
    pub completed_tasks: usize,
    pub failed_tasks: usize,
    /// Run time of its finished tasks (queue time excluded: a prefetched task waits without a core).
    pub task_time: Duration,
    pub totals: TaskMetricsRecord,
    /// Its memory over time, oldest first (at most [`MEMORY_SAMPLES_KEPT`]).
    pub memory_samples: VecDeque<MemorySample>,
}

/// Memory samples kept per executor: ten minutes at the default heartbeat.
pub const MEMORY_SAMPLES_KEPT: usize = 600;

/// One point of an executor's memory chart: its memory from a heartbeat,
/// and what its tasks had written to shuffles and spilled by then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemorySample {
    pub time: UnixMillis,
    pub storage_bytes: u64,
    pub execution_bytes: u64,
    /// Shuffle bytes its finished tasks wrote, in all.
    pub shuffle_write_bytes: u64,
    /// Bytes its finished tasks spilled to disk, in all.
    pub disk_spilled_bytes: u64,
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
            launched: VecDeque::new(),
            completed_tasks: 0,
            failed_tasks: 0,
            task_time: Duration::ZERO,
            totals: TaskMetricsRecord::default(),
            memory_samples: VecDeque::new(),
        }
    }

    /// Adds a memory sample, forgetting the oldest beyond [`MEMORY_SAMPLES_KEPT`].
    pub(super) fn sample_memory(&mut self, time: UnixMillis, storage_bytes: u64, execution_bytes: u64) {
        if self.memory_samples.len() >= MEMORY_SAMPLES_KEPT {
            self.memory_samples.pop_front();
        }
        self.memory_samples.push_back(MemorySample {
            time,
            storage_bytes,
            execution_bytes,
            shuffle_write_bytes: self.totals.io.shuffle_write_bytes,
            disk_spilled_bytes: self.totals.io.disk_bytes_spilled,
        });
    }

    /// How many tasks it runs at once (all launched ones while its cores are unknown).
    pub fn slots(&self) -> usize {
        if self.cores == 0 { usize::MAX } else { self.cores }
    }
    /// Tasks holding one of its cores.
    pub fn running_tasks(&self) -> usize {
        self.launched.len().min(self.slots())
    }
    /// Tasks waiting in its queue for a core.
    pub fn queued_tasks(&self) -> usize {
        self.launched.len() - self.running_tasks()
    }
    /// Takes `task` off its launched list: whether it held a core, and the
    /// queued task that takes the core it frees. The ended task is near the
    /// front (tasks end roughly in launch order), so the search is short.
    pub(super) fn end_launched(&mut self, task: TaskId) -> (bool, Option<LaunchedTask>) {
        let Some(at) = self.launched.iter().position(|l| l.task == task) else { return (false, None) };
        self.launched.remove(at);
        let slots = self.slots();
        let was_running = at < slots;
        // The task that was first in the queue now sits at the last core's place.
        let promoted = if was_running { self.launched.get(slots - 1).copied() } else { None };
        (was_running, promoted)
    }
}

/// A task on an executor's list of launched tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaunchedTask {
    pub task: TaskId,
    pub stage: StageId,
    pub stage_attempt: u32,
}

/// A cached block's copy on one executor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockCopy {
    pub placement: BlockPlacement,
    pub size_bytes: u64,
}
