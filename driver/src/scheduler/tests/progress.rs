//! What the scheduler tells an action's `JobFuture`, on the process-free
//! harness: pending while no task of the job could launch, then the tasks
//! done of every stage it runs, fewer when map outputs are lost, skipped
//! stages left out, and a cancelled action's jobs (even one submitted after
//! the cancel) failing as cancelled.

use super::super::stage::StageKind;
use super::super::{JobSelector, SchedulerEvent};
use super::{Harness, reply};
use crate::executors::TaskLaunch;
use ember_rdd::error::EmberError;
use ember_rdd::job_future::{ActionProgress, JobCounts, JobStatus};
use ember_rdd::rdd::Rdd;

const EXECUTORS: [&str; 2] = ["a", "b"];

/// Sums by key into 2 partitions: 4 map tasks, then 2 result tasks.
fn two_stage(h: &Harness) -> Rdd<(u64, u64)> {
    h.numbers(40, 4).map(|x| (x % 4, x)).reduce_by_key_into(|a, b| a + b, 2)
}

fn launched(h: &Harness) -> Vec<(&'static str, TaskLaunch)> {
    EXECUTORS.iter().flat_map(|&e| h.launched(e).into_iter().map(move |t| (e, t))).collect()
}

fn counts(action: &ActionProgress) -> JobCounts {
    let all = action.job_counts();
    assert_eq!(all.len(), 1, "one job: {all:?}");
    all[0]
}

fn done_and_total(action: &ActionProgress) -> (usize, usize) {
    let c = counts(action);
    (c.tasks_done, c.tasks_total)
}

#[test]
fn a_job_is_pending_until_a_task_launches_then_counts_every_stage() {
    let mut h = Harness::new(&EXECUTORS, &[]);
    // Another job holds both executors' only slots.
    let mut blocker = h.submit(&h.numbers(10, 2));
    let blocker_tasks = launched(&h);
    assert_eq!(blocker_tasks.len(), 2);
    let rdd = two_stage(&h);
    let (mut job, action) = h.submit_action(&rdd, None);
    assert!(!counts(&action).started);
    assert_eq!(action.status(), JobStatus::Pending, "submitted, nothing launched");
    assert_eq!(done_and_total(&action), (0, 6), "4 map tasks and 2 result tasks");

    let (e, t) = &blocker_tasks[0];
    h.succeed(e, t, 1);
    assert_eq!(action.status(), JobStatus::Running { tasks_done: 0, tasks_total: 6 }, "a map task launched");
    let (e, t) = &blocker_tasks[1];
    h.succeed(e, t, 1);
    assert!(reply(&mut blocker).is_ok());

    let mut done = 0;
    loop {
        let batch = launched(&h);
        if batch.is_empty() {
            break;
        }
        for (e, t) in batch {
            let is_map = matches!(h.stage_kind(t.stage), StageKind::ShuffleMap { .. });
            h.succeed(e, &t, if is_map { 2 } else { 1 });
            done += 1;
            if done < 6 {
                assert_eq!(action.status(), JobStatus::Running { tasks_done: done, tasks_total: 6 });
            }
        }
    }
    assert_eq!(done, 6);
    assert!(reply(&mut job).is_ok());
    // The scheduler's part ends with every task done; `Finished` is the
    // action thread's to say, once its result is merged.
    assert_eq!(action.status(), JobStatus::Running { tasks_done: 6, tasks_total: 6 });

    // The same shuffle again: its map stage is skipped, not counted.
    let (mut again, second) = h.submit_action(&rdd, None);
    assert_eq!(done_and_total(&second), (0, 2), "only the result stage runs");
    for (e, t) in launched(&h) {
        h.succeed(e, &t, 1);
    }
    assert!(reply(&mut again).is_ok());
    assert_eq!(done_and_total(&second), (2, 2));
}

#[test]
fn lost_map_outputs_are_not_done_any_more() {
    let mut h = Harness::new(&EXECUTORS, &[]);
    let (_job, action) = h.submit_action(&two_stage(&h), None);
    let mut maps_on_a = 0;
    while done_and_total(&action).0 < 4 {
        for (e, t) in launched(&h) {
            assert!(matches!(h.stage_kind(t.stage), StageKind::ShuffleMap { .. }), "maps first");
            maps_on_a += usize::from(e == "a");
            h.succeed(e, &t, 2);
        }
    }
    assert!(maps_on_a > 0 && maps_on_a < 4, "both executors ran maps: {maps_on_a} on a");
    h.lose_executor("a");
    assert_eq!(done_and_total(&action), (4 - maps_on_a, 6), "a's map outputs must be computed again");
}

#[test]
fn cancelling_an_action_fails_its_jobs_even_one_submitted_after_the_cancel() {
    let mut h = Harness::new(&EXECUTORS, &[]);
    let (mut job, action) = h.submit_action(&h.numbers(10, 2), None);
    let (mut other, _) = h.submit_action(&h.numbers(10, 2), None);
    assert!(!launched(&h).is_empty());
    h.post(SchedulerEvent::CancelJobs { which: JobSelector::Action(action.id()), reason: "by its future".into() });
    assert!(matches!(reply(&mut job), Err(EmberError::Cancelled { .. })), "the action's job is cancelled");
    assert!(other.try_recv().is_err(), "another action's job runs on");

    // A cancelled action's next job (as `take` submits) fails as it arrives.
    let (mut late, late_action) = h.submit_action(&h.numbers(10, 2), None);
    assert!(late.try_recv().is_err());
    assert!(late_action.request_cancel());
    let (mut after, _) = h.submit_with_action(&h.numbers(10, 2), &late_action);
    match reply(&mut after) {
        Err(EmberError::Cancelled { reason, .. }) => assert!(reason.contains("JobFuture"), "{reason}"),
        other => panic!("expected a cancelled job, got {other:?}"),
    }
}
