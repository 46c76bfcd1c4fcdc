//! Shuffles larger than executor memory: they finish with the right answer
//! while the backends' memory stays bounded, survive an executor killed in
//! the reduce stage with the identical answer, delete their files when no
//! RDD reads them and when the application ends, and an unusable local
//! directory is an error that names it.
//!
//! Executors get 16 MiB (`local-cluster[2,1,16]`), so that modest inputs
//! spill on both sides of every shuffle.

use ember::listener::TaskEndInfo;
use ember::listener::{ListenerEvent, RecordingListener};
use ember::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MEMORY_MB: u64 = 16;
const MASTER: &str = "local-cluster[2,1,16]";

/// A well-mixed 64-bit hash.
fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Record `i`: a hashed key and a 256-byte text of hex digits (about 300
/// bytes in memory, 263 serialized, about half that compressed).
fn record(i: i64) -> (u64, String) {
    let h = mix(i as u64);
    let mut text = String::with_capacity(TEXT_BYTES);
    let mut x = h;
    for _ in 0..TEXT_BYTES / 16 {
        x = mix(x);
        text.push_str(&format!("{x:016x}"));
    }
    (h % 1_000_000_007, text)
}

const TEXT_BYTES: usize = 256;

/// Bytes a record takes serialized, before compression (at most).
const RECORD_BYTES: u64 = 5 + 2 + TEXT_BYTES as u64;

fn record_hash(r: &(u64, String)) -> u64 {
    mix(r.0 ^ mix(r.1.len() as u64 ^ u64::from_str_radix(&r.1[..16], 16).unwrap_or(0)))
}

/// What a sorted partition is checked by: its count, an order-free and an
/// order-sensitive checksum, whether it is sorted, its first and last key.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct PartitionCheck {
    count: u64,
    sum: u64,
    ordered: u64,
    sorted: bool,
    first: Option<u64>,
    last: Option<u64>,
}

fn check_partition(it: impl Iterator<Item = (u64, String)>) -> PartitionCheck {
    let mut c = PartitionCheck { count: 0, sum: 0, ordered: 0, sorted: true, first: None, last: None };
    for r in it {
        let h = record_hash(&r);
        c.count += 1;
        c.sum = c.sum.wrapping_add(h);
        c.ordered = c.ordered.rotate_left(7) ^ h;
        c.sorted &= c.last.is_none_or(|last| last <= r.0);
        c.first.get_or_insert(r.0);
        c.last = Some(r.0);
    }
    c
}

/// The checks of every partition of `records` sorted by key in 4 partitions.
fn sort_and_check(ctx: &Context, records: i64) -> Vec<PartitionCheck> {
    let sorted = ctx.range(0, records, 1, 8).unwrap().map(record).sort_by_key(true, 4).unwrap();
    sorted.map_partitions(|it| std::iter::once(check_partition(it))).collect().unwrap()
}

fn expected_sum(records: i64) -> u64 {
    (0..records).map(|i| record_hash(&record(i))).fold(0u64, |a, b| a.wrapping_add(b))
}

/// Asserts the partitions hold every record once, each sorted, in order.
fn assert_sorted_whole(checks: &[PartitionCheck], records: i64) {
    assert_eq!(checks.iter().map(|c| c.count).sum::<u64>(), records as u64);
    let sum = checks.iter().fold(0u64, |a, c| a.wrapping_add(c.sum));
    assert_eq!(sum, expected_sum(records), "the multiset of records");
    assert!(checks.iter().all(|c| c.sorted), "{checks:?}");
    for w in checks.windows(2) {
        if let (Some(last), Some(first)) = (w[0].last, w[1].first) {
            assert!(last <= first, "partitions out of order: {checks:?}");
        }
    }
}

/// Resident memory of a process, in bytes.
fn rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb * 1024)
}

