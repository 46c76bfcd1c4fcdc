//! The process-free scheduler harness (Spark's `DAGSchedulerSuite`,
//! Ballista's virtual executors): the real [`DagScheduler`] driven one event
//! at a time, with a [`RecordingLink`] per executor that keeps what the
//! scheduler asked of it, and a [`ManualClock`] the test advances. Tasks do
//! not run: a test reads the launches and answers them with the outcome it
//! wants (a map output, a result, a failure), in the order it wants.
//!
//! The cases live in [`cases`], the state machine's own transitions in
//! [`states`]; what is here is only the harness.

mod cancel;
mod cases;
mod progress;
mod states;

use super::SchedulerEvent;
use super::clock::ManualClock;
use super::dag::DagScheduler;
use super::stage::StageKind;
use crate::conf::Conf;
use crate::executors::{ExecutorId, ExecutorLink, RemoveTarget, StageDescription, TaskLaunch};
use crate::listener::ListenerBus;
use ember_rdd::error::{EmberError, TaskError};
use ember_rdd::ids::{AccumulatorId, ActionId, BroadcastId, RddId, ShuffleId, StageId};
use ember_rdd::job_future::ActionProgress;
use ember_rdd::metrics::TaskMetrics;
use ember_rdd::nodes::source::ParallelCollectionRdd;
use ember_rdd::rdd::{Rdd, RddMeta, StageRoot};
use ember_rdd::runner::{JobRunner, MergeAccumulatorFn};
use ember_rdd::shuffle::map_output::{MapOutputSummary, NonEmptyBlocks};
use ember_rdd::storage::AnyValue;
use ember_rdd::task::{TaskOutcome, TaskOutput, TaskSuccess};
use futures::future::BoxFuture;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// What the scheduler asked of one executor.
#[derive(Clone, Debug)]
#[allow(dead_code)] // fields read through Debug in failure messages
pub(super) enum LinkCall {
    Register { stage: StageId, attempt: u32 },
    Launch(Vec<TaskLaunch>),
    Remove(RemoveTarget),
    Broadcast(BroadcastId),
    Kill(Vec<ember_rdd::ids::TaskId>),
    Shutdown,
}

/// An [`ExecutorLink`] that records every call and does nothing else.
#[derive(Default)]
pub(super) struct RecordingLink {
    /// Every call, in order.
    calls: Mutex<Vec<LinkCall>>,
    /// Tasks launched and not yet read by the test.
    unread_launches: Mutex<Vec<TaskLaunch>>,
    /// Panics on `launch` (to test the loop's handling of internal errors).
    panic_on_launch: std::sync::atomic::AtomicBool,
}

