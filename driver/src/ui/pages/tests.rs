//! The page renderers and the state they read, driven by listener events
//! alone (no context, no server): what a running, queued, failed, skipped
//! or spilled task looks like on each page.

use super::PageContext;
use crate::executors::ExecutorId;
use crate::listener::{ExecutorMemory, ListenerEvent, RddInfo, StageInfo, TaskEndInfo, TaskMetrics, UnixMillis};
use crate::ui::state::{AppState, Retention};
use crate::ui::task_list::TaskQuery;
use ember_rdd::StorageLevel;
use ember_rdd::ids::{JobId, RddId, StageId, TaskId};
use std::time::Duration;

const T0: u64 = 1_700_000_000_000;

fn at(ms: u64) -> UnixMillis {
    UnixMillis(T0 + ms)
}

fn exec(id: &str) -> ExecutorId {
    ExecutorId(id.into())
}

fn stage_info(stage: u64, tasks: usize, parents: &[u64]) -> StageInfo {
    let rdd = RddInfo {
        id: RddId(stage),
        kind: "MapPartitionsRdd".into(),
        num_partitions: tasks,
        storage_level: StorageLevel::None,
        parents: vec![],
        call_site: Some(format!("map at src/main.rs:{}", 10 + stage)),
    };
    StageInfo {
        stage: StageId(stage),
        name: format!("map at src/main.rs:{}", 10 + stage),
        num_tasks: tasks,
        parents: parents.iter().map(|p| StageId(*p)).collect(),
        shuffle: None,
        rdds: vec![rdd],
    }
}

/// An application with two 1-core executors and job 0 over stage 0.
fn app_with_a_job(tasks: usize) -> AppState {
    let mut s = AppState::new(Retention::default());
    s.apply(&ListenerEvent::ApplicationStart {
        app_id: "app-1".into(),
        app_name: "test".into(),
        master: "local-cluster[2]".into(),
        user: "me".into(),
        configuration: vec![],
        time: at(0),
    });
    for e in ["exec-0", "exec-1"] {
        let (executor, host_port) = (exec(e), "127.0.0.1:1".into());
        s.apply(&ListenerEvent::ExecutorAdded { executor, cores: 1, host_port, max_memory: 0, time: at(1) });
    }
    let info = stage_info(0, tasks, &[]);
    let name = "count at src/main.rs:20".to_string();
    s.apply(&ListenerEvent::JobStart {
        job: JobId(0),
        stages: vec![StageId(0)],
        stage_infos: vec![info],
        name,
        time: at(2),
    });
    let name = "map at src/main.rs:10".to_string();
    s.apply(&ListenerEvent::StageSubmitted { stage: StageId(0), attempt: 1, rdd: RddId(0), tasks, name, time: at(3) });
    s
}

fn start(s: &mut AppState, task: u64, executor: &str, time: u64) {
    let (stage, stage_attempt, partition, attempt) = (StageId(0), 1, task as usize, 0);
    let (task, executor, time) = (TaskId(task), exec(executor), at(time));
    s.apply(&ListenerEvent::TaskStart { task, stage, stage_attempt, partition, attempt, executor, time });
}

fn end(s: &mut AppState, task: u64, executor: &str, time: u64, run_ms: u64, error: Option<&str>) {
    s.apply(&ListenerEvent::TaskEnd(TaskEndInfo {
        task: TaskId(task),
        stage: StageId(0),
        stage_attempt: 1,
        rdd: RddId(0),
        partition: task as usize,
        executor: exec(executor),
        succeeded: error.is_none(),
        error: error.map(str::to_string),
        run_time: Duration::from_millis(run_ms),
        metrics: TaskMetrics {
            records_read: 10,
            spill_nanos: run_ms * 100_000,
            shuffle_fetch_wait_nanos: run_ms * 200_000,
            shuffle_write_nanos: run_ms * 100_000,
            ..Default::default()
        },
        result_size_bytes: 0,
        time: at(time),
    }));
}

fn ctx(now: u64) -> PageContext {
    PageContext { base: String::new(), live: true, now: at(now), kill: false }
}

