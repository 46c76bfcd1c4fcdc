//! Job futures: what an async action returns (Spark's `FutureAction`, a
//! Dask `Future`), with a status a notebook can print.
//!
//! An async action (`count_async`, `collect_async`, `take_async`,
//! `persist_async`, ...) submits its first job before it returns, then runs
//! on its own whether or not anyone polls its [`JobFuture`]: the action's
//! driver-side work (merging partial results, choosing `take`'s next job)
//! runs on a thread of the runner's ([`JobRunner::spawn_action`]), never on a
//! thread of the scheduler's runtime, where a large merge would hold up
//! scheduling. Dropping the future does not stop the action (as in Spark);
//! [`JobFuture::cancel`] does.
//!
//! # Who writes what
//! - The calling thread creates the action's [`ActionProgress`]
//!   ([`JobRunner::new_action`], which records that thread's job group, so
//!   every job of the action belongs to the group of the thread that called
//!   it, whichever thread submits it) and submits its jobs with it.
//! - The scheduler loop is the only writer of job progress: at the end of
//!   each turn it reports, for every active job whose counts changed, the
//!   [`JobCounts`] it computes from its own state (map outputs registered,
//!   result partitions received, tasks launched).
//! - The action's thread records the outcome once the action's work has
//!   returned, then hands the result over.
//!
//! # Status
//! ```text
//!  Pending ──a task of one of its jobs launched──▶ Running { tasks_done, tasks_total }
//!     │                                                      │
//!     └─────────────────────────┬────────────────────────────┘
//!                               ├── the action returned Ok ──────────────▶ Finished
//!                               ├── it returned EmberError::Cancelled ───▶ Cancelled
//!                               └── any other error, or a driver panic ─▶ Failed(message)
//! ```
//! `tasks_total` sums, over the action's jobs so far, the tasks of every
//! stage a job must run; a map stage whose outputs were all available when
//! the job was submitted is skipped and not counted (Spark's UI shows such
//! stages apart). `tasks_done` counts the partitions of those stages that are
//! computed; a lost map output must be computed again, so it may go down.

use crate::error::{EmberError, Result, panic_message};
use crate::ids::{ActionId, JobId};
use crate::runner::JobRunner;
use futures::channel::oneshot;
use futures::future::{BoxFuture, FutureExt};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

/// Where an action is (see the [module's](self) diagram).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobStatus {
    /// Submitted; no task of its jobs has been launched yet.
    Pending,
    /// Tasks were launched: `tasks_done` of `tasks_total` are done.
    Running { tasks_done: usize, tasks_total: usize },
    /// The action returned its result.
    Finished,
    /// The action failed; the message of its error (the typed error is what
    /// [`JobFuture::result`] returns).
    Failed(String),
    /// A job of the action was cancelled ([`JobFuture::cancel`], a job group,
    /// the web UI's kill link).
    Cancelled,
}

impl JobStatus {
    /// Finished, failed or cancelled: the status will not change again.
    pub fn is_done(&self) -> bool {
        matches!(self, JobStatus::Finished | JobStatus::Failed(_) | JobStatus::Cancelled)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobStatus::Pending => f.write_str("pending"),
            JobStatus::Running { tasks_done, tasks_total } => write!(f, "running {tasks_done} of {tasks_total} tasks"),
            JobStatus::Finished => f.write_str("finished"),
            JobStatus::Failed(why) => write!(f, "failed: {why}"),
            JobStatus::Cancelled => f.write_str("cancelled"),
        }
    }
}

/// One job's progress, as the scheduler computed it from its state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobCounts {
    pub job: JobId,
    /// Partitions computed, of the stages counted in `tasks_total`.
    pub tasks_done: usize,
    /// Tasks of the stages the job runs (skipped stages left out).
    pub tasks_total: usize,
    /// Whether a task of the job has been launched.
    pub started: bool,
}

/// One call of an action: its identity, and what the scheduler and the
/// action's thread reported about it (see the [module's](self) doc).
#[derive(Debug)]
pub struct ActionProgress {
    id: ActionId,
    /// The job group of the thread that called the action.
    job_group: Option<String>,
    state: Mutex<ProgressState>,
}

#[derive(Debug, Default)]
struct ProgressState {
    /// The latest counts of each job of the action, in submission order.
    jobs: Vec<JobCounts>,
    /// `cancel()` was called: jobs submitted from now on fail at once.
    cancel_requested: bool,
    /// Set once, when the action's work returned (or could not start).
    outcome: Option<JobStatus>,
}

