//! The seam between the data model and the scheduler.
//!
//! Actions are defined here, in `ember-rdd`, but jobs are run by the driver's
//! scheduler; the driver implements [`JobRunner`] and every [`Rdd`](crate::Rdd)
//! carries one. An `Rdd` is not serializable, so a closure cannot capture one:
//! Spark's runtime error for nested RDD operations (SPARK-5063) is a compile
//! error here.

use crate::error::EmberError;
use crate::ids::{AccumulatorId, ActionId, BroadcastId, RddId, ShuffleId};
use crate::job_future::ActionProgress;
use crate::rdd::StageRoot;
use crate::storage::AnyValue;
use crate::task::{AccumulatorValue, TaskOutput};
use futures::future::BoxFuture;
use std::sync::Arc;

/// Merges one task's update into an accumulator's driver-side value.
pub type MergeAccumulatorFn = Box<dyn Fn(AccumulatorValue) -> Result<(), EmberError> + Send + Sync>;

/// Runs jobs and hands out ids; implemented by the driver's `Context`.
pub trait JobRunner: Send + Sync + 'static {
    fn new_rdd_id(&self) -> RddId;
    fn new_shuffle_id(&self) -> ShuffleId;
    /// The number of partitions used when an operation is not given one.
    fn default_parallelism(&self) -> usize;
    /// The application's seed, from which randomized operations derive theirs.
    fn seed(&self) -> u64;
    /// Runs `root` on the given partitions of its RDD, as a job of `action`
    /// (which the scheduler tells how far the job is); the outputs come
    /// back in the order of `partitions`. The job is submitted before this
    /// returns.
    fn run_job(
        &self,
        root: Arc<dyn StageRoot>,
        partitions: Vec<usize>,
        action: &Arc<ActionProgress>,
    ) -> BoxFuture<'static, Result<Vec<TaskOutput>, EmberError>>;
    /// A new action, on the thread that calls it: a fresh id, and that
    /// thread's job group, which every job of the action belongs to.
    fn new_action(&self) -> Arc<ActionProgress>;
    /// Runs an async action's driver-side `work` to its end on a thread of
    /// the runner's (see [`crate::job_future`]); an error when it cannot
    /// (the context is stopped), and `work` is dropped.
    fn spawn_action(&self, work: BoxFuture<'static, ()>) -> Result<(), EmberError>;
    /// Cancels the running jobs of `action` (its `JobFuture::cancel`).
    fn cancel_action(&self, action: ActionId);
    /// Drops the cached blocks of an RDD on every executor.
    fn unpersist(&self, rdd: RddId);
    /// No RDD reads `shuffle` any more (its dependency was dropped in the
    /// driver): its map outputs can go, on the driver and every executor.
    fn release_shuffle(&self, shuffle: ShuffleId);
    /// Registers a broadcast value: `bytes` for other processes, `value` in process.
    fn register_broadcast(&self, bytes: Vec<u8>, value: AnyValue) -> Result<BroadcastId, EmberError>;
    /// Registers an accumulator and how to merge task updates into it.
    fn register_accumulator(&self, merge: MergeAccumulatorFn) -> AccumulatorId;
    /// Where `checkpoint()` writes, if set.
    fn checkpoint_dir(&self) -> Option<crate::io::Location>;
    /// How to reach object stores and whether outputs may overwrite.
    fn io_settings(&self) -> crate::io::IoSettings;
}
