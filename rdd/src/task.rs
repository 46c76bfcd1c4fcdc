//! What a running task sees of the process it runs in.
//!
//! A task computes one partition of a stage's last RDD. Everything it needs
//! from its executor (cached blocks, shuffle blocks, broadcast values) comes
//! through the [`TaskEnv`] trait, which the executor crate implements for both
//! the in-process (`local[N]`) and the remote executor backends. This keeps
//! `ember-rdd` free of any knowledge of gRPC or scheduling.

use crate::error::TaskError;
use crate::ids::{AccumulatorId, BlockId, BroadcastId, ShuffleId, StageId};
pub use crate::metrics::TaskMetrics;
use crate::metrics::{CountInput, SharedMetrics};
use crate::storage::{AnyValue, CachedBlock, StoredBlock};
use std::any::Any;
use std::cell::RefCell;
use std::sync::{Arc, Mutex};

/// A boxed iterator over a partition's records.
pub type BoxIter<T> = Box<dyn Iterator<Item = T> + Send>;

/// Decodes a broadcast value's bytes into an `Arc<T>`, erased.
pub type DecodeBroadcastFn = fn(&[u8]) -> Result<AnyValue, TaskError>;

/// The services an executor offers to the tasks it runs.
pub trait TaskEnv: Send + Sync {
    /// The executor's id, used in fetch failures and logs.
    fn executor_id(&self) -> &str;
    /// Looks up a cached block (and counts it as used, for LRU eviction).
    fn get_block(&self, id: BlockId) -> Option<StoredBlock>;
    /// Caches a computed partition; may evict others, or refuse if it cannot fit.
    fn put_block(&self, id: BlockId, block: CachedBlock);
    /// Reads every map output block of `shuffle` for reduce partition `reduce`.
    fn read_shuffle(&self, shuffle: ShuffleId, reduce: usize) -> Result<Vec<Arc<[u8]>>, TaskError>;
    /// Stores the output of map task `map` of `shuffle`, one block per reduce partition.
    fn write_shuffle(&self, shuffle: ShuffleId, map: usize, blocks: Vec<Vec<u8>>) -> Result<(), TaskError>;
    /// The value of a broadcast variable, decoded at most once per executor.
    fn broadcast(&self, id: BroadcastId, decode: DecodeBroadcastFn) -> Result<AnyValue, TaskError>;
    /// Whether task results must be serialized (they cross a process boundary).
    fn results_cross_processes(&self) -> bool;
}

/// An accumulator's contribution from one task, merged at the driver once the
/// task succeeds.
pub enum AccumulatorValue {
    /// In-process: the value itself.
    Local(Box<dyn Any + Send>),
    /// From another process: postcard bytes.
    Bytes(Vec<u8>),
}

/// What a task hands back.
pub enum TaskOutput {
    /// A result task's value, in process.
    Value(Box<dyn Any + Send>),
    /// A result task's value, postcard-encoded.
    Bytes(Vec<u8>),
    /// A shuffle map task's output: the size of each reduce partition's block.
    MapOutput { sizes: Vec<u64> },
}

/// The context of one running task.
pub struct TaskContext {
    pub stage: StageId,
    pub partition: usize,
    /// How many attempts of this task came before this one.
    pub attempt: u32,
    pub env: Arc<dyn TaskEnv>,
    accumulators: Mutex<Vec<(AccumulatorId, Box<dyn PendingAccumulator>)>>,
    /// Shared with the iterators that count into it ([`CountInput`]).
    metrics: SharedMetrics,
}

/// A typed accumulator update being built by a task.
pub trait PendingAccumulator: Send {
    fn as_any(&mut self) -> &mut dyn Any;
    fn finish(self: Box<Self>, serialize: bool) -> Result<AccumulatorValue, TaskError>;
}

impl TaskContext {
    pub fn new(stage: StageId, partition: usize, attempt: u32, env: Arc<dyn TaskEnv>) -> Self {
        TaskContext {
            stage,
            partition,
            attempt,
            env,
            accumulators: Mutex::new(Vec::new()),
            metrics: SharedMetrics::default(),
        }
    }

    /// Applies `update` to this task's pending value of accumulator `id`,
    /// creating it with `init` on first use.
    pub fn with_accumulator(
        &self,
        id: AccumulatorId,
        init: &dyn Fn() -> Box<dyn PendingAccumulator>,
        update: &mut dyn FnMut(&mut dyn Any),
    ) {
        let mut accs = self.accumulators.lock().unwrap_or_else(|p| p.into_inner());
        let idx = match accs.iter().position(|(a, _)| *a == id) {
            Some(i) => i,
            None => {
                accs.push((id, init()));
                accs.len() - 1
            }
        };
        update(accs[idx].1.as_any());
    }

    /// Takes this task's accumulator updates, serialized when they must cross
    /// a process boundary.
    pub fn take_accumulator_updates(&self) -> Result<Vec<(AccumulatorId, AccumulatorValue)>, TaskError> {
        let serialize = self.env.results_cross_processes();
        let accs = std::mem::take(&mut *self.accumulators.lock().unwrap_or_else(|p| p.into_inner()));
        accs.into_iter().map(|(id, acc)| Ok((id, acc.finish(serialize)?))).collect()
    }

    /// Adds to this task's metrics: once per partition or block, never per
    /// record (see [`crate::metrics`]).
    pub fn add_metrics(&self, f: impl FnOnce(&mut TaskMetrics)) {
        crate::metrics::update(&self.metrics, f);
    }

    /// Wraps a partition's input so that the records consumed count as this
    /// task's `records_read`, added once when the iterator is dropped.
    pub fn count_input<I: Iterator + Send + 'static>(&self, records: I) -> BoxIter<I::Item> {
        CountInput::boxed(records, self.metrics.clone())
    }

    pub fn metrics(&self) -> TaskMetrics {
        *self.metrics.lock().unwrap_or_else(|p| p.into_inner())
    }
}

thread_local! {
    static CURRENT_TASK: RefCell<Option<Arc<TaskContext>>> = const { RefCell::new(None) };
}

/// Runs `f` with `tc` installed as this thread's current task, so that
/// broadcast variables and accumulators used inside user closures find it.
pub fn with_current_task<R>(tc: &Arc<TaskContext>, f: impl FnOnce() -> R) -> R {
    struct Reset(Option<Arc<TaskContext>>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let prev = self.0.take();
            CURRENT_TASK.with(|c| *c.borrow_mut() = prev);
        }
    }
    let prev = CURRENT_TASK.with(|c| c.borrow_mut().replace(tc.clone()));
    let _reset = Reset(prev);
    f()
}

/// The task running on this thread, if any.
pub fn current_task() -> Option<Arc<TaskContext>> {
    CURRENT_TASK.with(|c| c.borrow().clone())
}