impl ActionProgress {
    /// A new action `id`, called on a thread whose job group is `job_group`.
    pub fn new(id: ActionId, job_group: Option<String>) -> Arc<Self> {
        Arc::new(ActionProgress { id, job_group, state: Mutex::default() })
    }

    pub fn id(&self) -> ActionId {
        self.id
    }

    /// The job group of the thread that called the action.
    pub fn job_group(&self) -> Option<&str> {
        self.job_group.as_deref()
    }

    fn lock(&self) -> MutexGuard<'_, ProgressState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The scheduler's report: `counts.job`, a job of this action, is this
    /// far (the first report of a job says it was submitted).
    pub fn report_job(&self, counts: JobCounts) {
        let mut s = self.lock();
        match s.jobs.iter_mut().find(|j| j.job == counts.job) {
            Some(j) => *j = counts,
            None => s.jobs.push(counts),
        }
    }

    /// The jobs the scheduler has reported, in submission order.
    pub fn job_ids(&self) -> Vec<JobId> {
        self.lock().jobs.iter().map(|j| j.job).collect()
    }

    /// The latest counts of every job of the action.
    pub fn job_counts(&self) -> Vec<JobCounts> {
        self.lock().jobs.clone()
    }

    /// Whether `cancel()` was called: the scheduler fails a job of this
    /// action submitted after it as soon as it sees it.
    pub fn cancel_requested(&self) -> bool {
        self.lock().cancel_requested
    }

    /// Marks the action cancelled (what [`JobHandle::cancel`] does before
    /// it asks the runner to cancel the running jobs); false if it is
    /// already done.
    pub fn request_cancel(&self) -> bool {
        let mut s = self.lock();
        s.cancel_requested = true;
        s.outcome.is_none()
    }

    fn finish(&self, outcome: JobStatus) {
        let mut s = self.lock();
        if s.outcome.is_none() {
            s.outcome = Some(outcome);
        }
    }

    pub fn status(&self) -> JobStatus {
        status_of(&self.lock())
    }

    /// The job ids and the status, read together.
    fn snapshot(&self) -> (Vec<JobId>, JobStatus) {
        let s = self.lock();
        (s.jobs.iter().map(|j| j.job).collect(), status_of(&s))
    }
}

fn status_of(s: &ProgressState) -> JobStatus {
    if let Some(outcome) = &s.outcome {
        return outcome.clone();
    }
    if !s.jobs.iter().any(|j| j.started) {
        return JobStatus::Pending;
    }
    JobStatus::Running {
        tasks_done: s.jobs.iter().map(|j| j.tasks_done).sum(),
        tasks_total: s.jobs.iter().map(|j| j.tasks_total).sum(),
    }
}

/// What the action's thread hands over: its result, or the panic of its
/// driver-side work (re-raised where the future is awaited, as if it had
/// run there).
type Delivery<T> = std::thread::Result<Result<T>>;

fn outcome_of<T>(delivery: &Delivery<T>) -> JobStatus {
    match delivery {
        Ok(Ok(_)) => JobStatus::Finished,
        Ok(Err(EmberError::Cancelled { .. })) => JobStatus::Cancelled,
        Ok(Err(e)) => JobStatus::Failed(e.to_string()),
        Err(panic) => JobStatus::Failed(format!("the action panicked in the driver: {}", panic_message(&**panic))),
    }
}

/// A cloneable handle on a running action: its status, its jobs, and a way
/// to cancel it, without its result (which only its [`JobFuture`] yields).
#[derive(Clone)]
pub struct JobHandle {
    progress: Arc<ActionProgress>,
    runner: Arc<dyn JobRunner>,
}

impl JobHandle {
    /// Where the action is now; never blocks.
    pub fn status(&self) -> JobStatus {
        self.progress.status()
    }

    /// Finished, failed or cancelled.
    pub fn is_done(&self) -> bool {
        self.status().is_done()
    }

    /// The ids of the action's jobs submitted so far (as the web UI and the
    /// listener's `JobStart` show them); empty before the scheduler took the
    /// first one, and for an action that needs no job (an RDD with no
    /// partitions).
    pub fn job_ids(&self) -> Vec<JobId> {
        self.progress.job_ids()
    }

    /// The action's first job, once the scheduler took it.
    pub fn job_id(&self) -> Option<JobId> {
        self.job_ids().first().copied()
    }

    /// The job ids and the status, read together (for a display).
    pub(crate) fn snapshot(&self) -> (Vec<JobId>, JobStatus) {
        self.progress.snapshot()
    }

