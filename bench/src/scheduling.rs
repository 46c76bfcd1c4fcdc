//! Scheduling overhead: empty-task throughput and small-job latency.

use ember::prelude::*;
use ember_bench::report::Row;
use std::time::Instant;

const TASKS: usize = 10_000;
const LATENCY_RUNS: usize = 200;

pub fn run(conf: Conf) -> anyhow::Result<Vec<Row>> {
    let ctx = Context::new(conf)?;
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
    ])
}
