//! The UI's state store: one application's jobs, stage attempts (with their
//! task tables), executors and cached blocks, built from listener events
//! alone (Spark's `AppStatusListener` + `AppStatusStore` in one).
//!
//! Because it reads nothing but [`ListenerEvent`]s, the live UI (a listener
//! on the bus) and `ember-history` (a replay of the event log) build the same
//! state from the same events, and so answer the same.
//!
//! Invariants:
//! - a stage attempt is keyed by `(stage, attempt)`; attempts are numbered
//!   from 1, and attempt 0 is a placeholder for a stage that a job needs but
//!   that never ran: `Pending` while the job runs, `Skipped` after;
//! - an attempt belongs to the jobs that were running and needed its stage
//!   when it was submitted, and a job's counts add up its attempts;
//! - memory is bounded: finished jobs, finished attempts and tasks per
//!   attempt beyond the `ember.ui.retained*` limits are forgotten, oldest first.
//!
//! Cost: a task start or end runs on the listener bus thread, which competes
//! with the task threads for cores, so it must stay cheap (a few hundred
//! instructions: `tests/listener_cost.rs` measures it): no allocation, one
//! lookup of the attempt and one of the executor, and task tables and
//! completed partitions that append instead of inserting into B-trees
//! ([`super::task_table`]).

pub use super::records::{
    AppSummary, AttemptRecord, BlockCopy, ExecutorRecord, JobRecord, JobStatus, LaunchedTask, MemorySample, Retention,
    StageStatus, TaskMetricsRecord, TaskRecord, TaskStatus,
};
use crate::listener::TaskEndInfo;
use crate::listener::{BlockPlacement, Listener, ListenerEvent, RddInfo, StageInfo, UnixMillis};
use ember_rdd::ids::{BlockId, JobId, RddId, StageId};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The state of one application, as its UI shows it.
#[derive(Debug, Default)]
pub struct AppState {
    pub app: AppSummary,
    pub jobs: BTreeMap<JobId, JobRecord>,
    /// What each stage computes, from the start events of the jobs needing it.
    pub stage_infos: HashMap<StageId, Arc<StageInfo>>,
    pub attempts: BTreeMap<(StageId, u32), AttemptRecord>,
    pub executors: BTreeMap<String, ExecutorRecord>,
    /// Cached RDDs (storage level set) seen in jobs, by id.
    pub cached_rdds: BTreeMap<RddId, RddInfo>,
    /// Copies of each cached block, by executor.
    pub blocks: BTreeMap<BlockId, BTreeMap<String, BlockCopy>>,
    retention: Retention,
}

impl AppState {
    pub fn new(retention: Retention) -> Self {
        AppState { retention, ..Default::default() }
    }

    /// The time durations of running things are measured to: the end of the
    /// application, else now (live) or the latest event (a replayed log).
    pub fn clock(&self, live: bool) -> UnixMillis {
        match self.app.ended {
            Some(end) => end,
            None if live => UnixMillis::now(),
            None => self.app.last_event,
        }
    }

    /// The attempts that ran for `job`, and the placeholders of its stages that never ran.
    pub fn attempts_of_job(&self, job: JobId) -> impl Iterator<Item = &AttemptRecord> {
        self.attempts.values().filter(move |a| a.jobs.contains(&job))
    }

