//! Task placement: which executor runs which pending task.
//!
//! Stages are served in order of job and stage id (FIFO). A task whose
//! partition is cached somewhere goes to an executor holding it; if none of
//! those has a free slot it waits, up to `ember.locality.wait` from the start
//! of its stage attempt, before it may run anywhere (and recompute the
//! partition there), as Spark's delay scheduling. A task that failed on an
//! executor is placed elsewhere when another executor is free.

use super::IdSet;
use super::SchedulerEvent;
use super::dag::{DagScheduler, RunningTask};
use crate::executors::{ExecutorId, TaskLaunch};
use crate::listener::{ListenerEvent, UnixMillis};
use ember_rdd::ids::{BlockId, StageId, TaskId};
use std::collections::BTreeMap;
use std::time::Duration;

impl DagScheduler {
    /// Executors holding a cached partition the task for `partition` reads.
    fn preferred_executors(&self, stage: StageId, partition: usize) -> IdSet<ExecutorId> {
        let chain = self.stages.get(&stage).and_then(|st| st.attempt()).map(|a| a.cached_chain.as_slice());
        for rdd in chain.unwrap_or_default() {
            if let Some(holders) = self.block_to_executors.get(&BlockId { rdd: *rdd, partition })
                && !holders.is_empty()
            {
                return holders.clone();
            }
        }
        IdSet::default()
    }

    /// The free executor with the most free cores, avoiding `avoid` if possible.
    fn any_free_executor(&self, avoid: Option<&IdSet<ExecutorId>>) -> Option<ExecutorId> {
        let free = self.executors.iter().filter(|(_, e)| e.free_slots > 0);
        let best = |it: &mut dyn Iterator<Item = (&ExecutorId, &super::dag::ExecutorState)>| {
            it.max_by_key(|(_, e)| e.free_slots).map(|(id, _)| id.clone())
        };
        if let Some(avoid) = avoid {
            let mut others = free.clone().filter(|(id, _)| !avoid.contains(*id));
            if let Some(id) = best(&mut others) {
                return Some(id);
            }
        }
        best(&mut free.into_iter())
    }

    /// Offers pending tasks of running stages to executors with free task slots
    /// (cores, plus `ember.executor.prefetchTasks` per core queued on the executor).
    pub(super) fn schedule(&mut self) {
        let mut running: Vec<StageId> = self.stages.iter().filter(|(_, s)| s.is_active()).map(|(&id, _)| id).collect();
        running.sort_unstable();
        let wait = self.settings.locality_wait;
        let now = self.clock.now();
        let mut launches: BTreeMap<ExecutorId, Vec<TaskLaunch>> = BTreeMap::new();
        let mut held_back = false;
        for stage in running {
            let mut skipped = Vec::new();
            loop {
                if !self.executors.values().any(|e| e.free_slots > 0) {
                    break;
                }
                let Some(partition) =
                    self.stages.get_mut(&stage).and_then(|s| s.attempt_mut()).and_then(|a| a.pending.pop_front())
                else {
                    break;
                };
                let preferred = self.preferred_executors(stage, partition);
                let st = &self.stages[&stage];
                let local =
                    preferred.iter().find(|id| self.executors.get(*id).is_some_and(|e| e.free_slots > 0)).cloned();
                let since = st.attempt().map_or(now, |a| a.submitted_at);
                let waited_enough = preferred.is_empty() || now.saturating_duration_since(since) >= wait;
                let choice = local.or_else(|| {
                    if waited_enough { self.any_free_executor(st.failed_on.get(&partition)) } else { None }
                });
                let Some(executor) = choice else {
                    skipped.push(partition);
                    held_back = true;
                    continue;
                };
                let launch = self.start_task(stage, partition, &executor);
                launches.entry(executor).or_default().push(launch);
            }
            if let Some(a) = self.stages.get_mut(&stage).and_then(|s| s.attempt_mut()) {
                for p in skipped.into_iter().rev() {
                    a.pending.push_front(p);
                }
            }
        }
        for (executor, tasks) in launches {
            self.send_launches(&executor, tasks);
        }
        if held_back && !self.revive_pending {
            self.revive_pending = true;
            let events = self.events.clone();
            let delay = (wait / 4).clamp(Duration::from_millis(5), Duration::from_millis(500));
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                events.post(SchedulerEvent::Tick);
            });
        }
    }

    fn start_task(&mut self, stage: StageId, partition: usize, executor: &ExecutorId) -> TaskLaunch {
        let task = TaskId(self.next_task);
        self.next_task += 1;
        let st = self.stages.get_mut(&stage).expect("stage is running");
        let attempt = st.failures.get(&partition).copied().unwrap_or(0);
        let running = st.attempt_mut().expect("stage is running: a task of it was pending");
        running.running.insert(partition);
        let stage_attempt = running.number;
        if let Some(e) = self.executors.get_mut(executor) {
            e.free_slots -= 1;
        }
        self.tasks.insert(task, RunningTask { stage, stage_attempt, partition, executor: executor.clone() });
        self.listener.post(ListenerEvent::TaskStart {
            task,
            stage,
            stage_attempt,
            partition,
            attempt,
            executor: executor.clone(),
            time: UnixMillis::now(),
        });
        TaskLaunch { task, stage, stage_attempt, partition, attempt }
    }

    /// Registers the tasks' stage attempts with the executor (once each), then
    /// launches the tasks in one message.
    fn send_launches(&mut self, executor: &ExecutorId, tasks: Vec<TaskLaunch>) {
        let mut failed_registration = None;
        if let Some(e) = self.executors.get_mut(executor) {
            for t in &tasks {
                if e.registered.contains(&(t.stage, t.stage_attempt)) {
                    continue;
                }
                let Some(desc) = self.stages.get(&t.stage).and_then(|s| s.attempt()).map(|a| a.description.clone())
                else {
                    continue;
                };
                match e.link.register_stage(&desc) {
                    Ok(()) => {
                        e.registered.insert((t.stage, t.stage_attempt));
                    }
                    Err(err) => {
                        failed_registration = Some((t.stage, err));
                        break;
                    }
                }
            }
            if failed_registration.is_none() {
                e.link.launch(tasks.clone());
            }
        }
        if let Some((stage, err)) = failed_registration {
            // The stage cannot be shipped (e.g. its closures fail to serialize):
            // no retry can help.
            for t in &tasks {
                if let Some(info) = self.tasks.remove(&t.task) {
                    self.post_task_lost(t.task, &info, format!("cannot ship {stage}: {err}"));
                }
            }
            if let Some(e) = self.executors.get_mut(executor) {
                e.free_slots = (e.free_slots + tasks.len()).min(e.slots);
            }
            let jobs: Vec<_> = self.jobs.iter().filter(|(_, j)| j.stages.contains(&stage)).map(|(&id, _)| id).collect();
            for job in jobs {
                self.fail_job(job, ember_rdd::EmberError::Serialization(format!("cannot ship {stage}: {err}")));
            }
        }
    }
}
