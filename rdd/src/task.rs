//! What a running task sees of the process it runs in.
//!
//! A task computes one partition of a stage's last RDD. Everything it needs
//! from its executor (cached blocks, shuffle blocks, broadcast values) comes
//! through the [`TaskEnv`] trait, which the executor crate implements for both
//! the in-process (`local[N]`) and the remote executor backends. This keeps
//! `ember-rdd` free of any knowledge of gRPC or scheduling.

use crate::error::TaskError;
use crate::ids::{AccumulatorId, BlockId, BroadcastId, ShuffleId, StageId};
use crate::memory::{MemoryManager, TaskMemory};
pub use crate::metrics::TaskMetrics;
use crate::metrics::{CountInput, SharedMetrics};
use crate::shuffle::SpillEnv;
use crate::shuffle::map_output::MapOutputSummary;
use crate::shuffle::writer::MapOutputFile;
use crate::storage::{AnyValue, CachedBlock, StoredBlock};
use std::any::Any;
use std::cell::RefCell;
use std::path::PathBuf;
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
    /// The stored bytes of every non-empty block of `shuffle` for reduce
    /// partition `reduce`, block after block in map order (local blocks read
    /// from their files, remote ones streamed from their executors).
    fn read_shuffle(&self, shuffle: ShuffleId, reduce: usize) -> Result<Box<dyn BlockSource>, TaskError>;
    /// Publishes the output file of map task `map` of `shuffle`, written in
    /// [`TaskEnv::local_dir`]; an output already committed for that map
    /// task stays (the new file is dropped) and its summary is returned.
    fn commit_map_output(
        &self,
        shuffle: ShuffleId,
        map: usize,
        output: MapOutputFile,
    ) -> Result<MapOutputSummary, TaskError>;
    /// The executor's memory manager, shared by its tasks and its cache.
    fn memory_manager(&self) -> Arc<MemoryManager>;
    /// The directory for spill files and map outputs (`ember.local.dir`),
    /// created on first use; the error names it.
    fn local_dir(&self) -> Result<PathBuf, TaskError>;
    /// Whether shuffle and spill data are lz4-compressed (`ember.shuffle.compress`).
    fn compress_shuffle(&self) -> bool;
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
    /// A shuffle map task's output: which blocks hold records, and how much.
    MapOutput(MapOutputSummary),
}

impl std::fmt::Debug for TaskOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TaskOutput::Value(_) => f.write_str("Value(..)"),
            TaskOutput::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            TaskOutput::MapOutput(s) => f.debug_tuple("MapOutput").field(s).finish(),
        }
    }
}

/// What a successful task hands back.
pub struct TaskSuccess {
    pub output: TaskOutput,
    pub accumulators: Vec<(AccumulatorId, AccumulatorValue)>,
}

/// The outcome of one task attempt, with its metrics: what an executor
/// reports to the scheduler.
pub struct TaskOutcome {
    pub result: Result<TaskSuccess, TaskError>,
    pub metrics: TaskMetrics,
    pub run_time: std::time::Duration,
}

/// Bytes read from storage or the network as they come: a reduce task's
/// shuffle blocks, a spill file.
pub trait BlockSource: Send {
    /// Appends the next bytes (about `max` at most) to `buf`; false at the end.
    fn read_into(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<bool, TaskError>;
}

impl<S: BlockSource + ?Sized> BlockSource for Box<S> {
    fn read_into(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<bool, TaskError> {
        (**self).read_into(buf, max)
    }
}

/// The first error of a task that an iterator met after the task's
/// `compute` returned (a fetch that broke mid-stream, an unreadable spill
/// file). Iterators yield plain records, so such an iterator stops early and
/// records its error here; the task fails with it instead of succeeding on
/// truncated data.
#[derive(Clone, Default)]
pub struct DeferredError(Arc<Mutex<Option<TaskError>>>);

impl DeferredError {
    /// Records `e`, unless an earlier error was recorded.
    pub fn set(&self, e: TaskError) {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert(e);
    }

    pub fn take(&self) -> Option<TaskError> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    pub fn is_set(&self) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }
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
    /// This task's share of its executor's memory.
    memory: Arc<TaskMemory>,
    deferred: DeferredError,
    kill: KillSwitch,
}

/// How the executor stops a running task: it flips the switch, and the
/// task's records stop flowing at the next check ([`TaskContext::interruptible`]),
/// so the task ends promptly with [`TaskError::Killed`]. A task queued
/// behind others checks it before it starts.
#[derive(Clone, Default)]
pub struct KillSwitch(Arc<Mutex<Option<String>>>, Arc<std::sync::atomic::AtomicBool>);

impl KillSwitch {
    /// Asks the task to stop, saying why (the first reason wins).
    pub fn kill(&self, reason: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(|| reason.to_string());
        self.1.store(true, std::sync::atomic::Ordering::Release);
    }
    pub fn is_killed(&self) -> bool {
        self.1.load(std::sync::atomic::Ordering::Acquire)
    }
    /// The error of a killed task.
    pub fn error(&self) -> TaskError {
        let reason = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        TaskError::Killed { reason: reason.unwrap_or_else(|| "killed".into()) }
    }
}

/// Records checked per look at the kill switch.
const KILL_CHECK_EVERY: u32 = 1024;

/// An iterator that stops when its task is killed, recording why as the
/// task's deferred error.
struct Interruptible<T> {
    inner: BoxIter<T>,
    kill: KillSwitch,
    deferred: DeferredError,
    until_check: u32,
}

impl<T> Iterator for Interruptible<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.until_check -= 1;
        if self.until_check == 0 {
            self.until_check = KILL_CHECK_EVERY;
            if self.kill.is_killed() {
                self.deferred.set(self.kill.error());
                return None;
            }
        }
        self.inner.next()
    }
}

