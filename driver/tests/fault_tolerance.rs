//! Executors killed for real (SIGKILL) in `local-cluster[3]`: jobs finish with
//! the same answer, and only what was lost is recomputed.

use ember::listener::TaskEndInfo;
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

/// The process id of the backend of `executor`.
fn pid_of(ctx: &Context, executor: &str) -> u32 {
    ctx.local_cluster_backends()
        .into_iter()
        .find(|(id, _)| id.0 == executor)
        .map(|(_, pid)| pid)
        .expect("executor exists")
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
            ListenerEvent::TaskEnd(TaskEndInfo { rdd, partition, executor, succeeded: true, .. }) => {
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
        assert!(k + s >= 1, "partition {p} never ran");
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
    let victim = pid_of(&ctx, "exec-0");
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
    let victim = pid_of(&ctx, "exec-1");
    wait_for(&ctx, &recorder, |s| s.iter().any(|t| t.0 == reduce_rdd));
    kill(victim);
    let mut got = futures::executor::block_on(job).expect("job survives the kill");
    got.sort();
    assert_eq!(got, expected_sums());
    ctx.flush_listeners();
    let all = successes(&recorder);
    assert_only_lost_work_redone(&all, map_rdd, 9, "exec-1");
    // Reduce tasks of the attempt abandoned at the fetch failure may still
    // finish (their results are ignored), so a reduce partition can show two
    // successes on survivors; every one must have succeeded.
    for p in 0..9 {
        assert!(all.iter().any(|t| t.0 == reduce_rdd && t.1 == p), "reduce partition {p} never succeeded");
    }
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
    kill(pid_of(&ctx, "exec-2"));
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

#[test]
fn a_lost_executor_is_replaced_and_the_replacement_is_used() {
    let ctx = Context::new(
        Conf::new()
            .master("local-cluster[2]")
            .set("ember.localCluster.replaceLostExecutors", true)
            .set("ember.executor.prefetchTasks", 0),
    )
    .unwrap();
    let recorder = Arc::new(RecordingListener::default());
    ctx.add_listener(recorder.clone());
    kill(pid_of(&ctx, "exec-0"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ctx.local_cluster_backends().iter().any(|(id, _)| id.0 == "exec-2") {
        assert!(Instant::now() < deadline, "no replacement started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let executors: Vec<String> = ctx
        .parallelize((0..40u32).collect(), 40)
        .map_partitions(|it| {
            std::thread::sleep(Duration::from_millis(10));
            it
        })
        .count()
        .map(|_| {
            ctx.flush_listeners();
            successes(&recorder).into_iter().map(|t| t.2).collect()
        })
        .unwrap();
    assert!(executors.iter().any(|e| e == "exec-2"), "the replacement ran no task: {executors:?}");
    assert!(!executors.iter().any(|e| e == "exec-0"));
}

/// Runs as the driver process of `a_killed_driver_leaves_no_backend_behind`.
#[test]
fn driver_child_process() {
    if std::env::var("EMBER_TEST_DRIVER_CHILD").is_err() {
        return;
    }
    let ctx = Context::new(Conf::new().master("local-cluster[2]")).unwrap();
    let pids: Vec<String> = ctx.backend_pids().iter().map(|p| p.to_string()).collect();
    println!("BACKENDS {}", pids.join(" "));
    std::thread::sleep(Duration::from_secs(600));
}

fn running(pid: u32) -> bool {
    // A zombie (state Z) has exited; only its parent has not reaped it yet.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[test]
fn a_killed_driver_leaves_no_backend_behind() {
    use std::io::BufRead;
    let mut driver = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "driver_child_process", "--nocapture", "--test-threads", "1"])
        .env("EMBER_TEST_DRIVER_CHILD", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = driver.stdout.take().unwrap();
    let line = std::io::BufReader::new(stdout)
        .lines()
        .map_while(|l| l.ok())
        .find_map(|l| l.split_once("BACKENDS ").map(|(_, pids)| pids.to_string()))
        .expect("the driver reports its backends");
    let backends: Vec<u32> = line.split(' ').map(|p| p.parse().unwrap()).collect();
    assert_eq!(backends.len(), 2);
    assert!(backends.iter().all(|&p| running(p)));
    kill(driver.id());
    let _ = driver.wait();
    let start = Instant::now();
    while backends.iter().any(|&p| running(p)) {
        assert!(start.elapsed() < Duration::from_secs(30), "backends outlived their driver by 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_silent_executor_is_declared_lost_after_the_heartbeat_timeout() {
    let ctx = Context::new(
        Conf::new()
            .master("local-cluster[2]")
            .set("ember.executor.heartbeatInterval", 200)
            .set("ember.network.timeout", 1500)
            .set("ember.executor.prefetchTasks", 0),
    )
    .unwrap();
    let recorder = Arc::new(RecordingListener::default());
    ctx.add_listener(recorder.clone());
    let frozen = pid_of(&ctx, "exec-1");
    // SIGSTOP: the process stays, its connections stay open, it just goes silent.
    // SAFETY: kill(2) on a process this driver started.
    assert_eq!(unsafe { libc::kill(frozen as i32, libc::SIGSTOP) }, 0);
    let start = Instant::now();
    let n = ctx
        .parallelize((0..100u32).collect(), 10)
        .map_partitions(|it| {
            std::thread::sleep(Duration::from_millis(20));
            it
        })
        .count()
        .unwrap();
    assert_eq!(n, 100);
    ctx.flush_listeners();
    let removed: Vec<String> = recorder
        .events()
        .into_iter()
        .filter_map(|e| match e {
            ListenerEvent::ExecutorRemoved { executor, reason, .. } => Some(format!("{executor}: {reason}")),
            _ => None,
        })
        .collect();
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert!(removed[0].starts_with("exec-1: no heartbeat"), "{removed:?}");
    assert!(start.elapsed() < Duration::from_secs(20));
    // SAFETY: as above; let the process go (it exits once its driver is gone).
    unsafe { libc::kill(frozen as i32, libc::SIGKILL) };
}
