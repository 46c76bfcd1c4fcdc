//! Reading one row group on an executor: its file's footer again (the plan
//! does not ship the metadata: it is not serializable, and a few KB per task
//! is cheap), then only the chunks of the projected columns, as record
//! batches whose columns are in the order the user named them.

use crate::io::StoreOptions;
use crate::parquet::BATCH_ROWS;
use crate::parquet::error::ParquetError;
use crate::parquet::plan::{RowGroupSplit, resolve_columns};
use crate::parquet::source::{FileSource, IoFailure};
use arrow_array::RecordBatch;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder,
};

/// The record batches of one row group, `columns` only, in that order.
pub struct RowGroupBatches {
    batches: ParquetRecordBatchReader,
    /// Positions in a batch as read (the file's column order) of the
    /// columns in projection order.
    reorder: Vec<usize>,
    /// The file's path or URL, for errors.
    file: String,
    /// Whether an error of the reader was an I/O error.
    io_failure: IoFailure,
}

impl RowGroupBatches {
    /// Opens `split`'s row group, reading `columns` (which the plan checked;
    /// a file changed since then is an error naming it).
    pub fn open(
        split: &RowGroupSplit,
        columns: &[String],
        options: &StoreOptions,
    ) -> Result<RowGroupBatches, ParquetError> {
        let file = &split.file.to_string();
        let source = FileSource::new(split.file.clone(), options.clone(), split.file_size);
        let io_failure = source.io_failure();
        let footer = ArrowReaderMetadata::load(&source, ArrowReaderOptions::new())
            .map_err(|e| ParquetError::reading(file, e))?;
        let projection = resolve_columns(file, footer.schema(), columns)?;
        let mut in_file_order = projection.clone();
        in_file_order.sort_unstable();
        in_file_order.dedup();
        let reorder = projection.iter().filter_map(|p| in_file_order.iter().position(|q| q == p)).collect();
        let mask = ProjectionMask::roots(footer.parquet_schema(), projection);
        let batches = ParquetRecordBatchReaderBuilder::new_with_metadata(source, footer)
            .with_row_groups(vec![split.row_group])
            .with_projection(mask)
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| ParquetError::reading(file, e))?;
        Ok(RowGroupBatches { batches, reorder, file: file.clone(), io_failure })
    }
}

impl RowGroupBatches {
    /// What a reader error means: an I/O error if the source met one (the
    /// reader's error is only a string), else a corrupt file.
    fn failure(&self, e: arrow_schema::ArrowError) -> ParquetError {
        let file = self.file.clone();
        match (self.io_failure.first(), e) {
            (Some(message), _) => ParquetError::Io { file, message },
            (None, arrow_schema::ArrowError::IoError(message, _)) => ParquetError::Io { file, message },
            (None, other) => ParquetError::Corrupt { file, message: other.to_string() },
        }
    }
}

impl Iterator for RowGroupBatches {
    type Item = Result<RecordBatch, ParquetError>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = self.batches.next()?;
        Some(batch.map_err(|e| self.failure(e)).and_then(|batch| {
            batch
                .project(&self.reorder)
                .map_err(|e| ParquetError::Corrupt { file: self.file.clone(), message: e.to_string() })
        }))
    }
}
