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
use std::sync::OnceLock;

thread_local! {
    static JOB_GROUP: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// This thread's job group in this copy of Ember, for the other copies of a
/// REPL process, where each cell holds a copy (ADR 0009): a group set in one
/// cell must hold for the jobs of the next.
#[unsafe(no_mangle)]
pub extern "C" fn ember_job_group_slot() -> *const RefCell<Option<String>> {
    JOB_GROUP.with(|g| g as *const RefCell<Option<String>>)
}

fn with_job_group<R>(f: impl FnOnce(&RefCell<Option<String>>) -> R) -> R {
    static PRIMARY: OnceLock<Option<usize>> = OnceLock::new();
    ember_rdd::code_objects::with_shared_thread_local(&JOB_GROUP, c"ember_job_group_slot", &PRIMARY, f)
}

/// The job group of the calling thread.
pub(crate) fn current_job_group() -> Option<String> {
    with_job_group(|g| g.borrow().clone())
}

impl Context {
    /// Puts the jobs this thread submits from now on in `group`.
    pub fn set_job_group(&self, group: &str) {
        with_job_group(|g| *g.borrow_mut() = Some(group.to_string()));
    }

    /// This thread's jobs belong to no group any more.
    pub fn clear_job_group(&self) {
        with_job_group(|g| *g.borrow_mut() = None);
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
