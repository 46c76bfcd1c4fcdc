//! The live web UI: its JSON API followed during and after jobs, its pages,
//! its port, and the console progress bar's lines from a real job's events.

mod ui_common;

use ember::listener::{ListenerEvent, RecordingListener, UnixMillis};
use ember::ui::progress::ConsoleProgressState;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use ui_common::{get, get_json, get_page, slow_rdd, ui_context, wait_for, word_counts};

const PATIENCE: Duration = Duration::from_secs(30);

fn count_where(list: &Value, key: &str, value: &str) -> usize {
    list.as_array().expect("a JSON list").iter().filter(|x| x[key] == value).count()
}

#[test]
fn the_api_shows_a_running_job_then_its_end() {
    // No prefetching: a launched task is a running one.
    let ctx = ui_context("local[2]", &[("ember.executor.prefetchTasks", "0")]);
    let addr = ctx.ui_address().expect("the UI runs by default");
    let app = ctx.app_id().to_string();
    let apps = get_json(addr, "/api/v1/applications");
    assert_eq!(apps[0]["id"], app.as_str());
    assert_eq!(apps[0]["attempts"][0]["completed"], false);

    // 4 tasks of 400 ms on 2 task threads: two waves.
    let job = slow_rdd(&ctx, 4, 400).count_async();
    let runner = std::thread::spawn(move || futures::executor::block_on(job));
    let jobs_path = format!("/api/v1/applications/{app}/jobs");
    let stages_path = format!("/api/v1/applications/{app}/stages");
    let running = wait_for(PATIENCE, "a running job with running tasks", || {
        let jobs = get_json(addr, &jobs_path);
        (jobs[0]["status"] == "RUNNING" && jobs[0]["numActiveTasks"].as_u64() > Some(0)).then_some(jobs)
    });
    assert_eq!(running.as_array().unwrap().len(), 1);
    assert_eq!(running[0]["numTasks"], 4);
    assert!(running[0]["numActiveTasks"].as_u64().unwrap() <= 2, "{running}");
    assert!(running[0]["numCompletedTasks"].as_u64().unwrap() < 4, "{running}");
    assert_eq!(running[0]["numActiveStages"], 1);
    let stages = get_json(addr, &stages_path);
    assert_eq!(count_where(&stages, "status", "ACTIVE"), 1, "{stages}");
    assert_eq!(stages[0]["numTasks"], 4);
    let (status, page) = get(addr, "/jobs/");
    assert_eq!(status, 200);
    assert!(page.contains("Active Jobs (1)") && page.contains("data-api=") && page.contains("<script>"), "{page}");
    assert!(!page.contains("http-equiv"), "live pages update in place, never by a reload: {page}");

    assert_eq!(runner.join().unwrap().unwrap(), 4);
    ctx.flush_listeners();
    let jobs = get_json(addr, &jobs_path);
    assert_eq!(jobs[0]["status"], "SUCCEEDED");
    assert_eq!(jobs[0]["numCompletedTasks"], 4);
    assert_eq!(jobs[0]["numActiveTasks"], 0);
    assert_eq!(jobs[0]["numCompletedStages"], 1);
    assert!(jobs[0]["completionTime"].as_str().unwrap().ends_with("GMT"));
    let stages = get_json(addr, &stages_path);
    assert_eq!(count_where(&stages, "status", "COMPLETE"), 1, "{stages}");
    assert_eq!(stages[0]["numCompleteTasks"], 4);
    assert!(stages[0]["executorRunTime"].as_u64().unwrap() >= 4 * 400, "{stages}");
    let summary = get_json(addr, &format!("{stages_path}/0/1/taskSummary?quantiles=0,0.5,1"));
    assert!(summary["duration"][0].as_f64().unwrap() >= 400.0, "{summary}");
    let executors = get_json(addr, &format!("/api/v1/applications/{app}/executors"));
    assert_eq!(executors[0]["totalCores"], 2);
    assert_eq!(executors[0]["completedTasks"], 4);
    let page = get_page(addr, "/jobs/");
    assert!(page.contains("Completed Jobs (1)") && !page.contains("http-equiv"), "{page}");
}

