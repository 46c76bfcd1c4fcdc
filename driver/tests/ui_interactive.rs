//! The web UI for interactive use: the kill link of an active stage
//! (`POST /stages/<id>/kill`, switched off by `ember.ui.killEnabled`), and
//! the storage page and its REST API on `local-cluster[2]` (real executor
//! processes): a cached RDD is listed with its partitions until
//! `unpersist()` removes its blocks on the executors, and actions on a
//! cached RDD (filled by an action or by `cache_async`) compute nothing
//! again.

mod ui_common;

use ember::listener::{ListenerEvent, RecordingListener};
use ember::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use ui_common::{get, get_json, get_page, post, ui_context, wait_for};

const PATIENCE: Duration = Duration::from_secs(30);

/// The id of the one active stage, once it has a running task.
fn active_stage(addr: std::net::SocketAddr, app: &str) -> u64 {
    wait_for(PATIENCE, "an active stage with a running task", || {
        let stages = get_json(addr, &format!("/api/v1/applications/{app}/stages?status=active"));
        let s = stages.as_array()?.first()?.clone();
        (s["numActiveTasks"].as_u64() > Some(0)).then(|| s["stageId"].as_u64().expect("a stage id"))
    })
}

#[test]
fn the_kill_link_of_an_active_stage_cancels_its_job_and_the_context_goes_on() {
    let ctx = ui_context("local[2]", &[("ember.executor.prefetchTasks", "0")]);
    let addr = ctx.ui_address().expect("the UI runs");
    let app = ctx.app_id().to_string();
    // 4 partitions of 200,000 records, 50 µs each: 10 s per task unless
    // killed (tasks check for a kill every thousand records).
    let slow = ctx.range(0, 800_000, 1, 4).unwrap().map(|x| {
        std::thread::sleep(Duration::from_micros(50));
        x
    });
    let job = std::thread::spawn(move || {
        let started = Instant::now();
        (slow.count(), started.elapsed())
    });
    let stage = active_stage(addr, &app);
    let link = format!(r#"action="/stages/{stage}/kill""#);
    let page = get_page(addr, "/stages/");
    assert!(page.contains(&link) && page.contains("(kill)"), "{page}");
    assert!(page.contains("window.confirm("), "the link asks first");
    assert!(get_page(addr, &format!("/stages/stage/?id={stage}")).contains(&link), "the stage's page has it too");

    // A page of another site cannot kill.
    let (status, _, _) = post(addr, &format!("/stages/{stage}/kill"), &[("Origin", "http://elsewhere.example")]);
    assert_eq!(status, 403);
    assert!(!job.is_finished(), "a refused kill kills nothing");

    let origin = format!("http://{addr}");
    let (status, location, body) = post(addr, &format!("/stages/{stage}/kill"), &[("Origin", &origin)]);
    assert_eq!((status, location.as_deref()), (303, Some("/stages/")), "{body}");
    let (result, took) = job.join().expect("the job's thread");
    match result {
        Err(EmberError::Cancelled { reason, .. }) => {
            assert!(reason.contains(&format!("stage {stage} was killed from the web UI")), "{reason}")
        }
        other => panic!("expected a cancelled job, got {other:?}"),
    }
    assert!(took < Duration::from_secs(8), "killed, not run to the end: {took:?}");

    // The context goes on; the stage is not running any more.
    assert_eq!(ctx.range(0, 1000, 1, 4).unwrap().sum().unwrap(), 499_500);
    assert_eq!(post(addr, &format!("/stages/{stage}/kill"), &[]).0, 409);
    ctx.flush_listeners();
    let jobs = get_json(addr, &format!("/api/v1/applications/{app}/jobs"));
    let failed: Vec<&Value> = jobs.as_array().unwrap().iter().filter(|j| j["status"] == "FAILED").collect();
    assert_eq!(failed.len(), 1, "{jobs}");
    assert!(failed[0]["error"].as_str().unwrap().contains("killed from the web UI"), "{jobs}");
}

static DISABLED_GATE: AtomicBool = AtomicBool::new(false);

#[test]
fn with_kill_disabled_the_link_is_hidden_and_the_route_refuses() {
    let ctx = ui_context("local[2]", &[("ember.ui.killEnabled", "false"), ("ember.executor.prefetchTasks", "0")]);
    let addr = ctx.ui_address().expect("the UI runs");
    let app = ctx.app_id().to_string();
    // Tasks that run until the test opens their gate (in-process executor).
    let job = ctx
        .parallelize(vec![1u64, 2], 2)
        .map_partitions_with((), |_, _, it: BoxIter<u64>| {
            let deadline = Instant::now() + PATIENCE;
            while !DISABLED_GATE.load(Ordering::SeqCst) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            it
        })
        .count_async();
    let stage = active_stage(addr, &app);
    let page = get_page(addr, "/stages/");
    assert!(page.contains("Active Stages (1)") && !page.contains("/kill"), "{page}");
    assert!(!get_page(addr, &format!("/stages/stage/?id={stage}")).contains("/kill"));
    let (status, _, body) = post(addr, &format!("/stages/{stage}/kill"), &[]);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("ember.ui.killEnabled"), "says why: {body}");
    DISABLED_GATE.store(true, Ordering::SeqCst);
    assert_eq!(job.result().expect("not killed"), 2);
}

