//! Shuffle throughput: reduce_by_key and sort_by_key beside a plain
//! single-process HashMap and sort of the same data.

use ember::extend::task::TaskMetrics;
use ember::listener::TaskEndInfo;
use ember::listener::{ListenerEvent, RecordingListener};
use ember::prelude::*;
use ember_bench::report::Row;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// The i-th record of the benchmark data: a well-mixed key.
pub(crate) fn key(i: u64, keys: u64) -> u64 {
    let mut h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^= h >> 31;
    h % keys
}

/// Bytes the map tasks recorded so far wrote to their shuffles.
pub(crate) fn shuffle_bytes(recorder: &RecordingListener) -> u64 {
    task_metric_sum(recorder, |m| m.shuffle_write_bytes)
}

/// The sum of one metric over the tasks the recorder saw end.
pub(crate) fn task_metric_sum(recorder: &RecordingListener, metric: impl Fn(&TaskMetrics) -> u64) -> u64 {
    recorder
        .events()
        .iter()
        .map(|e| match e {
            ListenerEvent::TaskEnd(TaskEndInfo { metrics, .. }) => metric(metrics),
            _ => 0,
        })
        .sum()
}

/// One shuffle workload, timed in Ember and in its plain single-process counterpart.
struct Timing {
    records: u64,
    /// Bytes the Ember job wrote to its shuffle.
    shuffle_bytes: u64,
    ember_secs: f64,
    plain_secs: f64,
}

/// The report row of a shuffle workload: Ember's time and throughputs, beside
/// the plain counterpart (`plain`: its name in full and short, e.g.
/// `("Vec sort", "sort")`), which Ember should stay within 3× of.
fn shuffle_row(workload: String, master: &str, t: Timing, plain: (&str, &str)) -> Row {
    let (plain_name, plain_short) = plain;
    Row {
        workload,
        master: master.to_string(),
        result: format!(
            "{:.2} s, {:.1} M records/s, shuffle {:.0} MB/s",
            t.ember_secs,
            t.records as f64 / t.ember_secs / 1e6,
            t.shuffle_bytes as f64 / t.ember_secs / 1e6
        ),
        reference: format!(
            "{plain_name}: {:.2} s; Ember / {plain_short} = {:.2}",
            t.plain_secs,
            t.ember_secs / t.plain_secs
        ),
        target: format!("within 3× of the {plain_short}"),
    }
}

pub fn run(conf: Conf, scale: f64) -> anyhow::Result<Vec<Row>> {
    let records = (10_000_000.0 * scale) as u64;
    let keys = (1_000_000.0 * scale).max(1.0) as u64;
    let ctx = Context::new(conf)?;
    let master = ctx.conf().get("ember.master").unwrap_or("?").to_string();
    let recorder = Arc::new(RecordingListener::default());
    ctx.add_listener(recorder.clone());
    let parts = 8;
    let mut rows = Vec::new();

    // reduce_by_key
    let pairs = ctx.range(0, records as i64, 1, parts)?.map_with(keys, |&keys, i| (key(i as u64, keys), i as u64));
    let start = Instant::now();
    let distinct = pairs.reduce_by_key(|a, b| a.wrapping_add(b)).count()?;
    let ember_secs = start.elapsed().as_secs_f64();
    ctx.flush_listeners();
    let bytes = shuffle_bytes(&recorder);
    recorder.clear();
    let start = Instant::now();
    let mut map: HashMap<u64, u64> = HashMap::new();
    for i in 0..records {
        let e = map.entry(key(i, keys)).or_insert(0);
        *e = e.wrapping_add(i);
    }
    let plain_secs = start.elapsed().as_secs_f64();
    anyhow::ensure!(distinct == map.len() as u64, "reduce_by_key found {distinct} keys, the HashMap {}", map.len());
    drop(map);
    rows.push(shuffle_row(
        format!("reduce_by_key, {records} (u64,u64) pairs, {keys} keys, {parts} partitions"),
        &master,
        Timing { records, shuffle_bytes: bytes, ember_secs, plain_secs },
        ("HashMap", "HashMap"),
    ));

    // sort_by_key
    let unsorted = ctx.range(0, records as i64, 1, parts)?.map(|i| (key(i as u64, u64::MAX), i as u64));
    let start = Instant::now();
    let sorted = unsorted.sort_by_key(true, parts)?;
    let n = sorted.count()?;
    let ember_secs = start.elapsed().as_secs_f64();
    ctx.flush_listeners();
    let bytes = shuffle_bytes(&recorder);
    let start = Instant::now();
    let mut v: Vec<(u64, u64)> = (0..records).map(|i| (key(i, u64::MAX), i)).collect();
    v.sort_by_key(|r| r.0);
    let plain_secs = start.elapsed().as_secs_f64();
    anyhow::ensure!(n == v.len() as u64, "sort_by_key returned {n} records of {}", v.len());
    rows.push(shuffle_row(
        format!("sort_by_key, {records} (u64,u64) records, {parts} partitions"),
        &master,
        Timing { records, shuffle_bytes: bytes, ember_secs, plain_secs },
        ("Vec sort", "sort"),
    ));
    Ok(rows)
}
