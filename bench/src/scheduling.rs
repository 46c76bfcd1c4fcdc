//! Scheduling overhead: empty-task throughput and small-job latency, and
//! what the web UI and the event log cost on top (both on against both off,
//! measured in alternating rounds of the same run).

use ember::prelude::*;
use ember_bench::report::Row;
use std::time::Instant;

const TASKS: usize = 10_000;
const LATENCY_RUNS: usize = 200;
/// Rounds of the UI-on / UI-off comparison (each round runs both).
const UI_ROUNDS: usize = 9;

pub fn run(conf: Conf) -> anyhow::Result<Vec<Row>> {
    let ctx = Context::new(conf.clone())?;
    let master = ctx.conf().get("ember.master").unwrap_or("?").to_string();
    let empty = ctx.range(0, 0, 1, TASKS)?;
    empty.count()?; // warm up: connections, code paths
    let mut best = f64::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        anyhow::ensure!(empty.count()? == 0, "empty tasks returned records");
        best = best.min(start.elapsed().as_secs_f64());
    }
    let throughput = TASKS as f64 / best;

    let two = ctx.range(0, 2, 1, 2)?;
    two.count()?;
    let mut latencies: Vec<f64> = (0..LATENCY_RUNS)
        .map(|_| {
            let start = Instant::now();
            two.count().map(|_| start.elapsed().as_secs_f64() * 1e3)
        })
        .collect::<Result<_>>()?;
    latencies.sort_by(f64::total_cmp);
    let median = latencies[LATENCY_RUNS / 2];
    let p95 = latencies[LATENCY_RUNS * 95 / 100];
    drop(ctx);
    let ui = ui_overhead(conf, &master)?;
    Ok(vec![
        Row {
            workload: format!("empty-task throughput ({TASKS}-task job, best of 3)"),
            master: master.clone(),
            result: format!("{throughput:.0} tasks/s"),
            reference: "Dask: a few hundred µs per task; Spark: ms".into(),
            target: "≥ 20,000 tasks/s in local-cluster[2]".into(),
        },
        Row {
            workload: format!("2-task job latency ({LATENCY_RUNS} jobs)"),
            master: master.clone(),
            result: format!("median {median:.2} ms, p95 {p95:.2} ms"),
            reference: String::new(),
            target: "< 2 ms".into(),
        },
        ui,
    ])
}

/// The time of one empty `TASKS`-task job.
fn empty_job_seconds(ctx: &Context) -> anyhow::Result<f64> {
    let empty = ctx.range(0, 0, 1, TASKS)?;
    let start = Instant::now();
    anyhow::ensure!(empty.count()? == 0, "empty tasks returned records");
    Ok(start.elapsed().as_secs_f64())
}

/// Empty-task throughput with the web UI and the event log on, against both
/// off: two contexts, alternating rounds (which one goes first alternates
/// too). The machine is shared, so the comparison is the median over rounds
/// of the ratio within a round (both measured a moment apart), beside the
/// best round of each.
fn ui_overhead(conf: Conf, master: &str) -> anyhow::Result<Row> {
    let log_dir = std::env::temp_dir().join(format!("ember-bench-events-{}", std::process::id()));
    let quiet = conf.set("ember.ui.showConsoleProgress", false);
    let off = Context::new(quiet.clone().set("ember.ui.enabled", false).set("ember.eventLog.enabled", false))?;
    let on = Context::new(
        quiet
            .set("ember.ui.enabled", true)
            .set("ember.ui.port", 0)
            .set("ember.eventLog.enabled", true)
            .set("ember.eventLog.dir", log_dir.display()),
    )?;
    empty_job_seconds(&off)?; // warm up both
    empty_job_seconds(&on)?;
    let (mut best_off, mut best_on) = (f64::MAX, f64::MAX);
    let mut slowdowns = Vec::with_capacity(UI_ROUNDS);
    for round in 0..UI_ROUNDS {
        let (t_off, t_on) = if round % 2 == 0 {
            let t_off = empty_job_seconds(&off)?;
            (t_off, empty_job_seconds(&on)?)
        } else {
            let t_on = empty_job_seconds(&on)?;
            (empty_job_seconds(&off)?, t_on)
        };
        best_off = best_off.min(t_off);
        best_on = best_on.min(t_on);
        slowdowns.push(t_on / t_off - 1.0);
    }
    slowdowns.sort_by(f64::total_cmp);
    let median_slowdown = slowdowns[UI_ROUNDS / 2];
    on.flush_listeners();
    drop((on, off));
    let logged = std::fs::read_dir(&log_dir).map(|d| d.count()).unwrap_or(0);
    let _ = std::fs::remove_dir_all(&log_dir);
    anyhow::ensure!(logged == 1, "expected one event log, found {logged}");
    Ok(Row {
        workload: format!(
            "empty-task throughput, web UI + event log on vs off ({TASKS}-task job, {UI_ROUNDS} alternating rounds)"
        ),
        master: master.to_string(),
        result: format!(
            "on {:.0} tasks/s, off {:.0} tasks/s (best rounds); job time on vs off {:+.1}% (median of per-round ratios)",
            TASKS as f64 / best_on,
            TASKS as f64 / best_off,
            100.0 * median_slowdown
        ),
        reference: "Spark's UI and event log run on its listener bus too".into(),
        target: "< 5% slower".into(),
    })
}
