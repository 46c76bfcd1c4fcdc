use super::*;
use crate::ids::RddId;

/// Cached blocks as a list of sizes, evicted front first.
#[derive(Default)]
struct FakeStore {
    blocks: Mutex<Vec<u64>>,
}

impl StorageEvictor for FakeStore {
    fn evict(&self, bytes: u64, _keep: Option<BlockId>) -> u64 {
        let mut blocks = self.blocks.lock().unwrap();
        let mut freed = 0;
        while freed < bytes && !blocks.is_empty() {
            freed += blocks.remove(0);
        }
        freed
    }
}

fn block(i: usize) -> BlockId {
    BlockId { rdd: RddId(1), partition: i }
}

/// A manager of `unified` bytes (half of them the storage floor) and its store.
fn manager(unified: u64) -> (Arc<MemoryManager>, Arc<FakeStore>) {
    let config = MemoryConfig { executor_memory: unified * 2, fraction: 0.5, storage_fraction: 0.5 };
    let mm = Arc::new(MemoryManager::new(config));
    let store = Arc::new(FakeStore::default());
    let weak: Weak<dyn StorageEvictor> = Arc::downgrade(&(store.clone() as Arc<dyn StorageEvictor>));
    mm.set_evictor(weak);
    (mm, store)
}

fn cache(mm: &MemoryManager, store: &FakeStore, i: usize, bytes: u64) -> bool {
    let ok = mm.acquire_storage(block(i), bytes);
    if ok {
        store.blocks.lock().unwrap().push(bytes);
    }
    ok
}

#[test]
fn storage_evicts_older_blocks_to_fit_a_new_one() {
    let (mm, store) = manager(1000);
    assert!(cache(&mm, &store, 0, 400));
    assert!(cache(&mm, &store, 1, 400));
    assert!(cache(&mm, &store, 2, 400), "the oldest block makes room");
    assert_eq!(*store.blocks.lock().unwrap(), vec![400, 400]);
    assert_eq!(mm.usage().storage_bytes, 800);
    assert!(!mm.acquire_storage(block(3), 1001), "larger than the whole budget");
}

#[test]
fn execution_takes_back_borrowed_storage_but_not_the_floor() {
    let (mm, store) = manager(1000);
    for i in 0..4 {
        assert!(cache(&mm, &store, i, 250));
    }
    let task = TaskMemory::new(mm.clone());
    let mut r = task.reservation();
    // Storage holds everything; execution may evict down to the floor (500).
    assert_eq!(r.grow(800), 500);
    assert_eq!(mm.usage(), MemoryUsage { storage_bytes: 500, execution_bytes: 500, limit_bytes: 1000 });
    // Storage may not evict execution memory.
    assert!(!cache(&mm, &store, 9, 600));
    drop(r);
    assert_eq!(mm.usage().execution_bytes, 0);
    assert_eq!(task.peak(), 500);
}

#[test]
fn ensure_asks_for_twice_the_shortfall_and_says_when_to_spill() {
    let (mm, _store) = manager(1000);
    let task = TaskMemory::new(mm.clone());
    let mut r = task.reservation();
    assert!(r.ensure(100));
    assert_eq!(r.size(), 200);
    assert!(r.ensure(150), "already held");
    assert!(!r.ensure(1100), "only 1000 in all");
    assert_eq!(r.size(), 1000);
    r.shrink_to(10);
    assert_eq!(mm.usage().execution_bytes, 10);
    r.free();
    assert_eq!(mm.usage().execution_bytes, 0);
}

#[test]
fn a_second_task_waits_for_its_fair_share() {
    let (mm, _store) = manager(1000);
    let first = TaskMemory::new(mm.clone());
    let mut held = first.reservation();
    assert_eq!(held.grow(1000), 1000, "alone, a task may take the whole pool");
    let second = TaskMemory::new(mm.clone());
    let waiter = std::thread::spawn(move || {
        let mut r = second.reservation();
        let granted = r.grow(400);
        (granted, r)
    });
    // The second task cannot get its minimum (1/4 of the pool) until the
    // first gives memory back; it waits instead of getting nothing.
    while mm.lock().task_to_execution.len() < 2 {
        std::thread::yield_now();
    }
    held.shrink_to(500);
    let (granted, _r) = waiter.join().unwrap();
    assert_eq!(granted, 400, "up to half the pool with two tasks");
}

#[test]
fn a_task_never_holds_more_than_its_share_while_others_run() {
    let (mm, _store) = manager(1000);
    let a = TaskMemory::new(mm.clone());
    let b = TaskMemory::new(mm.clone());
    let mut rb = b.reservation();
    assert_eq!(rb.grow(100), 100);
    let mut ra = a.reservation();
    assert_eq!(ra.grow(900), 500, "two tasks: at most half each");
    drop(b);
    drop(rb);
    assert_eq!(ra.grow(500), 500, "alone again");
}

#[test]
fn an_ended_task_no_longer_counts_for_fair_shares() {
    let (mm, _store) = manager(1000);
    let ended = TaskMemory::new(mm.clone());
    let mut r = ended.reservation();
    r.grow(300);
    drop(r);
    drop(ended);
    assert!(mm.lock().task_to_execution.is_empty());
    let alone = TaskMemory::new(mm.clone());
    assert_eq!(alone.reservation().grow(1000), 1000, "the only task may take everything");
}

#[test]
fn no_limit_grants_everything() {
    let mm = MemoryManager::unlimited();
    let task = TaskMemory::new(mm.clone());
    let mut r = task.reservation();
    assert_eq!(r.grow(u64::MAX / 4), u64::MAX / 4);
    assert!(mm.acquire_storage(block(0), 1 << 40));
    assert!(task.is_unlimited());
}
