//! The shuffle store: the map outputs this executor wrote, one block per
//! reduce partition, served to reducers locally or over `FetchShuffle`.

use ember_rdd::ids::ShuffleId;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

type MapOutput = Vec<Arc<[u8]>>;

#[derive(Default)]
pub struct ShuffleStore {
    /// (shuffle, map partition) -> one block per reduce partition.
    outputs: RwLock<HashMap<(ShuffleId, usize), MapOutput>>,
}

impl ShuffleStore {
    pub fn put(&self, shuffle: ShuffleId, map: usize, blocks: Vec<Vec<u8>>) {
        let blocks = blocks.into_iter().map(Arc::from).collect();
        self.outputs.write().unwrap_or_else(|p| p.into_inner()).insert((shuffle, map), blocks);
    }

    /// The block of `reduce` written by map task `map`, if this executor has it.
    pub fn get(&self, shuffle: ShuffleId, map: usize, reduce: usize) -> Option<Arc<[u8]>> {
        let outputs = self.outputs.read().unwrap_or_else(|p| p.into_inner());
        outputs.get(&(shuffle, map))?.get(reduce).cloned()
    }

    pub fn remove_shuffle(&self, shuffle: ShuffleId) {
        self.outputs.write().unwrap_or_else(|p| p.into_inner()).retain(|(s, _), _| *s != shuffle);
    }

    /// Bytes held, for metrics.
    pub fn bytes(&self) -> u64 {
        let outputs = self.outputs.read().unwrap_or_else(|p| p.into_inner());
        outputs.values().flatten().map(|b| b.len() as u64).sum()
    }
}
