//! The DAG scheduler: turns a job into stages cut at shuffle dependencies,
//! submits a stage once its parents' map outputs are all available, and
//! reacts to task ends, fetch failures and executor losses.
//!
//! A guided tour, in the order things happen:
//! 1. `handle_job_submitted`: the job's result stage is created, and a map
//!    stage for every shuffle its lineage reads, memoized by shuffle id, so a
//!    later job reading the same shuffle reuses the stage and, if its outputs
//!    are still available, skips it.
//! 2. `submit_stage`: a stage whose parents are all available starts a new
//!    attempt with its missing partitions; otherwise its missing parents are
//!    submitted and it waits.
//! 3. `placement::schedule` offers pending tasks to executors with free task slots.
//! 4. `handle_task_ended`: a success registers a map output or a result; a
//!    `FetchFailed` forgets the lost map outputs and resubmits the map stage for
//!    the missing partitions only; any other failure retries the task, up to
//!    `ember.task.maxFailures`, elsewhere when possible.
//! 5. `handle_executor_lost`: running tasks go back to pending, cached blocks
//!    and map outputs on the executor are forgotten.

use super::clock::{Clock, SystemClock};
use super::failure::TaskEnding;
use super::map_output::{MapOutputTracker, MapStatus};
use super::stage::{Attempt, Stage, StageEffect, StageKind};
use super::{EventSender, SchedulerEvent};
use super::{IdMap, IdSet};
use crate::conf::Settings;
use crate::executors::{ExecutorId, ExecutorLink, RemoveTarget};
use crate::listener::{ListenerBus, ListenerEvent, UnixMillis};
use ember_rdd::ids::{AccumulatorId, BlockId, BroadcastId, JobId, RddId, ShuffleId, StageId, TaskId};
use ember_rdd::job_future::{ActionProgress, JobCounts};
use ember_rdd::rdd::{Dependency, RddBase, ShuffleDependencyBase, StageRoot};
use ember_rdd::runner::MergeAccumulatorFn;
use ember_rdd::shuffle::map_output::ShuffleLocations;
use ember_rdd::storage::AnyValue;
use ember_rdd::task::TaskOutput;
use ember_rdd::task::{TaskOutcome, TaskSuccess};
use ember_rdd::{EmberError, TaskError};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

type JobReply = oneshot::Sender<Result<Vec<TaskOutput>, EmberError>>;

pub(super) struct ActiveJob {
    pub final_stage: StageId,
    /// Partition of the final RDD -> index of its output.
    pub partition_to_index: IdMap<usize, usize>,
    pub outputs: Vec<Option<TaskOutput>>,
    pub remaining: usize,
    pub reply: Option<JobReply>,
    /// Every stage this job needs.
    pub stages: IdSet<StageId>,
    /// Its job group, if its thread had one.
    pub group: Option<String>,
    /// The action it belongs to, told how far the job is (`progress`).
    pub action: Arc<ActionProgress>,
    /// The stages whose tasks its progress counts: every stage it needs but
    /// the map stages whose outputs were all available when it was submitted.
    pub counted_stages: Vec<StageId>,
    /// What its action was last told, so that a turn that changed nothing
    /// tells nothing.
    pub reported: Option<JobCounts>,
}

pub(super) struct ExecutorState {
    pub link: Arc<dyn ExecutorLink>,
    /// Task slots: cores plus prefetched tasks.
    pub slots: usize,
    /// Slots not taken by a running or queued task.
    pub free_slots: usize,
    pub address: String,
    pub last_seen: Instant,
    /// Stage attempts registered with this executor.
    pub registered: IdSet<(StageId, u32)>,
}

pub(super) struct RunningTask {
    pub stage: StageId,
    pub stage_attempt: u32,
    pub partition: usize,
    pub executor: ExecutorId,
}

/// Why the scheduler loop ended on an internal error, for the actions that
/// come after it (set once; empty while the loop runs or after a clean stop).
pub type StopCause = Arc<OnceLock<String>>;

