//! The map output tracker: for every shuffle, which executor holds the output
//! of each map partition (Spark's MapOutputTracker, driver side).
//!
//! A status keeps which reduce blocks hold records, not a size per block
//! (Spark's `HighlyCompressedMapStatus` keeps an average and a bitmap for
//! the same reason): a 10,000 × 10,000 shuffle of small records has 10^8
//! blocks, most of them empty, and its statuses must stay small.

use super::IdMap;
use crate::executors::ExecutorId;
use ember_rdd::ids::ShuffleId;
use ember_rdd::shuffle::map_output::{MapLocation, MapOutputSummary};

/// Where one map output lives and what it holds.
#[derive(Clone, Debug)]
pub struct MapStatus {
    pub executor: ExecutorId,
    pub address: String,
    pub summary: MapOutputSummary,
}

#[derive(Default)]
pub struct MapOutputTracker {
    /// shuffle -> one slot per map partition.
    shuffle_to_outputs: IdMap<ShuffleId, Vec<Option<MapStatus>>>,
}

impl MapOutputTracker {
    pub fn register_shuffle(&mut self, shuffle: ShuffleId, maps: usize) {
        self.shuffle_to_outputs.entry(shuffle).or_insert_with(|| vec![None; maps]);
    }

    pub fn register_output(&mut self, shuffle: ShuffleId, map: usize, status: MapStatus) {
        if let Some(slot) = self.shuffle_to_outputs.get_mut(&shuffle).and_then(|o| o.get_mut(map)) {
            *slot = Some(status);
        }
    }

    pub fn has_output(&self, shuffle: ShuffleId, map: usize) -> bool {
        self.shuffle_to_outputs.get(&shuffle).and_then(|o| o.get(map)).is_some_and(Option::is_some)
    }

    /// Map partitions whose output is missing.
    pub fn missing(&self, shuffle: ShuffleId) -> Vec<usize> {
        match self.shuffle_to_outputs.get(&shuffle) {
            Some(o) => o.iter().enumerate().filter(|(_, s)| s.is_none()).map(|(i, _)| i).collect(),
            None => Vec::new(),
        }
    }

    pub fn is_available(&self, shuffle: ShuffleId) -> bool {
        self.shuffle_to_outputs.get(&shuffle).is_some_and(|o| o.iter().all(Option::is_some))
    }

    /// Locations of every map output, if all are available.
    pub fn locations(&self, shuffle: ShuffleId) -> Option<Vec<MapLocation>> {
        self.shuffle_to_outputs
            .get(&shuffle)?
            .iter()
            .map(|s| {
                s.as_ref().map(|s| MapLocation {
                    executor_id: s.executor.clone(),
                    address: s.address.clone(),
                    non_empty: s.summary.non_empty.clone(),
                })
            })
            .collect()
    }

    /// Forgets the outputs held by `executor`, of one shuffle or of all;
    /// returns the shuffles affected.
    pub fn remove_outputs_on(&mut self, executor: &ExecutorId, only: Option<ShuffleId>) -> Vec<ShuffleId> {
        let mut affected = Vec::new();
        for (shuffle, outputs) in &mut self.shuffle_to_outputs {
            if only.is_some_and(|s| s != *shuffle) {
                continue;
            }
            let mut hit = false;
            for slot in outputs.iter_mut() {
                if slot.as_ref().is_some_and(|s| &s.executor == executor) {
                    *slot = None;
                    hit = true;
                }
            }
            if hit {
                affected.push(*shuffle);
            }
        }
        affected
    }

    pub fn unregister_shuffle(&mut self, shuffle: ShuffleId) {
        self.shuffle_to_outputs.remove(&shuffle);
    }
}