/// The latest heartbeat's cached bytes of every executor that sent one.
fn storage_bytes_by_executor(ctx: &Context, recorder: &RecordingListener) -> BTreeMap<String, u64> {
    ctx.flush_listeners();
    let mut latest = BTreeMap::new();
    for e in recorder.events() {
        if let ListenerEvent::ExecutorMetrics { executor, memory, .. } = e {
            latest.insert(executor.0.clone(), memory.storage_bytes);
        }
    }
    latest
}

/// Input bytes of the stages of `job`: cached blocks are the only input of
/// these jobs that counts bytes (`parallelize` counts records only).
fn input_bytes_of_job(addr: std::net::SocketAddr, app: &str, job: u64) -> u64 {
    let stages = get_json(addr, &format!("/api/v1/applications/{app}/stages"));
    stages
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["jobIds"].as_array().is_some_and(|ids| ids.iter().any(|id| id == job)))
        .map(|s| s["inputBytes"].as_u64().unwrap())
        .sum()
}

fn last_job_id(ctx: &Context, addr: std::net::SocketAddr, app: &str) -> u64 {
    ctx.flush_listeners();
    let jobs = get_json(addr, &format!("/api/v1/applications/{app}/jobs"));
    jobs.as_array().unwrap().iter().map(|j| j["jobId"].as_u64().unwrap()).max().expect("a job")
}