#[test]
fn prefetched_tasks_are_queued_until_a_core_frees() {
    let mut s = app_with_a_job(4);
    // Two tasks per 1-core executor: one runs, one waits in its queue.
    for (task, executor) in [(0, "exec-0"), (1, "exec-1"), (2, "exec-0"), (3, "exec-1")] {
        start(&mut s, task, executor, 10);
    }
    let a = &s.attempts[&(StageId(0), 1)];
    assert_eq!((a.launched_tasks, a.running_tasks), (4, 2));
    let e = &s.executors["exec-0"];
    assert_eq!((e.running_tasks(), e.queued_tasks()), (1, 1));
    assert_eq!(a.tasks.get(TaskId(2)).and_then(|t| t.started), None, "queued");

    end(&mut s, 0, "exec-0", 30, 15, None);
    let a = &s.attempts[&(StageId(0), 1)];
    assert_eq!((a.launched_tasks, a.running_tasks), (3, 2), "task 2 took the freed core");
    assert_eq!(a.tasks.get(TaskId(2)).and_then(|t| t.started), Some(at(30)));
    let t0 = a.tasks.get(TaskId(0)).unwrap();
    assert_eq!((t0.run_ms(), t0.scheduler_delay_ms()), (15.0, 5.0), "20 ms launch to end, 15 ms of run");
    // A queued task that ends (its executor lost) frees no core.
    end(&mut s, 3, "exec-1", 31, 0, Some("executor exec-1 lost"));
    let a = &s.attempts[&(StageId(0), 1)];
    assert_eq!((a.launched_tasks, a.running_tasks), (2, 2));
    let api = crate::ui::api::executors(&s, true);
    assert_eq!((api[0].active_tasks, api[0].queued_tasks), (1, 0));
}

