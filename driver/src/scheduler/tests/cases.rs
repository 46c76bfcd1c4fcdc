//! One test per scheduler transition and failure case, each on the
//! process-free [`Harness`]: no executor runs, nothing sleeps.

use super::super::SchedulerEvent;
use super::super::stage::StageKind;
use super::{Harness, LinkCall, fetch_failed, id, reply};
use crate::executors::TaskLaunch;
use ember_rdd::error::{EmberError, TaskError};
use ember_rdd::ids::{AccumulatorId, ShuffleId};
use ember_rdd::rdd::Rdd;
use ember_rdd::task::{AccumulatorValue, TaskOutput, TaskSuccess};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const EXECUTORS: [&str; 2] = ["a", "b"];

/// Sums by key into 2 partitions: a map stage of `maps` tasks, then a
/// result stage of 2.
fn two_stage(h: &Harness, maps: usize) -> Rdd<(u64, u64)> {
    h.numbers(40, maps).map(|x| (x % 4, x)).reduce_by_key_into(|a, b| a + b, 2)
}

/// The tasks launched so far, with their executor.
fn launched(h: &Harness) -> Vec<(&'static str, TaskLaunch)> {
    EXECUTORS
        .iter()
        .filter(|e| h.links.contains_key(**e))
        .flat_map(|&e| h.launched(e).into_iter().map(move |t| (e, t)))
        .collect()
}

/// Runs every launched task to success, and those they let start, until
/// nothing more is launched; returns what ran.
fn run_all(h: &mut Harness) -> Vec<(&'static str, TaskLaunch)> {
    let mut ran = Vec::new();
    loop {
        let batch = launched(h);
        if batch.is_empty() {
            return ran;
        }
        for (e, t) in batch {
            h.succeed(e, &t, 2);
            ran.push((e, t));
        }
    }
}

fn is_map(h: &Harness, t: &TaskLaunch) -> bool {
    matches!(h.stage_kind(t.stage), StageKind::ShuffleMap { .. })
}

/// Runs the map stage(s) to the end; returns the result tasks launched then.
fn run_maps(h: &mut Harness) -> Vec<(&'static str, TaskLaunch)> {
    let mut results = Vec::new();
    loop {
        let batch = launched(h);
        if batch.is_empty() {
            return results;
        }
        for (e, t) in batch {
            if is_map(h, &t) { h.succeed(e, &t, 2) } else { results.push((e, t)) }
        }
    }
}

#[test]
fn a_job_runs_its_map_stage_then_its_result_stage() {
    let mut h = Harness::new(&EXECUTORS, &[]);
    let rdd = two_stage(&h, 4);
    let mut job = h.submit(&rdd);
    let map_stage = h.sched.shuffle_to_map_stage[&ShuffleId(0)];
    let ran = run_all(&mut h);
    assert_eq!(ran.len(), 6, "4 map tasks, 2 result tasks: {ran:?}");
    let stages: Vec<bool> = ran.iter().map(|(_, t)| t.stage == map_stage).collect();
    assert_eq!(stages, [true, true, true, true, false, false], "maps first: {ran:?}");
    let outputs = reply(&mut job).expect("the job succeeds");
    let bytes: Vec<Vec<u8>> = outputs
        .into_iter()
        .map(|o| match o {
            TaskOutput::Bytes(b) => b,
            other => panic!("unexpected output {other:?}"),
        })
        .collect();
    assert_eq!(bytes, vec![vec![0], vec![1]], "results in partition order");
}

