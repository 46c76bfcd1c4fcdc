//! Shuffles in bounded memory: the map side writes each task's records to
//! one file of per-reduce-partition blocks, spilling when its buffers
//! outgrow the task's memory; the reduce side streams those blocks and
//! aggregates or sorts them, spilling sorted runs and merging them.
//!
//! - [`frame`]: how records are stored (lz4 frames of whole records);
//! - [`writer`]: the map side ([`writer::ShuffleWriter`]);
//! - [`map_output`]: the map output file and what the driver learns of it;
//! - [`aggregator`]: combining by key past memory (`reduce_by_key`,
//!   `group_by_key`, … and the map-side combine);
//! - [`sorter`]: sorting by key past memory (`sort_by_key`);
//! - [`spill`], [`merge`], [`size`]: spill files, merging sorted runs, and
//!   estimating how much memory a collection holds.
//!
//! Memory comes from the executor's [`crate::memory::MemoryManager`]
//! through the task's reservations; ADR 0005 gives the rules and the file
//! format.

pub mod aggregator;
pub mod frame;
pub mod input;
pub mod map_output;
pub mod merge;
pub mod size;
pub mod sorter;
pub mod spill;
pub mod writer;

use crate::memory::TaskMemory;
use crate::metrics::SharedMetrics;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Runs merged at once, at most: more are first merged into fewer, so a
/// merge holds a bounded number of read buffers.
pub const MAX_MERGE_WIDTH: usize = 64;

/// A collection holding less than this never spills: past its reservation
/// it goes on unaccounted (Spark's initial spill threshold is 5 MB for the
/// same reason). Otherwise a collection that finds its task's memory taken
/// — a map-side writer after the aggregation that fed it — would spill
/// after every record.
pub const MIN_SPILL_BYTES: u64 = 1 << 20;

/// What a spilling collection needs of its task: memory, a place to spill,
/// the codec, and the metrics its spills count into.
#[derive(Clone)]
pub struct SpillEnv {
    pub memory: Arc<TaskMemory>,
    /// The executor's local directory.
    pub dir: PathBuf,
    /// Whether frames are lz4-compressed.
    pub compress: bool,
    /// [`MIN_SPILL_BYTES`], but for tests that spill tiny collections.
    min_spill_bytes: u64,
    metrics: SharedMetrics,
}

impl SpillEnv {
    pub(crate) fn new(memory: Arc<TaskMemory>, dir: PathBuf, compress: bool, metrics: SharedMetrics) -> Self {
        SpillEnv { memory, dir, compress, min_spill_bytes: MIN_SPILL_BYTES, metrics }
    }

    /// Whether a collection holding `held` bytes must spill before it holds
    /// `wanted`: its reservation cannot grow to `wanted`, and it holds enough
    /// for a spill to be worth a file.
    pub(crate) fn must_spill(
        &self,
        reservation: &mut crate::memory::MemoryReservation,
        held: u64,
        wanted: u64,
    ) -> bool {
        wanted > reservation.size() && !reservation.ensure(wanted) && held >= self.min_spill_bytes
    }

    /// An environment of its own (fresh metrics), for tools and tests that
    /// write shuffle data outside a task.
    pub fn standalone(memory: Arc<TaskMemory>, dir: PathBuf, compress: bool) -> Self {
        SpillEnv::new(memory, dir, compress, SharedMetrics::default())
    }

    /// A spill of `memory_bytes` (estimated in memory) to `disk_bytes` that took `time`.
    pub fn record_spill(&self, memory_bytes: u64, disk_bytes: u64, time: Duration) {
        crate::metrics::update(&self.metrics, |m| {
            m.memory_bytes_spilled += memory_bytes;
            m.disk_bytes_spilled += disk_bytes;
            m.spill_nanos += time.as_nanos() as u64;
        });
    }

    /// Adds to the task's metrics.
    pub fn add_metrics(&self, f: impl FnOnce(&mut crate::metrics::TaskMetrics)) {
        crate::metrics::update(&self.metrics, f);
    }
}

/// A task's spill environment over a memory manager of `memory` bytes, for tests.
#[cfg(test)]
pub(crate) fn test_spill_env(memory: u64, dir: &std::path::Path) -> SpillEnv {
    use crate::memory::{MemoryConfig, MemoryManager};
    let config = MemoryConfig { executor_memory: memory, fraction: 1.0, storage_fraction: 0.5 };
    let manager = Arc::new(MemoryManager::new(config));
    let env = SpillEnv::new(TaskMemory::new(manager), dir.to_path_buf(), true, SharedMetrics::default());
    // Tiny budgets must spill tiny collections, to test spilling quickly.
    SpillEnv { min_spill_bytes: 0, ..env }
}

#[cfg(test)]
impl SpillEnv {
    /// The task's metrics so far.
    pub(crate) fn metrics(&self) -> crate::metrics::TaskMetrics {
        *self.metrics.lock().unwrap_or_else(|p| p.into_inner())
    }
}
