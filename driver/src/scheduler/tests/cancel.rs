//! Cancelling jobs on the process-free harness: a cancelled job fails with
//! `Cancelled` and its launched tasks are killed on their executors, other
//! jobs go on untouched, the killed tasks' late ends change nothing, and the
//! scheduler runs the next job as before.

use super::super::{JobSelector, SchedulerEvent};
use super::{Harness, LinkCall, reply};
use crate::executors::TaskLaunch;
use ember_rdd::error::{EmberError, TaskError};
use ember_rdd::ids::{JobId, TaskId};

const EXECUTORS: [&str; 2] = ["a", "b"];

fn launched(h: &Harness) -> Vec<(&'static str, TaskLaunch)> {
    EXECUTORS.iter().flat_map(|&e| h.launched(e).into_iter().map(move |t| (e, t))).collect()
}

fn killed(h: &Harness) -> Vec<TaskId> {
    let mut killed: Vec<TaskId> = EXECUTORS
        .iter()
        .flat_map(|e| h.calls(e))
        .filter_map(|c| match c {
            LinkCall::Kill(tasks) => Some(tasks),
            _ => None,
        })
        .flatten()
        .collect();
    killed.sort_unstable();
    killed
}

#[test]
fn cancelling_a_group_fails_its_jobs_kills_their_tasks_and_spares_the_others() {
    // Two slots per executor: both jobs get tasks launched at once.
    let mut h = Harness::new(&EXECUTORS, &[("ember.executor.prefetchTasks", "1")]);
    let mut grouped = h.submit_in_group(&h.numbers(100, 2), Some("explore"));
    let grouped_tasks = launched(&h);
    let mut other = h.submit(&h.numbers(10, 2));
    let other_tasks = launched(&h);
    assert!(!grouped_tasks.is_empty() && !other_tasks.is_empty());

    h.post(SchedulerEvent::CancelJobs { which: JobSelector::Group("explore".into()), reason: "enough".into() });
    match reply(&mut grouped) {
        Err(EmberError::Cancelled { reason, .. }) => assert_eq!(reason, "enough"),
        other => panic!("expected a cancelled job, got {other:?}"),
    }
    let mut expected: Vec<TaskId> = grouped_tasks.iter().map(|(_, t)| t.task).collect();
    expected.sort_unstable();
    assert_eq!(killed(&h), expected, "exactly the cancelled job's tasks are killed");

    // The killed tasks end late, as killed; the other job is untouched.
    for (e, t) in &grouped_tasks {
        h.end(e, t, Err(TaskError::Killed { reason: "enough".into() }));
    }
    assert!(other.try_recv().is_err(), "the other job is still running");
    for (e, t) in &other_tasks {
        h.succeed(e, t, 1);
    }
    assert!(reply(&mut other).is_ok());
    assert!(launched(&h).is_empty(), "nothing of the cancelled job is relaunched");

    // The scheduler goes on: the next job runs to the end.
    let mut next = h.submit(&h.numbers(10, 2));
    for (e, t) in launched(&h) {
        h.succeed(e, &t, 1);
    }
    assert!(reply(&mut next).is_ok());
}

#[test]
fn cancel_one_job_or_all_and_a_finished_job_is_not_touched() {
    let mut h = Harness::new(&EXECUTORS, &[]);
    let mut first = h.submit(&h.numbers(10, 2));
    let mut second = h.submit(&h.numbers(10, 2));
    launched(&h);
    // Job ids count from 0 in submission order.
    h.post(SchedulerEvent::CancelJobs { which: JobSelector::One(JobId(1)), reason: "by id".into() });
    assert!(matches!(reply(&mut second), Err(EmberError::Cancelled { job: JobId(1), .. })));
    assert!(first.try_recv().is_err(), "job 0 is not cancelled");
    h.post(SchedulerEvent::CancelJobs { which: JobSelector::All, reason: "all".into() });
    assert!(matches!(reply(&mut first), Err(EmberError::Cancelled { job: JobId(0), .. })));
    // Nothing left to cancel: harmless.
    h.post(SchedulerEvent::CancelJobs { which: JobSelector::All, reason: "again".into() });
}
