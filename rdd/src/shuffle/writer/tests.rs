use super::*;
use crate::shuffle::frame::RecordReader;
use crate::shuffle::map_output::{block_range, read_footer};
use crate::shuffle::spill::FileRange;
use crate::shuffle::test_spill_env;
use std::sync::Arc;

/// The records of every block of a map output file.
fn read_blocks(output: MapOutputFile) -> Vec<Vec<(u64, String)>> {
    let (index_offset, blocks) = read_footer(output.file.file()).unwrap();
    assert_eq!((index_offset, blocks), (output.index_offset, output.blocks));
    let file = Arc::new(output.file);
    (0..blocks)
        .map(|r| {
            let (start, end) = block_range(file.file(), index_offset, r).unwrap();
            let mut reader = RecordReader::new(FileRange::new(file.clone(), start, end), format!("block {r}"));
            let mut records = Vec::new();
            while let Some(x) = reader.next_record().unwrap() {
                records.push(x);
            }
            records
        })
        .collect()
}

fn write(memory: u64, partitions: usize, records: &[(u64, String)]) -> (MapOutputFile, SpillEnv) {
    let dir = std::env::temp_dir().join(format!("ember-writer-test-{}-{memory}-{partitions}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let env = test_spill_env(memory, &dir);
    let mut w = ShuffleWriter::new(env.clone(), partitions);
    for r in records {
        w.insert((r.0 % partitions as u64) as usize, r).unwrap();
    }
    (w.finish().unwrap(), env)
}

fn records(n: u64) -> Vec<(u64, String)> {
    (0..n).map(|i| (i.wrapping_mul(0x9E37_79B9) % 10_007, format!("record {i}"))).collect()
}

#[test]
fn blocks_hold_each_partitions_records_in_arrival_order_across_spills() {
    let data = records(200_000);
    for memory in [0, 256 << 10] {
        let (output, env) = write(memory, 7, &data);
        let dir = env.dir.clone();
        assert_eq!(output.summary.records, data.len() as u64);
        assert_eq!(output.summary.non_empty, NonEmptyBlocks::All);
        let spilled = env.metrics().disk_bytes_spilled;
        if memory == 0 {
            assert_eq!(spilled, 0, "no limit, no spill");
        } else {
            assert!(spilled > 0 && env.metrics().memory_bytes_spilled > 0, "a 256 KiB budget must spill");
        }
        let blocks = read_blocks(output);
        for (p, block) in blocks.iter().enumerate() {
            let expected: Vec<_> = data.iter().filter(|r| r.0 % 7 == p as u64).cloned().collect();
            assert_eq!(block, &expected, "partition {p} with memory {memory}");
        }
        // Spill files are gone; the output went with its TempFile.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir(&dir).unwrap();
    }
}

#[test]
fn empty_blocks_are_reported_and_hold_nothing() {
    let data: Vec<(u64, String)> = (0..100).map(|i| (i * 10, "x".into())).collect();
    let (output, env) = write(0, 1000, &data);
    let non_empty = output.summary.non_empty.clone();
    let expected: Vec<u32> = (0..100).map(|i| (i * 10) as u32).collect();
    assert_eq!(non_empty, NonEmptyBlocks::Only(expected));
    let blocks = read_blocks(output);
    assert_eq!(blocks.iter().filter(|b| !b.is_empty()).count(), 100);
    std::fs::remove_dir_all(&env.dir).unwrap();
}

#[test]
fn a_writer_whose_task_has_no_memory_left_does_not_spill_below_the_minimum() {
    let dir = std::env::temp_dir().join(format!("ember-writer-min-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let env = test_spill_env(4096, &dir);
    let env = SpillEnv { min_spill_bytes: crate::shuffle::MIN_SPILL_BYTES, ..env };
    // Another consumer of the task holds all its memory.
    let mut hog = env.memory.reservation();
    assert_eq!(hog.grow(4096), 4096);
    let mut w = ShuffleWriter::new(env.clone(), 16);
    for i in 0..20_000u64 {
        w.insert((i % 16) as usize, &(i, i)).unwrap();
    }
    assert_eq!(env.metrics().disk_bytes_spilled, 0, "under 1 MiB held, no spill file per record");
    for i in 0..200_000u64 {
        w.insert((i % 16) as usize, &(i, i)).unwrap();
    }
    assert!(env.metrics().disk_bytes_spilled > 0, "past 1 MiB, it spills");
    let output = w.finish().unwrap();
    assert_eq!(output.summary.records, 220_000);
    drop(output);
    std::fs::remove_dir_all(&dir).unwrap();
}