impl RecordingLink {
    fn record(&self, call: LinkCall) {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).push(call);
    }
    fn calls(&self) -> Vec<LinkCall> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    fn take_launches(&self) -> Vec<TaskLaunch> {
        std::mem::take(&mut *self.unread_launches.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl ExecutorLink for RecordingLink {
    fn register_stage(&self, stage: &Arc<StageDescription>) -> Result<(), EmberError> {
        self.record(LinkCall::Register { stage: stage.stage, attempt: stage.attempt });
        Ok(())
    }
    fn launch(&self, tasks: Vec<TaskLaunch>) {
        assert!(!self.panic_on_launch.load(Ordering::SeqCst), "a broken invariant in the harness");
        self.unread_launches.lock().unwrap_or_else(|p| p.into_inner()).extend(tasks.iter().cloned());
        self.record(LinkCall::Launch(tasks));
    }
    fn put_broadcast(&self, id: BroadcastId, _bytes: &Arc<Vec<u8>>, _value: &AnyValue) {
        self.record(LinkCall::Broadcast(id));
    }
    fn remove(&self, target: RemoveTarget) {
        self.record(LinkCall::Remove(target));
    }
    fn kill(&self, tasks: &[ember_rdd::ids::TaskId], _reason: &str) {
        self.record(LinkCall::Kill(tasks.to_vec()));
    }
    fn shutdown(&self) {
        self.record(LinkCall::Shutdown);
    }
}

/// Builds RDDs and captures the job an action submits, instead of running it.
#[derive(Default)]
pub(super) struct CapturingRunner {
    next_rdd: AtomicU64,
    next_shuffle: AtomicU64,
    submitted: Mutex<Vec<(Arc<dyn StageRoot>, Vec<usize>, Arc<ActionProgress>)>>,
    next_action: AtomicU64,
}

impl JobRunner for CapturingRunner {
    fn new_rdd_id(&self) -> RddId {
        RddId(self.next_rdd.fetch_add(1, Ordering::Relaxed))
    }
    fn new_shuffle_id(&self) -> ShuffleId {
        ShuffleId(self.next_shuffle.fetch_add(1, Ordering::Relaxed))
    }
    fn default_parallelism(&self) -> usize {
        2
    }
    fn seed(&self) -> u64 {
        7
    }
    fn run_job(
        &self,
        root: Arc<dyn StageRoot>,
        partitions: Vec<usize>,
        action: &Arc<ActionProgress>,
    ) -> BoxFuture<'static, Result<Vec<TaskOutput>, EmberError>> {
        self.submitted.lock().unwrap_or_else(|p| p.into_inner()).push((root, partitions, action.clone()));
        Box::pin(futures::future::pending())
    }
    fn new_action(&self) -> Arc<ActionProgress> {
        ActionProgress::new(ActionId(self.next_action.fetch_add(1, Ordering::Relaxed)), None)
    }
    fn spawn_action(&self, _work: BoxFuture<'static, ()>) -> Result<(), EmberError> {
        Ok(()) // nothing would finish: the harness answers jobs itself
    }
    fn cancel_action(&self, _action: ActionId) {}
    fn unpersist(&self, _rdd: RddId) {}
    fn release_shuffle(&self, _shuffle: ShuffleId) {}
    fn register_broadcast(&self, _bytes: Vec<u8>, _value: AnyValue) -> Result<BroadcastId, EmberError> {
        Ok(BroadcastId(0))
    }
    fn register_accumulator(&self, _merge: MergeAccumulatorFn) -> AccumulatorId {
        AccumulatorId(0)
    }
    fn io_settings(&self) -> ember_rdd::io::IoSettings {
        ember_rdd::io::IoSettings::default()
    }
    fn checkpoint_dir(&self) -> Option<ember_rdd::io::Location> {
        None
    }
}

type JobResult = Result<Vec<TaskOutput>, EmberError>;

/// The scheduler, its executors' links and its clock.
pub(super) struct Harness {
    pub sched: DagScheduler,
    pub clock: Arc<ManualClock>,
    pub links: BTreeMap<String, Arc<RecordingLink>>,
    runner: Arc<CapturingRunner>,
    /// Held for `tokio::spawn` in the loop (the locality-wait revive).
    _runtime: tokio::runtime::Runtime,
}

impl Harness {
    /// A scheduler with `conf` settings and one single-core executor per name
    /// (no prefetched tasks, so launches follow free cores exactly).
    pub fn new(executors: &[&str], conf: &[(&str, &str)]) -> Harness {
        let mut c = Conf::new().master("local[2]").set("ember.executor.prefetchTasks", "0");
        for (k, v) in conf {
            c = c.set(*k, *v);
        }
        let settings = c.validate().expect("harness settings are valid");
        let (events, _rx) = super::EventSender::channel();
        let clock = Arc::new(ManualClock::default());
        let sched = DagScheduler::new(settings, events, ListenerBus::start()).with_clock(clock.clone());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let mut h = Harness { sched, clock, links: BTreeMap::new(), runner: Arc::default(), _runtime: runtime };
        for name in executors {
            h.add_executor(name);
        }
        h
    }

    pub fn add_executor(&mut self, name: &str) {
        let link = Arc::new(RecordingLink::default());
        self.links.insert(name.to_string(), link.clone());
        let address = format!("{name}:7077");
        self.post(SchedulerEvent::ExecutorAdded { executor: id(name), link, cores: 1, address, max_memory: 0 });
    }

    /// Hands one event to the loop, then lets it offer tasks, as its run loop does.
    pub fn post(&mut self, event: SchedulerEvent) {
        let _guard = self._runtime.enter();
        assert!(self.sched.handle(event), "the loop ended");
        self.sched.schedule();
        self.sched.report_progress();
        self.sched.arm_deadline_timer();
    }

    /// `n` numbers in `partitions` partitions, made by the harness's runner.
    pub fn numbers(&self, n: u64, partitions: usize) -> Rdd<u64> {
        let meta = RddMeta::new(self.runner.new_rdd_id());
        Rdd::from_node(Arc::new(ParallelCollectionRdd::new(meta, (0..n).collect(), partitions)), self.runner.clone())
    }

    /// Submits the job `rdd.count()` would run; the reply comes when the
    /// test has ended every task.
    pub fn submit<T: ember_rdd::Data>(&mut self, rdd: &Rdd<T>) -> oneshot::Receiver<JobResult> {
        self.submit_in_group(rdd, None)
    }

    /// [`submit`](Self::submit) from a thread whose job group is `group`.
    pub fn submit_in_group<T: ember_rdd::Data>(
        &mut self,
        rdd: &Rdd<T>,
        group: Option<&str>,
    ) -> oneshot::Receiver<JobResult> {
        self.submit_action(rdd, group).0
    }

    /// [`submit_in_group`](Self::submit_in_group), and the progress its
    /// action is told.
    pub fn submit_action<T: ember_rdd::Data>(
        &mut self,
        rdd: &Rdd<T>,
        group: Option<&str>,
    ) -> (oneshot::Receiver<JobResult>, Arc<ActionProgress>) {
        drop(rdd.count_async());
        let (root, partitions, action) =
            self.runner.submitted.lock().unwrap_or_else(|p| p.into_inner()).pop().expect("the action submitted a job");
        let (reply, result) = oneshot::channel();
        let group = group.map(str::to_string);
        self.post(SchedulerEvent::JobSubmitted { root, partitions, group, action: action.clone(), reply });
        (result, action)
    }

    /// Submits the job `rdd.count()` would run as a job of `action` (as
    /// `take` submits its later jobs).
    pub fn submit_with_action<T: ember_rdd::Data>(
        &mut self,
        rdd: &Rdd<T>,
        action: &Arc<ActionProgress>,
    ) -> (oneshot::Receiver<JobResult>, Arc<ActionProgress>) {
        drop(rdd.count_async());
        let (root, partitions, _) =
            self.runner.submitted.lock().unwrap_or_else(|p| p.into_inner()).pop().expect("the action submitted a job");
        let (reply, result) = oneshot::channel();
        self.post(SchedulerEvent::JobSubmitted { root, partitions, group: None, action: action.clone(), reply });
        (result, action.clone())
    }

    /// The tasks launched on `executor` since last asked.
    pub fn launched(&self, executor: &str) -> Vec<TaskLaunch> {
        self.links[executor].take_launches()
    }

    /// Everything `executor` was asked, in order.
    pub fn calls(&self, executor: &str) -> Vec<LinkCall> {
        self.links[executor].calls()
    }

    pub fn stage_kind(&self, stage: StageId) -> StageKind {
        self.sched.stages[&stage].kind
    }

    /// Ends `task` on `executor` with `outcome`.
    pub fn end(&mut self, executor: &str, task: &TaskLaunch, result: Result<TaskSuccess, TaskError>) {
        let outcome = TaskOutcome { result, metrics: TaskMetrics::default(), run_time: Duration::from_millis(1) };
        self.post(SchedulerEvent::TaskEnded { executor: id(executor), task: task.task, outcome });
    }

    /// Ends `task` successfully: a map output with a record for every one of
    /// `reduces` partitions, or a result.
    pub fn succeed(&mut self, executor: &str, task: &TaskLaunch, reduces: usize) {
        let output = match self.stage_kind(task.stage) {
            StageKind::ShuffleMap { .. } => TaskOutput::MapOutput(MapOutputSummary {
                bytes: 10 * reduces as u64,
                records: reduces as u64,
                non_empty: NonEmptyBlocks::from_sizes(&vec![10; reduces]),
            }),
            StageKind::Result { .. } => TaskOutput::Bytes(vec![task.partition as u8]),
        };
        self.end(executor, task, Ok(TaskSuccess { output, accumulators: Vec::new() }));
    }

    pub fn lose_executor(&mut self, executor: &str) {
        self.post(SchedulerEvent::ExecutorLost { executor: id(executor), reason: "killed by the test".into() });
    }
}

pub(super) fn id(name: &str) -> ExecutorId {
    ExecutorId(name.to_string())
}

/// A fetch failure of `shuffle`'s map `map` held by `holder`.
pub(super) fn fetch_failed(holder: &str, shuffle: ShuffleId, map: usize) -> TaskError {
    TaskError::FetchFailed {
        executor: id(holder),
        shuffle,
        map_index: map,
        reduce_index: 0,
        message: "connection refused".into(),
    }
}

/// The reply of a finished job; panics if it has not finished.
pub(super) fn reply(rx: &mut oneshot::Receiver<JobResult>) -> JobResult {
    rx.try_recv().expect("the job has finished")
}
