//! A reduce task's input: the records of its partition's blocks, decoded as
//! they stream in, counted into the task's shuffle-read metrics when done.

use super::frame::RecordReader;
use crate::error::TaskError;
use crate::ids::ShuffleId;
use crate::metrics::SharedMetrics;
use crate::task::{BlockSource, BoxIter, DeferredError};
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant};

/// Counts the bytes its source hands out and the time it waits for them
/// (one clock read per chunk, never per record); adds both to the task's
/// `shuffle_read_bytes` and `shuffle_fetch_wait_nanos` when dropped.
struct CountedSource {
    inner: Box<dyn BlockSource>,
    bytes: u64,
    wait: Duration,
    metrics: SharedMetrics,
}

impl BlockSource for CountedSource {
    fn read_into(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<bool, TaskError> {
        let (before, asked) = (buf.len(), Instant::now());
        let more = self.inner.read_into(buf, max)?;
        self.wait += asked.elapsed();
        self.bytes += (buf.len() - before) as u64;
        Ok(more)
    }
}

impl Drop for CountedSource {
    fn drop(&mut self) {
        let (bytes, wait) = (self.bytes, self.wait.as_nanos() as u64);
        crate::metrics::update(&self.metrics, |m| {
            m.shuffle_read_bytes += bytes;
            m.shuffle_fetch_wait_nanos += wait;
        });
    }
}

/// The `(K, X)` records a reduce task reads from a shuffle.
pub struct ShuffleInput<R> {
    records: RecordReader<R, CountedSource>,
    decoded: u64,
    metrics: SharedMetrics,
}

impl<R: DeserializeOwned + Send + 'static> ShuffleInput<R> {
    pub(crate) fn new(source: Box<dyn BlockSource>, shuffle: ShuffleId, reduce: usize, metrics: SharedMetrics) -> Self {
        let source = CountedSource { inner: source, bytes: 0, wait: Duration::ZERO, metrics: metrics.clone() };
        let what = format!("{shuffle} reduce partition {reduce}");
        ShuffleInput { records: RecordReader::new(source, what), decoded: 0, metrics }
    }

    /// The next record, `None` at the end.
    pub fn next_record(&mut self) -> Result<Option<R>, TaskError> {
        let r = self.records.next_record()?;
        self.decoded += r.is_some() as u64;
        Ok(r)
    }

    /// The records as an iterator; an error ends it and is recorded in `deferred`.
    pub fn into_records(mut self, deferred: DeferredError) -> BoxIter<R> {
        Box::new(std::iter::from_fn(move || match self.next_record() {
            Ok(r) => r,
            Err(e) => {
                deferred.set(e);
                None
            }
        }))
    }
}

impl<R> Drop for ShuffleInput<R> {
    fn drop(&mut self) {
        let decoded = self.decoded;
        crate::metrics::update(&self.metrics, |m| m.shuffle_read_records += decoded);
    }
}