pub struct DagScheduler {
    pub(super) settings: Settings,
    pub(super) events: EventSender,
    pub(super) listener: ListenerBus,
    /// Accumulators registered so far and how to merge task updates into them.
    accumulators: IdMap<AccumulatorId, MergeAccumulatorFn>,
    pub(super) clock: Arc<dyn Clock>,
    stop_cause: StopCause,
    next_job: u64,
    next_stage: u64,
    pub(super) next_task: u64,
    /// Jobs not yet finished.
    pub(super) jobs: IdMap<JobId, ActiveJob>,
    /// Every stage of an active job, plus map stages kept for reuse.
    pub(super) stages: IdMap<StageId, Stage>,
    /// The map stage that writes each shuffle.
    pub(super) shuffle_to_map_stage: IdMap<ShuffleId, StageId>,
    pub(super) map_outputs: MapOutputTracker,
    /// Executors that can run tasks, by id (ordered, for determinism).
    pub(super) executors: BTreeMap<ExecutorId, ExecutorState>,
    /// Tasks running now.
    pub(super) tasks: IdMap<TaskId, RunningTask>,
    /// Where each cached block is.
    pub(super) block_to_executors: IdMap<BlockId, IdSet<ExecutorId>>,
    /// Broadcast values, sent to every executor that joins.
    pub(super) broadcasts: Vec<(BroadcastId, Arc<Vec<u8>>, AnyValue)>,
    /// Whether a revive is already due (tasks held back for locality).
    pub(super) revive_pending: bool,
    /// When the armed deadline timer fires (see `cluster::arm_deadline_timer`).
    pub(super) deadline_timer: Option<Instant>,
    /// Told of every lost executor, when someone replaces them.
    pub(super) lost_executor_reports: Option<mpsc::UnboundedSender<ExecutorId>>,
    /// Since when no executor has been alive, and why the last one was lost,
    /// while replacements may still come: jobs wait up to
    /// `registration_timeout` plus `master_rescan_interval` for one, then fail.
    pub(super) executors_gone_since: Option<(std::time::Instant, String)>,
}

/// Shuffle dependencies read by the narrow lineage of `rdd` (the stage's own
/// inputs), found with an explicit stack.
fn direct_shuffle_deps(rdd: Arc<dyn RddBase>) -> Vec<Arc<dyn ShuffleDependencyBase>> {
    let mut found = Vec::new();
    let mut seen = IdSet::default();
    let mut stack = vec![rdd];
    while let Some(r) = stack.pop() {
        if !seen.insert(r.id()) {
            continue;
        }
        for dep in r.dependencies() {
            match dep {
                Dependency::Narrow { rdd, .. } => stack.push(rdd),
                Dependency::Shuffle(s) => found.push(s),
            }
        }
    }
    found
}

impl DagScheduler {
    pub fn new(settings: Settings, events: EventSender, listener: ListenerBus) -> Self {
        DagScheduler {
            settings,
            events,
            listener,
            accumulators: IdMap::default(),
            clock: Arc::new(SystemClock),
            stop_cause: StopCause::default(),
            next_job: 0,
            next_stage: 0,
            next_task: 0,
            jobs: IdMap::default(),
            stages: IdMap::default(),
            shuffle_to_map_stage: IdMap::default(),
            map_outputs: MapOutputTracker::default(),
            executors: BTreeMap::new(),
            tasks: IdMap::default(),
            block_to_executors: IdMap::default(),
            broadcasts: Vec::new(),
            revive_pending: false,
            deadline_timer: None,
            executors_gone_since: None,
            lost_executor_reports: None,
        }
    }

    /// Reads the time from `clock` instead of the system's (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Where the loop leaves the cause of an internal error that ended it.
    pub fn stop_cause(&self) -> StopCause {
        self.stop_cause.clone()
    }

    /// Reports every executor lost from now on to `tx` (to replace it).
    pub fn report_lost_executors(&mut self, tx: mpsc::UnboundedSender<ExecutorId>) {
        self.lost_executor_reports = Some(tx);
    }

