//! Sorting records by key past memory (Spark's `ExternalSorter` with a key
//! ordering, as `sortByKey`'s reduce side uses it).
//!
//! Records are buffered in a vector; when the task's reservation cannot
//! cover it, the buffer is sorted (stably) and written to disk as a run. At
//! the end, the last buffer is sorted in memory and merged with the runs,
//! ties going to the earlier run: records of equal keys keep their arrival
//! order, spilled or not, so the result is the same stable sort either way.
//!
//! The buffer's memory counts its capacity, half of it again for the stable
//! sort's scratch space, and the heap its records own.

use super::merge::{InMemory, Merger, SortedStream};
use super::size::{SizeTracker, sampled_heap_bytes};
use super::spill::{Run, RunWriter};
use super::{MAX_MERGE_WIDTH, SpillEnv};
use crate::Data;
use crate::error::TaskError;
use crate::memory::MemoryReservation;
use crate::task::{BoxIter, DeferredError};
use std::cmp::Ordering;
use std::time::Instant;

pub struct ExternalSorter<K, V> {
    env: SpillEnv,
    records: Vec<(K, V)>,
    ascending: bool,
    tracker: SizeTracker,
    reservation: MemoryReservation,
    runs: Vec<Run>,
}

impl<K: Data + Ord, V: Data> ExternalSorter<K, V> {
    pub fn new(env: SpillEnv, ascending: bool) -> Self {
        let reservation = env.memory.reservation();
        ExternalSorter {
            env,
            records: Vec::new(),
            ascending,
            tracker: SizeTracker::new(),
            reservation,
            runs: Vec::new(),
        }
    }

    /// The memory a buffer of `capacity` records holds, sort scratch included.
    fn bytes_at(&self, capacity: usize) -> u64 {
        (capacity * size_of::<(K, V)>() * 3 / 2) as u64 + self.tracker.heap_bytes()
    }

    pub fn insert(&mut self, record: (K, V)) -> Result<(), TaskError> {
        let cap = self.records.capacity();
        if self.records.len() == cap {
            let (held, grown) = (self.bytes_at(cap), self.bytes_at((2 * cap).max(1024)));
            if self.env.must_spill(&mut self.reservation, held, grown) {
                self.spill()?;
            }
        }
        self.records.push(record);
        // Records without heap memory change the buffer's size only when it
        // grows, which was granted above.
        if std::mem::needs_drop::<(K, V)>() {
            let (records, len) = (&self.records, self.records.len());
            let step = (len / 32).max(1);
            self.tracker.update(|| sampled_heap_bytes::<(K, V), _>(len, records.iter().step_by(step)));
            let held = self.bytes_at(self.records.capacity());
            if self.env.must_spill(&mut self.reservation, held, held) {
                self.spill()?;
            }
        }
        Ok(())
    }

    fn sort(records: &mut [(K, V)], ascending: bool) {
        if ascending {
            records.sort_by(|a, b| a.0.cmp(&b.0));
        } else {
            records.sort_by(|a, b| b.0.cmp(&a.0));
        }
    }

    fn spill(&mut self) -> Result<(), TaskError> {
        if self.records.is_empty() {
            return Ok(());
        }
        let start = Instant::now();
        let held = self.bytes_at(self.records.capacity());
        Self::sort(&mut self.records, self.ascending);
        let mut run = RunWriter::create(&self.env.dir, self.env.compress)?;
        for r in self.records.drain(..) {
            run.push(&r)?;
        }
        let run = run.finish()?;
        self.records = Vec::new();
        self.tracker.reset();
        self.reservation.free();
        self.env.record_spill(held, run.bytes, start.elapsed());
        self.runs.push(run);
        Ok(())
    }

    fn order(ascending: bool) -> impl Fn(&(K, V), &(K, V)) -> Ordering + Send + Copy {
        move |a, b| if ascending { a.0.cmp(&b.0) } else { b.0.cmp(&a.0) }
    }

    /// The records in key order (an error met while merging ends the
    /// iterator and is recorded in `deferred`).
    pub fn finish(mut self, deferred: DeferredError) -> Result<BoxIter<(K, V)>, TaskError> {
        Self::sort(&mut self.records, self.ascending);
        let records = std::mem::take(&mut self.records);
        let reservation = std::mem::replace(&mut self.reservation, self.env.memory.reservation());
        if self.runs.is_empty() {
            // The reservation goes with the records it pays for.
            return Ok(Box::new(records.into_iter().inspect(move |_| {
                let _paid = &reservation;
            })));
        }
        let mut runs = std::mem::take(&mut self.runs);
        while runs.len() > MAX_MERGE_WIDTH {
            runs = self.merge_into_fewer(runs)?;
        }
        let mut streams: Vec<Box<dyn SortedStream<(K, V)>>> =
            runs.into_iter().map(|r| Box::new(RunStream::new(r)) as Box<dyn SortedStream<_>>).collect();
        streams.push(Box::new(InMemory(records.into_iter())));
        let mut merger = Merger::new(streams, Self::order(self.ascending))?;
        Ok(Box::new(std::iter::from_fn(move || {
            let _paid = &reservation;
            match merger.next_record() {
                Ok(r) => r,
                Err(e) => {
                    deferred.set(e);
                    None
                }
            }
        })))
    }

    /// Merges runs [`MAX_MERGE_WIDTH`] at a time into new runs.
    fn merge_into_fewer(&self, runs: Vec<Run>) -> Result<Vec<Run>, TaskError> {
        let mut out = Vec::new();
        let mut runs = runs.into_iter().peekable();
        while runs.peek().is_some() {
            let streams: Vec<Box<dyn SortedStream<(K, V)>>> = runs
                .by_ref()
                .take(MAX_MERGE_WIDTH)
                .map(|r| Box::new(RunStream::new(r)) as Box<dyn SortedStream<_>>)
                .collect();
            let mut merger = Merger::new(streams, Self::order(self.ascending))?;
            let mut writer = RunWriter::create(&self.env.dir, self.env.compress)?;
            while let Some(r) = merger.next_record()? {
                writer.push(&r)?;
            }
            out.push(writer.finish()?);
        }
        Ok(out)
    }
}

/// A run read back, which keeps its file until it is dropped.
pub struct RunStream<T> {
    records: super::frame::RecordReader<T, super::spill::FileRange>,
    _run: Run,
}

impl<T: serde::de::DeserializeOwned> RunStream<T> {
    pub fn new(run: Run) -> Self {
        RunStream { records: run.records(), _run: run }
    }
}

impl<T: serde::de::DeserializeOwned + Send> SortedStream<T> for RunStream<T> {
    fn next_record(&mut self) -> Result<Option<T>, TaskError> {
        self.records.next_record()
    }
}

#[cfg(test)]
mod tests;