#[test]
fn a_result_of_an_abandoned_stage_attempt_arriving_late_is_ignored() {
    let mut h = Harness::new(&EXECUTORS, &[]);
    let rdd = two_stage(&h, 4);
    let mut job = h.submit(&rdd);
    let results = run_maps(&mut h);
    assert_eq!(results.len(), 2);
    let (e0, r0) = results[0].clone();
    let (e1, r1) = results[1].clone();
    // The first result task cannot fetch map 0 from "a": attempt 1 is abandoned.
    h.end(e0, &r0, Err(fetch_failed("a", ShuffleId(0), 0)));
    // The other task of attempt 1 succeeds after that: too late, ignored.
    h.succeed(e1, &r1, 2);
    assert!(job.try_recv().is_err(), "the job must not finish on a stale result");
    // Maps lost on "a" run again, then attempt 2 computes both partitions.
    let again = run_maps(&mut h);
    let mut partitions: Vec<(usize, u32)> = again.iter().map(|(_, t)| (t.partition, t.stage_attempt)).collect();
    partitions.sort_unstable();
    assert_eq!(partitions, vec![(0, 2), (1, 2)], "attempt 2 recomputes both result partitions");
    for (e, t) in again {
        h.succeed(e, &t, 2);
    }
    assert!(reply(&mut job).is_ok());
}

#[test]
fn consecutive_fetch_failures_abort_the_job_after_max_attempts() {
    let mut h = Harness::new(&EXECUTORS, &[("ember.stage.maxConsecutiveAttempts", "2")]);
    let rdd = two_stage(&h, 2);
    let mut job = h.submit(&rdd);
    for attempt in 1..=2 {
        let results = run_maps(&mut h);
        let (e, t) = results[0].clone();
        assert_eq!(t.stage_attempt, attempt);
        h.end(e, &t, Err(fetch_failed("a", ShuffleId(0), 0)));
    }
    match reply(&mut job) {
        Err(EmberError::StageAborted { attempts: 2, cause: TaskError::FetchFailed { .. }, .. }) => {}
        other => panic!("expected StageAborted after 2 attempts, got {other:?}"),
    }
}

#[test]
fn a_fetch_failure_after_a_resubmit_resubmits_the_map_stage_again() {
    let mut h = Harness::new(&EXECUTORS, &[]);
    let rdd = two_stage(&h, 2);
    let mut job = h.submit(&rdd);
    let map_stage = h.sched.shuffle_to_map_stage[&ShuffleId(0)];
    for _ in 0..2 {
        let results = run_maps(&mut h);
        // Whoever holds map 1 now (it moves when it is recomputed).
        let holder = h.sched.map_outputs.locations(ShuffleId(0)).expect("all maps are done")[1].executor_id.clone();
        let (e, t) = results[0].clone();
        h.end(e, &t, Err(fetch_failed(&holder.0, ShuffleId(0), 1)));
    }
    run_all(&mut h);
    assert!(reply(&mut job).is_ok());
    let map_attempts: Vec<u32> = EXECUTORS
        .iter()
        .flat_map(|e| h.calls(e))
        .filter_map(|c| match c {
            LinkCall::Register { stage, attempt } if stage == map_stage => Some(attempt),
            _ => None,
        })
        .collect();
    assert_eq!(map_attempts.iter().max(), Some(&3), "the map stage ran 3 attempts: {map_attempts:?}");
}

#[test]
fn an_executor_lost_with_running_tasks_has_them_rerun_elsewhere_without_a_failure() {
    let mut h = Harness::new(&EXECUTORS, &[]);
    let rdd = two_stage(&h, 4);
    let mut job = h.submit(&rdd);
    let first = launched(&h);
    assert_eq!(first.len(), 2, "one task per free core");
    let (_, on_b) = first.iter().find(|(e, _)| *e == "b").cloned().expect("a task on b");
    let (_, on_a) = first.iter().find(|(e, _)| *e == "a").cloned().expect("a task on a");
    h.lose_executor("b");
    // b's running task goes back to pending; it runs on a once a has a free core.
    h.succeed("a", &on_a, 2);
    let next = h.launched("a");
    assert_eq!(next.first().map(|t| (t.partition, t.attempt)), Some((on_b.partition, 0)), "rerun first, not a failure");
    // A late end from the lost executor changes nothing.
    h.succeed("b", &on_b, 2);
    for t in next {
        h.succeed("a", &t, 2);
    }
    let ran = run_all(&mut h);
    assert!(ran.iter().all(|(e, _)| *e == "a"), "only a is left: {ran:?}");
    assert!(reply(&mut job).is_ok());
}

