//! The block manager: cached RDD partitions of one executor, in the storage
//! part of its memory manager, least recently used evicted first.
//!
//! Blocks are kept deserialized (`Arc<Vec<T>>`, erased). Room for a block is
//! asked of the [`MemoryManager`], which may have this manager evict others
//! ([`StorageEvictor`]): for a new block, or for a task's execution memory
//! (down to the storage floor). An evicted MEMORY_ONLY block is dropped (it
//! will be recomputed from lineage when next needed), a MEMORY_AND_DISK
//! block is serialized to the executor's spill directory and read back from
//! there. A block larger than the whole budget is never kept in memory.
//! Every change is reported through `on_update`, from which the driver
//! learns where partitions are cached (locality).

use ember_rdd::ids::{BlockId, RddId};
use ember_rdd::memory::{MemoryManager, StorageEvictor};
use ember_rdd::storage::{AnyValue, CachedBlock, SpillFn, StorageLevel, StoredBlock};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub use ember_rdd::storage::{BlockPlace, BlockUpdate};

pub type BlockListener = Arc<dyn Fn(BlockUpdate) + Send + Sync>;

enum Entry {
    Memory { value: AnyValue, size: u64, level: StorageLevel, spill: SpillFn, last_used: u64 },
    Disk { path: PathBuf, size: u64 },
}

#[derive(Default)]
struct State {
    entries: HashMap<BlockId, Entry>,
    /// Bytes held in memory.
    memory_used: u64,
    /// Logical clock for LRU order.
    clock: u64,
}

pub struct BlockManager {
    memory: Arc<MemoryManager>,
    spill_dir: PathBuf,
    state: Mutex<State>,
    on_update: BlockListener,
}

