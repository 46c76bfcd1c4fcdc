//! Job groups and cancellation, as Spark's `SparkContext.setJobGroup`,
//! `cancelJobGroup`, `cancelJob` and `cancelAllJobs`.
//!
//! A job group is a property of the thread that submits jobs: every action
//! started on a thread after `set_job_group("g")` belongs to `g` (its async
//! form included: the group is read when the action is called, not when its
//! future is polled). Cancelling fails the jobs with
//! [`EmberError::Cancelled`](crate::EmberError::Cancelled) and kills their
//! running tasks on the executors; the context stays usable. Cancelling from
//! another thread (a UI, a notebook cell, a timeout) is the usual use.

use crate::context::Context;
use crate::scheduler::{JobSelector, SchedulerEvent};
use ember_rdd::ids::JobId;
use std::cell::RefCell;

thread_local! {
    static JOB_GROUP: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The job group of the calling thread.
pub(crate) fn current_job_group() -> Option<String> {
    JOB_GROUP.with(|g| g.borrow().clone())
}

impl Context {
    /// Puts the jobs this thread submits from now on in `group`.
    pub fn set_job_group(&self, group: &str) {
        JOB_GROUP.with(|g| *g.borrow_mut() = Some(group.to_string()));
    }

    /// This thread's jobs belong to no group any more.
    pub fn clear_job_group(&self) {
        JOB_GROUP.with(|g| *g.borrow_mut() = None);
    }

    /// Cancels one job (its id is in the listener's `JobStart` and the UI).
    pub fn cancel_job(&self, job: JobId) {
        self.cancel(JobSelector::One(job), format!("{job} cancelled by the program"));
    }

    /// Cancels the active jobs of `group`.
    pub fn cancel_job_group(&self, group: &str) {
        self.cancel(JobSelector::Group(group.to_string()), format!("job group '{group}' cancelled"));
    }

    /// Cancels every active job.
    pub fn cancel_all_jobs(&self) {
        self.cancel(JobSelector::All, "all jobs cancelled".to_string());
    }

    fn cancel(&self, which: JobSelector, reason: String) {
        // After the context stopped there is nothing left to cancel.
        self.post(SchedulerEvent::CancelJobs { which, reason });
    }
}
