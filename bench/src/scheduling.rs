//! Scheduling overhead: empty-task throughput and small-job latency, and
//! what the web UI and the event log cost on top (both on against both off,
//! measured in alternating rounds of the same run).

use ember::prelude::*;
use ember_bench::report::Row;
use std::time::Instant;

const TASKS: usize = 10_000;
const LATENCY_RUNS: usize = 200;
/// Rounds of the UI-on / UI-off comparison (each round runs both).
const UI_ROUNDS: usize = 31;

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
    Ok(empty_job(ctx)?.0)
}

/// The wall-clock and this process's CPU seconds of one empty `TASKS`-task job.
fn empty_job(ctx: &Context) -> anyhow::Result<(f64, f64)> {
    let empty = ctx.range(0, 0, 1, TASKS)?;
    let (start, cpu) = (Instant::now(), process_cpu_seconds());
    anyhow::ensure!(empty.count()? == 0, "empty tasks returned records");
    let wall = start.elapsed().as_secs_f64();
    ctx.flush_listeners(); // the listeners' work counts in the CPU time
    Ok((wall, process_cpu_seconds() - cpu))
}

/// User + system CPU time of this process so far.
fn process_cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct we pass, which lives for the call.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0.0;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// Empty-task throughput with the web UI and the event log on, against both
/// off: two contexts, alternating rounds (which one goes first alternates
/// too). The machine is shared, so the comparison is the median over rounds
/// of the ratio within a round (both measured a moment apart), beside the
/// best round of each and the driver process's CPU time per task (which
/// other programs on the machine disturb less than wall-clock time).
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
    let (mut cpu_off, mut cpu_on) = (Vec::with_capacity(UI_ROUNDS), Vec::with_capacity(UI_ROUNDS));
    let mut slowdowns = Vec::with_capacity(UI_ROUNDS);
    for round in 0..UI_ROUNDS {
        let ((t_off, c_off), (t_on, c_on)) = if round % 2 == 0 {
            let off_run = empty_job(&off)?;
            (off_run, empty_job(&on)?)
        } else {
            let on_run = empty_job(&on)?;
            (empty_job(&off)?, on_run)
        };
        best_off = best_off.min(t_off);
        best_on = best_on.min(t_on);
        cpu_off.push(c_off);
        cpu_on.push(c_on);
        slowdowns.push(t_on / t_off - 1.0);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let median_slowdown = median(slowdowns);
    let micros_per_task = |cpu: Vec<f64>| median(cpu) * 1e6 / TASKS as f64;
    let (cpu_on, cpu_off) = (micros_per_task(cpu_on), micros_per_task(cpu_off));
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
            "on {:.0} tasks/s, off {:.0} tasks/s (best rounds); job time on vs off {:+.1}% (median of per-round ratios); driver CPU {cpu_on:.1} µs/task on, {cpu_off:.1} off",
            TASKS as f64 / best_on,
            TASKS as f64 / best_off,
            100.0 * median_slowdown
        ),
        reference: "Spark's UI and event log run on its listener bus too".into(),
        target: "< 5% slower".into(),
    })
}
