//! What the UI's listeners cost per event on the bus thread: 200,000
//! synthetic task events (a start and an end per task, in 10,000-task jobs,
//! delivered in batches of 1024 as the bus delivers them) fed to the state
//! store and to the event log writer. Deterministic enough to compare
//! changes on a noisy machine (the minimum of several runs), unlike the
//! end-to-end `ember-bench --only scheduling` row.
//!
//! ```sh
//! cargo test --release -p ember --test listener_cost -- --ignored --nocapture
//! ```
//!
//! `LISTENER_COST=store` or `=log` runs one listener once (for callgrind).

use ember::StorageLevel;
use ember::executors::ExecutorId;
use ember::listener::TaskEndInfo;
use ember::listener::{Listener, ListenerEvent, RddInfo, StageInfo, TaskMetrics, UnixMillis};
use ember::ui::event_log::EventLogWriter;
use ember::ui::state::{AppStore, Retention};
use ember_rdd::ids::{JobId, RddId, StageId, TaskId};
use std::time::{Duration, Instant};

const JOBS: usize = 10;
const TASKS_PER_JOB: usize = 10_000;
/// Messages the bus delivers at once (its `DELIVERY_BATCH`).
const BATCH: usize = 1024;
const RUNS: usize = 7;

/// An application's events: its start, an executor, then `JOBS` one-stage
/// jobs of empty tasks on two task threads (start, start, end, start, end, …).
fn events() -> Vec<ListenerEvent> {
    let executor = ExecutorId("driver".into());
    let mut time = 1_700_000_000_000;
    let mut events = vec![
        ListenerEvent::ApplicationStart {
            app_id: "app-1".into(),
            app_name: "listener-cost".into(),
            master: "local[2]".into(),
            user: "bench".into(),
            configuration: vec![("ember.master".into(), "local[2]".into())],
            time: UnixMillis(time),
        },
        ListenerEvent::ExecutorAdded {
            executor: executor.clone(),
            cores: 2,
            host_port: String::new(),
            max_memory: 0,
            time: UnixMillis(time),
        },
    ];
    let mut next_task = 0;
    for job in 0..JOBS {
        let stage = StageId(job as u64);
        let rdd = RddId(job as u64);
        let name = format!("RangeRdd [{job}] → result");
        let info = StageInfo {
            stage,
            name: name.clone(),
            num_tasks: TASKS_PER_JOB,
            parents: vec![],
            shuffle: None,
            rdds: vec![RddInfo {
                call_site: None,
                id: rdd,
                kind: "RangeRdd".into(),
                num_partitions: TASKS_PER_JOB,
                storage_level: StorageLevel::None,
                parents: vec![],
            }],
        };
        let t = UnixMillis(time);
        events.push(ListenerEvent::JobStart {
            job: JobId(job as u64),
            stages: vec![stage],
            stage_infos: vec![info],
            name: name.clone(),
            time: t,
        });
        events.push(ListenerEvent::StageSubmitted { stage, attempt: 1, rdd, tasks: TASKS_PER_JOB, name, time: t });
        let start = |partition: usize, task: u64, time: u64| ListenerEvent::TaskStart {
            task: TaskId(task),
            stage,
            stage_attempt: 1,
            partition,
            attempt: 0,
            executor: executor.clone(),
            time: UnixMillis(time),
        };
        let end = |partition: usize, task: u64, time: u64| {
            ListenerEvent::TaskEnd(TaskEndInfo {
                task: TaskId(task),
                stage,
                stage_attempt: 1,
                rdd,
                partition,
                executor: executor.clone(),
                succeeded: true,
                error: None,
                run_time: Duration::from_nanos(2_345 + partition as u64 % 1000),
                metrics: TaskMetrics::default(),
                result_size_bytes: 0,
                time: UnixMillis(time),
            })
        };
        let first = next_task;
        events.push(start(0, first, time));
        for p in 0..TASKS_PER_JOB {
            if p + 1 < TASKS_PER_JOB {
                events.push(start(p + 1, first + p as u64 + 1, time));
            }
            time += (p % 8 == 0) as u64;
            events.push(end(p, first + p as u64, time));
        }
        next_task += TASKS_PER_JOB as u64;
        events.push(ListenerEvent::StageCompleted { stage, attempt: 1, failure: None, time: UnixMillis(time) });
        events.push(ListenerEvent::JobEnd {
            job: JobId(job as u64),
            succeeded: true,
            error: None,
            time: UnixMillis(time),
        });
    }
    events.push(ListenerEvent::ApplicationEnd { time: UnixMillis(time) });
    events
}

/// Feeds `events` to `listener` in bus-sized batches; returns the time taken.
fn feed(listener: &dyn Listener, events: &[ListenerEvent]) -> Duration {
    let start = Instant::now();
    events.chunks(BATCH).for_each(|batch| listener.on_events(batch));
    start.elapsed()
}

fn store() -> AppStore {
    AppStore::new(Retention { jobs: 1000, stages: 1000, tasks_per_stage: 100_000 }, true)
}

/// The least time of `RUNS` runs of `one` (which builds its listener untimed
/// and returns the time of feeding it), per event.
fn ns_per_event(events: &[ListenerEvent], mut one: impl FnMut() -> Duration) -> f64 {
    let best = (0..RUNS).map(|_| one()).min().unwrap_or_default();
    best.as_nanos() as f64 / events.len() as f64
}

#[test]
#[ignore = "a measurement: run with --release --ignored --nocapture"]
fn listener_cost_per_event() {
    let events = events();
    let dir = tempfile::tempdir().unwrap();
    let only = std::env::var("LISTENER_COST").ok();
    match only.as_deref() {
        Some("store") => {
            feed(&store(), &events);
            return;
        }
        Some("log") => {
            let log = EventLogWriter::create(dir.path(), "app-1").unwrap();
            feed(&log, &events);
            log.finish();
            return;
        }
        _ => {}
    }
    let store_ns = ns_per_event(&events, || {
        let store = store();
        let took = feed(&store, &events);
        drop(store); // untimed: a live store lives as long as the application
        took
    });
    let mut n = 0;
    let log_ns = ns_per_event(&events, || {
        n += 1;
        let log = EventLogWriter::create(dir.path(), &format!("app-{n}")).unwrap();
        let took = feed(&log, &events);
        log.finish();
        took
    });
    let log_bytes = std::fs::metadata(dir.path().join("app-1")).map(|m| m.len()).unwrap_or(0);
    println!(
        "{} events ({} tasks), batches of {BATCH}, best of {RUNS}; an event is {} bytes:",
        events.len(),
        JOBS * TASKS_PER_JOB,
        std::mem::size_of::<ListenerEvent>()
    );
    println!("  AppStore        {store_ns:7.1} ns/event");
    println!("  EventLogWriter  {log_ns:7.1} ns/event ({:.0} bytes/event)", log_bytes as f64 / events.len() as f64);
    println!("  both            {:7.1} ns/event = {:.2} µs/task", store_ns + log_ns, (store_ns + log_ns) * 2.0 / 1e3);
}
