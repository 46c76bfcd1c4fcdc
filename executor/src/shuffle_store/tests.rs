use super::*;
use ember_rdd::memory::{MemoryManager, TaskMemory};
use ember_rdd::shuffle::SpillEnv;
use ember_rdd::shuffle::frame::RecordReader;
use ember_rdd::shuffle::map_output::NonEmptyBlocks;
use ember_rdd::shuffle::writer::ShuffleWriter;

/// A map output of `records` over 4 partitions (key % 4), written in `dir`.
fn output(dir: &Path, records: &[(u64, u64)]) -> MapOutputFile {
    let env = SpillEnv::standalone(TaskMemory::new(MemoryManager::unlimited()), dir.to_path_buf(), true);
    let mut w = ShuffleWriter::new(env, 4);
    for r in records {
        w.insert((r.0 % 4) as usize, r).unwrap();
    }
    w.finish().unwrap()
}

fn read_block(output: Arc<StoredMapOutput>, reduce: u32) -> Vec<(u64, u64)> {
    let block = LocalBlock::new(output, reduce).unwrap();
    let mut r = RecordReader::<(u64, u64), _>::new(block, "test".into());
    let mut out = Vec::new();
    while let Some(x) = r.next_record().unwrap() {
        out.push(x);
    }
    out
}

#[test]
fn committed_outputs_are_read_back_and_the_first_commit_stays() {
    let dir = tempfile::tempdir().unwrap();
    let store = ShuffleStore::new(dir.path().to_path_buf());
    let records: Vec<(u64, u64)> = (0..1000).map(|i| (i * 2, i)).collect();
    let summary = store.commit(ShuffleId(1), 3, output(dir.path(), &records)).unwrap();
    assert_eq!(summary.non_empty, NonEmptyBlocks::Only(vec![0, 2]));
    assert_eq!(summary.records, 1000);
    let stored = store.get(ShuffleId(1), 3).unwrap();
    assert!(stored.path().ends_with("shuffle_1_3.data"));
    let expected: Vec<(u64, u64)> = records.iter().filter(|r| r.0 % 4 == 2).copied().collect();
    assert_eq!(read_block(stored.clone(), 2), expected);
    assert!(read_block(stored, 1).is_empty());
    // A second attempt of the same map task: its file is dropped, the first stays.
    let again = store.commit(ShuffleId(1), 3, output(dir.path(), &records[..10])).unwrap();
    assert_eq!(again.records, 1000);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    assert!(store.get(ShuffleId(1), 2).is_none());
    assert!(store.get(ShuffleId(2), 3).is_none());
}

#[test]
fn removing_a_shuffle_deletes_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = ShuffleStore::new(dir.path().to_path_buf());
    for map in 0..3 {
        store.commit(ShuffleId(7), map, output(dir.path(), &[(1, 1), (2, 2)])).unwrap();
    }
    store.commit(ShuffleId(8), 0, output(dir.path(), &[(1, 1)])).unwrap();
    assert_eq!(store.outputs(), 4);
    store.remove_shuffle(ShuffleId(7));
    assert_eq!(store.outputs(), 1);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("shuffle_8_0.data")]);
}