    pub fn apply(&mut self, event: &ListenerEvent) {
        match event {
            ListenerEvent::ApplicationStart { app_id, app_name, master, user, configuration, time } => {
                self.app = AppSummary {
                    id: app_id.clone(),
                    name: app_name.clone(),
                    master: master.clone(),
                    user: user.clone(),
                    configuration: configuration.clone(),
                    started: *time,
                    ended: None,
                    last_event: *time,
                };
            }
            ListenerEvent::ApplicationEnd { time } => self.application_ended(*time),
            ListenerEvent::JobStart { job, stages, stage_infos, name, time } => {
                self.job_started(*job, stages, stage_infos, name, *time)
            }
            ListenerEvent::JobEnd { job, succeeded, error, time } => self.job_ended(*job, *succeeded, error, *time),
            ListenerEvent::StageSubmitted { stage, attempt, tasks, name, time, .. } => {
                self.stage_submitted(*stage, *attempt, *tasks, name, *time)
            }
            ListenerEvent::StageCompleted { stage, attempt, failure, time } => {
                if let Some(a) = self.attempts.get_mut(&(*stage, *attempt)) {
                    a.status = if failure.is_some() { StageStatus::Failed } else { StageStatus::Complete };
                    a.failure = failure.clone();
                    a.completed = Some(*time);
                }
                self.trim_stages();
            }
            ListenerEvent::TaskStart { task, stage, stage_attempt, partition, attempt, executor, time } => {
                let launched = LaunchedTask { task: *task, stage: *stage, stage_attempt: *stage_attempt };
                let (executor, running) = self.with_executor(&executor.0, |e| {
                    e.launched.push_back(launched);
                    (e.id.clone(), e.launched.len() <= e.slots())
                });
                if let Some(a) = self.attempts.get_mut(&(*stage, *stage_attempt)) {
                    a.launched_tasks += 1;
                    a.running_tasks += usize::from(running);
                    // The earliest, not the first seen: a replayed log may hold a
                    // task's start at its end's place (a `TaskRun` line).
                    a.first_task_launched = Some(a.first_task_launched.map_or(*time, |t| t.min(*time)));
                    a.tasks.insert(TaskRecord {
                        id: *task,
                        partition: *partition,
                        attempt: *attempt,
                        executor,
                        launched: *time,
                        started: running.then_some(*time),
                        finished: None,
                        status: TaskStatus::Running,
                        error: None,
                        metrics: TaskMetricsRecord::default(),
                    });
                    a.tasks.keep_latest(self.retention.tasks_per_stage);
                }
            }
            ListenerEvent::TaskEnd(TaskEndInfo {
                task,
                stage,
                stage_attempt,
                partition,
                executor,
                succeeded,
                error,
                run_time,
                metrics,
                result_size_bytes,
                time,
                ..
            }) => {
                let metrics = TaskMetricsRecord {
                    // At the event log's precision, so a replay adds up the same.
                    run_time: Duration::from_micros(run_time.as_micros() as u64),
                    io: *metrics,
                    result_size_bytes: *result_size_bytes,
                };
                let (was_running, promoted) = self.with_executor(&executor.0, |e| e.end_launched(*task));
                // The task taking the freed core is most often of the same
                // attempt, found below with no second lookup.
                let same_attempt = |p: &LaunchedTask| p.stage == *stage && p.stage_attempt == *stage_attempt;
                if let Some(next) = promoted.filter(|p| !same_attempt(p)) {
                    self.task_took_a_core(next, *time);
                }
                if let Some(a) = self.attempts.get_mut(&(*stage, *stage_attempt)) {
                    if let Some(next) = promoted.filter(same_attempt) {
                        a.running_tasks += 1;
                        if let Some(t) = a.tasks.get_mut(next.task) {
                            t.started = Some(*time);
                        }
                    }
                    a.launched_tasks = a.launched_tasks.saturating_sub(1);
                    if was_running {
                        a.running_tasks = a.running_tasks.saturating_sub(1);
                    }
                    if *succeeded {
                        a.complete_tasks += 1;
                        a.completed_partitions.insert(*partition);
                    } else {
                        a.failed_tasks += 1;
                    }
                    a.totals.add(&metrics);
                    if let Some(t) = a.tasks.get_mut(*task) {
                        t.finished = Some(*time);
                        t.status = if *succeeded { TaskStatus::Success } else { TaskStatus::Failed };
                        t.error = error.clone();
                        t.metrics = metrics;
                    }
                }
                self.with_executor(&executor.0, |e| {
                    if *succeeded {
                        e.completed_tasks += 1;
                    } else {
                        e.failed_tasks += 1;
                    }
                    e.task_time += metrics.run_time;
                    e.totals.add(&metrics);
                });
            }
            ListenerEvent::ExecutorAdded { executor, cores, host_port, max_memory, time } => {
                self.with_executor(&executor.0, |e| {
                    e.host_port = host_port.clone();
                    e.active = true;
                    e.cores = *cores;
                    e.max_memory = *max_memory;
                    e.added = *time;
                    e.removed = None;
                    e.remove_reason = None;
                });
            }
            ListenerEvent::ExecutorRemoved { executor, reason, time } => {
                if let Some(e) = self.executors.get_mut(&executor.0) {
                    e.active = false;
                    e.removed = Some(*time);
                    e.remove_reason = Some(reason.clone());
                    e.launched.clear();
                }
                self.blocks.retain(|_, copies| {
                    copies.remove(&executor.0);
                    !copies.is_empty()
                });
            }
            ListenerEvent::ExecutorMetrics { executor, memory, time } => {
                if let Some(e) = self.executors.get_mut(&executor.0) {
                    e.sample_memory(*time, memory.storage_bytes, memory.execution_bytes);
                }
            }
            ListenerEvent::BlockUpdated { executor, block, placement, size_bytes, .. } => {
                if *placement == BlockPlacement::Removed {
                    if let Some(copies) = self.blocks.get_mut(block) {
                        copies.remove(&executor.0);
                        if copies.is_empty() {
                            self.blocks.remove(block);
                        }
                    }
                } else {
                    let copy = BlockCopy { placement: *placement, size_bytes: *size_bytes };
                    self.blocks.entry(*block).or_default().insert(executor.0.clone(), copy);
                }
            }
            ListenerEvent::RddUnpersisted { rdd, .. } => {
                self.blocks.retain(|b, _| b.rdd != *rdd);
            }
        }
        if let Some(time) = event_time(event) {
            self.app.last_event = self.app.last_event.max(time);
        }
    }

