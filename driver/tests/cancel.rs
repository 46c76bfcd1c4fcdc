//! Cancelling jobs in real executors (`local[2]`, `local-cluster[2]`): a job
//! group cancelled from another thread fails with `Cancelled` while its
//! tasks are killed mid-partition (the listener sees them end as killed, not
//! run to the end), a job outside the group finishes, and the context runs
//! the next job with the right answer.

use ember::listener::TaskEndInfo;
use ember::listener::{ListenerEvent, RecordingListener};
use ember::prelude::*;
use std::sync::Arc;
use std::time::Duration;

/// 4 partitions of 200,000 records, 50 µs each: 10 s per task if nothing
/// stops it.
fn slow(ctx: &Context) -> Rdd<i64> {
    ctx.range(0, 800_000, 1, 4).unwrap().map(|x| {
        std::thread::sleep(Duration::from_micros(50));
        x
    })
}

fn killed_tasks(ctx: &Context, recorder: &RecordingListener) -> usize {
    ctx.flush_listeners();
    recorder
        .events()
        .iter()
        .filter(|e| {
            matches!(e, ListenerEvent::TaskEnd(TaskEndInfo { succeeded: false, error: Some(why), .. })
                if why.contains("task killed"))
        })
        .count()
}

#[test]
fn a_cancelled_group_stops_its_tasks_and_the_context_goes_on() {
    for master in ["local[2]", "local-cluster[2]"] {
        let ctx = Context::new(Conf::new().master(master)).expect("context starts");
        let recorder = Arc::new(RecordingListener::default());
        ctx.add_listener(recorder.clone());
        let slow_job = {
            let ctx = ctx.clone();
            std::thread::spawn(move || {
                ctx.set_job_group("exploration");
                let started = std::time::Instant::now();
                (slow(&ctx).count(), started.elapsed())
            })
        };
        // Let its tasks start, then cancel the group from this thread.
        std::thread::sleep(Duration::from_millis(700));
        ctx.cancel_job_group("exploration");
        let (result, took) = slow_job.join().expect("the job's thread");
        match result {
            Err(EmberError::Cancelled { reason, .. }) => assert!(reason.contains("exploration"), "{master}: {reason}"),
            other => panic!("{master}: expected a cancelled job, got {other:?}"),
        }
        // Killed tasks end early and say so (the ends may trail the job's).
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while killed_tasks(&ctx, &recorder) == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(killed_tasks(&ctx, &recorder) > 0, "{master}: no task ended as killed (the job took {took:?})");
        // The context is usable, and jobs outside the group are never touched.
        assert_eq!(ctx.range(0, 1000, 1, 4).unwrap().sum().unwrap(), 499_500, "{master}");
        ctx.set_job_group("other");
        ctx.cancel_job_group("exploration");
        assert_eq!(ctx.range(0, 10, 1, 2).unwrap().count().unwrap(), 10, "{master}");
    }
}

#[test]
fn cancel_all_jobs_fails_async_actions_and_leaves_the_context_usable() {
    let ctx = Context::new(Conf::new().master("local[2]")).expect("context starts");
    let a = slow(&ctx).count_async();
    let b = slow(&ctx).map(|x| x * 2).count_async();
    std::thread::sleep(Duration::from_millis(500));
    ctx.cancel_all_jobs();
    let (a, b) = futures::executor::block_on(async { futures::join!(a, b) });
    assert!(matches!(a, Err(EmberError::Cancelled { .. })), "{a:?}");
    assert!(matches!(b, Err(EmberError::Cancelled { .. })), "{b:?}");
    assert_eq!(ctx.parallelize(vec![1, 2, 3], 2).collect().unwrap(), [1, 2, 3]);
}
