//! Combining values by key past memory (Spark's `ExternalAppendOnlyMap`).
//!
//! Combiners live in a hash table (hashbrown's `HashTable`, entries inline:
//! one probe finds a key and its combiner). While they fit in the task's
//! memory, the output is the table's contents, in its (deterministic) order.
//! When the reservation cannot grow, the entries' key hashes, each with a
//! reference to its entry, are sorted and the entries written to disk in
//! that order as a run, then the table is emptied; the only extra memory a
//! spill needs is those pairs, 16 bytes an entry, which the table's
//! accounting includes. (Hashes are not kept in the entries: smaller
//! entries made the table a third faster.) At
//! the end the runs are merged by hash, and the combiners of equal keys
//! (equal hash, then `==`) are merged with `merge_combiners`: keys only need
//! `Hash + Eq`, as for a hash map, and the output is then in hash order.
//!
//! Combining is the same arithmetic whether it spilled or not, but its
//! grouping differs: a spilled run's combiner meets the next run's through
//! `merge_combiners`, so a non-associative floating-point sum may round
//! differently. As in Spark, functions given to `reduce_by_key` must be
//! associative and commutative.

use super::merge::{Merger, SortedStream};
use super::size::{SizeTracker, sampled_heap_bytes};
use super::spill::{FileRange, Run, RunWriter};
use super::{MAX_MERGE_WIDTH, SpillEnv};
use crate::error::TaskError;
use crate::memory::MemoryReservation;
use crate::partitioner::stable_hash;
use crate::task::{BoxIter, DeferredError};
use crate::{Data, Key};
use hashbrown::HashTable;
use std::collections::VecDeque;
use std::time::Instant;

struct Entry<K, C> {
    key: K,
    /// `None` only while the combiner is moved out to be merged.
    value: Option<C>,
}

pub struct ExternalAggregator<K, C> {
    env: SpillEnv,
    table: HashTable<Entry<K, C>>,
    /// The heap the keys and combiners own.
    tracker: SizeTracker,
    reservation: MemoryReservation,
    runs: Vec<Run>,
}

impl<K: Key, C: Data> ExternalAggregator<K, C> {
    pub fn new(env: SpillEnv) -> Self {
        let reservation = env.memory.reservation();
        ExternalAggregator { env, table: HashTable::new(), tracker: SizeTracker::new(), reservation, runs: Vec::new() }
    }

    /// The memory held by a table of `capacity` entries: its buckets, the
    /// references a spill sorts, and the heap its entries own.
    fn bytes_at(&self, capacity: usize) -> u64 {
        let per_entry = size_of::<Entry<K, C>>() + 1 + size_of::<(u64, usize)>();
        (capacity * per_entry) as u64 + self.tracker.heap_bytes()
    }

    fn held(&self) -> u64 {
        self.bytes_at(self.table.capacity())
    }

