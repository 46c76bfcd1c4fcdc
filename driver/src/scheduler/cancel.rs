//! Cancelling jobs (Spark's `cancelJob`, `cancelJobGroup`, `cancelAllJobs`):
//! a cancelled job fails with [`EmberError::Cancelled`] through the same
//! path as any failed job (`fail_job`: its stages that no other job needs
//! are abandoned), and the running and queued tasks of those stages are
//! killed on their executors, so they stop at their next record check
//! instead of running to the end. The context stays usable: the next job
//! runs as if nothing happened.

use super::JobSelector;
use super::dag::DagScheduler;
use super::{IdMap, IdSet};
use crate::executors::ExecutorId;
use ember_rdd::EmberError;
use ember_rdd::ids::{JobId, StageId, TaskId};

impl DagScheduler {
    pub(super) fn handle_cancel_jobs(&mut self, which: &JobSelector, reason: &str) {
        let mut doomed: Vec<JobId> = self
            .jobs
            .iter()
            .filter(|(id, job)| match which {
                JobSelector::One(one) => *id == one,
                JobSelector::Group(group) => job.group.as_deref() == Some(group.as_str()),
                JobSelector::Action(action) => job.action.id() == *action,
                JobSelector::Stage(stage) => job.stages.contains(stage),
                JobSelector::All => true,
            })
            .map(|(&id, _)| id)
            .collect();
        doomed.sort_unstable();
        for job in doomed {
            tracing::info!(%job, reason, "cancelling job");
            self.fail_job(job, EmberError::Cancelled { job, reason: reason.to_string() });
        }
    }

    /// Asks executors to kill every launched task of `stages`.
    pub(super) fn kill_running_tasks(&mut self, stages: &IdSet<StageId>, reason: &str) {
        let mut by_executor: IdMap<ExecutorId, Vec<TaskId>> = IdMap::default();
        for (&task, info) in &self.tasks {
            if stages.contains(&info.stage) {
                by_executor.entry(info.executor.clone()).or_default().push(task);
            }
        }
        for (executor, mut tasks) in by_executor {
            tasks.sort_unstable();
            if let Some(e) = self.executors.get(&executor) {
                e.link.kill(&tasks, reason);
            }
        }
    }
}