#[test]
fn a_shuffle_job_has_two_stages_and_a_rerun_skips_the_map_stage() {
    let ctx = ui_context("local-cluster[2]", &[]);
    let addr = ctx.ui_address().unwrap();
    let app = ctx.app_id().to_string();
    let counts = word_counts(&ctx);
    assert_eq!(counts.count().unwrap(), 3);
    assert_eq!(counts.collect().unwrap().len(), 3);
    ctx.flush_listeners();
    let jobs = get_json(addr, &format!("/api/v1/applications/{app}/jobs"));
    assert_eq!(jobs.as_array().unwrap().len(), 2);
    let (second, first) = (&jobs[0], &jobs[1]);
    assert_eq!(first["stageIds"].as_array().unwrap().len(), 2);
    assert_eq!((first["numCompletedStages"].as_u64(), first["numSkippedStages"].as_u64()), (Some(2), Some(0)));
    assert_eq!((second["numCompletedStages"].as_u64(), second["numSkippedStages"].as_u64()), (Some(1), Some(1)));
    assert_eq!(second["numSkippedTasks"], 2);
    let stages = get_json(addr, &format!("/api/v1/applications/{app}/stages"));
    assert_eq!(count_where(&stages, "status", "COMPLETE"), 3, "{stages}");
    let map_stage = get_json(addr, &format!("/api/v1/applications/{app}/stages/0/1"));
    assert!(map_stage["shuffleWriteBytes"].as_u64().unwrap() > 0, "{map_stage}");
    assert_eq!(map_stage["tasks"].as_object().unwrap().len(), 2);
    let timed = |stage: &Value, key: &str| {
        stage["tasks"].as_object().unwrap().values().all(|t| t["taskMetrics"][key].as_f64() > Some(0.0))
    };
    assert!(timed(&map_stage, "shuffleWriteTime"), "map tasks time their writes: {map_stage}");
    let reduce_stage = get_json(addr, &format!("/api/v1/applications/{app}/stages/1/1"));
    assert!(timed(&reduce_stage, "shuffleFetchWaitTime"), "reduce tasks time their waits: {reduce_stage}");
    let executors = get_json(addr, &format!("/api/v1/applications/{app}/executors"));
    assert_eq!(executors.as_array().unwrap().len(), 2);
    assert!(executors[0]["hostPort"].as_str().unwrap().starts_with("127.0.0.1:"), "{executors}");

    let dag = get_page(addr, "/jobs/job/?id=0");
    let made_at = "at driver/tests/ui_common/mod.rs:";
    for text in ["<svg", "Stage 0 (complete)", "Stage 1 (complete)", "<title>ShuffledRdd [", "Event Timeline"] {
        assert!(dag.contains(text), "{text} not in the job page");
    }
    // As Spark: "parallelize at file:line", the operation and the user's line.
    for text in [format!("parallelize {made_at}"), format!("flat_map {made_at}"), format!("reduce_by_key {made_at}")] {
        assert!(dag.contains(&text), "{text} not in the job page");
    }
    let rerun = get_page(addr, "/jobs/job/?id=1");
    // As in Spark, the stages of an ended job are dropped: the rerun's map
    // stage is a new one (2), skipped since the shuffle's outputs remain.
    assert!(rerun.contains("Stage 2 (skipped)"), "{rerun}");
    let stage = get_page(addr, "/stages/stage/?id=1&attempt=1");
    assert!(stage.contains("Summary Metrics for 2 Completed Tasks") && stage.contains("Median"), "{stage}");
    for page in ["/stages/", "/executors/", "/storage/", "/environment/", "/jobs"] {
        get_page(addr, page);
    }
    let (status, _) = get(addr, "/jobs/job/?id=banana");
    assert_eq!(status, 400);
    assert_eq!(get(addr, "/api/v1/applications/nope/jobs").0, 404);
    assert_eq!(get(addr, &format!("/api/v1/applications/{app}/jobs/99")).0, 404);
}

