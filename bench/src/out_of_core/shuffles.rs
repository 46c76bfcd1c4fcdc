//! The three shuffles of issue 13 over N `(u64, u64)` records, each in a
//! fresh context so that nothing an earlier workload left behind counts:
//!
//! - `sort_by_key` of N records with well-mixed keys: every record crosses
//!   the shuffle and is sorted at its reducer;
//! - `reduce_by_key` with N/10 distinct keys: a map-side combine that can
//!   barely shrink the data (a map partition of 4M records meets each key
//!   about once when N ≥ 40M);
//! - `group_by_key` with N/10 distinct keys: no map-side combine, and every
//!   value is held in its group.
//!
//! Timed: building the RDD through the `count()` job (for the sort, with its
//! sampling job). Then an untimed job checks the result without collecting
//! the records: checksums the driver recomputes in a plain loop, and for the
//! sort each partition's (first key, last key, sorted?) summary. The peak RSS
//! covers both jobs.

use super::{Workload, budget_verdict};
use crate::rss::{Peak, PeakSampler, mib};
use crate::shuffle::{key, shuffle_bytes, task_metric_sum};
use ember::listener::RecordingListener;
use ember::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

/// The multiplier of [`distinct_key`]: a prime, so a unit modulo any key
/// count it does not divide (checked).
const KEY_STRIDE: u64 = 2_654_435_761;

/// What one shuffle workload measured.
pub struct ShuffleRun {
    pub workload: Workload,
    pub records: u64,
    pub partitions: usize,
    /// Wall-clock seconds of the timed jobs.
    pub seconds: f64,
    /// Bytes the map tasks wrote to the shuffle (TaskEnd metrics), in the timed jobs.
    pub shuffle_bytes: u64,
    /// Bytes spilled to disk in the timed jobs.
    pub spilled_bytes: u64,
    pub peak: Peak,
}

/// The timed part of a workload (before the checks).
struct Timed {
    seconds: f64,
    shuffle_bytes: u64,
    spilled_bytes: u64,
}

impl Timed {
    /// The time since `start`, and the bytes shuffled and spilled up to now.
    fn since(start: Instant, ctx: &Context, recorder: &RecordingListener) -> Timed {
        let seconds = start.elapsed().as_secs_f64();
        ctx.flush_listeners();
        Timed { seconds, shuffle_bytes: shuffle_bytes(recorder), spilled_bytes: spilled_bytes(recorder) }
    }
}

/// Bytes the tasks spilled to disk (Spark's "Spill (Disk)").
fn spilled_bytes(recorder: &RecordingListener) -> u64 {
    task_metric_sum(recorder, |m| m.disk_bytes_spilled)
}

/// Map (and reduce) partitions for `records`: `per_partition` records each, at least 8.
pub fn partitions_for(records: u64, per_partition: u64) -> usize {
    records.div_ceil(per_partition.max(1)).max(8) as usize
}

/// Runs `workload` over `records` records in a fresh context of `conf`.
pub fn measure(conf: &Conf, workload: Workload, records: u64, partitions: usize) -> anyhow::Result<ShuffleRun> {
    let ctx = Context::new(conf.clone())?;
    let recorder = Arc::new(RecordingListener::default());
    ctx.add_listener(recorder.clone());
    let sampler = PeakSampler::start(std::process::id());
    let timed = match workload {
        Workload::SortByKey => sort_by_key(&ctx, records, partitions, &recorder),
        Workload::ReduceByKey => reduce_by_key(&ctx, records, partitions, &recorder),
        Workload::GroupByKey => group_by_key(&ctx, records, partitions, &recorder),
        other => anyhow::bail!("{other:?} is not a shuffle workload"),
    };
    let peak = sampler.stop();
    super::close(ctx);
    let timed = timed?;
    Ok(ShuffleRun {
        workload,
        records,
        partitions,
        seconds: timed.seconds,
        shuffle_bytes: timed.shuffle_bytes,
        spilled_bytes: timed.spilled_bytes,
        peak,
    })
}

/// The numbers `0..records` as `u64`, in `partitions` partitions.
fn numbers(ctx: &Context, records: u64, partitions: usize) -> anyhow::Result<Rdd<u64>> {
    Ok(ctx.range(0, i64::try_from(records)?, 1, partitions)?.map(|i| i as u64))
}

/// The checksum term of one sorted record.
fn pair_checksum(key: u64, value: u64) -> u64 {
    key ^ value.rotate_left(17)
}

