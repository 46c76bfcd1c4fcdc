//! Estimating how much memory a growing collection holds, cheaply enough to
//! ask after every insert (Spark's `SizeTracker` and `SizeEstimator`).
//!
//! A collection's bytes are its *inline* part, known exactly from its
//! capacity (`capacity × size_of` of an entry), plus the *heap* its records
//! own (the text of a `String`, the elements of a `Vec`). The heap part is
//! measured on a sample of records now and then (after 1 update, then each
//! time the updates grew by a tenth), and extrapolated in between at the
//! rate seen between the last two samples: records that grow in place
//! (`group_by_key`'s lists) are followed as well as new ones.
//!
//! A record's heap is estimated from its serialized size plus an
//! allocation's overhead, and only for types that own heap memory at all
//! (`needs_drop`): `(u64, u64)` pairs cost their inline size and nothing is
//! sampled for them.

use serde::Serialize;

/// How many records a heap sample measures.
const SAMPLE_RECORDS: usize = 32;

/// Bytes an allocation costs beyond what it holds (malloc's header and
/// rounding), counted once per record that owns heap memory.
const ALLOCATION_OVERHEAD: u64 = 16;

/// The heap bytes one record owns, estimated.
pub fn record_heap_bytes<T: Serialize>(record: &T) -> u64 {
    if !std::mem::needs_drop::<T>() {
        return 0;
    }
    postcard::experimental::serialized_size(record).unwrap_or(0) as u64 + ALLOCATION_OVERHEAD
}

/// The heap bytes of `len` records of type `T` estimated from a sample of
/// them (`S` serializes as a `T` does, e.g. a tuple of references).
pub fn sampled_heap_bytes<T, S: Serialize>(len: usize, sample: impl Iterator<Item = S>) -> u64 {
    if !std::mem::needs_drop::<T>() || len == 0 {
        return 0;
    }
    let (mut bytes, mut n) = (0u64, 0u64);
    for r in sample.take(SAMPLE_RECORDS) {
        bytes += postcard::experimental::serialized_size(&r).unwrap_or(0) as u64 + ALLOCATION_OVERHEAD;
        n += 1;
    }
    bytes.checked_div(n).unwrap_or(0) * len as u64
}

/// Follows the heap bytes of a collection as it is updated.
#[derive(Debug, Default)]
pub struct SizeTracker {
    updates: u64,
    next_sample_at: u64,
    /// (updates, heap bytes) at the last sample.
    last: (u64, u64),
    /// Heap bytes per update between the last two samples.
    rate: f64,
}

impl SizeTracker {
    pub fn new() -> Self {
        SizeTracker { next_sample_at: 1, ..SizeTracker::default() }
    }

    /// Counts one update; `measure` (the heap bytes now) runs when a sample is due.
    pub fn update(&mut self, measure: impl FnOnce() -> u64) {
        self.updates += 1;
        if self.updates >= self.next_sample_at {
            let bytes = measure();
            let (prev_updates, prev_bytes) = self.last;
            if self.updates > prev_updates {
                self.rate = (bytes.saturating_sub(prev_bytes)) as f64 / (self.updates - prev_updates) as f64;
            }
            self.last = (self.updates, bytes);
            self.next_sample_at = self.updates + (self.updates / 10).max(1);
        }
    }

    /// The heap bytes now, extrapolated from the last sample.
    pub fn heap_bytes(&self) -> u64 {
        let (at, bytes) = self.last;
        bytes + (self.rate * (self.updates - at) as f64) as u64
    }

    /// Starts over (the collection was emptied).
    pub fn reset(&mut self) {
        *self = SizeTracker::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers_own_no_heap() {
        assert_eq!(record_heap_bytes(&(1u64, 2u64)), 0);
        assert_eq!(sampled_heap_bytes::<(u64, f64), _>(1000, [(1u64, 2.0f64)].iter()), 0);
        let words = ["ab".to_string(), "cdef".to_string()];
        assert_eq!(sampled_heap_bytes::<String, _>(10, words.iter()), 10 * (4 + ALLOCATION_OVERHEAD));
        assert_eq!(record_heap_bytes(&"hello".to_string()), 6 + ALLOCATION_OVERHEAD);
    }

    #[test]
    fn growth_between_samples_is_extrapolated() {
        // Each update adds 100 heap bytes (a list growing in place).
        let mut t = SizeTracker::new();
        let mut heap = 0u64;
        for _ in 0..10_000 {
            heap += 100;
            t.update(|| heap);
        }
        let estimate = t.heap_bytes();
        assert!((estimate as f64 - heap as f64).abs() < 0.01 * heap as f64, "{estimate} vs {heap}");
        t.reset();
        assert_eq!(t.heap_bytes(), 0);
    }
}