#[test]
fn storage_shows_cached_partitions_until_unpersisted() {
    let ctx = ui_context("local[2]", &[]);
    let addr = ctx.ui_address().unwrap();
    let storage_path = format!("/api/v1/applications/{}/storage/rdd", ctx.app_id());
    let cached = ctx.parallelize((0..10_000u64).collect(), 4).map(|x| x * 2).cache();
    assert_eq!(cached.count().unwrap(), 10_000);
    let rdds = wait_for(PATIENCE, "the cached RDD", || {
        let rdds = get_json(addr, &storage_path);
        (rdds.as_array().unwrap().len() == 1 && rdds[0]["numCachedPartitions"] == 4).then_some(rdds)
    });
    assert_eq!(rdds[0]["numPartitions"], 4);
    assert_eq!(rdds[0]["storageLevel"], "Memory Deserialized 1x Replicated");
    assert!(rdds[0]["memoryUsed"].as_u64().unwrap() >= 80_000, "{rdds}");
    let name = rdds[0]["name"].as_str().unwrap();
    assert!(name.starts_with("map at driver/tests/ui.rs:") && name.ends_with(" [1]"), "{rdds}");
    let executors = get_json(addr, &format!("/api/v1/applications/{}/executors", ctx.app_id()));
    assert_eq!(executors[0]["rddBlocks"], 4);
    let page = get_page(addr, "/storage/");
    assert!(page.contains("100%"), "{page}");
    cached.unpersist();
    wait_for(PATIENCE, "the RDD to leave storage", || {
        get_json(addr, &storage_path).as_array().unwrap().is_empty().then_some(())
    });
}

#[test]
fn secrets_are_redacted_and_a_failed_job_says_why() {
    let ctx = ui_context("local[2]", &[("db.password", "hunter2"), ("ember.task.maxFailures", "2")]);
    let addr = ctx.ui_address().unwrap();
    let env = get_page(addr, &format!("/api/v1/applications/{}/environment", ctx.app_id()));
    assert!(!env.contains("hunter2") && env.contains("redacted"), "{env}");
    assert!(!get_page(addr, "/environment/").contains("hunter2"));

    let err = ctx.parallelize(vec![1u32, 2, 3], 3).map(|x| if x == 2 { panic!("two is cursed") } else { x }).count();
    assert!(err.is_err());
    ctx.flush_listeners();
    let jobs = get_json(addr, &format!("/api/v1/applications/{}/jobs", ctx.app_id()));
    assert_eq!(jobs[0]["status"], "FAILED");
    assert_eq!(jobs[0]["numFailedTasks"], 2);
    assert!(jobs[0]["error"].as_str().unwrap().contains("two is cursed"), "{jobs}");
    let stages = get_json(addr, &format!("/api/v1/applications/{}/stages?status=failed", ctx.app_id()));
    assert_eq!(stages.as_array().unwrap().len(), 1, "{stages}");
    assert!(get_page(addr, "/jobs/").contains("two is cursed"));
}

#[test]
fn a_taken_port_moves_the_ui_to_the_next_one_and_it_can_be_turned_off() {
    let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let ctx = ui_context("local[1]", &[("ember.ui.port", &port.to_string())]);
    let got = ctx.ui_address().expect("the UI found a port").port();
    assert!(got > port && got <= port + 32, "{port} was taken; got {got}");
    assert!(ctx.ui_url().unwrap().ends_with(&format!(":{got}")));
    let off = ui_context("local[1]", &[("ember.ui.enabled", "false")]);
    assert!(off.ui_url().is_none() && off.ui_address().is_none());
    assert_eq!(off.parallelize(vec![1, 2], 2).count().unwrap(), 2);
    ctx.stop();
    assert!(std::net::TcpStream::connect(("127.0.0.1", got)).is_err(), "the UI stops with its context");
}

#[test]
fn the_progress_bar_draws_a_real_jobs_events() {
    let ctx = ui_context("local[2]", &[("ember.ui.enabled", "false")]);
    let recorder = Arc::new(RecordingListener::default());
    ctx.add_listener(recorder.clone());
    assert_eq!(slow_rdd(&ctx, 4, 10).count().unwrap(), 4);
    ctx.flush_listeners();
    let events = recorder.events();
    let submitted = events
        .iter()
        .find_map(|e| match e {
            ListenerEvent::StageSubmitted { time, .. } => Some(*time),
            _ => None,
        })
        .expect("a stage was submitted");
    let later = UnixMillis(submitted.0 + 10_000);
    let mut progress = ConsoleProgressState::default();
    let mut seen = Vec::new();
    for e in &events {
        progress.apply(e);
        if let Some(line) = progress.lines(50, later).pop()
            && seen.last() != Some(&line)
        {
            seen.push(line);
        }
    }
    assert!(progress.lines(50, later).is_empty(), "cleared when the stage ends");
    // 50 columns: "[Stage 0:" and "(c + r) / 4]" leave 29 for the bar.
    assert_eq!(seen.first(), Some(&format!("[Stage 0:>{}(0 + 0) / 4]", " ".repeat(28))));
    assert_eq!(seen.last(), Some(&format!("[Stage 0:{}(4 + 0) / 4]", "=".repeat(29))));
    assert!(seen.iter().all(|l| l.len() == 50), "{seen:#?}");
    assert!(seen.iter().any(|l| l.contains("(1 + ")), "{seen:#?}");
}

