//! Failure handling: failed tasks, fetch failures, lost executors, aborted jobs.
//!
//! - A task that fails (its code panicked, its input was bad) is retried, on
//!   another executor when one is free, until it has failed
//!   `ember.task.maxFailures` times; then every job needing its stage fails
//!   with the task's error.
//! - A task whose error is deterministic (bad input: every retry would fail
//!   the same way) fails its jobs at once, logged once.
//! - A `FetchFailed` means map outputs are gone: they are forgotten, the
//!   reading stage's attempt is abandoned, and resubmitting it resubmits the
//!   map stage for the missing partitions only. After
//!   `ember.stage.maxConsecutiveAttempts` such attempts in a row, jobs fail.
//! - A lost executor's running tasks return to pending (not counted as task
//!   failures), and its cached blocks and map outputs are forgotten.

use super::IdSet;
use super::dag::{DagScheduler, RunningTask};
use crate::executors::ExecutorId;
use crate::listener::TaskEndInfo;
use crate::listener::{ListenerEvent, TaskMetrics, UnixMillis};
use ember_rdd::ids::{JobId, RddId, ShuffleId, StageId, TaskId};
use ember_rdd::task::{TaskOutcome, TaskOutput, TaskSuccess};
use ember_rdd::{EmberError, TaskError};
use std::time::Duration;

/// How a launched task ended, for its `TaskEnd` event.
pub(super) enum TaskEnding<'a> {
    /// Its executor reported an outcome.
    Ended(&'a TaskOutcome),
    /// It never reported: its executor was lost, or its stage could not be shipped.
    Lost(String),
}

impl DagScheduler {
    pub(super) fn task_failed(&mut self, info: RunningTask, executor: ExecutorId, error: TaskError) {
        let max = self.settings.max_task_failures;
        let st = self.stages.get_mut(&info.stage).expect("stage exists: checked by caller");
        let failures = st.failures.entry(info.partition).or_insert(0);
        *failures += 1;
        let attempts = *failures;
        if error.is_deterministic() {
            tracing::warn!(stage = %info.stage, partition = info.partition, %executor, error = %error, "task failed; no retry can succeed");
            let cause = EmberError::DeterministicFailure { stage: info.stage, partition: info.partition, cause: error };
            self.abort_stage(info.stage, cause);
            return;
        }
        tracing::warn!(stage = %info.stage, partition = info.partition, %executor, attempts, error = %error, "task failed");
        if attempts >= max {
            let cause = EmberError::JobAborted { stage: info.stage, partition: info.partition, attempts, cause: error };
            self.abort_stage(info.stage, cause);
            return;
        }
        st.failed_on.entry(info.partition).or_default().insert(executor);
        if let Some(a) = st.current_attempt_mut(info.stage_attempt) {
            a.pending.push_back(info.partition);
        }
    }

    pub(super) fn fetch_failed(&mut self, info: RunningTask, error: Option<TaskError>) {
        let max = self.settings.max_stage_attempts;
        let error = error.unwrap_or_else(|| TaskError::engine("fetch failed"));
        let st = self.stages.get_mut(&info.stage).expect("stage exists: checked by caller");
        st.consecutive_fetch_failures += 1;
        let attempts = st.consecutive_fetch_failures;
        // This attempt is over: its other running tasks' results will be ignored.
        let effect = st.abandon_attempt(format!("fetch failed: {error}"));
        self.carry_out(info.stage, effect);
        tracing::warn!(stage = %info.stage, attempts, error = %error, "fetch failed; resubmitting the map stage");
        if attempts >= max {
            self.abort_stage(info.stage, EmberError::StageAborted { stage: info.stage, attempts, cause: error });
            return;
        }
        self.submit_stage(info.stage);
    }

    /// Forgets map outputs held by `executor` (of one shuffle, or all).
    pub(super) fn forget_outputs(&mut self, executor: &ExecutorId, shuffle: Option<ShuffleId>) {
        let affected = self.map_outputs.remove_outputs_on(executor, shuffle);
        for sh in affected {
            let Some(&id) = self.shuffle_to_map_stage.get(&sh) else { continue };
            if let Some(st) = self.stages.get_mut(&id) {
                let effect = st.reopen();
                self.carry_out(id, effect);
            }
        }
    }

    /// Fails every job that needs `stage`.
    pub(super) fn abort_stage(&mut self, stage: StageId, error: EmberError) {
        let doomed: Vec<JobId> =
            self.jobs.iter().filter(|(_, j)| j.stages.contains(&stage)).map(|(&id, _)| id).collect();
        let message = error.to_string();
        let mut error = Some(error);
        for job in doomed {
            let e = error.take().unwrap_or_else(|| EmberError::Stopped(message.clone()));
            self.fail_job(job, e);
        }
    }