    /// The application ended: so did its executors (a replayed log has no
    /// removal event for those that lived to the end).
    fn application_ended(&mut self, time: UnixMillis) {
        self.app.ended = Some(time);
        for e in self.executors.values_mut().filter(|e| e.active) {
            e.active = false;
            e.removed = Some(time);
            e.remove_reason = Some("the application ended".into());
            e.launched.clear();
        }
    }

    /// A queued task took the core a finished one freed, at `time`.
    fn task_took_a_core(&mut self, next: LaunchedTask, time: UnixMillis) {
        if let Some(a) = self.attempts.get_mut(&(next.stage, next.stage_attempt)) {
            a.running_tasks += 1;
            if let Some(t) = a.tasks.get_mut(next.task) {
                t.started = Some(time);
            }
        }
    }

    /// Runs `f` on the record of executor `id`, created if unknown (one
    /// lookup and no allocation for a known one: this runs for every task).
    fn with_executor<R>(&mut self, id: &str, f: impl FnOnce(&mut ExecutorRecord) -> R) -> R {
        if let Some(e) = self.executors.get_mut(id) {
            return f(e);
        }
        f(self.executors.entry(id.to_string()).or_insert_with(|| ExecutorRecord::new(id)))
    }

    fn job_started(&mut self, job: JobId, stages: &[StageId], infos: &[StageInfo], name: &str, time: UnixMillis) {
        for info in infos {
            for rdd in info.rdds.iter().filter(|r| r.storage_level.is_cached()) {
                self.cached_rdds.insert(rdd.id, rdd.clone());
            }
            let never_ran = self.attempts.range((info.stage, 0)..=(info.stage, u32::MAX)).next().is_none();
            if never_ran {
                let a = AttemptRecord::new(
                    info.stage,
                    0,
                    info.name.clone(),
                    StageStatus::Pending,
                    vec![job],
                    info.num_tasks,
                );
                self.attempts.insert((info.stage, 0), a);
            } else if let Some(a) = self.attempts.get_mut(&(info.stage, 0)) {
                a.status = StageStatus::Pending;
                a.jobs.push(job);
            }
            self.stage_infos.insert(info.stage, Arc::new(info.clone()));
        }
        let record = JobRecord {
            id: job,
            name: name.to_string(),
            stages: stages.to_vec(),
            submitted: time,
            completed: None,
            status: JobStatus::Running,
            error: None,
        };
        self.jobs.insert(job, record);
        self.trim_jobs();
    }

    fn job_ended(&mut self, job: JobId, succeeded: bool, error: &Option<String>, time: UnixMillis) {
        let Some(j) = self.jobs.get_mut(&job) else { return };
        j.status = if succeeded { JobStatus::Succeeded } else { JobStatus::Failed };
        j.error = error.clone();
        j.completed = Some(time);
        let stages = j.stages.clone();
        let running: BTreeSet<StageId> = self
            .jobs
            .values()
            .filter(|j| j.status == JobStatus::Running)
            .flat_map(|j| j.stages.iter().copied())
            .collect();
        for stage in stages {
            if let Some(a) = self.attempts.get_mut(&(stage, 0))
                && a.status == StageStatus::Pending
                && !running.contains(&stage)
            {
                a.status = StageStatus::Skipped;
                a.completed = Some(time);
            }
        }
    }