#[test]
fn a_stage_that_spilled_shows_its_spill_as_spark_does() {
    // 16 MiB of executor memory (9.6 MiB for execution and storage); one
    // reduce partition of ~30 MB of text must spill.
    let ctx = ui_context("local[1]", &[("ember.executor.memory", "16m")]);
    let addr = ctx.ui_address().unwrap();
    let app = ctx.app_id().to_string();
    let groups = ctx
        .range(0, 300_000, 1, 2)
        .unwrap()
        .map(|i| (i % 1000, format!("{i:0>60}")))
        .group_by_key_into(1)
        .map_values(|v| v.len())
        .collect()
        .unwrap();
    assert_eq!(groups.len(), 1000);
    ctx.flush_listeners();
    let stages = get_json(addr, &format!("/api/v1/applications/{app}/stages"));
    let spilled = stages.as_array().unwrap().iter().find(|s| s["diskBytesSpilled"].as_u64() > Some(0));
    let stage = spilled.unwrap_or_else(|| panic!("no stage spilled: {stages}"));
    assert!(stage["memoryBytesSpilled"].as_u64().unwrap() > 0, "{stage}");
    assert!(stage["peakExecutionMemory"].as_u64().unwrap() > 0, "{stage}");
    let (id, attempt) = (stage["stageId"].as_u64().unwrap(), stage["attemptId"].as_u64().unwrap());
    let detail = get_json(addr, &format!("/api/v1/applications/{app}/stages/{id}/{attempt}"));
    let tasks = detail["tasks"].as_object().unwrap();
    assert!(tasks.values().any(|t| t["taskMetrics"]["diskBytesSpilled"].as_u64() > Some(0)), "{detail}");
    let page = get_page(addr, &format!("/stages/stage/?id={id}&attempt={attempt}"));
    for text in ["Spill (Memory)", "Spill (Disk)", "Peak Execution Memory"] {
        assert!(page.contains(text), "{text} not on the stage page");
    }
}

#[test]
fn the_task_list_pages_and_sorts_as_sparks() {
    let ctx = ui_context("local[2]", &[]);
    let addr = ctx.ui_address().unwrap();
    // Task i runs about 40·i ms (gaps wide enough for a loaded machine).
    let staggered = ctx.parallelize((0..6u64).collect(), 6).map_partitions_with_index(|i, it| {
        std::thread::sleep(Duration::from_millis(40 * i as u64));
        it
    });
    assert_eq!(staggered.count().unwrap(), 6);
    ctx.flush_listeners();
    let list = format!("/api/v1/applications/{}/stages/0/1/taskList", ctx.app_id());
    let indices = |query: &str| -> Vec<u64> {
        let tasks = get_json(addr, &format!("{list}{query}"));
        tasks.as_array().unwrap().iter().map(|t| t["index"].as_u64().unwrap()).collect()
    };
    assert_eq!(indices(""), vec![0, 1, 2, 3, 4, 5], "by task id, as Spark's default");
    assert_eq!(indices("?sortBy=-runtime&length=2"), vec![5, 4]);
    assert_eq!(indices("?sortBy=runtime&offset=4&length=10"), vec![4, 5]);
    assert_eq!(indices("?sortBy=-index&offset=1&length=2"), vec![4, 3]);
    let (status, body) = get(addr, &format!("{list}?sortBy=height"));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("unknown task column") && body.contains("runtime"), "{body}");
    let task = &get_json(addr, &format!("{list}?sortBy=-runtime&length=1"))[0];
    let (run, delay) =
        (task["taskMetrics"]["executorRunTime"].as_f64().unwrap(), task["schedulerDelay"].as_f64().unwrap());
    assert!(run >= 200.0, "{task}");
    let launch_to_end = task["duration"].as_f64().unwrap();
    assert!((run + delay - launch_to_end).abs() <= 1.0, "duration = run + scheduler delay: {task}");
}