/// Samples the resident memory of `pids` every 10 ms until dropped; keeps
/// each one's peak.
struct RssSampler {
    peaks: Arc<Mutex<HashMap<u32, u64>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    fn start(pids: Vec<u32>) -> Self {
        let peaks = Arc::new(Mutex::new(HashMap::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peaks.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                for &pid in &pids {
                    if let Some(bytes) = rss(pid) {
                        let mut peaks = p.lock().unwrap();
                        let peak = peaks.entry(pid).or_insert(0);
                        *peak = (*peak).max(bytes);
                    }
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        RssSampler { peaks, stop, thread: Some(thread) }
    }

    fn finish(mut self) -> HashMap<u32, u64> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        self.peaks.lock().unwrap().clone()
    }
}

fn spilled_bytes(recorder: &RecordingListener) -> u64 {
    recorder
        .events()
        .iter()
        .map(|e| match e {
            ListenerEvent::TaskEnd(TaskEndInfo { metrics, .. }) => metrics.disk_bytes_spilled,
            _ => 0,
        })
        .sum()
}

fn cluster(extra: &[(&str, &str)]) -> (Context, Arc<RecordingListener>) {
    let conf = extra.iter().fold(Conf::new().master(MASTER).set("ember.ui.enabled", false), |c, (k, v)| c.set(*k, *v));
    let ctx = Context::new(conf).expect("context starts");
    let recorder = Arc::new(RecordingListener::default());
    ctx.add_listener(recorder.clone());
    (ctx, recorder)
}

/// Records whose shuffle is more than 8× the executor memory: 540,000
/// records of ~263 serialized bytes (142 MB), ~160 MB in memory.
const BIG: i64 = 540_000;

#[test]
fn a_sort_of_eight_times_executor_memory_finishes_in_bounded_memory() {
    let (ctx, recorder) = cluster(&[]);
    let pids = ctx.backend_pids();
    let baseline: Vec<u64> = pids.iter().map(|&p| rss(p).expect("backend alive")).collect();
    let sampler = RssSampler::start(pids.clone());
    let checks = sort_and_check(&ctx, BIG);
    let peaks = sampler.finish();
    assert_sorted_whole(&checks, BIG);
    ctx.flush_listeners();
    let spilled = spilled_bytes(&recorder);
    let written: u64 = recorder
        .events()
        .iter()
        .map(|e| match e {
            ListenerEvent::TaskEnd(TaskEndInfo { metrics, .. }) => metrics.shuffle_write_bytes,
            _ => 0,
        })
        .sum();
    let memory = MEMORY_MB << 20;
    assert!(BIG as u64 * RECORD_BYTES > 8 * memory, "the records are {} bytes", BIG as u64 * RECORD_BYTES);
    assert!(written > 3 * memory, "the shuffle wrote {written} bytes (compressed)");
    assert!(spilled > 0, "both sides must spill");
    // Each backend stays within its budget twice over, plus what it used
    // before the job (code, runtime): nothing grows with the data.
    for (pid, base) in pids.iter().zip(baseline) {
        let peak = peaks[pid];
        eprintln!("backend {pid}: {} MiB before, {} MiB at peak", base >> 20, peak >> 20);
        assert!(peak <= base + 2 * memory + (16 << 20), "backend {pid} peaked at {peak} bytes (from {base})");
    }
}

#[test]
fn an_executor_killed_in_the_reduce_stage_gives_the_identical_answer() {
    const RECORDS: i64 = 200_000;
    let (ctx, _) = cluster(&[]);
    let undisturbed = sort_and_check(&ctx, RECORDS);
    drop(ctx);

    let (ctx, recorder) = cluster(&[("ember.executor.prefetchTasks", "0")]);
    let sorted = ctx.range(0, RECORDS, 1, 8).unwrap().map(record).sort_by_key(true, 4).unwrap();
    let checked = sorted.map_partitions(|it| {
        std::thread::sleep(Duration::from_millis(300));
        std::iter::once(check_partition(it))
    });
    let reduce_rdd = checked.id();
    let job = checked.collect_async();
    let victim = ctx.local_cluster_backends().into_iter().find(|(id, _)| id.0 == "exec-1").expect("exec-1").1;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        ctx.flush_listeners();
        let events = recorder.events();
        let reduce_stage = events.iter().find_map(|e| match e {
            ListenerEvent::StageSubmitted { stage, rdd, .. } if *rdd == reduce_rdd => Some(*stage),
            _ => None,
        });
        let started =
            events.iter().any(|e| matches!(e, ListenerEvent::TaskStart { stage, .. } if Some(*stage) == reduce_stage));
        if started {
            break;
        }
        assert!(Instant::now() < deadline, "the reduce stage never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: kill(2) of a backend this test's context started.
    assert_eq!(unsafe { libc::kill(victim as i32, libc::SIGKILL) }, 0);
    let checks = futures::executor::block_on(job).expect("the job survives the kill");
    assert_eq!(checks, undisturbed, "the same records in the same order in every partition");
    assert_sorted_whole(&checks, RECORDS);
}

/// The map output files under `dir`.
fn shuffle_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("shuffle_")) {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn shuffle_files_go_when_the_rdd_is_dropped_and_when_the_application_ends() {
    for master in ["local[2]", MASTER] {
        let local_dir = tempfile::tempdir().unwrap();
        let conf = Conf::new()
            .master(master)
            .set("ember.ui.enabled", false)
            .set("ember.local.dir", local_dir.path().display());
        let ctx = Context::new(conf).unwrap();
        let counts = ctx.range(0, 10_000, 1, 4).unwrap().map(|x| (x % 100, 1u64)).reduce_by_key(|a, b| a + b);
        assert_eq!(counts.count().unwrap(), 100);
        assert_eq!(shuffle_files(local_dir.path()).len(), 4, "{master}: one file per map task");
        let kept = ctx.range(0, 1000, 1, 2).unwrap().map(|x| (x % 7, x)).group_by_key();
        assert_eq!(kept.count().unwrap(), 7);
        drop(counts);
        let deadline = Instant::now() + Duration::from_secs(20);
        while shuffle_files(local_dir.path()).len() != 2 {
            assert!(Instant::now() < deadline, "{master}: {:?}", shuffle_files(local_dir.path()));
            std::thread::sleep(Duration::from_millis(10));
        }
        // Still readable: the released shuffle was the other one.
        assert_eq!(kept.count().unwrap(), 7);
        ctx.stop();
        let left: Vec<_> = std::fs::read_dir(local_dir.path()).unwrap().flatten().map(|e| e.path()).collect();
        assert!(left.is_empty(), "{master}: the application's directories remain: {left:?}");
    }
}

#[test]
fn an_unusable_local_dir_is_an_error_that_names_it() {
    let not_a_dir = tempfile::NamedTempFile::new().unwrap();
    let bad = not_a_dir.path().join("sub");
    for master in ["local[2]", "local-cluster[2]"] {
        let conf = Conf::new().master(master).set("ember.ui.enabled", false).set("ember.local.dir", bad.display());
        let ctx = Context::new(conf).unwrap();
        let e = ctx.range(0, 100, 1, 2).unwrap().map(|x| (x % 3, x)).reduce_by_key(|a, b| a + b).count().unwrap_err();
        let message = e.to_string();
        assert!(message.contains(&bad.display().to_string()), "{master}: {message}");
        assert!(message.contains("ember.local.dir"), "{master}: {message}");
    }
}

#[test]
fn aggregations_and_joins_past_memory_equal_a_plain_model() {
    let (ctx, recorder) = cluster(&[]);
    const KEYS: u64 = 40_000;
    let (n, keys) = (150_000u64, KEYS);
    // Two partitions: each task has ~20 MB of text, more than its memory.
    let pairs = ctx.range(0, n as i64, 1, 2).unwrap().map(|i| (mix(i as u64) % KEYS, record(i).1));
    let mut lengths: HashMap<u64, u64> = HashMap::new();
    let mut counts: HashMap<u64, usize> = HashMap::new();
    for i in 0..n {
        *lengths.entry(mix(i) % keys).or_default() += TEXT_BYTES as u64;
        *counts.entry(mix(i) % keys).or_default() += 1;
    }

    let summed: HashMap<u64, u64> =
        pairs.map_values(|s| s.len() as u64).reduce_by_key(|a, b| a + b).collect().unwrap().into_iter().collect();
    assert_eq!(summed, lengths);

    let groups = pairs.group_by_key().map_values(|vs| vs.len()).collect().unwrap();
    assert_eq!(groups.into_iter().collect::<HashMap<_, _>>(), counts);

    let small = ctx.range(0, keys as i64, 1, 3).unwrap().map(|k| (k as u64, k as u64 * 2));
    let joined = pairs.join(&small).map(|(k, (s, twice))| (k, s.len() as u64 + twice));
    let total = joined.map(|(_, v)| v).fold(0u64, |a, b| a + b).unwrap();
    let expected: u64 = (0..n).map(|i| TEXT_BYTES as u64 + 2 * (mix(i) % keys)).sum();
    assert_eq!(total, expected);

    ctx.flush_listeners();
    assert!(spilled_bytes(&recorder) > 0, "these shuffles must spill in 16 MiB");
}