    pub(super) fn fail_job(&mut self, job: JobId, error: EmberError) {
        let Some(mut j) = self.jobs.remove(&job) else { return };
        let message = error.to_string();
        let reply = j.reply.take();
        self.retire_stage(j.final_stage, Some(message.clone()));
        // Stop running the map stages no other job needs.
        let still_needed: IdSet<StageId> = self.jobs.values().flat_map(|j| j.stages.iter().copied()).collect();
        for &s in &j.stages {
            if !still_needed.contains(&s)
                && let Some(st) = self.stages.get_mut(&s)
            {
                let effect = st.abandon_attempt(format!("{job} failed: {message}"));
                self.carry_out(s, effect);
            }
        }
        // Their running tasks would only waste the executors' time.
        let unneeded: IdSet<StageId> = j.stages.iter().copied().filter(|s| !still_needed.contains(s)).collect();
        self.kill_running_tasks(&unneeded, &format!("{job} failed: {message}"));
        self.drop_unneeded_stages(j.stages.iter().copied());
        self.listener.post(ListenerEvent::JobEnd {
            job,
            succeeded: false,
            error: Some(message),
            time: UnixMillis::now(),
        });
        // After the listener events, as for a job that succeeds.
        if let Some(reply) = reply {
            let _ = reply.send(Err(error));
        }
    }

    /// Tells listeners that a launched task ended without a result (its
    /// executor was lost, or its stage could not be shipped).
    pub(super) fn post_task_lost(&self, task: TaskId, info: &RunningTask, error: String) {
        self.post_task_end(task, info, &info.executor, TaskEnding::Lost(error));
    }

    /// The listener's `TaskEnd` event, built in this one place for every way
    /// a launched task ends.
    pub(super) fn post_task_end(&self, task: TaskId, info: &RunningTask, executor: &ExecutorId, ending: TaskEnding) {
        let rdd = self.stages.get(&info.stage).map(|s| s.rdd.id()).unwrap_or(RddId(u64::MAX));
        let (succeeded, error, run_time, metrics, result_size_bytes) = match ending {
            TaskEnding::Ended(outcome) => {
                let result_size_bytes = match &outcome.result {
                    Ok(TaskSuccess { output: TaskOutput::Bytes(bytes), .. }) => bytes.len() as u64,
                    _ => 0,
                };
                // The message, then where it happened (the UI folds the rest away).
                let error = outcome.result.as_ref().err().map(|e| match e.backtrace() {
                    Some(backtrace) => format!("{e}\n{backtrace}"),
                    None => e.to_string(),
                });
                (outcome.result.is_ok(), error, outcome.run_time, outcome.metrics, result_size_bytes)
            }
            TaskEnding::Lost(why) => (false, Some(why), Duration::ZERO, TaskMetrics::default(), 0),
        };
        self.listener.post(ListenerEvent::TaskEnd(TaskEndInfo {
            task,
            stage: info.stage,
            stage_attempt: info.stage_attempt,
            rdd,
            partition: info.partition,
            executor: executor.clone(),
            succeeded,
            error,
            run_time,
            metrics,
            result_size_bytes,
            time: UnixMillis::now(),
        }));
    }

    pub(super) fn handle_executor_lost(&mut self, executor: &ExecutorId, reason: &str) {
        let Some(_) = self.executors.remove(executor) else { return };
        tracing::warn!(%executor, reason, "executor lost");
        if let Some(tx) = &self.lost_executor_reports {
            let _ = tx.send(executor.clone());
        }
        self.listener.post(ListenerEvent::ExecutorRemoved {
            executor: executor.clone(),
            reason: reason.to_string(),
            time: UnixMillis::now(),
        });
        // Its running tasks go back to pending (an executor loss is not the task's fault).
        let lost: Vec<TaskId> = self.tasks.iter().filter(|(_, t)| &t.executor == executor).map(|(&id, _)| id).collect();
        for id in lost {
            let Some(t) = self.tasks.remove(&id) else { continue };
            self.post_task_lost(id, &t, format!("executor {executor} lost: {reason}"));
            if let Some(a) = self.stages.get_mut(&t.stage).and_then(|st| st.current_attempt_mut(t.stage_attempt))
                && a.running.remove(&t.partition)
            {
                a.pending.push_front(t.partition);
            }
        }
        self.block_to_executors.retain(|_, holders| {
            holders.remove(executor);
            !holders.is_empty()
        });
        self.forget_outputs(executor, None);
        if self.executors.is_empty() {
            let last = format!("{executor}: {reason}");
            if self.lost_executor_reports.is_none() {
                self.fail_all_jobs(&format!("all executors are lost (last: {last})"));
            } else {
                self.executors_gone_since.get_or_insert((self.clock.now(), last));
            }
        }
    }

    /// Fails every running job: no executor is left to run it.
    pub(super) fn fail_all_jobs(&mut self, why: &str) {
        let jobs: Vec<JobId> = self.jobs.keys().copied().collect();
        for job in jobs {
            self.fail_job(job, EmberError::Executor(why.to_string()));
        }
    }
}
