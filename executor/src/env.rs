//! `ExecutorEnv`: one executor's memory manager, block manager, shuffle
//! store and broadcast values; `StageEnv`: the [`TaskEnv`] the tasks of one
//! stage attempt see, which adds where that stage's shuffle inputs live.

use crate::block_manager::{BlockListener, BlockManager};
use crate::fetch::ShuffleFetcher;
use crate::shuffle_read::{MapsByReduce, ShuffleBlocks};
use crate::shuffle_store::ShuffleStore;
use ember_rdd::TaskError;
use ember_rdd::ids::{BlockId, BroadcastId, ShuffleId};
use ember_rdd::memory::{MemoryConfig, MemoryManager};
use ember_rdd::shuffle::map_output::MapOutputSummary;
pub use ember_rdd::shuffle::map_output::{MapLocation, ShuffleLocations};
use ember_rdd::shuffle::writer::MapOutputFile;
use ember_rdd::storage::{AnyValue, CachedBlock, StoredBlock};
use ember_rdd::task::{BlockSource, DecodeBroadcastFn, TaskEnv};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// How an executor is set up.
#[derive(Clone, Debug)]
pub struct ExecutorConfig {
    pub executor_id: String,
    pub memory: MemoryConfig,
    /// Where spill files, map outputs and spilled cache blocks go; this
    /// executor's own (removed when it ends).
    pub local_dir: PathBuf,
    /// `ember.shuffle.compress`.
    pub compress_shuffle: bool,
}

/// A broadcast value as received, and once decoded.
struct BroadcastSlot {
    bytes: Option<Vec<u8>>,
    value: Option<AnyValue>,
}

pub struct ExecutorEnv {
    pub executor_id: String,
    /// Execution and storage memory, shared by tasks and the block manager.
    pub memory: Arc<MemoryManager>,
    pub blocks: Arc<BlockManager>,
    pub shuffles: Arc<ShuffleStore>,
    broadcasts: Mutex<HashMap<BroadcastId, BroadcastSlot>>,
    /// Remote fetches; `None` in process, where every map output is local.
    fetcher: Option<Arc<ShuffleFetcher>>,
    local_dir: PathBuf,
    /// Whether `local_dir` exists (it is made on first use).
    local_dir_made: AtomicBool,
    compress_shuffle: bool,
}

impl ExecutorEnv {
    pub fn new(config: ExecutorConfig, on_block_update: BlockListener, fetcher: Option<Arc<ShuffleFetcher>>) -> Self {
        let memory = Arc::new(MemoryManager::new(config.memory));
        let blocks = BlockManager::new(memory.clone(), config.local_dir.join("blocks"), on_block_update);
        ExecutorEnv {
            executor_id: config.executor_id,
            memory,
            blocks,
            shuffles: Arc::new(ShuffleStore::new(config.local_dir.clone())),
            broadcasts: Mutex::new(HashMap::new()),
            fetcher,
            local_dir: config.local_dir,
            local_dir_made: AtomicBool::new(false),
            compress_shuffle: config.compress_shuffle,
        }
    }

    /// The local directory, made if it does not exist yet.
    pub fn local_dir(&self) -> Result<PathBuf, TaskError> {
        if !self.local_dir_made.load(Ordering::Acquire) {
            std::fs::create_dir_all(&self.local_dir).map_err(|e| {
                TaskError::engine(format!(
                    "cannot create the local directory {} (ember.local.dir): {e}",
                    self.local_dir.display()
                ))
            })?;
            self.local_dir_made.store(true, Ordering::Release);
        }
        Ok(self.local_dir.clone())
    }