    fn stage_submitted(&mut self, stage: StageId, attempt: u32, tasks: usize, name: &str, time: UnixMillis) {
        let placeholder = self.attempts.remove(&(stage, 0));
        let jobs: Vec<JobId> = self
            .jobs
            .values()
            .filter(|j| j.status == JobStatus::Running && j.stages.contains(&stage))
            .map(|j| j.id)
            .collect();
        let jobs = if jobs.is_empty() { placeholder.map(|p| p.jobs).unwrap_or_default() } else { jobs };
        let mut a = AttemptRecord::new(stage, attempt, name.to_string(), StageStatus::Active, jobs, tasks);
        a.submitted = Some(time);
        self.attempts.insert((stage, attempt), a);
    }

    /// Forgets the oldest finished jobs beyond the limit (a tenth more at
    /// once, so that trimming is rare).
    fn trim_jobs(&mut self) {
        let limit = self.retention.jobs;
        if self.jobs.len() <= limit + limit / 10 {
            return;
        }
        let excess = self.jobs.len() - limit;
        let old: Vec<JobId> =
            self.jobs.values().filter(|j| j.status != JobStatus::Running).map(|j| j.id).take(excess).collect();
        for id in old {
            self.jobs.remove(&id);
        }
        self.forget_unused_stage_infos();
    }

    /// Forgets the oldest finished stage attempts beyond the limit.
    fn trim_stages(&mut self) {
        let limit = self.retention.stages;
        if self.attempts.len() <= limit + limit / 10 {
            return;
        }
        let excess = self.attempts.len() - limit;
        let old: Vec<(StageId, u32)> =
            self.attempts.iter().filter(|(_, a)| a.is_finished()).map(|(k, _)| *k).take(excess).collect();
        for key in old {
            self.attempts.remove(&key);
        }
        self.forget_unused_stage_infos();
    }

    fn forget_unused_stage_infos(&mut self) {
        let used: BTreeSet<StageId> = self
            .jobs
            .values()
            .flat_map(|j| j.stages.iter().copied())
            .chain(self.attempts.keys().map(|(s, _)| *s))
            .collect();
        self.stage_infos.retain(|s, _| used.contains(s));
    }
}

fn event_time(event: &ListenerEvent) -> Option<UnixMillis> {
    Some(match event {
        ListenerEvent::ApplicationStart { time, .. }
        | ListenerEvent::ApplicationEnd { time }
        | ListenerEvent::JobStart { time, .. }
        | ListenerEvent::JobEnd { time, .. }
        | ListenerEvent::StageSubmitted { time, .. }
        | ListenerEvent::StageCompleted { time, .. }
        | ListenerEvent::TaskStart { time, .. }
        | ListenerEvent::TaskEnd(TaskEndInfo { time, .. })
        | ListenerEvent::ExecutorAdded { time, .. }
        | ListenerEvent::ExecutorRemoved { time, .. }
        | ListenerEvent::ExecutorMetrics { time, .. }
        | ListenerEvent::BlockUpdated { time, .. }
        | ListenerEvent::RddUnpersisted { time, .. } => *time,
    })
}

/// The state store as a listener: the live UI's, or one replayed application's.
pub struct AppStore {
    state: Mutex<AppState>,
    /// Whether the application is running in this process (durations of
    /// running things grow with the clock) or replayed from a log.
    live: bool,
}

impl AppStore {
    pub fn new(retention: Retention, live: bool) -> Self {
        AppStore { state: Mutex::new(AppState::new(retention)), live }
    }

    pub fn is_live(&self) -> bool {
        self.live
    }

    /// Runs `f` on the current state (briefly: the bus waits meanwhile).
    pub fn read<R>(&self, f: impl FnOnce(&AppState) -> R) -> R {
        f(&self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The application's id.
    pub fn app_id(&self) -> String {
        self.read(|s| s.app.id.clone())
    }
}

impl Listener for AppStore {
    fn on_event(&self, event: &ListenerEvent) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).apply(event);
    }
    fn on_events(&self, events: &[ListenerEvent]) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        events.iter().for_each(|e| state.apply(e));
    }
}
