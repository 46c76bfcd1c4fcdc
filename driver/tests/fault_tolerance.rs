//! Executors killed for real (SIGKILL) in `local-cluster[3]`: jobs finish with
//! the same answer, and only what was lost is recomputed.

use ember::listener::{ListenerEvent, RecordingListener};
use ember::prelude::*;
use ember_rdd::ids::RddId;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn cluster() -> (Context, Arc<RecordingListener>) {
    let ctx = Context::new(Conf::new().master("local-cluster[3]").set("ember.executor.prefetchTasks", 0))
        .expect("context starts");
    let recorder = Arc::new(RecordingListener::default());
    ctx.add_listener(recorder.clone());
    (ctx, recorder)
}

fn kill(pid: u32) {
    // SAFETY: kill(2) with a pid we spawned; no memory is involved.
    let rc = unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    assert_eq!(rc, 0, "kill {pid}");
}

/// (rdd, partition, executor) of every successful task.
fn successes(recorder: &RecordingListener) -> Vec<(RddId, usize, String)> {
    recorder
        .events()
        .into_iter()
        .filter_map(|e| match e {
            ListenerEvent::TaskEnd { rdd, partition, executor, succeeded: true, .. } => {
                Some((rdd, partition, executor.0))
            }
            _ => None,
        })
        .collect()
}

/// Waits until `cond` holds over the successful tasks so far.
fn wait_for(ctx: &Context, recorder: &RecordingListener, cond: impl Fn(&[(RddId, usize, String)]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        ctx.flush_listeners();
        if cond(&successes(recorder)) {
            return;
        }
        assert!(Instant::now() < deadline, "condition not reached");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Checks that every partition of `rdd`'s stage succeeded exactly once on a
/// surviving executor, or also once before on the killed one: only lost
/// work was redone.
fn assert_only_lost_work_redone(all: &[(RddId, usize, String)], rdd: RddId, partitions: usize, killed: &str) {
    let mut on_survivors: HashMap<usize, usize> = HashMap::new();
    let mut on_killed: HashMap<usize, usize> = HashMap::new();
    for (r, p, e) in all.iter().filter(|(r, ..)| *r == rdd) {
        assert_eq!(*r, rdd);
        let m = if e == killed { &mut on_killed } else { &mut on_survivors };
        *m.entry(*p).or_default() += 1;
    }
    for p in 0..partitions {
        let k = on_killed.get(&p).copied().unwrap_or(0);
        let s = on_survivors.get(&p).copied().unwrap_or(0);
        assert!(k <= 1, "partition {p} ran {k} times on the killed executor");
        assert!(s <= 1, "partition {p} of {rdd} ran {s} times on survivors: more than the lost work");
        assert_eq!(k + s >= 1, true, "partition {p} never ran");
    }
}

fn slow_pairs(ctx: &Context, partitions: usize) -> Rdd<(u64, u64)> {
    ctx.parallelize((0..3000u64).collect(), partitions).map_partitions(|it| {
        std::thread::sleep(Duration::from_millis(60));
        it.map(|x| (x % 10, x))
    })
}

fn expected_sums() -> Vec<(u64, u64)> {
    let mut m: HashMap<u64, u64> = HashMap::new();
    for x in 0..3000u64 {
        *m.entry(x % 10).or_default() += x;
    }
    let mut v: Vec<_> = m.into_iter().collect();
    v.sort();
    v
}

#[test]
fn an_executor_killed_during_a_map_stage() {
    let (ctx, recorder) = cluster();
    let pairs = slow_pairs(&ctx, 12);
    let map_rdd = pairs.id();
    let job = pairs.reduce_by_key(|a, b| a + b).collect_async();
    let victim = ctx.backend_pids()[0];
    wait_for(&ctx, &recorder, |s| s.iter().filter(|t| t.0 == map_rdd && t.2 == "exec-0").count() >= 1);
    kill(victim);
    let mut got = futures::executor::block_on(job).expect("job survives the kill");
    got.sort();
    assert_eq!(got, expected_sums());
    ctx.flush_listeners();
    let all = successes(&recorder);
    assert_only_lost_work_redone(&all, map_rdd, 12, "exec-0");
    let redone = all.iter().filter(|t| t.0 == map_rdd).count() - 12;
    let lost = all.iter().filter(|t| t.0 == map_rdd && t.2 == "exec-0").count();
    assert_eq!(redone, lost, "exactly the map outputs of the killed executor were recomputed");
}

#[test]
fn an_executor_killed_during_a_reduce_stage() {
    let (ctx, recorder) = cluster();
    let pairs = ctx.parallelize((0..3000u64).collect(), 9).map(|x| (x % 10, x));
    let map_rdd = pairs.id();
    let reduced = pairs.reduce_by_key_into(|a, b| a + b, 9).map_partitions(|it| {
        std::thread::sleep(Duration::from_millis(80));
        it
    });
    let reduce_rdd = reduced.id();
    let job = reduced.collect_async();
    let victim = ctx.backend_pids()[1];
    wait_for(&ctx, &recorder, |s| s.iter().any(|t| t.0 == reduce_rdd));
    kill(victim);
    let mut got = futures::executor::block_on(job).expect("job survives the kill");
    got.sort();
    assert_eq!(got, expected_sums());
    ctx.flush_listeners();
    let all = successes(&recorder);
    assert_only_lost_work_redone(&all, map_rdd, 9, "exec-1");
    assert_only_lost_work_redone(&all, reduce_rdd, 9, "exec-1");
}

#[test]
fn an_executor_killed_between_iterations_over_a_cached_rdd() {
    let (ctx, recorder) = cluster();
    let evaluations = ctx.accumulator::<u64>();
    let data = ctx
        .parallelize((0..1200u64).collect(), 12)
        .map_with(evaluations.clone(), |acc, x| {
            acc.add(1);
            x * 3
        })
        .cache();
    assert_eq!(data.sum().unwrap(), 3 * (0..1200u64).sum::<u64>());
    ctx.flush_listeners();
    let cached_on_victim: Vec<usize> =
        successes(&recorder).into_iter().filter(|t| t.0 == data.id() && t.2 == "exec-2").map(|t| t.1).collect();
    assert!(!cached_on_victim.is_empty());
    kill(ctx.backend_pids()[2]);
    for _ in 0..3 {
        assert_eq!(data.sum().unwrap(), 3 * (0..1200u64).sum::<u64>());
    }
    // Each partition holds 100 records; only the victim's were computed again.
    assert_eq!(evaluations.value(), 1200 + 100 * cached_on_victim.len() as u64);
}

#[test]
fn a_task_that_fails_once_is_retried_and_the_job_succeeds() {
    let (ctx, _recorder) = cluster();
    let marker = tempfile::tempdir().unwrap();
    let flag = marker.path().join("failed-once").display().to_string();
    let n = ctx
        .parallelize((0..100u32).collect(), 4)
        .map_partitions_with(flag, |flag, index, it| {
            if index == 2 && std::fs::OpenOptions::new().write(true).create_new(true).open(flag).is_ok() {
                panic!("transient failure");
            }
            it
        })
        .count()
        .unwrap();
    assert_eq!(n, 100);
}
