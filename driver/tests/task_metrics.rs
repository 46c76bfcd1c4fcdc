//! Task metrics from real jobs, in process and across processes: what tasks
//! report reading (input from files, parallelized collections and the cache;
//! shuffle reads) adds up to what the job was given, in the listener events
//! and in the JSON API.

mod ui_common;

use ember::listener::TaskEndInfo;
use ember::listener::{BlockPlacement, ListenerEvent, RecordingListener};
use ember::prelude::*;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use ui_common::{get_json, ui_context};

const MASTERS: [&str; 2] = ["local[2]", "local-cluster[2]"];

/// What the successful tasks of one stage reported, added up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Totals {
    tasks: usize,
    records_read: u64,
    bytes_read: u64,
    shuffle_read_records: u64,
    shuffle_read_bytes: u64,
    shuffle_write_bytes: u64,
}

/// Totals by stage id, over the successful task ends recorded.
fn totals_by_stage(recorder: &RecordingListener) -> BTreeMap<u64, Totals> {
    let mut out: BTreeMap<u64, Totals> = BTreeMap::new();
    for event in recorder.events() {
        if let ListenerEvent::TaskEnd(TaskEndInfo { stage, succeeded: true, metrics: m, .. }) = event {
            let t = out.entry(stage.0).or_default();
            t.tasks += 1;
            t.records_read += m.records_read;
            t.bytes_read += m.bytes_read;
            t.shuffle_read_records += m.shuffle_read_records;
            t.shuffle_read_bytes += m.shuffle_read_bytes;
            t.shuffle_write_bytes += m.shuffle_write_bytes;
        }
    }
    out
}

/// A context on `master` with a recording listener (and the UI on a free port).
fn recorded(master: &str) -> (Context, Arc<RecordingListener>) {
    let ctx = ui_context(master, &[]);
    let recorder = Arc::new(RecordingListener::default());
    ctx.add_listener(recorder.clone());
    (ctx, recorder)
}

/// A text file of 500 lines of 0 to 36 bytes: some empty, some ending in
/// `\r\n`, the last one without a terminator. Returns its size.
fn write_lines(path: &std::path::Path) -> u64 {
    let mut text = String::new();
    for i in 0..500 {
        text.push_str(&"x".repeat(i % 37));
        if i < 499 {
            text.push_str(if i % 5 == 0 { "\r\n" } else { "\n" });
        }
    }
    std::fs::write(path, &text).unwrap();
    text.len() as u64
}

#[test]
fn text_file_input_adds_up_to_the_files_lines_and_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lines.txt");
    let size = write_lines(&path);
    let path = path.to_str().unwrap();
    for master in MASTERS {
        let (ctx, recorder) = recorded(master);
        // 13 splits of ~1 KiB cut most lines in two: each line counts once,
        // in the split where it starts.
        assert_eq!(ctx.text_file(path, 13).unwrap().count().unwrap(), 500, "{master}");
        ctx.flush_listeners();
        let stages = totals_by_stage(&recorder);
        let stage = stages.values().next().copied().unwrap_or_default();
        assert_eq!(stages.len(), 1, "{master}: {stages:?}");
        assert_eq!((stage.records_read, stage.bytes_read), (500, size), "{master}: {stage:?}");

        // The JSON API: the stage, its tasks' summary, and the executors.
        let addr = ctx.ui_address().unwrap();
        let api = format!("/api/v1/applications/{}", ctx.app_id());
        let stage = get_json(addr, &format!("{api}/stages/0/1"));
        assert_eq!((stage["inputRecords"].as_u64(), stage["inputBytes"].as_u64()), (Some(500), Some(size)), "{stage}");
        let tasks = stage["tasks"].as_object().unwrap();
        let per_task: u64 = tasks.values().map(|t| t["taskMetrics"]["inputBytes"].as_u64().unwrap()).sum();
        assert_eq!(per_task, size, "{stage}");
        let summary = get_json(addr, &format!("{api}/stages/0/1/taskSummary?quantiles=0,1"));
        assert!(summary["inputRecords"][1].as_f64().unwrap() > 0.0, "{summary}");
        let executors = get_json(addr, &format!("{api}/executors"));
        let total = |key: &str| executors.as_array().unwrap().iter().map(|e| e[key].as_u64().unwrap()).sum::<u64>();
        assert_eq!((total("totalInputRecords"), total("totalInputBytes")), (500, size), "{executors}");
        let page = ui_common::get_page(addr, "/stages/stage/?id=0&attempt=1");
        assert!(page.contains("Input Size / Records") && page.contains(" / 500<"), "{page}");

        // A parsed text file reads the same lines, kept or skipped.
        recorder.clear();
        let parsed = ctx.text_file_parsed(path, 4, |l: &str| Ok((!l.is_empty()).then_some(l.len()))).unwrap();
        assert_eq!(parsed.count().unwrap(), 500 - 14, "{master}");
        ctx.flush_listeners();
        let stage = totals_by_stage(&recorder).values().next().copied().unwrap_or_default();
        assert_eq!((stage.records_read, stage.bytes_read), (500, size), "{master}: {stage:?}");
    }
}