    /// Combines `value` into `key`'s combiner: `create` starts one,
    /// `merge` adds to it.
    pub fn insert<V>(
        &mut self,
        key: K,
        value: V,
        create: impl FnOnce(V) -> C,
        merge: impl FnOnce(C, V) -> C,
    ) -> Result<(), TaskError> {
        let hash = stable_hash(&key);
        if self.table.len() == self.table.capacity() {
            self.make_room_for_one()?;
        }
        match self.table.entry(hash, |e| e.key == key, |e| stable_hash(&e.key)) {
            hashbrown::hash_table::Entry::Occupied(mut found) => {
                let entry = found.get_mut();
                if let Some(c) = entry.value.take() {
                    entry.value = Some(merge(c, value));
                }
            }
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(Entry { key, value: Some(create(value)) });
            }
        }
        if std::mem::needs_drop::<(K, C)>() {
            let (table, len) = (&self.table, self.table.len());
            let step = (len / 32).max(1);
            self.tracker.update(|| {
                let sample = table.iter().step_by(step).map(|e| (&e.key, &e.value));
                sampled_heap_bytes::<(K, C), _>(len, sample)
            });
            let held = self.held();
            if self.env.must_spill(&mut self.reservation, held, held) {
                self.spill()?;
            }
        }
        Ok(())
    }

    /// The table is full: its growth (a doubling, at the next new key) must
    /// be granted first, or the combiners spill.
    fn make_room_for_one(&mut self) -> Result<(), TaskError> {
        let cap = self.table.capacity();
        let (held, grown) = (self.held(), self.bytes_at((2 * cap).max(16)));
        if self.env.must_spill(&mut self.reservation, held, grown) {
            self.spill()?;
        }
        Ok(())
    }

    /// Writes the combiners to a run in key-hash order and empties the table.
    fn spill(&mut self) -> Result<(), TaskError> {
        if self.table.is_empty() {
            return Ok(());
        }
        let start = Instant::now();
        let held = self.held();
        let mut run = RunWriter::create(&self.env.dir, self.env.compress)?;
        {
            let mut entries: Vec<(u64, &mut Entry<K, C>)> =
                self.table.iter_mut().map(|e| (stable_hash(&e.key), e)).collect();
            entries.sort_unstable_by_key(|e| e.0);
            for (_, e) in entries {
                if let Some(c) = &e.value {
                    run.push(&(&e.key, c))?;
                }
            }
        }
        let run = run.finish()?;
        self.table = HashTable::new();
        self.tracker.reset();
        self.reservation.free();
        self.env.record_spill(held, run.bytes, start.elapsed());
        self.runs.push(run);
        Ok(())
    }

    /// The combined records: in the table's order if nothing spilled, else
    /// merged from the runs in hash order (an error met while merging ends
    /// the iterator and is recorded in `deferred`).
    pub fn finish<M>(mut self, merge_combiners: M, deferred: DeferredError) -> Result<BoxIter<(K, C)>, TaskError>
    where
        M: Fn(C, C) -> C + Send + 'static,
    {
        if self.runs.is_empty() {
            let table = std::mem::take(&mut self.table);
            let reservation = self.reservation;
            // The reservation goes with the records it pays for.
            let records = table.into_iter().filter_map(move |e| {
                let _paid = &reservation;
                e.value.map(|c| (e.key, c))
            });
            return Ok(Box::new(records));
        }
        self.spill()?;
        let mut runs = std::mem::take(&mut self.runs);
        while runs.len() > MAX_MERGE_WIDTH {
            runs = self.merge_into_fewer(runs, &merge_combiners)?;
        }
        let mut merge = CombiningMerge::new(runs, merge_combiners)?;
        Ok(Box::new(std::iter::from_fn(move || match merge.next_combined() {
            Ok(r) => r,
            Err(e) => {
                deferred.set(e);
                None
            }
        })))
    }

    /// Merges runs [`MAX_MERGE_WIDTH`] at a time into new runs.
    fn merge_into_fewer<M: Fn(C, C) -> C + Send + 'static>(
        &self,
        runs: Vec<Run>,
        merge_combiners: &M,
    ) -> Result<Vec<Run>, TaskError> {
        let mut out = Vec::new();
        let mut runs = runs.into_iter().peekable();
        while runs.peek().is_some() {
            let group: Vec<Run> = runs.by_ref().take(MAX_MERGE_WIDTH).collect();
            let mut merge = CombiningMerge::<K, C, _>::new(group, merge_combiners)?;
            let mut writer = RunWriter::create(&self.env.dir, self.env.compress)?;
            while let Some(record) = merge.next_combined()? {
                writer.push(&record)?;
            }
            out.push(writer.finish()?);
        }
        Ok(out)
    }
}

/// A run's records with their key hashes.
struct HashedRun<K, C> {
    records: super::frame::RecordReader<(K, C), FileRange>,
    _run: Run,
}

impl<K: Key, C: Data> SortedStream<(u64, K, C)> for HashedRun<K, C> {
    fn next_record(&mut self) -> Result<Option<(u64, K, C)>, TaskError> {
        Ok(self.records.next_record()?.map(|(k, c)| (stable_hash(&k), k, c)))
    }
}

type HashOrder<K, C> = fn(&(u64, K, C), &(u64, K, C)) -> std::cmp::Ordering;

/// Merges runs sorted by key hash, combining equal keys.
struct CombiningMerge<K, C, M> {
    merger: Merger<(u64, K, C), HashOrder<K, C>>,
    /// Records of one hash, combined, not yet handed out.
    pending: VecDeque<(K, C)>,
    merge_combiners: M,
}

impl<K: Key, C: Data, M: Fn(C, C) -> C> CombiningMerge<K, C, M> {
    fn new(runs: Vec<Run>, merge_combiners: M) -> Result<Self, TaskError> {
        let streams: Vec<Box<dyn SortedStream<(u64, K, C)>>> = runs
            .into_iter()
            .map(|run| Box::new(HashedRun { records: run.records(), _run: run }) as Box<dyn SortedStream<_>>)
            .collect();
        let order: HashOrder<K, C> = |a, b| a.0.cmp(&b.0);
        let merger = Merger::new(streams, order)?;
        Ok(CombiningMerge { merger, pending: VecDeque::new(), merge_combiners })
    }

    /// The next combined record: all records of the smallest hash are taken
    /// from the runs, equal keys merged (in run order), and handed out one
    /// by one.
    fn next_combined(&mut self) -> Result<Option<(K, C)>, TaskError> {
        if let Some(r) = self.pending.pop_front() {
            return Ok(Some(r));
        }
        let Some((hash, key, value)) = self.merger.next_record()? else { return Ok(None) };
        self.pending.push_back((key, value));
        while self.merger.peek().is_some_and(|next| next.0 == hash) {
            let Some((_, k, c)) = self.merger.next_record()? else { break };
            match self.pending.iter().position(|(pk, _)| *pk == k) {
                Some(i) => {
                    if let Some((pk, pc)) = self.pending.remove(i) {
                        self.pending.insert(i, (pk, (self.merge_combiners)(pc, c)));
                    }
                }
                None => self.pending.push_back((k, c)),
            }
        }
        Ok(self.pending.pop_front())
    }
}

#[cfg(test)]
mod tests;