    /// The event loop: handles events one at a time until `Stop`. Events
    /// that are already queued are handled before tasks are offered again, so
    /// a burst of task ends leads to one launch message per executor.
    ///
    /// An internal error (a broken invariant: a panic in the loop) ends the
    /// loop: every waiting job fails with its cause, executors are told to
    /// stop, and later actions are refused with the same cause.
    pub async fn run(mut self, mut rx: mpsc::UnboundedReceiver<SchedulerEvent>) {
        const BURST: usize = 512;
        while let Some(event) = rx.recv().await {
            let mut events = Some(event);
            let turn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut handled = 0;
                while let Some(event) = events.take() {
                    if !self.handle(event) {
                        return false;
                    }
                    handled += 1;
                    events = if handled < BURST { rx.try_recv().ok() } else { None };
                }
                self.schedule();
                self.report_progress();
                self.arm_deadline_timer();
                true
            }));
            match turn {
                Ok(true) => {}
                Ok(false) => return,
                Err(panic) => {
                    self.stop_on_internal_error(&ember_rdd::panic_message(&*panic));
                    return;
                }
            }
        }
        self.handle_stop();
    }

    /// Ends the loop after an internal error: jobs fail with `cause`.
    fn stop_on_internal_error(&mut self, cause: &str) {
        let cause = format!("the scheduler failed: {cause}");
        tracing::error!(%cause, "stopping the context");
        let _ = self.stop_cause.set(cause.clone());
        let jobs: Vec<JobId> = self.jobs.keys().copied().collect();
        for job in jobs {
            let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.fail_job(job, EmberError::Stopped(cause.clone()))
            }));
            if failed.is_err() {
                // State is too broken to retire the job cleanly: still answer it.
                if let Some(reply) = self.jobs.remove(&job).and_then(|mut j| j.reply.take()) {
                    let _ = reply.send(Err(EmberError::Stopped(cause.clone())));
                }
            }
        }
        for e in self.executors.values() {
            e.link.shutdown();
        }
        self.executors.clear();
    }

    /// Handles one event; false when the loop must end.
    pub(super) fn handle(&mut self, event: SchedulerEvent) -> bool {
        match event {
            SchedulerEvent::JobSubmitted { root, partitions, group, action, reply } => {
                self.handle_job_submitted(root, partitions, group, action, reply)
            }
            SchedulerEvent::CancelJobs { which, reason } => self.handle_cancel_jobs(&which, &reason),
            SchedulerEvent::TaskEnded { executor, task, outcome } => self.handle_task_ended(executor, task, outcome),
            SchedulerEvent::ExecutorAdded { executor, link, cores, address, max_memory } => {
                self.handle_executor_added(executor, link, cores, address, max_memory)
            }
            SchedulerEvent::ExecutorLost { executor, reason } => self.handle_executor_lost(&executor, &reason),
            SchedulerEvent::Heartbeat { executor, memory } => {
                let now = self.clock.now();
                if let Some(e) = self.executors.get_mut(&executor) {
                    e.last_seen = now;
                    let time = UnixMillis::now();
                    self.listener.post(ListenerEvent::ExecutorMetrics { executor, memory, time });
                }
            }
            SchedulerEvent::BlockUpdated { executor, update } => self.handle_block_updated(executor, update),
            SchedulerEvent::Unpersist { rdd } => self.handle_unpersist(rdd),
            SchedulerEvent::ShuffleReleased { shuffle } => self.handle_shuffle_released(shuffle),
            SchedulerEvent::BroadcastAdded { id, bytes, value } => self.handle_broadcast_added(id, bytes, value),
            SchedulerEvent::Tick => self.handle_tick(),
            SchedulerEvent::AccumulatorRegistered { id, merge } => {
                self.accumulators.insert(id, merge);
            }
            SchedulerEvent::Stop { done } => {
                self.handle_stop();
                let _ = done.send(());
                return false;
            }
        }
        true
    }

    fn handle_job_submitted(
        &mut self,
        root: Arc<dyn StageRoot>,
        partitions: Vec<usize>,
        group: Option<String>,
        action: Arc<ActionProgress>,
        reply: JobReply,
    ) {
        let n = root.rdd().num_partitions();
        if let Some(bad) = partitions.iter().find(|&&p| p >= n) {
            let _ =
                reply.send(Err(EmberError::InvalidArgument(format!("partition {bad} out of range (the RDD has {n})"))));
            return;
        }
        // No task to run (an RDD with no partitions, as `empty_rdd`, or an
        // action asking for none): the job is done at once. A map stage with
        // no partitions finishes as soon as it is submitted
        // (`submit_missing_tasks` finds nothing missing).
        if partitions.is_empty() {
            let _ = reply.send(Ok(Vec::new()));
            return;
        }
        if self.executors.is_empty() {
            if self.lost_executor_reports.is_none() {
                let _ = reply.send(Err(EmberError::Executor("no executors are alive".into())));
                return;
            }
            // Replacements may come: the job waits for one as running jobs do.
            let why = "no executor was alive when a job was submitted".to_string();
            self.executors_gone_since.get_or_insert((self.clock.now(), why));
        }
        let job = JobId(self.next_job);
        self.next_job += 1;
        let parents: Vec<StageId> =
            direct_shuffle_deps(root.rdd()).into_iter().map(|d| self.get_or_create_map_stage(d)).collect();
        let stage_id = self.new_stage_id();
        self.stages.insert(stage_id, Stage::new(stage_id, StageKind::Result { job }, root, parents));
        let stages = self.ancestors_and_self(stage_id);
        let mut counted_stages: Vec<StageId> =
            stages.iter().copied().filter(|&s| s == stage_id || !self.parent_available(s)).collect();
        counted_stages.sort_unstable();
        let active = ActiveJob {
            final_stage: stage_id,
            partition_to_index: partitions.iter().enumerate().map(|(i, &p)| (p, i)).collect(),
            outputs: (0..partitions.len()).map(|_| None).collect(),
            remaining: partitions.len(),
            reply: Some(reply),
            stages: stages.clone(),
            group,
            action,
            counted_stages,
            reported: None,
        };
        let mut stages: Vec<StageId> = stages.into_iter().collect();
        stages.sort_unstable();
        let stage_infos = stages
            .iter()
            .filter_map(|id| self.stages.get(id))
            .map(|st| {
                let num_tasks = if st.id == stage_id { partitions.len() } else { st.rdd.num_partitions() };
                super::describe::stage_info(st, num_tasks)
            })
            .collect();
        let name = super::describe::stage_name(&self.stages[&stage_id]);
        let cancelled = active.action.cancel_requested();
        self.jobs.insert(job, active);
        self.listener.post(ListenerEvent::JobStart { job, stages, stage_infos, name, time: UnixMillis::now() });
        if cancelled {
            // Its action was cancelled before it got here (a later job of a
            // `take`, or a cancel that overtook the submission).
            let reason = "its action was cancelled through its JobFuture".to_string();
            self.fail_job(job, EmberError::Cancelled { job, reason });
            return;
        }
        self.submit_stage(stage_id);
    }

    fn new_stage_id(&mut self) -> StageId {
        let id = StageId(self.next_stage);
        self.next_stage += 1;
        id
    }

    /// The map stage writing `dep`'s shuffle, created (with its ancestors,
    /// parents first, using an explicit stack) if it does not exist.
    fn get_or_create_map_stage(&mut self, dep: Arc<dyn ShuffleDependencyBase>) -> StageId {
        let wanted = dep.shuffle_id();
        let mut stack: Vec<(Arc<dyn ShuffleDependencyBase>, bool)> = vec![(dep, false)];
        while let Some((d, expanded)) = stack.pop() {
            if self.shuffle_to_map_stage.contains_key(&d.shuffle_id()) {
                continue;
            }
            let parents = direct_shuffle_deps(d.rdd());
            if !expanded {
                stack.push((d, true));
                stack.extend(parents.into_iter().map(|p| (p, false)));
                continue;
            }
            let parent_ids: Vec<StageId> =
                parents.iter().filter_map(|p| self.shuffle_to_map_stage.get(&p.shuffle_id()).copied()).collect();
            let id = self.new_stage_id();
            let shuffle = d.shuffle_id();
            self.map_outputs.register_shuffle(shuffle, d.rdd().num_partitions());
            let stage = Stage::new(id, StageKind::ShuffleMap { shuffle }, d.as_stage_root(), parent_ids);
            self.stages.insert(id, stage);
            self.shuffle_to_map_stage.insert(shuffle, id);
        }
        self.shuffle_to_map_stage[&wanted]
    }

    fn ancestors_and_self(&self, stage: StageId) -> IdSet<StageId> {
        let mut all = IdSet::default();
        let mut stack = vec![stage];
        while let Some(s) = stack.pop() {
            if all.insert(s)
                && let Some(st) = self.stages.get(&s)
            {
                stack.extend(st.parents.iter().copied());
            }
        }
        all
    }

    pub(super) fn parent_available(&self, parent: StageId) -> bool {
        self.stages.get(&parent).and_then(|s| s.shuffle()).is_some_and(|sh| self.map_outputs.is_available(sh))
    }

    /// Submits `stage` if its parents are available, else its missing parents.
    pub(super) fn submit_stage(&mut self, stage: StageId) {
        let mut stack = vec![stage];
        while let Some(id) = stack.pop() {
            let Some(st) = self.stages.get(&id) else { continue };
            if st.is_active() {
                continue;
            }
            let missing: Vec<StageId> = st.parents.iter().copied().filter(|&p| !self.parent_available(p)).collect();
            if missing.is_empty() {
                self.submit_missing_tasks(id);
            } else {
                for p in missing {
                    if self.stages.get(&p).is_some_and(|s| !s.is_active()) {
                        stack.push(p);
                    }
                }
            }
        }
    }

    /// Starts a new attempt of `id` with the partitions it still lacks.
    fn submit_missing_tasks(&mut self, id: StageId) {
        let Some(st) = self.stages.get(&id) else { return };
        let missing: Vec<usize> = match st.kind {
            StageKind::ShuffleMap { shuffle } => self.map_outputs.missing(shuffle),
            StageKind::Result { job } => match self.jobs.get(&job) {
                Some(j) => {
                    let mut m: Vec<usize> = j
                        .partition_to_index
                        .iter()
                        .filter(|&(_, &i)| j.outputs[i].is_none())
                        .map(|(&p, _)| p)
                        .collect();
                    m.sort_unstable();
                    m
                }
                None => Vec::new(),
            },
        };
        let locations = self.shuffle_locations(id);
        let cached_chain = cached_one_to_one_chain(self.stages[&id].rdd.clone());
        let st = self.stages.get_mut(&id).expect("stage exists: looked up above");
        if missing.is_empty() {
            let effect = st.finish();
            self.carry_out(id, effect);
            self.after_stage_done(id);
            return;
        }
        let effect = st.start_attempt(missing, cached_chain, locations, self.clock.now());
        self.carry_out(id, effect);
    }

    /// Carries out what a stage's transition asks: tells listeners.
    pub(super) fn carry_out(&self, stage: StageId, effect: StageEffect) {
        let time = UnixMillis::now();
        match effect {
            StageEffect::None => {}
            StageEffect::AttemptStarted { attempt, tasks } => {
                let Some(st) = self.stages.get(&stage) else { return };
                let (rdd, name) = (st.rdd.id(), super::describe::stage_name(st));
                self.listener.post(ListenerEvent::StageSubmitted { stage, attempt, rdd, tasks, name, time });
            }
            StageEffect::AttemptEnded { attempt, failure } => {
                self.listener.post(ListenerEvent::StageCompleted { stage, attempt, failure, time });
            }
        }
    }

    /// Where the map outputs read by stage `id` live.
    fn shuffle_locations(&self, id: StageId) -> ShuffleLocations {
        let mut locations = ShuffleLocations::new();
        for p in &self.stages[&id].parents {
            if let Some(shuffle) = self.stages.get(p).and_then(|s| s.shuffle())
                && let Some(locs) = self.map_outputs.locations(shuffle)
            {
                locations.insert(shuffle, locs);
            }
        }
        locations
    }

    fn handle_task_ended(&mut self, executor: ExecutorId, task: TaskId, outcome: TaskOutcome) {
        let Some(info) = self.tasks.remove(&task) else { return };
        if let Some(e) = self.executors.get_mut(&info.executor) {
            e.free_slots = (e.free_slots + 1).min(e.slots);
        }
        self.post_task_end(task, &info, &executor, TaskEnding::Ended(&outcome));
        if let Err(TaskError::FetchFailed { executor: holder, shuffle, .. }) = &outcome.result {
            // Even from an old attempt, a fetch failure is news: outputs are lost.
            self.forget_outputs(holder, Some(*shuffle));
        }
        let Some(st) = self.stages.get_mut(&info.stage) else { return };
        let current = st.current_attempt_mut(info.stage_attempt).map(|a| a.running.remove(&info.partition)).is_some();
        match outcome.result {
            Ok(success) if current => self.task_succeeded(info, executor, success),
            Ok(_) => {}
            Err(TaskError::FetchFailed { .. }) if current => self.fetch_failed(info, outcome.result.err()),
            Err(_) if !current => {}
            Err(e) => self.task_failed(info, executor, e),
        }
    }

    fn merge_accumulators(&self, success: &mut TaskSuccess) {
        for (id, value) in success.accumulators.drain(..) {
            if let Some(merge) = self.accumulators.get(&id)
                && let Err(e) = merge(value)
            {
                tracing::warn!(accumulator = %id, error = %e, "cannot merge an accumulator update");
            }
        }
    }

    fn task_succeeded(&mut self, info: RunningTask, executor: ExecutorId, mut success: TaskSuccess) {
        let st = &self.stages[&info.stage];
        match st.kind {
            StageKind::Result { job } => {
                let Some(j) = self.jobs.get(&job) else { return };
                let Some(&index) = j.partition_to_index.get(&info.partition) else { return };
                if j.outputs[index].is_some() {
                    return;
                }
                self.merge_accumulators(&mut success);
                let j = self.jobs.get_mut(&job).expect("job exists: looked up above");
                j.outputs[index] = Some(success.output);
                j.remaining -= 1;
                if j.remaining == 0 {
                    self.finish_job(job);
                }
            }
            StageKind::ShuffleMap { shuffle } => {
                let TaskOutput::MapOutput(summary) =
                    std::mem::replace(&mut success.output, TaskOutput::Bytes(Vec::new()))
                else {
                    self.task_failed(info, executor, TaskError::engine("map task returned a result"));
                    return;
                };
                if !self.map_outputs.has_output(shuffle, info.partition) {
                    self.merge_accumulators(&mut success);
                }
                let address = self.executors.get(&executor).map(|e| e.address.clone()).unwrap_or_default();
                self.map_outputs.register_output(shuffle, info.partition, MapStatus { executor, address, summary });
                let available = self.map_outputs.is_available(shuffle);
                let Some(st) = self.stages.get_mut(&info.stage) else { return };
                if st.attempt().is_some_and(Attempt::is_drained) {
                    if available {
                        let effect = st.finish();
                        self.carry_out(info.stage, effect);
                        self.after_stage_done(info.stage);
                    } else {
                        // Outputs were lost while the stage ran: run the missing ones.
                        let effect = st.abandon_attempt("map outputs were lost while the stage ran".into());
                        self.carry_out(info.stage, effect);
                        self.submit_missing_tasks(info.stage);
                    }
                }
            }
        }
    }

    /// Submits the waiting stages of active jobs whose parents are now available.
    fn after_stage_done(&mut self, _done: StageId) {
        let mut waiting: Vec<StageId> = self
            .jobs
            .values()
            .flat_map(|j| j.stages.iter().copied())
            .filter(|s| self.stages.get(s).is_some_and(Stage::is_waiting))
            .collect();
        waiting.sort_unstable();
        waiting.dedup();
        for s in waiting {
            let still_waiting = self.stages.get(&s).is_some_and(Stage::is_waiting);
            if still_waiting && self.stages[&s].parents.iter().all(|&p| self.parent_available(p)) {
                self.submit_missing_tasks(s);
            }
        }
    }

    fn finish_job(&mut self, job: JobId) {
        // Its action hears of every task done before it hears of the end.
        self.report_job_progress(job);
        let Some(mut j) = self.jobs.remove(&job) else { return };
        let outputs: Vec<TaskOutput> =
            j.outputs.drain(..).map(|o| o.unwrap_or(TaskOutput::Bytes(Vec::new()))).collect();
        self.retire_stage(j.final_stage, None);
        self.drop_unneeded_stages(j.stages.iter().copied());
        // Listeners hear of the end before the action returns (as in Spark):
        // once an action returned, flushing the bus shows its whole job.
        self.listener.post(ListenerEvent::JobEnd { job, succeeded: true, error: None, time: UnixMillis::now() });
        if let Some(reply) = j.reply.take() {
            let _ = reply.send(Ok(outputs));
        }
    }

    /// Drops a stage (its map outputs, if any, stay in the tracker);
    /// `failure` says why its job failed, if it did.
    pub(super) fn retire_stage(&mut self, stage: StageId, failure: Option<String>) {
        if let Some(mut st) = self.stages.remove(&stage) {
            let effect = match failure {
                None => st.finish(),
                Some(why) => st.abandon_attempt(why),
            };
            self.carry_out(stage, effect);
            for e in self.executors.values_mut() {
                if e.registered.iter().any(|(s, _)| *s == stage) {
                    e.registered.retain(|(s, _)| *s != stage);
                    e.link.remove(RemoveTarget::Stage(stage));
                }
            }
        }
    }
}

/// The cached RDDs reachable from `rdd` through one-to-one narrow
/// dependencies, nearest first: a task of the stage runs best where the
/// nearest cached one's partition is.
fn cached_one_to_one_chain(rdd: Arc<dyn RddBase>) -> Vec<RddId> {
    let mut chain = Vec::new();
    let mut current = Some(rdd);
    while let Some(r) = current.take() {
        if r.meta().storage_level().is_cached() {
            chain.push(r.id());
        }
        current = r.dependencies().into_iter().find_map(|d| match d {
            Dependency::Narrow { rdd, one_to_one: true } => Some(rdd),
            _ => None,
        });
    }
    chain
}