#[test]
fn parallelize_counts_the_records_a_task_consumed() {
    for master in MASTERS {
        let (ctx, recorder) = recorded(master);
        let rdd = ctx.parallelize((0..1000u64).collect(), 4);
        assert_eq!(rdd.map(|x| x + 1).count().unwrap(), 1000);
        ctx.flush_listeners();
        let stage = totals_by_stage(&recorder).values().next().copied().unwrap_or_default();
        assert_eq!((stage.tasks, stage.records_read, stage.bytes_read), (4, 1000, 0), "{master}: {stage:?}");

        // take(5) reads five records of the first partition, not its 250.
        recorder.clear();
        assert_eq!(rdd.take(5).unwrap(), vec![0, 1, 2, 3, 4]);
        ctx.flush_listeners();
        let stage = totals_by_stage(&recorder).values().next().copied().unwrap_or_default();
        assert_eq!((stage.tasks, stage.records_read), (1, 5), "{master}: {stage:?}");
    }
}

#[test]
fn a_cached_rdd_read_again_reports_its_blocks_as_input() {
    for master in MASTERS {
        let (ctx, recorder) = recorded(master);
        let cached = ctx.parallelize((0..1000u64).collect(), 4).map(|x| x * 2).cache();
        assert_eq!(cached.count().unwrap(), 1000);
        ctx.flush_listeners();
        // Computed: the records come from the parallelized collection.
        let first = totals_by_stage(&recorder).values().next().copied().unwrap_or_default();
        assert_eq!((first.records_read, first.bytes_read), (1000, 0), "{master}: {first:?}");
        let cached_bytes: u64 = recorder
            .events()
            .iter()
            .filter_map(|e| match e {
                ListenerEvent::BlockUpdated { block, placement: BlockPlacement::Memory, size_bytes, .. }
                    if block.rdd == cached.id() =>
                {
                    Some(*size_bytes)
                }
                _ => None,
            })
            .sum();
        assert!(cached_bytes >= 8 * 1000, "{master}: {cached_bytes}");

        // Read from the cache: every block's records, and its stored size.
        recorder.clear();
        assert_eq!(cached.map(|x| x + 1).reduce(|a, b| a + b).unwrap(), Some(999_000 + 1000));
        ctx.flush_listeners();
        let second = totals_by_stage(&recorder).values().next().copied().unwrap_or_default();
        assert_eq!((second.records_read, second.bytes_read), (1000, cached_bytes), "{master}: {second:?}");
    }
}

#[test]
fn a_shuffle_read_stage_reports_the_records_the_map_side_wrote() {
    // Map-side combine: each map partition writes one record per distinct
    // word in it, and the reduce side reads exactly those.
    let words: Vec<String> = (0..600).map(|i| format!("w{}", (i * 7) % 97)).collect();
    let partitions = 3;
    let len = words.len();
    let written: u64 = (0..partitions)
        .map(|i| words[i * len / partitions..(i + 1) * len / partitions].iter().collect::<HashSet<_>>().len() as u64)
        .sum();
    for master in MASTERS {
        let (ctx, recorder) = recorded(master);
        let counts = ctx.parallelize(words.clone(), partitions).map(|w| (w, 1u64)).reduce_by_key(|a, b| a + b);
        let counts = counts.collect().unwrap();
        assert_eq!(counts.len(), 97);
        assert_eq!(counts.iter().map(|(_, n)| n).sum::<u64>(), 600);
        ctx.flush_listeners();
        let stages = totals_by_stage(&recorder);
        let [map, reduce] = [stages[&0], stages[&1]];
        assert_eq!((map.records_read, map.shuffle_read_records), (600, 0), "{master}: {stages:?}");
        assert_eq!(reduce.records_read, 0, "{master}: {stages:?}");
        assert_eq!(reduce.shuffle_read_records, written, "{master}: {stages:?}");
        assert_eq!(reduce.shuffle_read_bytes, map.shuffle_write_bytes, "{master}: {stages:?}");

        let stage = get_json(ctx.ui_address().unwrap(), &format!("/api/v1/applications/{}/stages/1/1", ctx.app_id()));
        assert_eq!(stage["shuffleReadRecords"].as_u64(), Some(written), "{stage}");
    }
}
