//! Job futures and background persist on a real context (`local[2]`): an
//! async action's status follows the scheduler (pending while its tasks
//! wait for a core, then k of n tasks, then finished, failed or
//! cancelled), `take` runs its jobs under one future, `cancel` goes through
//! the scheduler's cancellation, and `cache_async` returns at once, fills
//! the cache in the background, and later actions read the cache instead of
//! computing again.
//!
//! Tasks that must wait for the test wait on a static gate (in `local[N]`
//! tasks run in this process); every test has its own gates, since tests run
//! at once.

use ember::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(30);

/// Waits until `f` gives `Some`, or fails after [`PATIENCE`] saying `what`.
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Blocks the calling task until `gate` opens (or the test's patience ends).
fn wait_at(gate: &AtomicBool) {
    let deadline = Instant::now() + PATIENCE;
    while !gate.load(Ordering::SeqCst) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `local[2]`, a launched task is a running one (no prefetching).
fn context() -> Context {
    let conf = Conf::new().master("local[2]").set("ember.executor.prefetchTasks", "0").set("ember.ui.enabled", "false");
    Context::new(conf).expect("context starts")
}

static BLOCKER_GATE: AtomicBool = AtomicBool::new(false);
static FIRST_JOB_GATE: AtomicBool = AtomicBool::new(false);

#[test]
fn a_future_is_pending_while_its_tasks_wait_then_counts_tasks_then_finishes() {
    let ctx = context();
    // Two tasks that hold both cores until the test opens their gate.
    let blocker = ctx
        .parallelize(vec![1u64, 2], 2)
        .map_partitions_with((), |_, _, it: BoxIter<u64>| {
            wait_at(&BLOCKER_GATE);
            it
        })
        .count_async();
    wait_for("the blocker to run", || {
        (blocker.status() == JobStatus::Running { tasks_done: 0, tasks_total: 2 }).then_some(())
    });

    // 4 tasks: partition 0 ends at once, the others wait for their gate.
    let rdd = ctx.parallelize((0..40u64).collect(), 4).map_partitions_with((), |_, partition, it: BoxIter<u64>| {
        if partition > 0 {
            wait_at(&FIRST_JOB_GATE);
        }
        it
    });
    let job = rdd.count_async();
    let id = wait_for("the scheduler to take the job", || job.job_id());
    assert_eq!(job.status(), JobStatus::Pending, "no core is free");
    assert_eq!(job.to_string(), format!("<JobFuture job {}: pending>", id.0));
    assert!(!job.is_done());

    BLOCKER_GATE.store(true, Ordering::SeqCst);
    assert_eq!(blocker.result().expect("the blocker counts"), 2);
    wait_for("one task of four done", || {
        (job.status() == JobStatus::Running { tasks_done: 1, tasks_total: 4 }).then_some(())
    });
    assert_eq!(job.to_string(), format!("<JobFuture job {}: running 1 of 4 tasks>", id.0));

    FIRST_JOB_GATE.store(true, Ordering::SeqCst);
    let handle = job.handle();
    assert_eq!(job.result().expect("the count"), 40);
    assert_eq!(handle.status(), JobStatus::Finished, "final once the result is handed over");
    assert!(handle.is_done());
    assert_eq!(handle.to_string(), format!("<JobFuture job {}: finished>", id.0));
    assert_eq!(handle.job_ids(), [id]);
}

#[test]
fn take_runs_its_jobs_under_one_future_and_futures_await_in_async_code() {
    let ctx = context();
    // Partition 0 is empty: take(3) scans it, then the next partitions.
    let layout: Vec<Vec<u64>> = vec![vec![], vec![1, 2], vec![3, 4], vec![5]];
    let rdd = ctx.parallelize(layout, 4).flat_map(|part: Vec<u64>| part);
    let take = rdd.take_async(3);
    let handle = take.handle();
    assert_eq!(take.result().expect("take"), [1, 2, 3]);
    let jobs = handle.job_ids();
    assert_eq!(jobs.len(), 2, "one partition first, then more: {jobs:?}");
    assert_eq!(handle.to_string(), format!("<JobFuture jobs {}, {}: finished>", jobs[0].0, jobs[1].0));

    // Still futures: joined in async code.
    let (count, collected, first, reduced, folded) = futures::executor::block_on(async {
        futures::join!(
            rdd.count_async(),
            rdd.collect_async(),
            rdd.first_async(),
            rdd.reduce_async(|a, b| a + b),
            rdd.fold_async(0, |a, b| a + b)
        )
    });
    assert_eq!(count.unwrap(), 5);
    assert_eq!(collected.unwrap(), [1, 2, 3, 4, 5]);
    assert_eq!(first.unwrap(), 1);
    assert_eq!(reduced.unwrap(), Some(15));
    assert_eq!(folded.unwrap(), 15);

    // An action with no job at all finishes with no job id.
    let empty = ctx.empty_rdd::<u64>().count_async();
    let handle = empty.handle();
    assert_eq!(empty.result().unwrap(), 0);
    assert_eq!((handle.job_ids(), handle.status()), (vec![], JobStatus::Finished));
    assert_eq!(handle.to_string(), "<JobFuture: finished>");
}

static GROUP_GATE: AtomicBool = AtomicBool::new(false);

#[test]
fn cancel_goes_through_the_scheduler_and_the_context_goes_on() {
    let ctx = context();
    // 4 partitions of 200,000 records, 50 µs each: 10 s per task unless
    // killed (tasks check for a kill every thousand records).
    let slow = ctx.range(0, 800_000, 1, 4).unwrap().map(|x| {
        std::thread::sleep(Duration::from_micros(50));
        x
    });
    let job = slow.count_async();
    wait_for("tasks to run", || matches!(job.status(), JobStatus::Running { .. }).then_some(()));
    let started = Instant::now();
    job.cancel();
    let handle = job.handle();
    match job.result() {
        Err(EmberError::Cancelled { job, reason }) => {
            assert_eq!(Some(job), handle.job_id());
            assert!(reason.contains("JobFuture"), "{reason}");
        }
        other => panic!("expected a cancelled job, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5), "cancelled at once, not run to the end");
    assert_eq!(handle.status(), JobStatus::Cancelled);
    assert!(handle.to_string().ends_with(": cancelled>"), "{handle}");
    handle.cancel(); // done: nothing happens

    // The next job runs (its tasks get cores once the killed ones stopped).
    assert_eq!(ctx.range(0, 1000, 1, 4).unwrap().sum().unwrap(), 499_500);

    // The job group of the thread that called the action applies to every
    // job of it, also those `take` submits later from the action's thread.
    ctx.set_job_group("exploring");
    let layout: Vec<Vec<u64>> = vec![vec![], vec![], vec![7], vec![8]];
    let gated = ctx.parallelize(layout, 4).map_partitions_with((), |_, partition, it: BoxIter<Vec<u64>>| {
        if partition >= 2 {
            wait_at(&GROUP_GATE);
        }
        it
    });
    let take = gated.flat_map(|p: Vec<u64>| p).take_async(2);
    ctx.clear_job_group();
    wait_for("take's second job to run", || {
        (take.job_ids().len() == 2 && matches!(take.status(), JobStatus::Running { .. })).then_some(())
    });
    ctx.cancel_job_group("exploring");
    wait_for("the cancel", || take.is_done().then_some(()));
    GROUP_GATE.store(true, Ordering::SeqCst);
    let result = take.result();
    assert!(matches!(&result, Err(EmberError::Cancelled { reason, .. }) if reason.contains("exploring")), "{result:?}");
}

#[test]
fn a_failed_action_says_why_and_hands_over_the_typed_error() {
    let ctx = Context::new(
        Conf::new().master("local[2]").set("ember.task.maxFailures", "1").set("ember.ui.enabled", "false"),
    )
    .expect("context starts");
    let job =
        ctx.parallelize(vec![1u32, 2, 3], 3).map(|x| if x == 2 { panic!("two is cursed") } else { x }).collect_async();
    let handle = job.handle();
    let err = job.result().expect_err("the job fails");
    assert!(matches!(err, EmberError::JobAborted { .. }), "{err:?}");
    match handle.status() {
        JobStatus::Failed(why) => assert!(why.contains("two is cursed"), "{why}"),
        other => panic!("expected a failed status, got {other:?}"),
    }
    // A panic in the driver-side merge reaches whoever takes the result.
    let merge = ctx.parallelize(vec![1u32, 2], 2).reduce_async(|_, _| panic!("a bad merge"));
    let handle = merge.handle();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| merge.result()));
    assert!(panicked.is_err(), "the merge's panic is re-raised by result()");
    assert!(matches!(handle.status(), JobStatus::Failed(why) if why.contains("a bad merge")));
}

static PERSIST_GATE: AtomicBool = AtomicBool::new(false);

#[test]
fn cache_async_returns_at_once_and_later_actions_read_the_cache() {
    let ctx = context();
    let computed = ctx.accumulator::<u64>();
    let rdd = ctx
        .parallelize((0..1000u64).collect(), 4)
        .map_partitions_with((), |_, _, it: BoxIter<u64>| {
            wait_at(&PERSIST_GATE);
            it
        })
        .map_with(computed.clone(), |computed, x| {
            computed.add(1);
            x * 2
        });
    let persisting = rdd.cache_async();
    // It returned while no partition could be computed yet.
    assert!(!persisting.is_done(), "{persisting}");
    assert_eq!(rdd.storage_level(), StorageLevel::MemoryOnly, "persisted at once");
    PERSIST_GATE.store(true, Ordering::SeqCst);
    wait_for("the cache to be filled", || persisting.is_done().then_some(()));
    assert_eq!(persisting.status(), JobStatus::Finished);
    persisting.result().expect("persisted");
    assert_eq!(computed.value(), 1000, "every record computed once");

    // Later actions read the cached blocks: nothing is computed again.
    assert_eq!(rdd.count().unwrap(), 1000);
    assert_eq!(rdd.map(|x| x + 1).reduce(|a, b| a.max(b)).unwrap(), Some(1999));
    assert_eq!(computed.value(), 1000, "no record computed again");

    // A level that keeps nothing is refused, saying what to use.
    let refused = rdd.persist_async(StorageLevel::None).result();
    assert!(matches!(&refused, Err(EmberError::InvalidArgument(why)) if why.contains("unpersist")), "{refused:?}");
}