#[test]
fn the_task_table_pages_sorts_and_folds_backtraces() {
    let mut s = app_with_a_job(250);
    for task in 0..250 {
        start(&mut s, task, if task % 2 == 0 { "exec-0" } else { "exec-1" }, 10 + task);
        let error = (task == 7).then_some("user code panicked: seven\npanicked at src/main.rs:3:9");
        end(&mut s, task, if task % 2 == 0 { "exec-0" } else { "exec-1" }, 20 + task * 2, task % 50, error);
    }
    let last = TaskQuery::from_page(Some(3), Some(100), None, false);
    let page = super::stages::stage_page(&s, &ctx(1000), StageId(0), 1, &last);
    assert!(page.contains("Page 3 of 3 (250 tasks)"), "{page}");
    assert!(page.contains("<td>249</td>") && !page.contains("<td>199</td><td>199</td>"), "the last 50 tasks");
    assert!(page.contains(r#"class="page-first""#) && !page.contains(r#"class="page-last""#));
    let slowest = TaskQuery::from_page(None, Some(3), Some("Duration"), true);
    let page = super::stages::stage_page(&s, &ctx(1000), StageId(0), 1, &slowest);
    let rows: Vec<&str> = page.split(r#"<table class="tasks">"#).nth(1).unwrap().split("<tr>").skip(2).collect();
    assert!(rows[0].starts_with("<td>49</td>"), "run 49 ms first: {}", rows[0]);
    assert!(page.contains("Duration ▾"), "the sorted column says so");
    let failed = TaskQuery::from_page(None, Some(1), Some("Status"), false);
    let page = super::stages::stage_page(&s, &ctx(1000), StageId(0), 1, &failed);
    assert!(page.contains("<details class=\"error\"><summary>user code panicked: seven</summary>"), "{page}");
    assert!(page.contains("panicked at src/main.rs:3:9</pre>"), "{page}");
    for label in ["Duration", "Scheduler Delay", "Input Records", "Event Timeline"] {
        assert!(page.contains(&format!(">{label}<")), "{label} on the stage page");
    }
    assert!(!page.contains("executorRunTime<"), "labels, not API keys");
}

#[test]
fn timelines_task_stream_and_memory_are_drawn() {
    let mut s = app_with_a_job(3);
    start(&mut s, 0, "exec-0", 10);
    start(&mut s, 1, "exec-1", 10);
    start(&mut s, 2, "exec-0", 11);
    end(&mut s, 0, "exec-0", 40, 20, None);
    for (i, storage) in [100u64, 5000, 300].iter().enumerate() {
        let memory = ExecutorMemory { storage_bytes: *storage, execution_bytes: 7 };
        s.apply(&ListenerEvent::ExecutorMetrics { executor: exec("exec-0"), memory, time: at(50 + i as u64 * 1000) });
    }
    let stage = super::stages::stage_page(&s, &ctx(60), StageId(0), 1, &TaskQuery::default());
    let phases = ["phase-delay", "phase-shuffle-read", "phase-run", "phase-spill", "phase-shuffle-write"];
    for class in phases.into_iter().chain(["phase-running", "phase-queued"]) {
        assert!(stage.contains(&format!(r#"<rect class="{class}""#)), "{class} in {stage}");
    }
    let job = super::jobs::job_page(&s, &ctx(60), JobId(0));
    assert!(job.contains(r#"<rect class="stage-active""#) && job.contains("stage 0.1"), "{job}");
    let executors = super::executors::executors_page(&s, &ctx(60));
    assert_eq!(executors.matches(r#"<rect class="stream-task""#).count(), 3, "{executors}");
    assert_eq!(executors.matches(r#"<polyline class="mem-storage""#).count(), 1, "one executor sampled");
    assert!(executors.contains("max 4.9 KiB"), "{executors}");
}

#[test]
fn a_skipped_stage_row_has_a_cell_under_every_header() {
    let mut s = app_with_a_job(2);
    start(&mut s, 0, "exec-0", 10);
    end(&mut s, 0, "exec-0", 12, 1, None);
    s.apply(&ListenerEvent::StageCompleted { stage: StageId(0), attempt: 1, failure: None, time: at(13) });
    s.apply(&ListenerEvent::JobEnd { job: JobId(0), succeeded: true, error: None, time: at(13) });
    // Job 1 needs stage 0's output (it ran for job 0) and runs stage 1.
    let infos = vec![stage_info(0, 2, &[]), stage_info(1, 2, &[0])];
    let (job, stages, name) = (JobId(1), vec![StageId(0), StageId(1)], "collect at src/main.rs:30".into());
    s.apply(&ListenerEvent::JobStart { job, stages, stage_infos: infos, name, time: at(20) });
    s.apply(&ListenerEvent::JobEnd { job: JobId(1), succeeded: true, error: None, time: at(30) });
    let page = super::jobs::job_page(&s, &ctx(40), JobId(1));
    let table = page.split(r#"id="job-stages">"#).nth(1).unwrap();
    let headers = table.matches("<th>").count();
    let rows: Vec<&str> = table.split("</thead>").nth(1).unwrap().split("<tr>").skip(1).collect();
    assert!(!rows.is_empty());
    for row in rows {
        assert_eq!(row.matches("<td>").count(), headers, "{row}");
    }
    assert!(table.contains("<td>skipped</td>"), "stage 0 ran for job 0, not for job 1: {table}");
}

#[test]
fn live_pages_poll_instead_of_reloading_and_replays_do_neither() {
    let s = app_with_a_job(1);
    let live = super::jobs::jobs_page(&s, &ctx(10));
    assert!(live.contains(r#"data-api="/api/v1/applications/app-1""#) && live.contains("<script>"), "{live}");
    assert!(live.contains(r#"<div class="live" id="jobs-active">"#));
    assert!(!live.contains("http-equiv"));
    let replayed = super::jobs::jobs_page(
        &s,
        &PageContext { base: "/history/app-1".into(), live: false, now: at(10), kill: false },
    );
    assert!(!replayed.contains("<script>") && !replayed.contains("data-api"));
}

#[test]
fn only_active_stages_get_a_kill_link_and_only_when_killing_is_on() {
    let mut s = app_with_a_job(2);
    let on = PageContext { kill: true, ..ctx(10) };
    let stages = super::stages::stages_page(&s, &on);
    assert_eq!(stages.matches(r#"action="/stages/0/kill""#).count(), 1, "{stages}");
    assert!(stages.contains("window.confirm("), "the kill asks first");
    let stage = super::stages::stage_page(&s, &on, StageId(0), 1, &TaskQuery::default());
    assert!(stage.contains(r#"action="/stages/0/kill""#));
    let jobs_page = super::jobs::job_page(&s, &on, JobId(0));
    assert!(jobs_page.contains(r#"action="/stages/0/kill""#), "the job's stage table too");
    assert!(!super::stages::stages_page(&s, &ctx(10)).contains("/kill"), "ember.ui.killEnabled=false hides it");

    start(&mut s, 0, "exec-0", 4);
    end(&mut s, 0, "exec-0", 5, 1, None);
    start(&mut s, 1, "exec-1", 4);
    end(&mut s, 1, "exec-1", 5, 1, None);
    s.apply(&ListenerEvent::StageCompleted { stage: StageId(0), attempt: 1, failure: None, time: at(6) });
    assert!(!super::stages::stages_page(&s, &on).contains("/kill"), "a completed stage has nothing to kill");
}