/// The sort's key of record `i`: `i` well mixed.
fn sort_key(i: u64) -> u64 {
    key(i, u64::MAX)
}

/// One sorted partition, summed up where it lies.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct PartitionSummary {
    records: u64,
    /// The first and last keys, if the partition has records.
    first_key: Option<u64>,
    last_key: Option<u64>,
    /// Whether every key is ≥ the one before it.
    sorted: bool,
    /// The wrapping sum of `pair_checksum` over the partition.
    checksum: u64,
}

impl PartitionSummary {
    fn of(records: BoxIter<(u64, u64)>) -> PartitionSummary {
        let mut s = PartitionSummary { records: 0, first_key: None, last_key: None, sorted: true, checksum: 0 };
        for (k, v) in records {
            match s.last_key {
                Some(last) => s.sorted &= last <= k,
                None => s.first_key = Some(k),
            }
            s.last_key = Some(k);
            s.records += 1;
            s.checksum = s.checksum.wrapping_add(pair_checksum(k, v));
        }
        s
    }
}

fn sort_by_key(ctx: &Context, n: u64, parts: usize, recorder: &RecordingListener) -> anyhow::Result<Timed> {
    let start = Instant::now();
    let sorted = numbers(ctx, n, parts)?.map(|i| (sort_key(i), i)).sort_by_key(true, parts)?;
    let count = sorted.count()?;
    let timed = Timed::since(start, ctx, recorder);
    anyhow::ensure!(count == n, "sort_by_key: count {count}, expected {n}");
    let summaries: Vec<PartitionSummary> =
        sorted.map_partitions(|records| std::iter::once(PartitionSummary::of(records))).collect()?;
    check_sorted(&summaries, n)?;
    let checksum = summaries.iter().fold(0u64, |sum, s| sum.wrapping_add(s.checksum));
    let expected = (0..n).fold(0u64, |sum, i| sum.wrapping_add(pair_checksum(sort_key(i), i)));
    anyhow::ensure!(checksum == expected, "sort_by_key: checksum {checksum:#x}, expected {expected:#x}");
    Ok(timed)
}

/// Every partition sorted, each one's keys ≥ the previous one's, `n` records in all.
fn check_sorted(summaries: &[PartitionSummary], n: u64) -> anyhow::Result<()> {
    let records: u64 = summaries.iter().map(|s| s.records).sum();
    anyhow::ensure!(records == n, "sort_by_key: the partitions hold {records} records, expected {n}");
    let mut previous_last: Option<u64> = None;
    for (index, s) in summaries.iter().enumerate() {
        anyhow::ensure!(s.sorted, "sort_by_key: partition {index} is not sorted");
        if let (Some(last), Some(first)) = (previous_last, s.first_key) {
            anyhow::ensure!(last <= first, "sort_by_key: partition {index} starts below its predecessor's end");
        }
        previous_last = s.last_key.or(previous_last);
    }
    Ok(())
}

