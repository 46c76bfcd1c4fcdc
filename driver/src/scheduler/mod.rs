//! The scheduler: one event loop that owns all job, stage, task and executor
//! state (Spark's DAGScheduler and TaskSchedulerImpl in one).
//!
//! Anything may *post* a [`SchedulerEvent`] (an action submitting a job, a
//! task thread finishing, an executor's stream breaking); only the loop in
//! [`dag::DagScheduler::run`] reads and changes state, one event at a time, each
//! event kind in its own `handle_*` method. No locks guard scheduler state.
//!
//! - [`stage`]: stages and their states;
//! - [`map_output`]: where each shuffle map output lives;
//! - [`dag`]: jobs → stages (cut at shuffle dependencies), submission,
//!   completion, failure handling;
//! - [`failure`]: failed tasks, fetch failures, lost executors;
//! - [`placement`]: which executor runs which pending task (locality first);
//! - [`cluster`]: executors joining and going silent, cached blocks,
//!   broadcasts, stopping;
//! - [`describe`]: stage names and RDDs for listener events;
//! - [`cleanup`]: dropping an ended job's stages, and released shuffles;
//! - [`progress`]: how far each job is, told to its action's `JobFuture`;
//! - [`clock`]: where the loop reads the time (a clock tests drive).
//!
//! The `tests` module drives the loop without processes: a recording
//! [`ExecutorLink`] per executor, a [`clock::ManualClock`], events handed to
//! the loop one by one (Spark's `DAGSchedulerSuite`).

pub mod cancel;
pub mod cleanup;
pub mod clock;
pub mod cluster;
pub mod dag;
pub mod describe;
pub mod failure;
pub mod map_output;
pub mod placement;
pub mod progress;
pub mod stage;
#[cfg(test)]
mod tests;

/// A hash map of the scheduler's ids (tasks, stages, partitions, executors)
/// hashed by foldhash instead of SipHash: the keys come from the scheduler,
/// not from users, so hash flooding is no concern, and SipHash was a sixth
/// of the instructions the driver spends per task (callgrind, 10,000 empty
/// tasks in `local[2]`: about 19 hashes per task).
pub type IdMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A hash set of the scheduler's ids; see [`IdMap`].
pub type IdSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

use crate::executors::{ExecutorId, ExecutorLink};
use ember_rdd::EmberError;
use ember_rdd::ids::{AccumulatorId, ActionId, BroadcastId, RddId, ShuffleId, StageId, TaskId};
use ember_rdd::job_future::ActionProgress;
use ember_rdd::rdd::StageRoot;
use ember_rdd::runner::MergeAccumulatorFn;
use ember_rdd::storage::AnyValue;
use ember_rdd::storage::BlockUpdate;
use ember_rdd::task::TaskOutcome;
use ember_rdd::task::TaskOutput;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Everything the scheduler loop reacts to.
pub enum SchedulerEvent {
    /// An action: run `root` on `partitions` of its RDD.
    JobSubmitted {
        root: Arc<dyn StageRoot>,
        partitions: Vec<usize>,
        /// The job group of the thread that called its action (`Context::set_job_group`).
        group: Option<String>,
        /// The action it belongs to: told how far the job is, and what
        /// `JobFuture::cancel` selects.
        action: Arc<ActionProgress>,
        reply: oneshot::Sender<Result<Vec<TaskOutput>, EmberError>>,
    },
    /// Cancel jobs: fail them with `EmberError::Cancelled` and kill their
    /// running tasks (those no other job needs).
    CancelJobs { which: JobSelector, reason: String },
    /// A task attempt finished, successfully or not.
    TaskEnded { executor: ExecutorId, task: TaskId, outcome: TaskOutcome },
    /// A new executor can run tasks.
    /// (`max_memory`: the most bytes it caches, 0 = unlimited.)
    ExecutorAdded { executor: ExecutorId, link: Arc<dyn ExecutorLink>, cores: usize, address: String, max_memory: u64 },
    /// An executor died or became unreachable.
    ExecutorLost { executor: ExecutorId, reason: String },
    /// An executor is alive, and holds this much memory.
    Heartbeat { executor: ExecutorId, memory: crate::listener::ExecutorMemory },
    /// A cached block appeared, moved to disk, or went away.
    BlockUpdated { executor: ExecutorId, update: BlockUpdate },
    /// Drop an RDD's cached blocks everywhere.
    Unpersist { rdd: RddId },
    /// No RDD reads this shuffle any more: drop its outputs everywhere.
    ShuffleReleased { shuffle: ShuffleId },
    /// A broadcast value to send to every executor, now and later.
    BroadcastAdded { id: BroadcastId, bytes: Arc<Vec<u8>>, value: AnyValue },
    /// Time passed: re-offer held-back tasks, check heartbeat and
    /// replacement deadlines (posted by the loop's own timers).
    Tick,
    /// An accumulator to merge task updates into, from now on.
    AccumulatorRegistered { id: AccumulatorId, merge: MergeAccumulatorFn },
    /// Stop: shut executors down, fail running jobs.
    Stop { done: oneshot::Sender<()> },
}

/// Which jobs a [`SchedulerEvent::CancelJobs`] cancels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobSelector {
    One(ember_rdd::ids::JobId),
    Group(String),
    /// The jobs of one action (`JobFuture::cancel`).
    Action(ActionId),
    /// The jobs that need a stage (the web UI's kill link, Spark's `cancelStage`).
    Stage(StageId),
    All,
}

/// Posts events to the scheduler loop from any thread.
#[derive(Clone)]
pub struct EventSender(mpsc::UnboundedSender<SchedulerEvent>);

impl EventSender {
    pub fn channel() -> (EventSender, mpsc::UnboundedReceiver<SchedulerEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (EventSender(tx), rx)
    }

    /// Posts an event; returns false when the scheduler has stopped.
    pub fn post(&self, event: SchedulerEvent) -> bool {
        self.0.send(event).is_ok()
    }

    /// Whether the scheduler has stopped.
    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
}