/// A typed accumulator update being built by a task.
pub trait PendingAccumulator: Send {
    fn as_any(&mut self) -> &mut dyn Any;
    fn finish(self: Box<Self>, serialize: bool) -> Result<AccumulatorValue, TaskError>;
}

impl TaskContext {
    pub fn new(stage: StageId, partition: usize, attempt: u32, env: Arc<dyn TaskEnv>) -> Self {
        let memory = TaskMemory::new(env.memory_manager());
        TaskContext {
            stage,
            partition,
            attempt,
            env,
            accumulators: Mutex::new(Vec::new()),
            metrics: SharedMetrics::default(),
            memory,
            deferred: DeferredError::default(),
            kill: KillSwitch::default(),
        }
    }

    /// The switch that kills this task (the executor keeps a clone).
    pub fn kill_switch(&self) -> KillSwitch {
        self.kill.clone()
    }

    /// `records`, stopping early if the task is killed (checked every
    /// thousand records; the task then fails with [`TaskError::Killed`]).
    /// Stage roots read their input through it.
    pub fn interruptible<T: 'static>(&self, records: BoxIter<T>) -> BoxIter<T> {
        Box::new(Interruptible {
            inner: records,
            kill: self.kill.clone(),
            deferred: self.deferred.clone(),
            until_check: 1,
        })
    }

    /// What a spilling collection of this task needs: its memory, the
    /// local directory (created now; the error names it), the codec.
    pub fn spill_env(&self) -> Result<SpillEnv, TaskError> {
        Ok(SpillEnv::new(self.memory.clone(), self.env.local_dir()?, self.env.compress_shuffle(), self.metrics.clone()))
    }

    /// The records of reduce partition `reduce` of `shuffle`, as they stream in.
    pub fn shuffle_input<R: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        shuffle: ShuffleId,
        reduce: usize,
    ) -> Result<crate::shuffle::input::ShuffleInput<R>, TaskError> {
        let source = self.env.read_shuffle(shuffle, reduce)?;
        Ok(crate::shuffle::input::ShuffleInput::new(source, shuffle, reduce, self.metrics.clone()))
    }

    /// Where iterators of this task record an error met after `compute` returned.
    pub fn deferred_error(&self) -> DeferredError {
        self.deferred.clone()
    }

    /// The error an iterator of this task recorded, if any.
    pub fn take_deferred_error(&self) -> Option<TaskError> {
        self.deferred.take()
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
        CountInput::boxed(records, self.metrics.clone(), 0)
    }

    /// [`Self::count_input`] for records generated in place (`range`), each
    /// counted as `bytes_per_record` bytes of input: what the records
    /// would take read from a file.
    pub fn count_generated_input<I: Iterator + Send + 'static>(
        &self,
        records: I,
        bytes_per_record: u64,
    ) -> BoxIter<I::Item> {
        CountInput::boxed(records, self.metrics.clone(), bytes_per_record)
    }

    /// The task's metrics, with the most execution memory it held.
    pub fn metrics(&self) -> TaskMetrics {
        let mut m = *self.metrics.lock().unwrap_or_else(|p| p.into_inner());
        m.peak_execution_memory = self.memory.peak();
        m
    }
}

thread_local! {
    static CURRENT_TASK: RefCell<Option<Arc<TaskContext>>> = const { RefCell::new(None) };
}

type TaskSlot = RefCell<Option<Arc<TaskContext>>>;

/// This thread's current-task slot in this copy of Ember, for other copies
/// in the process (see [`crate::code_objects::primary_symbol`]).
#[unsafe(no_mangle)]
pub extern "C" fn ember_current_task_slot() -> *const TaskSlot {
    CURRENT_TASK.with(|c| c as *const TaskSlot)
}

/// Runs `f` on this thread's current-task slot: this copy's, or in a REPL
/// the primary copy's, so that every cell's closures see the task the
/// backend installed.
fn with_task_slot<R>(f: impl FnOnce(&TaskSlot) -> R) -> R {
    static PRIMARY: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    crate::code_objects::with_shared_thread_local(&CURRENT_TASK, c"ember_current_task_slot", &PRIMARY, f)
}

/// Runs `f` with `tc` installed as this thread's current task, so that
/// broadcast variables and accumulators used inside user closures find it.
pub fn with_current_task<R>(tc: &Arc<TaskContext>, f: impl FnOnce() -> R) -> R {
    struct Reset(Option<Arc<TaskContext>>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let prev = self.0.take();
            with_task_slot(|c| *c.borrow_mut() = prev);
        }
    }
    let prev = with_task_slot(|c| c.borrow_mut().replace(tc.clone()));
    let _reset = Reset(prev);
    f()
}

/// The task running on this thread, if any.
pub fn current_task() -> Option<Arc<TaskContext>> {
    with_task_slot(|c| c.borrow().clone())
}