#[test]
fn a_fetch_failure_forgets_the_outputs_of_its_shuffle_only() {
    // Two shuffles, both written on "a"; a result stage reads both.
    let mut h = Harness::new(&["a"], &[]);
    let left = two_stage(&h, 2);
    let right = two_stage(&h, 2);
    let both = left.union(&right);
    let mut job = h.submit(&both);
    let results = run_maps(&mut h);
    assert!(h.sched.map_outputs.is_available(ShuffleId(0)) && h.sched.map_outputs.is_available(ShuffleId(1)));
    let (e, t) = results[0].clone();
    h.end(e, &t, Err(fetch_failed("a", ShuffleId(0), 0)));
    assert!(!h.sched.map_outputs.is_available(ShuffleId(0)), "shuffle 0's outputs on a are forgotten");
    assert!(h.sched.map_outputs.is_available(ShuffleId(1)), "shuffle 1's outputs on a are kept");
    run_all(&mut h);
    assert!(reply(&mut job).is_ok(), "the job finishes with shuffle 1's outputs as they were");
}

#[test]
fn only_the_lost_shuffles_map_tasks_run_again() {
    let mut h = Harness::new(&["a"], &[]);
    let left = two_stage(&h, 2);
    let right = two_stage(&h, 3);
    let mut job = h.submit(&left.union(&right));
    let results = run_maps(&mut h);
    let (e, t) = results[0].clone();
    h.end(e, &t, Err(fetch_failed("a", ShuffleId(1), 2)));
    let mut maps_rerun = Vec::new();
    loop {
        let batch = launched(&h);
        if batch.is_empty() {
            break;
        }
        for (e, t) in batch {
            if is_map(&h, &t) {
                maps_rerun.push(h.stage_kind(t.stage));
            }
            h.succeed(e, &t, 2);
        }
    }
    assert_eq!(maps_rerun, vec![StageKind::ShuffleMap { shuffle: ShuffleId(1) }; 3], "shuffle 1's maps only");
    assert!(reply(&mut job).is_ok());
}

#[test]
fn a_failed_task_is_retried_on_another_executor_until_max_failures() {
    let mut h = Harness::new(&EXECUTORS, &[("ember.task.maxFailures", "2")]);
    let rdd = h.numbers(10, 1);
    let mut job = h.submit(&rdd);
    let (e, t) = launched(&h).pop().expect("one task");
    h.end(e, &t, Err(TaskError::input("disk hiccup")));
    let (e2, t2) = launched(&h).pop().expect("a retry");
    assert_ne!(e2, e, "the retry avoids the executor it failed on");
    assert_eq!(t2.attempt, 1);
    h.end(e2, &t2, Err(TaskError::input("disk hiccup")));
    match reply(&mut job) {
        Err(EmberError::JobAborted { attempts: 2, partition: 0, .. }) => {}
        other => panic!("expected JobAborted after 2 attempts, got {other:?}"),
    }
}

#[test]
fn a_deterministic_failure_fails_the_job_at_once() {
    let mut h = Harness::new(&EXECUTORS, &[]);
    let rdd = h.numbers(10, 2);
    let mut job = h.submit(&rdd);
    let (e, t) = launched(&h).pop().expect("a task");
    h.end(e, &t, Err(TaskError::deterministic("in.txt:3: not valid UTF-8")));
    match reply(&mut job) {
        Err(EmberError::DeterministicFailure { cause, .. }) => assert!(cause.to_string().contains("in.txt:3")),
        other => panic!("expected a deterministic failure, got {other:?}"),
    }
    assert!(launched(&h).is_empty(), "nothing is retried");
}