/// N/10 distinct keys (at least 1).
fn distinct_keys(n: u64) -> anyhow::Result<u64> {
    let keys = (n / 10).max(1);
    anyhow::ensure!(keys < 1 << 32, "{n} records: more keys than the key function can mix");
    anyhow::ensure!(gcd(KEY_STRIDE, keys) == 1, "{keys} keys share a factor with the key stride");
    Ok(keys)
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// The key of record `i` among `keys`: `i mod keys` times a unit modulo
/// `keys`, a bijection of the residues, so `0..n` (n ≥ keys) hits every key.
fn distinct_key(i: u64, keys: u64) -> u64 {
    (i % keys) * KEY_STRIDE % keys
}

/// A weight per key, so that a checksum of per-key sums catches values
/// summed under the wrong key, not just a wrong total.
fn key_weight(key: u64) -> u64 {
    sort_key(key) | 1
}

/// Σ weight(key(i)) · i over the records, wrapping: equal to Σ over keys of
/// weight(key) · (that key's sum of values), which the engine's output gives.
fn expected_keyed_checksum(n: u64, keys: u64) -> u64 {
    (0..n).fold(0u64, |sum, i| sum.wrapping_add(key_weight(distinct_key(i, keys)).wrapping_mul(i)))
}

/// `(key, i)` for every record `i`, with N/10 distinct keys.
fn keyed(ctx: &Context, n: u64, keys: u64, parts: usize) -> anyhow::Result<Rdd<(u64, u64)>> {
    Ok(numbers(ctx, n, parts)?.map_with(keys, |&keys, i| (distinct_key(i, keys), i)))
}

fn reduce_by_key(ctx: &Context, n: u64, parts: usize, recorder: &RecordingListener) -> anyhow::Result<Timed> {
    let keys = distinct_keys(n)?;
    let start = Instant::now();
    let sums = keyed(ctx, n, keys, parts)?.reduce_by_key(u64::wrapping_add);
    let count = sums.count()?;
    let timed = Timed::since(start, ctx, recorder);
    anyhow::ensure!(count == keys, "reduce_by_key: {count} keys, expected {keys}");
    let checksum = sums.map(|(k, sum)| key_weight(k).wrapping_mul(sum)).fold(0, u64::wrapping_add)?;
    let expected = expected_keyed_checksum(n, keys);
    anyhow::ensure!(checksum == expected, "reduce_by_key: checksum {checksum:#x}, expected {expected:#x}");
    Ok(timed)
}

fn group_by_key(ctx: &Context, n: u64, parts: usize, recorder: &RecordingListener) -> anyhow::Result<Timed> {
    let keys = distinct_keys(n)?;
    let start = Instant::now();
    let groups = keyed(ctx, n, keys, parts)?.group_by_key();
    let count = groups.count()?;
    let timed = Timed::since(start, ctx, recorder);
    anyhow::ensure!(count == keys, "group_by_key: {count} groups, expected {keys}");
    let (values, checksum) = groups
        .map(|(k, values)| {
            let weighted = values.iter().fold(0u64, |sum, v| sum.wrapping_add(key_weight(k).wrapping_mul(*v)));
            (values.len() as u64, weighted)
        })
        .fold((0, 0), |(n1, c1), (n2, c2)| (n1 + n2, c1.wrapping_add(c2)))?;
    anyhow::ensure!(values == n, "group_by_key: {values} values in the groups, expected {n}");
    let expected = expected_keyed_checksum(n, keys);
    anyhow::ensure!(checksum == expected, "group_by_key: checksum {checksum:#x}, expected {expected:#x}");
    Ok(timed)
}

/// The table's header, for a budget of `budget` bytes of RSS (if any).
pub fn table_header(budget: Option<u64>) -> String {
    let target = budget.map_or("target".to_string(), |b| format!("peak ≤ {:.0} MiB", mib(b)));
    format!(
        "| workload | time | M records/s | shuffle written | spilled | peak RSS, all processes | peak RSS per process | {target} |\n\
         |---|---|---|---|---|---|---|---|\n"
    )
}

/// One table row.
pub fn row(run: &ShuffleRun, budget: Option<u64>) -> String {
    let spilled = format!("{:.0} MiB", mib(run.spilled_bytes));
    format!(
        "| {} | {:.1} s | {:.2} | {:.0} MiB | {spilled} | {:.0} MiB | {} | {} |\n",
        describe(run.workload, run.records, run.partitions),
        run.seconds,
        run.records as f64 / run.seconds / 1e6,
        mib(run.shuffle_bytes),
        mib(run.peak.total),
        run.peak.describe_per_process(),
        budget_verdict(run.peak.total, budget),
    )
}

/// The row of a workload that failed.
pub fn failed_row(workload: Workload, records: u64, partitions: usize, error: &str) -> String {
    let described = describe(workload, records, partitions);
    format!("| {described} | failed: {error} | | | | | | fail |\n")
}

fn describe(workload: Workload, records: u64, partitions: usize) -> String {
    let n = super::count_label(records);
    let keys = format!("N/10 = {} keys, ", super::count_label(records / 10));
    let (name, keys) = match workload {
        Workload::SortByKey => ("sort_by_key", ""),
        Workload::ReduceByKey => ("reduce_by_key", keys.as_str()),
        Workload::GroupByKey => ("group_by_key", keys.as_str()),
        _ => ("?", ""),
    };
    format!("{name}, N = {n} (u64,u64), {keys}{partitions} partitions")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_keys_hit_every_key() {
        for n in [10, 1000, 12_345, 100_000] {
            let keys = distinct_keys(n).unwrap();
            let mut seen = vec![false; keys as usize];
            (0..n).for_each(|i| seen[distinct_key(i, keys) as usize] = true);
            assert!(seen.iter().all(|s| *s), "n = {n}");
        }
    }
}
