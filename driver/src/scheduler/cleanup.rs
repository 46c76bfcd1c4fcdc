//! Forgetting what no one needs any more (Spark's `ContextCleaner` and the
//! DAGScheduler's clean-up of a job's stages).
//!
//! - When a job ends, its stages that no other active job needs are dropped.
//!   A map stage holds its shuffle dependency, so keeping it would keep the
//!   shuffle alive for ever; its *outputs* stay in the map output tracker,
//!   and a later job reading the same shuffle gets a new stage that finds
//!   them available and is skipped.
//! - When the driver program drops the last RDD that reads a shuffle, the
//!   shuffle dependency's drop posts `ShuffleReleased`: the map outputs are
//!   forgotten and every executor deletes the shuffle's files.

use super::IdSet;
use super::dag::DagScheduler;
use crate::executors::RemoveTarget;
use ember_rdd::ids::{ShuffleId, StageId};

impl DagScheduler {
    /// Drops `stages` (an ended job's) that no active job needs.
    pub(super) fn drop_unneeded_stages(&mut self, stages: impl IntoIterator<Item = StageId>) {
        let still_needed: IdSet<StageId> = self.jobs.values().flat_map(|j| j.stages.iter().copied()).collect();
        for stage in stages {
            if still_needed.contains(&stage) {
                continue;
            }
            if let Some(shuffle) = self.stages.get(&stage).and_then(|s| s.shuffle())
                && self.shuffle_to_map_stage.get(&shuffle) == Some(&stage)
            {
                self.shuffle_to_map_stage.remove(&shuffle);
            }
            self.retire_stage(stage, None);
        }
    }

    /// No RDD reads `shuffle` any more: forget its outputs everywhere.
    pub(super) fn handle_shuffle_released(&mut self, shuffle: ShuffleId) {
        if let Some(stage) = self.shuffle_to_map_stage.get(&shuffle).copied() {
            let needed = self.jobs.values().any(|j| j.stages.contains(&stage));
            if needed {
                // Cannot happen (a running job holds the dependency); keep
                // the shuffle rather than break the job.
                tracing::warn!(%shuffle, %stage, "a shuffle was released while a job needs it; kept");
                return;
            }
            self.shuffle_to_map_stage.remove(&shuffle);
            self.retire_stage(stage, None);
        }
        self.map_outputs.unregister_shuffle(shuffle);
        for e in self.executors.values() {
            e.link.remove(RemoveTarget::Shuffle(shuffle));
        }
    }
}
