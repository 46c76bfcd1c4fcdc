//! `ExecutorEnv`: one executor's block manager, shuffle store and broadcast
//! values; `StageEnv`: the [`TaskEnv`] the tasks of one stage attempt see,
//! which adds where that stage's shuffle inputs live.

use crate::block_manager::{BlockListener, BlockManager};
use crate::fetch::ShuffleFetcher;
use crate::shuffle_store::ShuffleStore;
use ember_rdd::TaskError;
use ember_rdd::ids::{BlockId, BroadcastId, ShuffleId};
use ember_rdd::storage::{AnyValue, CachedBlock, StoredBlock};
use ember_rdd::task::{DecodeBroadcastFn, TaskEnv};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Where one map output lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapLocation {
    pub executor_id: String,
    /// host:port of the backend's FetchShuffle service (empty in process).
    pub address: String,
}

/// For each shuffle a stage reads: the location of each map output, by map index.
pub type ShuffleLocations = HashMap<ShuffleId, Vec<MapLocation>>;

/// A broadcast value as received, and once decoded.
struct BroadcastSlot {
    bytes: Option<Vec<u8>>,
    value: Option<AnyValue>,
}

pub struct ExecutorEnv {
    pub executor_id: String,
    pub blocks: BlockManager,
    pub shuffles: ShuffleStore,
    broadcasts: Mutex<HashMap<BroadcastId, BroadcastSlot>>,
    /// Remote fetches; `None` in process, where every map output is local.
    fetcher: Option<ShuffleFetcher>,
}

impl ExecutorEnv {
    pub fn new(
        executor_id: String,
        memory_limit: u64,
        spill_dir: PathBuf,
        on_block_update: BlockListener,
        fetcher: Option<ShuffleFetcher>,
    ) -> Self {
        ExecutorEnv {
            executor_id,
            blocks: BlockManager::new(memory_limit, spill_dir, on_block_update),
            shuffles: ShuffleStore::default(),
            broadcasts: Mutex::new(HashMap::new()),
            fetcher,
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
}

impl StageEnv {
    fn fetch_failed(&self, executor: &str, shuffle: ShuffleId, map: usize, reduce: usize, why: String) -> TaskError {
        TaskError::FetchFailed {
            executor: executor.to_string(),
            shuffle,
            map_index: map,
            reduce_index: reduce,
            message: why,
        }
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

    fn read_shuffle(&self, shuffle: ShuffleId, reduce: usize) -> Result<Vec<Arc<[u8]>>, TaskError> {
        let locations = self
            .locations
            .get(&shuffle)
            .ok_or_else(|| TaskError::engine(format!("no map output locations for {shuffle}")))?;
        let mut blocks: Vec<Option<Arc<[u8]>>> = vec![None; locations.len()];
        // Remote map outputs grouped by the backend that holds them.
        let mut remote: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
        for (map, loc) in locations.iter().enumerate() {
            if loc.executor_id == self.exec.executor_id {
                let block = self.exec.shuffles.get(shuffle, map, reduce).ok_or_else(|| {
                    self.fetch_failed(&loc.executor_id, shuffle, map, reduce, "map output missing locally".into())
                })?;
                blocks[map] = Some(block);
            } else {
                remote.entry((&loc.executor_id, &loc.address)).or_default().push(map);
            }
        }
        for ((executor, address), maps) in remote {
            let fetcher = self.exec.fetcher.as_ref().ok_or_else(|| {
                self.fetch_failed(executor, shuffle, maps[0], reduce, "no fetcher for remote blocks".into())
            })?;
            let fetched = fetcher
                .fetch(address, shuffle, reduce, &maps)
                .map_err(|(map, why)| self.fetch_failed(executor, shuffle, map.unwrap_or(maps[0]), reduce, why))?;
            for (map, block) in fetched {
                if let Some(slot) = blocks.get_mut(map) {
                    *slot = Some(block);
                }
            }
        }
        // Blocks are returned in map order, so reduce-side order is deterministic.
        blocks
            .into_iter()
            .enumerate()
            .map(|(map, b)| {
                let executor = &locations[map].executor_id;
                b.ok_or_else(|| self.fetch_failed(executor, shuffle, map, reduce, "block not returned".into()))
            })
            .collect()
    }

    fn write_shuffle(&self, shuffle: ShuffleId, map: usize, blocks: Vec<Vec<u8>>) -> Result<(), TaskError> {
        self.exec.shuffles.put(shuffle, map, blocks);
        Ok(())
    }

    fn broadcast(&self, id: BroadcastId, decode: DecodeBroadcastFn) -> Result<AnyValue, TaskError> {
        self.exec.broadcast(id, decode)
    }

    fn results_cross_processes(&self) -> bool {
        self.results_cross_processes
    }
}
