//! A reduce task's input: the records of its partition's blocks, decoded as
//! they stream in, counted into the task's shuffle-read metrics when done.

use super::frame::RecordReader;
use crate::error::TaskError;
use crate::ids::ShuffleId;
use crate::metrics::SharedMetrics;
use crate::task::{BlockSource, BoxIter, DeferredError};
use serde::de::DeserializeOwned;

/// Counts the bytes its source hands out; adds them to the task's
/// `shuffle_read_bytes` when dropped.
struct CountedSource {
    inner: Box<dyn BlockSource>,
    bytes: u64,
    metrics: SharedMetrics,
}

impl BlockSource for CountedSource {
    fn read_into(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<bool, TaskError> {
        let before = buf.len();
        let more = self.inner.read_into(buf, max)?;
        self.bytes += (buf.len() - before) as u64;
        Ok(more)
    }
}

impl Drop for CountedSource {
    fn drop(&mut self) {
        let bytes = self.bytes;
        crate::metrics::update(&self.metrics, |m| m.shuffle_read_bytes += bytes);
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
        let source = CountedSource { inner: source, bytes: 0, metrics: metrics.clone() };
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
