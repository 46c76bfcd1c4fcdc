//! Recovery cost: the time of an iteration over a cached RDD during which an
//! executor is killed, divided by the time of a normal iteration (the RDD
//! paper reports 1.4× on 75 nodes).

use ember::prelude::*;
use ember_bench::report::Row;
use ember_bench::workloads;
use std::time::{Duration, Instant};

const ROWS: usize = 3_000_000;
const DIMS: usize = 8;
const K: usize = 8;

pub fn run(conf: Conf) -> anyhow::Result<Vec<Row>> {
    let ctx = Context::new(conf.set("ember.localCluster.replaceLostExecutors", true))?;
    let master = ctx.conf().get("ember.master").unwrap_or("?").to_string();
    let points = workloads::points(&ctx, ROWS, DIMS, 12)?.cache();
    let mut centers = workloads::initial_centers(&points, K, DIMS)?;
    let mut normal = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        centers = workloads::iteration(&points, &centers)?;
        normal.push(start.elapsed());
    }
    normal.sort();
    let normal = normal[normal.len() / 2];
    let (victim, pid) = ctx.local_cluster_backends().into_iter().next().ok_or_else(|| anyhow::anyhow!("no backend"))?;
    let start = Instant::now();
    // SAFETY: kill(2) on a backend this driver started; no memory involved.
    anyhow::ensure!(unsafe { libc::kill(pid as i32, libc::SIGKILL) } == 0, "cannot kill {victim}");
    workloads::iteration(&points, &centers)?;
    let failed = start.elapsed();
    let ratio = failed.as_secs_f64() / normal.as_secs_f64().max(1e-9);
    Ok(vec![Row {
        workload: format!(
            "k-means-like iteration over {ROWS}×{DIMS} cached points, 12 partitions, an executor SIGKILLed as it starts"
        ),
        master,
        result: format!("{:.0} ms vs {:.0} ms normal: {ratio:.2}×", ms(failed), ms(normal)),
        reference: "RDD paper: 1.4× on 75 nodes".into(),
        target: "≤ 2×".into(),
    }])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