    /// Deletes the local directory and everything in it (the executor ends).
    pub fn remove_local_dir(&self) {
        match std::fs::remove_dir_all(&self.local_dir) {
            Ok(()) => {}
            // Gone already, or never made (a path that cannot be a directory).
            Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) => {}
            Err(e) => tracing::warn!(dir = %self.local_dir.display(), error = %e, "cannot remove the local directory"),
        }
    }

    /// Stores a broadcast value received from the driver, still serialized.
    pub fn put_broadcast_bytes(&self, id: BroadcastId, bytes: Vec<u8>) {
        let mut b = self.broadcasts.lock().unwrap_or_else(|p| p.into_inner());
        b.insert(id, BroadcastSlot { bytes: Some(bytes), value: None });
    }

    /// Stores a broadcast value in process (no decoding needed).
    pub fn put_broadcast_value(&self, id: BroadcastId, value: AnyValue) {
        let mut b = self.broadcasts.lock().unwrap_or_else(|p| p.into_inner());
        b.insert(id, BroadcastSlot { bytes: None, value: Some(value) });
    }

    pub fn remove_broadcast(&self, id: BroadcastId) {
        self.broadcasts.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }

    fn broadcast(&self, id: BroadcastId, decode: DecodeBroadcastFn) -> Result<AnyValue, TaskError> {
        let mut b = self.broadcasts.lock().unwrap_or_else(|p| p.into_inner());
        let slot = b
            .get_mut(&id)
            .ok_or_else(|| TaskError::engine(format!("{id} was never received by executor {}", self.executor_id)))?;
        if let Some(v) = &slot.value {
            return Ok(v.clone());
        }
        let bytes = slot.bytes.take().unwrap_or_default();
        let value = decode(&bytes)?;
        slot.value = Some(value.clone());
        Ok(value)
    }
}

/// The environment of the tasks of one stage attempt.
pub struct StageEnv {
    pub exec: Arc<ExecutorEnv>,
    pub locations: Arc<ShuffleLocations>,
    pub results_cross_processes: bool,
    /// Each read shuffle's non-empty blocks by reduce partition, built by
    /// the first task that reads it.
    maps_by_reduce: Mutex<HashMap<ShuffleId, Arc<MapsByReduce>>>,
}

impl StageEnv {
    pub fn new(exec: Arc<ExecutorEnv>, locations: Arc<ShuffleLocations>, results_cross_processes: bool) -> Self {
        StageEnv { exec, locations, results_cross_processes, maps_by_reduce: Mutex::new(HashMap::new()) }
    }

    fn maps_by_reduce(&self, shuffle: ShuffleId, locations: &[MapLocation]) -> Arc<MapsByReduce> {
        let mut built = self.maps_by_reduce.lock().unwrap_or_else(|p| p.into_inner());
        built.entry(shuffle).or_insert_with(|| Arc::new(MapsByReduce::new(locations))).clone()
    }
}

impl TaskEnv for StageEnv {
    fn executor_id(&self) -> &str {
        &self.exec.executor_id
    }

    fn get_block(&self, id: BlockId) -> Option<StoredBlock> {
        self.exec.blocks.get(id)
    }

    fn put_block(&self, id: BlockId, block: CachedBlock) {
        self.exec.blocks.put(id, block)
    }

    fn read_shuffle(&self, shuffle: ShuffleId, reduce: usize) -> Result<Box<dyn BlockSource>, TaskError> {
        let locations = self
            .locations
            .get(&shuffle)
            .ok_or_else(|| TaskError::engine(format!("no map output locations for {shuffle}")))?;
        let maps = self.maps_by_reduce(shuffle, locations).maps_for(reduce, locations);
        let exec = &self.exec;
        let blocks = ShuffleBlocks::new(
            shuffle,
            reduce,
            &maps,
            locations,
            &exec.executor_id,
            exec.shuffles.clone(),
            exec.fetcher.clone(),
        );
        Ok(Box::new(blocks))
    }

    fn commit_map_output(
        &self,
        shuffle: ShuffleId,
        map: usize,
        output: MapOutputFile,
    ) -> Result<MapOutputSummary, TaskError> {
        self.exec.shuffles.commit(shuffle, map, output)
    }

    fn memory_manager(&self) -> Arc<MemoryManager> {
        self.exec.memory.clone()
    }

    fn local_dir(&self) -> Result<PathBuf, TaskError> {
        self.exec.local_dir()
    }

    fn compress_shuffle(&self) -> bool {
        self.exec.compress_shuffle
    }

    fn broadcast(&self, id: BroadcastId, decode: DecodeBroadcastFn) -> Result<AnyValue, TaskError> {
        self.exec.broadcast(id, decode)
    }

    fn results_cross_processes(&self) -> bool {
        self.results_cross_processes
    }
}