#[test]
fn on_local_cluster_a_cached_rdd_is_listed_read_back_and_gone_after_unpersist() {
    let ctx = ui_context("local-cluster[2]", &[("ember.executor.heartbeatInterval", "200ms")]);
    let addr = ctx.ui_address().expect("the UI runs");
    let app = ctx.app_id().to_string();
    let recorder = Arc::new(RecordingListener::default());
    ctx.add_listener(recorder.clone());
    let storage_path = format!("/api/v1/applications/{app}/storage/rdd");

    let computed = ctx.accumulator::<u64>();
    let cached = ctx
        .parallelize((0..4000u64).collect(), 4)
        .map_with(computed.clone(), |computed, x| {
            computed.add(1);
            x * 2
        })
        .cache();
    assert_eq!(cached.count().unwrap(), 4000);
    assert_eq!(computed.value(), 4000);
    let first_job = last_job_id(&ctx, addr, &app);
    assert_eq!(input_bytes_of_job(addr, &app, first_job), 0, "the first job computed, read no cached block");

    // Listed with its partitions and size, in the API and on the page.
    let rdds = wait_for(PATIENCE, "the cached RDD in storage", || {
        let rdds = get_json(addr, &storage_path);
        (rdds.as_array()?.len() == 1 && rdds[0]["numCachedPartitions"] == 4).then_some(rdds)
    });
    let id = cached.id().0;
    assert_eq!(rdds[0]["id"], id);
    assert_eq!(rdds[0]["numPartitions"], 4);
    assert!(rdds[0]["memoryUsed"].as_u64().unwrap() >= 4000 * 8, "{rdds}");
    let detail = get_json(addr, &format!("{storage_path}/{id}"));
    let partitions = detail["partitions"].as_array().expect("the partitions");
    assert_eq!(partitions.len(), 4, "{detail}");
    assert!(partitions.iter().all(|p| p["executors"].as_array().is_some_and(|e| e.len() == 1)), "{detail}");
    let executors = get_json(addr, &format!("/api/v1/applications/{app}/executors"));
    let blocks: u64 = executors.as_array().unwrap().iter().map(|e| e["rddBlocks"].as_u64().unwrap()).sum();
    assert_eq!(blocks, 4, "{executors}");
    let page = get_page(addr, "/storage/");
    assert!(page.contains(rdds[0]["name"].as_str().unwrap()), "{page}");
    wait_for(PATIENCE, "a heartbeat with cached bytes", || {
        (storage_bytes_by_executor(&ctx, &recorder).values().sum::<u64>() > 0).then_some(())
    });

    // A second action reads the cache: nothing is computed again.
    assert_eq!(cached.map(|x| x / 2).reduce(|a, b| a.max(b)).unwrap(), Some(3999));
    assert_eq!(computed.value(), 4000, "no record computed again");
    let second_job = last_job_id(&ctx, addr, &app);
    assert!(second_job > first_job);
    assert!(input_bytes_of_job(addr, &app, second_job) > 0, "the second job's tasks read cached blocks");

    // unpersist: gone from the page and the API, and from the executors'
    // memory (their heartbeats say so).
    cached.unpersist();
    wait_for(PATIENCE, "the RDD to leave storage", || {
        get_json(addr, &storage_path).as_array()?.is_empty().then_some(())
    });
    assert!(!get_page(addr, "/storage/").contains(rdds[0]["name"].as_str().unwrap()));
    let executors = get_json(addr, &format!("/api/v1/applications/{app}/executors"));
    assert!(executors.as_array().unwrap().iter().all(|e| e["rddBlocks"] == 0), "{executors}");
    wait_for(PATIENCE, "every executor's heartbeat to report no cached bytes", || {
        let latest = storage_bytes_by_executor(&ctx, &recorder);
        (latest.len() == 2 && latest.values().all(|&b| b == 0)).then_some(())
    });
    assert_eq!(cached.count().unwrap(), 4000);
    assert_eq!(computed.value(), 8000, "not cached any more: computed again");

    // Background persist on real executors: later actions read its blocks.
    let again = ctx.accumulator::<u64>();
    let persisted = ctx.parallelize((0..1000u64).collect(), 4).map_with(again.clone(), |again, x| {
        again.add(1);
        x
    });
    let filling = persisted.persist_async(StorageLevel::MemoryAndDisk);
    let handle = filling.handle();
    filling.result().expect("persisted");
    assert_eq!(handle.status(), JobStatus::Finished);
    assert_eq!(again.value(), 1000);
    assert_eq!(persisted.count().unwrap(), 1000);
    assert_eq!(again.value(), 1000, "read from the cache");
    assert!(input_bytes_of_job(addr, &app, last_job_id(&ctx, addr, &app)) > 0);
    assert_eq!(get(addr, &format!("{storage_path}/{}", persisted.id().0)).0, 200, "listed in storage");
}

#[test]
fn the_history_server_has_nothing_to_kill() {
    use ember::ui::history::HistoryIndex;
    use ember::ui::server;
    use ember::ui::state::Retention;
    let logs = tempfile::tempdir().unwrap();
    let index = Arc::new(HistoryIndex::load(logs.path(), Retention::default()).unwrap());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = server::bind("127.0.0.1".parse().unwrap(), 0).unwrap();
    let history = server::spawn(runtime.handle(), listener, index).unwrap();
    let (status, _, body) = post(history.local_addr, "/stages/0/kill", &[]);
    assert_eq!(status, 405, "{body}");
}
