//! A wide shuffle: 1M small records from P map partitions into P reduce
//! partitions (P = 10,000 by default), i.e. P² map-output blocks, almost
//! all empty. It measures what the shuffle costs per (map, reduce) pair,
//! whatever the data: the blocks, the driver's map statuses (P sizes per
//! map task) and the fetches. A sort-based shuffle that writes one file per
//! map task with an index should make it cheap.

use crate::rss::{Peak, PeakSampler, vm_rss};
use ember::prelude::*;
use std::time::Instant;

const RECORDS: i64 = 1_000_000;

/// What the wide shuffle measured.
pub struct WideRun {
    pub partitions: usize,
    pub seconds: f64,
    /// The driver's RSS before the job (after the context started) and after it.
    pub driver_before: u64,
    pub driver_after: u64,
    pub peak: Peak,
}

/// Runs the P × P shuffle once in a fresh context of `conf`.
pub fn run(conf: &Conf, partitions: usize) -> anyhow::Result<WideRun> {
    let ctx = Context::new(conf.clone())?;
    let driver = std::process::id();
    let driver_before = vm_rss(driver).unwrap_or(0);
    let sampler = PeakSampler::start(driver);
    let start = Instant::now();
    let count = ctx
        .range(0, RECORDS, 1, partitions)
        .and_then(|numbers| numbers.map(|x| (x, x)).partition_by(HashPartitioner::new(partitions)).count());
    let seconds = start.elapsed().as_secs_f64();
    let peak = sampler.stop();
    let driver_after = vm_rss(driver).unwrap_or(0);
    super::close(ctx);
    let count = count?;
    anyhow::ensure!(count == RECORDS as u64, "wide shuffle: {count} records, expected {RECORDS}");
    Ok(WideRun { partitions, seconds, driver_before, driver_after, peak })
}

impl WideRun {
    pub fn describe(&self) -> String {
        format!(
            "`partition_by` of {RECORDS} (i64,i64) records, {p} × {p} partitions: {:.1} s; driver RSS {:.0} → {:.0} MiB; \
             peak RSS of all processes {:.0} MiB ({})",
            self.seconds,
            crate::rss::mib(self.driver_before),
            crate::rss::mib(self.driver_after),
            crate::rss::mib(self.peak.total),
            self.peak.describe_per_process(),
            p = self.partitions,
        )
    }
}