impl BlockManager {
    /// A block manager that the memory manager may ask to evict.
    pub fn new(memory: Arc<MemoryManager>, spill_dir: PathBuf, on_update: BlockListener) -> Arc<Self> {
        let manager = Arc::new(BlockManager { memory, spill_dir, state: Mutex::new(State::default()), on_update });
        let evictor: Arc<dyn StorageEvictor> = manager.clone();
        manager.memory.set_evictor(Arc::downgrade(&evictor));
        manager
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn memory_used(&self) -> u64 {
        self.lock().memory_used
    }

    /// Bytes of blocks spilled to disk.
    pub fn disk_used(&self) -> u64 {
        self.lock().entries.values().map(|e| if let Entry::Disk { size, .. } = e { *size } else { 0 }).sum()
    }

    pub fn get(&self, id: BlockId) -> Option<StoredBlock> {
        let mut st = self.lock();
        st.clock += 1;
        let now = st.clock;
        match st.entries.get_mut(&id)? {
            Entry::Memory { value, size, last_used, .. } => {
                *last_used = now;
                Some(StoredBlock::Memory { value: value.clone(), size_bytes: *size })
            }
            Entry::Disk { path, .. } => {
                let path = path.clone();
                drop(st);
                match std::fs::read(&path) {
                    Ok(bytes) => Some(StoredBlock::Serialized(bytes)),
                    Err(e) => {
                        tracing::warn!(block = %id, error = %e, "spilled block unreadable; it will be recomputed");
                        self.remove(id);
                        None
                    }
                }
            }
        }
    }

    pub fn put(&self, id: BlockId, block: CachedBlock) {
        self.remove_quietly(id);
        // Room is asked of the memory manager without holding our lock: it
        // may call back into `evict`.
        let fits = self.memory.acquire_storage(id, block.size_bytes);
        let update = {
            let mut st = self.lock();
            if fits {
                st.clock += 1;
                let last_used = st.clock;
                st.memory_used += block.size_bytes;
                let entry = Entry::Memory {
                    value: block.value,
                    size: block.size_bytes,
                    level: block.level,
                    spill: block.spill,
                    last_used,
                };
                st.entries.insert(id, entry);
                Some(BlockUpdate { block: id, place: BlockPlace::Memory, size_bytes: block.size_bytes })
            } else if block.level == StorageLevel::MemoryAndDisk {
                self.spill(&mut st, id, &*block.value, block.spill)
            } else {
                tracing::debug!(block = %id, size = block.size_bytes, "no room for the block in memory; not cached");
                None
            }
        };
        if let Some(u) = update {
            (self.on_update)(u);
        }
    }

    fn spill(
        &self,
        st: &mut State,
        id: BlockId,
        value: &(dyn std::any::Any + Send + Sync),
        spill: SpillFn,
    ) -> Option<BlockUpdate> {
        let bytes = spill(value)?;
        let path = self.spill_dir.join(format!("{id}.block"));
        if let Err(e) = std::fs::create_dir_all(&self.spill_dir).and_then(|_| std::fs::write(&path, &bytes)) {
            tracing::warn!(block = %id, error = %e, "cannot spill block to disk; dropping it");
            return None;
        }
        let size = bytes.len() as u64;
        st.entries.insert(id, Entry::Disk { path, size });
        Some(BlockUpdate { block: id, place: BlockPlace::Disk, size_bytes: size })
    }

    /// Removes a block without telling the driver (it is about to be replaced).
    fn remove_quietly(&self, id: BlockId) -> Option<Entry> {
        let removed = {
            let mut st = self.lock();
            let e = st.entries.remove(&id);
            if let Some(Entry::Memory { size, .. }) = &e {
                st.memory_used -= size;
            }
            e
        };
        match &removed {
            Some(Entry::Memory { size, .. }) => self.memory.release_storage(*size),
            Some(Entry::Disk { path, .. }) => {
                let _ = std::fs::remove_file(path);
            }
            None => {}
        }
        removed
    }

    pub fn remove(&self, id: BlockId) {
        if self.remove_quietly(id).is_some() {
            (self.on_update)(BlockUpdate { block: id, place: BlockPlace::None, size_bytes: 0 });
        }
    }

    /// Drops every block of an RDD.
    pub fn remove_rdd(&self, rdd: RddId) {
        let ids: Vec<BlockId> = self.lock().entries.keys().filter(|b| b.rdd == rdd).copied().collect();
        ids.into_iter().for_each(|id| self.remove(id));
    }
}

impl StorageEvictor for BlockManager {
    fn evict(&self, bytes: u64, keep: Option<BlockId>) -> u64 {
        let mut updates = Vec::new();
        let mut freed = 0;
        {
            let mut st = self.lock();
            while freed < bytes {
                let victim = st
                    .entries
                    .iter()
                    .filter(|(id, _)| Some(**id) != keep)
                    .filter_map(|(id, e)| match e {
                        Entry::Memory { last_used, .. } => Some((*last_used, *id)),
                        Entry::Disk { .. } => None,
                    })
                    .min();
                let Some((_, victim)) = victim else { break };
                let Some(Entry::Memory { value, size, level, spill, .. }) = st.entries.remove(&victim) else { break };
                st.memory_used -= size;
                freed += size;
                let update = match level {
                    StorageLevel::MemoryAndDisk => self.spill(&mut st, victim, &*value, spill),
                    _ => None,
                };
                updates.push(update.unwrap_or(BlockUpdate { block: victim, place: BlockPlace::None, size_bytes: 0 }));
            }
        }
        updates.into_iter().for_each(|u| (self.on_update)(u));
        freed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_rdd::memory::{MemoryConfig, TaskMemory};

    fn block(n: usize, level: StorageLevel) -> CachedBlock {
        let v: Arc<Vec<u64>> = Arc::new((0..n as u64).collect());
        fn spill(any: &(dyn std::any::Any + Send + Sync)) -> Option<Vec<u8>> {
            postcard::to_allocvec(any.downcast_ref::<Vec<u64>>()?).ok()
        }
        CachedBlock { value: v, size_bytes: n as u64 * 8, level, spill }
    }

    /// A block manager whose memory manager gives storage `limit` bytes.
    fn manager(limit: u64) -> (Arc<BlockManager>, Arc<Mutex<Vec<BlockUpdate>>>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        let config = MemoryConfig { executor_memory: limit, fraction: 1.0, storage_fraction: 0.5 };
        let memory = Arc::new(MemoryManager::new(config));
        let bm = BlockManager::new(memory, dir.path().to_path_buf(), Arc::new(move |u| l.lock().unwrap().push(u)));
        (bm, log, dir)
    }

    fn id(p: usize) -> BlockId {
        BlockId { rdd: RddId(1), partition: p }
    }

    #[test]
    fn least_recently_used_block_is_evicted_first() {
        let (bm, log, _d) = manager(8 * 250);
        bm.put(id(0), block(100, StorageLevel::MemoryOnly));
        bm.put(id(1), block(100, StorageLevel::MemoryOnly));
        assert!(bm.get(id(0)).is_some()); // 0 is now more recent than 1
        bm.put(id(2), block(100, StorageLevel::MemoryOnly));
        assert!(bm.get(id(1)).is_none());
        assert!(bm.get(id(0)).is_some() && bm.get(id(2)).is_some());
        assert!(log.lock().unwrap().contains(&BlockUpdate { block: id(1), place: BlockPlace::None, size_bytes: 0 }));
        assert!(bm.memory_used() <= 8 * 250);
    }

    #[test]
    fn memory_and_disk_blocks_spill_and_read_back() {
        let (bm, _log, _d) = manager(8 * 150);
        bm.put(id(0), block(100, StorageLevel::MemoryAndDisk));
        bm.put(id(1), block(100, StorageLevel::MemoryAndDisk));
        match bm.get(id(0)) {
            Some(StoredBlock::Serialized(bytes)) => {
                let v: Vec<u64> = postcard::from_bytes(&bytes).unwrap();
                assert_eq!(v, (0..100).collect::<Vec<_>>());
            }
            _ => panic!("block 0 should have been spilled to disk"),
        }
        // Larger than the whole limit: straight to disk.
        bm.put(id(2), block(1000, StorageLevel::MemoryAndDisk));
        assert!(matches!(bm.get(id(2)), Some(StoredBlock::Serialized(_))));
        bm.remove_rdd(RddId(1));
        assert!(bm.get(id(0)).is_none() && bm.get(id(1)).is_none() && bm.get(id(2)).is_none());
    }

    #[test]
    fn execution_memory_evicts_cached_blocks_down_to_the_floor() {
        let (bm, log, _d) = manager(8 * 400);
        for p in 0..4 {
            bm.put(id(p), block(100, StorageLevel::MemoryOnly));
        }
        assert_eq!(bm.memory_used(), 8 * 400);
        // A task asks for all memory: storage above its floor (half) is taken back.
        let task = TaskMemory::new(bm.memory.clone());
        let mut r = task.reservation();
        assert_eq!(r.grow(8 * 400), 8 * 200);
        assert_eq!(bm.memory_used(), 8 * 200);
        assert!(bm.get(id(0)).is_none() && bm.get(id(1)).is_none(), "the least recently used went first");
        assert!(bm.get(id(2)).is_some() && bm.get(id(3)).is_some());
        assert_eq!(log.lock().unwrap().iter().filter(|u| u.place == BlockPlace::None).count(), 2);
        // While the task holds its memory, a new block finds no room.
        bm.put(id(4), block(300, StorageLevel::MemoryOnly));
        assert!(bm.get(id(4)).is_none());
        drop(r);
        bm.put(id(4), block(300, StorageLevel::MemoryOnly));
        assert!(bm.get(id(4)).is_some());
    }

    #[test]
    fn a_block_larger_than_memory_is_not_cached() {
        let (bm, _log, _d) = manager(80);
        bm.put(id(0), block(100, StorageLevel::MemoryOnly));
        assert!(bm.get(id(0)).is_none());
        assert_eq!(bm.memory_used(), 0);
    }
}
