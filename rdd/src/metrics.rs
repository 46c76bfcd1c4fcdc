//! Task metrics: what a task read and wrote, reported with its result.
//!
//! Counted where data enters or leaves a task, as Spark's input, shuffle-read
//! and shuffle-write metrics are:
//!
//! | where | records | bytes |
//! |---|---|---|
//! | `text_file`, `text_file_parsed` | the lines the split owns (before parsing) | those lines with their terminators: the splits of a file add up to its size |
//! | `whole_text_files` | the files | their contents |
//! | a checkpoint read back | its records | the file's size |
//! | `parallelize`, `range` | the records consumed | 0: they come from the driver's memory, not from storage, and sizing them would cost a walk over every record |
//! | a cached block | the records consumed | the block's stored size: the block manager's estimate for a block in memory, the serialized size for one read back from disk |
//! | a shuffle read | the records decoded | the bytes of the fetched blocks |
//! | a shuffle write | the records written | the bytes of the blocks written (compressed, as stored) |
//! | a spill | — | the in-memory size spilled (estimated), and the bytes written to disk |
//!
//! The first four are *input* (`records_read`, `bytes_read`; Spark's
//! `inputMetrics`). A cache miss counts nothing itself: the partition is
//! computed from its lineage, whose sources count what they read.
//!
//! Metrics must not cost the per-record path a lock or an atomic. A source
//! that knows its counts when it computes a partition (a file split is read
//! whole) adds them once; one that hands out records lazily wraps its
//! iterator in [`CountInput`], which counts in a plain field and adds the
//! total to the task's metrics once, when it is dropped. Every iterator of a
//! task is dropped before the task's run returns, and the metrics are read
//! after that.

use crate::task::BoxIter;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};

/// Metrics a task reports with its result. Serialized (in the driver's
/// event log) without its zero counters, which read back as 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskMetrics {
    /// Records read from the task's input: a source or a cached block.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub records_read: u64,
    /// Bytes read from the task's input (0 for sources in driver memory).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub bytes_read: u64,
    /// Records decoded from fetched shuffle blocks.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shuffle_read_records: u64,
    /// Bytes of the fetched shuffle blocks.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shuffle_read_bytes: u64,
    /// Bytes of the shuffle blocks written (a map task's buckets).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shuffle_write_bytes: u64,
    /// Records written to the shuffle.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shuffle_write_records: u64,
    /// Spark's "Spill (Memory)": the in-memory size of what was spilled.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub memory_bytes_spilled: u64,
    /// Spark's "Spill (Disk)": the bytes written to spill files.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub disk_bytes_spilled: u64,
    /// Time spent writing spill files, in nanoseconds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub spill_nanos: u64,
    /// Time spent waiting for shuffle blocks (fetched or read from local
    /// files), in nanoseconds: Spark's "Shuffle Read Blocked Time".
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shuffle_fetch_wait_nanos: u64,
    /// Time spent writing and committing a map task's shuffle files, in
    /// nanoseconds (spills apart): Spark's "Shuffle Write Time".
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shuffle_write_nanos: u64,
    /// The most execution memory (shuffle buffers, aggregation maps, sort
    /// buffers) the task held at once.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub peak_execution_memory: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl TaskMetrics {
    /// Adds `other`'s counters to these (a stage's or an executor's totals).
    pub fn add(&mut self, other: &TaskMetrics) {
        self.records_read += other.records_read;
        self.bytes_read += other.bytes_read;
        self.shuffle_read_records += other.shuffle_read_records;
        self.shuffle_read_bytes += other.shuffle_read_bytes;
        self.shuffle_write_bytes += other.shuffle_write_bytes;
        self.shuffle_write_records += other.shuffle_write_records;
        self.memory_bytes_spilled += other.memory_bytes_spilled;
        self.disk_bytes_spilled += other.disk_bytes_spilled;
        self.spill_nanos += other.spill_nanos;
        self.shuffle_fetch_wait_nanos += other.shuffle_fetch_wait_nanos;
        self.shuffle_write_nanos += other.shuffle_write_nanos;
        // Peaks do not add up: the total's is the largest task's.
        self.peak_execution_memory = self.peak_execution_memory.max(other.peak_execution_memory);
    }
}

/// A task's metrics, shared with the iterators that count into them.
pub(crate) type SharedMetrics = Arc<Mutex<TaskMetrics>>;

/// Adds `f`'s change to `metrics` (a poisoned lock is still usable: metrics
/// are plain counters).
pub(crate) fn update(metrics: &SharedMetrics, f: impl FnOnce(&mut TaskMetrics)) {
    f(&mut metrics.lock().unwrap_or_else(|p| p.into_inner()));
}

/// An input iterator that counts the records consumed and adds them to its
/// task's `records_read` once, when dropped.
pub struct CountInput<I> {
    inner: I,
    records: u64,
    /// Bytes each record counts as input (0: only records are counted).
    bytes_per_record: u64,
    metrics: SharedMetrics,
}

impl<I: Iterator + Send + 'static> CountInput<I> {
    pub(crate) fn boxed(inner: I, metrics: SharedMetrics, bytes_per_record: u64) -> BoxIter<I::Item> {
        Box::new(CountInput { inner, records: 0, bytes_per_record, metrics })
    }
}

impl<I: Iterator> Iterator for CountInput<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        let next = self.inner.next();
        self.records += next.is_some() as u64;
        next
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<I> Drop for CountInput<I> {
    fn drop(&mut self) {
        if self.records > 0 {
            let (records, bytes) = (self.records, self.records * self.bytes_per_record);
            update(&self.metrics, |m| {
                m.records_read += records;
                m.bytes_read += bytes;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_records_consumed_once_dropped() {
        let metrics = SharedMetrics::default();
        let mut it = CountInput::boxed(0..10, metrics.clone(), 0);
        assert_eq!(it.by_ref().take(4).count(), 4);
        assert_eq!(metrics.lock().unwrap().records_read, 0, "added only on drop");
        drop(it);
        assert_eq!(metrics.lock().unwrap().records_read, 4);
        assert_eq!(CountInput::boxed(0..10, metrics.clone(), 0).count(), 10);
        assert_eq!(metrics.lock().unwrap().records_read, 14);
        assert_eq!(metrics.lock().unwrap().bytes_read, 0, "records of unknown size count no bytes");
        assert_eq!(CountInput::boxed(0..3, metrics.clone(), 8).count(), 3);
        assert_eq!(metrics.lock().unwrap().bytes_read, 24, "generated records count their size");
    }
}