#[test]
fn a_silent_executor_is_lost_after_the_network_timeout() {
    let mut h = Harness::new(&EXECUTORS, &[("ember.network.timeout", "10s")]);
    h.clock.advance(Duration::from_secs(6));
    h.post(SchedulerEvent::Heartbeat { executor: id("a"), memory: Default::default() });
    h.clock.advance(Duration::from_secs(5));
    h.post(SchedulerEvent::Tick);
    assert!(h.sched.executors.contains_key(&id("a")), "a sent a heartbeat 5 s ago");
    assert!(!h.sched.executors.contains_key(&id("b")), "b was silent for 11 s");
    assert!(h.calls("b").iter().any(|c| matches!(c, LinkCall::Shutdown)), "b is told to stop");
}

#[test]
fn one_timer_is_armed_for_the_earliest_deadline() {
    use super::super::clock::Clock;
    let mut h = Harness::new(&EXECUTORS, &[("ember.network.timeout", "10s")]);
    let start = h.clock.now();
    assert_eq!(h.sched.deadline_timer, Some(start + Duration::from_secs(10)), "both executors joined at start");
    h.clock.advance(Duration::from_secs(4));
    h.post(SchedulerEvent::Heartbeat { executor: id("a"), memory: Default::default() });
    assert_eq!(h.sched.deadline_timer, Some(start + Duration::from_secs(10)), "b's deadline is still the first");
    h.clock.advance(Duration::from_secs(7));
    h.post(SchedulerEvent::Tick);
    assert!(!h.sched.executors.contains_key(&id("b")), "b expired at 10 s");
    assert_eq!(h.sched.deadline_timer, Some(start + Duration::from_secs(14)), "re-armed for a's deadline");
}

#[test]
fn accumulator_updates_merge_once_per_partition_as_events_of_the_loop() {
    let mut h = Harness::new(&["a"], &[]);
    let total = Arc::new(AtomicU64::new(0));
    let seen = total.clone();
    let merge = Box::new(move |v: AccumulatorValue| {
        if let AccumulatorValue::Bytes(b) = v {
            seen.fetch_add(b.len() as u64, Ordering::SeqCst);
        }
        Ok(())
    });
    h.post(SchedulerEvent::AccumulatorRegistered { id: AccumulatorId(3), merge });
    let rdd = h.numbers(10, 1);
    let mut job = h.submit(&rdd);
    let (e, t) = launched(&h).pop().expect("a task");
    let update = vec![(AccumulatorId(3), AccumulatorValue::Bytes(vec![0; 5]))];
    h.end(e, &t, Ok(TaskSuccess { output: TaskOutput::Bytes(vec![]), accumulators: update }));
    assert!(reply(&mut job).is_ok());
    assert_eq!(total.load(Ordering::SeqCst), 5);
}

#[test]
fn an_internal_error_fails_every_waiting_job_with_its_cause() {
    let h = Harness::new(&[], &[]);
    let rdd = h.numbers(10, 2);
    drop(rdd.count_async());
    let (root, partitions, action) = h.runner.submitted.lock().unwrap().pop().expect("a job");
    let link = Arc::new(super::RecordingLink::default());
    link.panic_on_launch.store(true, Ordering::SeqCst);
    let (events, rx) = super::super::EventSender::channel();
    let (reply_tx, mut job) = tokio::sync::oneshot::channel();
    events.post(SchedulerEvent::ExecutorAdded {
        executor: id("a"),
        link: link.clone(),
        cores: 1,
        address: String::new(),
        max_memory: 0,
    });
    events.post(SchedulerEvent::JobSubmitted { root, partitions, group: None, action, reply: reply_tx });
    let cause = h.sched.stop_cause();
    let Harness { sched, _runtime: runtime, .. } = h;
    runtime.block_on(sched.run(rx));
    match job.try_recv() {
        Ok(Err(EmberError::Stopped(why))) => assert!(why.contains("a broken invariant in the harness"), "{why}"),
        other => panic!("expected the job to fail with the cause, got {other:?}"),
    }
    assert!(cause.get().is_some_and(|c| c.contains("a broken invariant")), "later actions see the cause");
    assert!(link.calls().iter().any(|c| matches!(c, LinkCall::Shutdown)), "executors are told to stop");
}
