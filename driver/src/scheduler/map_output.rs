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
    shuffle_to_outputs: IdMap<ShuffleId, Outputs>,
}

/// The map outputs of one shuffle.
struct Outputs {
    /// One slot per map partition.
    slots: Vec<Option<MapStatus>>,
    /// How many slots hold an output (asked at every scheduler turn, for
    /// job progress, and at every stage's end).
    available: usize,
}

impl MapOutputTracker {
    pub fn register_shuffle(&mut self, shuffle: ShuffleId, maps: usize) {
        self.shuffle_to_outputs.entry(shuffle).or_insert_with(|| Outputs { slots: vec![None; maps], available: 0 });
    }

    pub fn register_output(&mut self, shuffle: ShuffleId, map: usize, status: MapStatus) {
        if let Some(outputs) = self.shuffle_to_outputs.get_mut(&shuffle)
            && let Some(slot) = outputs.slots.get_mut(map)
        {
            if slot.is_none() {
                outputs.available += 1;
            }
            *slot = Some(status);
        }
    }

    pub fn has_output(&self, shuffle: ShuffleId, map: usize) -> bool {
        self.shuffle_to_outputs.get(&shuffle).and_then(|o| o.slots.get(map)).is_some_and(Option::is_some)
    }

    /// Map partitions whose output is missing.
    pub fn missing(&self, shuffle: ShuffleId) -> Vec<usize> {
        match self.shuffle_to_outputs.get(&shuffle) {
            Some(o) => o.slots.iter().enumerate().filter(|(_, s)| s.is_none()).map(|(i, _)| i).collect(),
            None => Vec::new(),
        }
    }

    /// How many map partitions have an output.
    pub fn available(&self, shuffle: ShuffleId) -> usize {
        self.shuffle_to_outputs.get(&shuffle).map_or(0, |o| o.available)
    }

    pub fn is_available(&self, shuffle: ShuffleId) -> bool {
        self.shuffle_to_outputs.get(&shuffle).is_some_and(|o| o.available == o.slots.len())
    }

    /// Locations of every map output, if all are available.
    pub fn locations(&self, shuffle: ShuffleId) -> Option<Vec<MapLocation>> {
        self.shuffle_to_outputs
            .get(&shuffle)?
            .slots
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
            let mut removed = 0;
            for slot in outputs.slots.iter_mut() {
                if slot.as_ref().is_some_and(|s| &s.executor == executor) {
                    *slot = None;
                    removed += 1;
                }
            }
            if removed > 0 {
                outputs.available -= removed;
                affected.push(*shuffle);
            }
        }
        affected
    }

    pub fn unregister_shuffle(&mut self, shuffle: ShuffleId) {
        self.shuffle_to_outputs.remove(&shuffle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_rdd::shuffle::map_output::NonEmptyBlocks;

    fn status(executor: &str) -> MapStatus {
        let summary = MapOutputSummary { bytes: 1, records: 1, non_empty: NonEmptyBlocks::from_sizes(&[1]) };
        MapStatus { executor: ExecutorId(executor.into()), address: String::new(), summary }
    }

    #[test]
    fn the_available_count_follows_registrations_and_losses() {
        let mut t = MapOutputTracker::default();
        let sh = ShuffleId(1);
        t.register_shuffle(sh, 3);
        t.register_output(sh, 0, status("a"));
        t.register_output(sh, 0, status("b")); // a retried map task: still one output
        t.register_output(sh, 1, status("a"));
        t.register_output(sh, 7, status("a")); // no such map partition
        assert_eq!((t.available(sh), t.is_available(sh)), (2, false));
        t.register_output(sh, 2, status("a"));
        assert!(t.is_available(sh));
        assert_eq!(t.remove_outputs_on(&ExecutorId("a".into()), None), [sh]);
        assert_eq!((t.available(sh), t.missing(sh)), (1, vec![1, 2]), "b's output of map 0 stays");
    }
}