    /// Cancels the action through the scheduler's cancellation (as
    /// `Context::cancel_job` does): its running jobs fail with
    /// [`EmberError::Cancelled`] and their tasks are killed, a job it would
    /// submit later fails at once. Nothing happens once it is done; a job
    /// that finished before the cancel reached the scheduler keeps its result.
    pub fn cancel(&self) {
        if self.progress.request_cancel() {
            self.runner.cancel_action(self.progress.id());
        }
    }
}

impl fmt::Display for JobHandle {
    /// `<JobFuture: pending>`, `<JobFuture job 3: running 5 of 8 tasks>`,
    /// `<JobFuture jobs 3, 4: finished>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (jobs, status) = self.progress.snapshot();
        write!(f, "<JobFuture{}: {status}>", jobs_words(&jobs))
    }
}

/// ` job 3`, ` jobs 3, 4`, or nothing before the first job is submitted.
pub(crate) fn jobs_words(jobs: &[JobId]) -> String {
    let ids: Vec<String> = jobs.iter().map(|j| j.0.to_string()).collect();
    match ids.len() {
        0 => String::new(),
        1 => format!(" job {}", ids[0]),
        _ => format!(" jobs {}", ids.join(", ")),
    }
}

impl fmt::Debug for JobHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The result of an async action, to come: a [`Future`] for async code, and
/// for a notebook or a plain thread [`status`](Self::status),
/// [`is_done`](Self::is_done), [`cancel`](Self::cancel) and a blocking
/// [`result`](Self::result). See the [module's](self) doc.
#[must_use = "the action runs anyway; keep its future to see its status, cancel it or take its result"]
pub struct JobFuture<T> {
    handle: JobHandle,
    result: oneshot::Receiver<Delivery<T>>,
    /// The action's work, when a blocking action runs it on the caller's
    /// thread ([`run_blocking`]): polled by this future's own poll.
    inline: std::sync::Mutex<Option<BoxFuture<'static, ()>>>,
}

thread_local! {
    /// Set while [`run_blocking`] starts its action.
    static RUN_INLINE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs the action that `$start` starts to its end on this thread and
/// returns its result: what every blocking action (`count`, `collect`...)
/// is. The action's work runs here rather than on a thread of the runner's
/// (where an async action's runs), which spares a thread hand-off and a
/// wake-up per action; its jobs are submitted, tracked and cancelled alike.
/// A macro, not a function taking a closure: `$start` stays in the
/// `#[track_caller]` action, whose caller names the job.
macro_rules! run_blocking {
    ($start:expr) => {{
        let future = {
            let _inline = $crate::job_future::InlineScope::enter();
            $start
        };
        futures::executor::block_on(future)
    }};
}
pub(crate) use run_blocking;

/// While alive, actions started on this thread keep their work for their
/// future to run ([`run_blocking`]); restores the flag also on a panic.
pub(crate) struct InlineScope(bool);

impl InlineScope {
    pub(crate) fn enter() -> InlineScope {
        InlineScope(RUN_INLINE.replace(true))
    }
}

impl Drop for InlineScope {
    fn drop(&mut self) {
        RUN_INLINE.set(self.0);
    }
}

impl<T: Send + 'static> JobFuture<T> {
    /// Runs `work`, the action whose jobs are submitted with `progress`, on
    /// a thread of `runner`'s to its end.
    pub(crate) fn start(
        runner: Arc<dyn JobRunner>,
        progress: Arc<ActionProgress>,
        work: BoxFuture<'static, Result<T>>,
    ) -> Self {
        let (tx, result) = oneshot::channel();
        let recorder = progress.clone();
        let task = async move {
            let delivery = std::panic::AssertUnwindSafe(work).catch_unwind().await;
            // The status is final before the result can be taken: whoever
            // got the result sees a status that is done.
            recorder.finish(outcome_of(&delivery));
            let _ = tx.send(delivery);
        };
        let mut inline = None;
        if RUN_INLINE.get() {
            inline = Some(Box::pin(task) as BoxFuture<'static, ()>);
        } else if let Err(e) = runner.spawn_action(Box::pin(task)) {
            // The task (and its sender) is gone: awaiting says why.
            progress.finish(JobStatus::Failed(e.to_string()));
        }
        JobFuture { handle: JobHandle { progress, runner }, result, inline: std::sync::Mutex::new(inline) }
    }
}

impl<T> JobFuture<T> {
    /// Where the action is now; never blocks.
    pub fn status(&self) -> JobStatus {
        self.handle.status()
    }

    /// Finished, failed or cancelled.
    pub fn is_done(&self) -> bool {
        self.handle.is_done()
    }

    /// See [`JobHandle::job_ids`].
    pub fn job_ids(&self) -> Vec<JobId> {
        self.handle.job_ids()
    }

    /// See [`JobHandle::job_id`].
    pub fn job_id(&self) -> Option<JobId> {
        self.handle.job_id()
    }

    /// See [`JobHandle::cancel`].
    pub fn cancel(&self) {
        self.handle.cancel()
    }

    /// A handle that outlives the future: status and cancel after the
    /// result was taken, or from another thread.
    pub fn handle(&self) -> JobHandle {
        self.handle.clone()
    }

    /// Blocks until the action is done and returns its result. It consumes
    /// the future: a result is handed over once, not cloned (a `collect`'s
    /// records move to the caller, and `EmberError` is not `Clone`); keep a
    /// [`handle`](Self::handle) to ask the status afterwards. Do not call it
    /// from async code: `.await` the future there.
    pub fn result(self) -> Result<T> {
        futures::executor::block_on(self)
    }
}

impl<T> Future for JobFuture<T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let inline = self.inline.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(work) = inline {
            if work.poll_unpin(cx).is_pending() {
                return Poll::Pending;
            }
            *inline = None;
        }
        match self.result.poll_unpin(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(Ok(result))) => Poll::Ready(result),
            Poll::Ready(Ok(Err(panic))) => std::panic::resume_unwind(panic),
            Poll::Ready(Err(oneshot::Canceled)) => Poll::Ready(Err(EmberError::Stopped(match self.status() {
                JobStatus::Failed(why) => why,
                _ => "the action's thread ended without a result".into(),
            }))),
        }
    }
}

