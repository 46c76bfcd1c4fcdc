//! The node of a Parquet read: one partition per [`RowGroupSplit`], whose
//! record batches a [`BatchDecoder`] turns into records.
//!
//! A task reads its row group's projected columns ([`RowGroupBatches`]). Records are
//! decoded batch by batch as the task pulls them; an error met after the
//! first batch (a corrupt page, a null in a non-`Option` field) ends the
//! iterator and fails the task through its deferred error, naming the file.

use crate::error::{EmberError, TaskError};
use crate::io::StoreOptions;
use crate::parquet::decode::{BatchDecoder, BatchPosition};
use crate::parquet::error::ParquetError;
use crate::parquet::plan::RowGroupSplit;
use crate::parquet::read::RowGroupBatches;
use crate::rdd::{Dependency, RddBase, RddMeta, RddNode};
use crate::shipping::{Parents, ShippedNode, from_fields, to_fields};
use crate::task::{BoxIter, DeferredError, TaskContext};

/// A Parquet source: `splits` (row groups) of files, read as `columns`.
pub struct ParquetFileRdd<D> {
    meta: RddMeta,
    splits: Vec<RowGroupSplit>,
    /// The projected columns, in the order the decoder receives them.
    columns: Vec<String>,
    decoder: D,
    /// How executors reach the files (resolved on the driver).
    options: StoreOptions,
}

impl<D: BatchDecoder> ParquetFileRdd<D> {
    pub fn new(
        meta: RddMeta,
        splits: Vec<RowGroupSplit>,
        columns: Vec<String>,
        decoder: D,
        options: StoreOptions,
    ) -> Self {
        ParquetFileRdd { meta, splits, columns, decoder, options }
    }
}

impl<D: BatchDecoder> RddBase for ParquetFileRdd<D> {
    common_rdd_base_methods!(D::KIND);
    fn num_partitions(&self) -> usize {
        self.splits.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl<D: BatchDecoder> RddNode<D::Record> for ParquetFileRdd<D> {
    /// Input metrics: the rows handed out (counted as they are pulled) and
    /// the compressed bytes of the projected column chunks.
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<D::Record>, TaskError> {
        let split = self.splits.get(split).ok_or_else(|| TaskError::engine(format!("{}: no such split", D::KIND)))?;
        let batches =
            RowGroupBatches::open(split, &self.columns, &self.options).map_err(ParquetError::into_task_error)?;
        let bytes = split.bytes;
        tc.add_metrics(|m| m.bytes_read += bytes);
        let records = RowGroupRecords {
            batches,
            decoder: self.decoder.clone(),
            file: split.file.to_string(),
            next_row: split.first_row,
            pending: Vec::new().into_iter(),
            deferred: tc.deferred_error(),
        };
        Ok(tc.count_input(records))
    }
}

/// The records of one row group, decoded one batch at a time.
struct RowGroupRecords<D: BatchDecoder> {
    batches: RowGroupBatches,
    decoder: D,
    file: String,
    /// The index in the file of the next batch's first row.
    next_row: u64,
    /// The decoded records of the current batch not yet handed out.
    pending: std::vec::IntoIter<D::Record>,
    deferred: DeferredError,
}

impl<D: BatchDecoder> RowGroupRecords<D> {
    /// Reads and decodes the next batch; `None` at the end.
    fn next_batch(&mut self) -> Option<Result<Vec<D::Record>, ParquetError>> {
        let decoded = self.batches.next()?.and_then(|batch| {
            let at = BatchPosition { file: &self.file, first_row: self.next_row };
            self.next_row += batch.num_rows() as u64;
            self.decoder.decode(&batch, at)
        });
        Some(decoded)
    }
}

impl<D: BatchDecoder> Iterator for RowGroupRecords<D> {
    type Item = D::Record;

    fn next(&mut self) -> Option<D::Record> {
        loop {
            if let Some(record) = self.pending.next() {
                return Some(record);
            }
            match self.next_batch()? {
                Ok(records) => self.pending = records.into_iter(),
                Err(e) => {
                    self.deferred.set(e.into_task_error());
                    return None;
                }
            }
        }
    }
}

impl<D: BatchDecoder> ShippedNode for ParquetFileRdd<D> {
    type Item = D::Record;
    fn write_fields(&self) -> Result<Vec<u8>, EmberError> {
        to_fields(&(&self.splits, &self.columns, &self.decoder, &self.options))
    }
    fn rebuild(meta: RddMeta, fields: &[u8], _: &Parents<'_>) -> Result<Self, TaskError> {
        let (splits, columns, decoder, options) = from_fields(fields)?;
        Ok(ParquetFileRdd { meta, splits, columns, decoder, options })
    }
}