/// A future dropped before its inline work ran hands that work to the
/// runner, so the action still runs to its end as every action does.
impl<T> Drop for JobFuture<T> {
    fn drop(&mut self) {
        let inline = self.inline.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(work) = inline.take()
            && let Err(e) = self.handle.runner.spawn_action(work)
        {
            self.handle.progress.finish(JobStatus::Failed(e.to_string()));
        }
    }
}

impl<T> fmt::Display for JobFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.handle, f)
    }
}

impl<T> fmt::Debug for JobFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.handle, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(job: u64, tasks_done: usize, tasks_total: usize, started: bool) -> JobCounts {
        JobCounts { job: JobId(job), tasks_done, tasks_total, started }
    }

    #[test]
    fn an_action_is_pending_until_a_task_starts_then_sums_its_jobs() {
        let p = ActionProgress::new(ActionId(0), None);
        assert_eq!(p.status(), JobStatus::Pending);
        p.report_job(counts(3, 0, 4, false));
        assert_eq!(p.status(), JobStatus::Pending, "submitted, nothing launched");
        p.report_job(counts(3, 1, 4, true));
        assert_eq!(p.status(), JobStatus::Running { tasks_done: 1, tasks_total: 4 });
        p.report_job(counts(3, 4, 4, true));
        p.report_job(counts(5, 0, 2, false));
        assert_eq!(p.status(), JobStatus::Running { tasks_done: 4, tasks_total: 6 }, "a second job adds its tasks");
        assert_eq!(p.job_ids(), [JobId(3), JobId(5)]);
        p.finish(JobStatus::Finished);
        p.finish(JobStatus::Cancelled);
        assert_eq!(p.status(), JobStatus::Finished, "the first outcome stays");
        assert!(!p.request_cancel(), "nothing to cancel once done");
    }

    #[test]
    fn outcomes_follow_the_error_type() {
        assert_eq!(outcome_of::<u8>(&Ok(Ok(1))), JobStatus::Finished);
        let cancelled = EmberError::Cancelled { job: JobId(1), reason: "by the test".into() };
        assert_eq!(outcome_of::<u8>(&Ok(Err(cancelled))), JobStatus::Cancelled);
        let failed = outcome_of::<u8>(&Ok(Err(EmberError::Executor("gone".into()))));
        assert_eq!(failed, JobStatus::Failed("executor error: gone".into()));
        let panicked = outcome_of::<u8>(&Err(Box::new("boom")));
        assert_eq!(panicked, JobStatus::Failed("the action panicked in the driver: boom".into()));
    }

    #[test]
    fn statuses_read_like_dask_futures() {
        assert_eq!(JobStatus::Running { tasks_done: 5, tasks_total: 8 }.to_string(), "running 5 of 8 tasks");
        assert_eq!(JobStatus::Failed("job 2 was cancelled".into()).to_string(), "failed: job 2 was cancelled");
        assert!(JobStatus::Cancelled.is_done() && !JobStatus::Pending.is_done());
    }
}
