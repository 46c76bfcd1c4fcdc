//! Parquet files as RDDs of typed rows, and RDDs saved as Parquet files.
//!
//! Reading (`Context::parquet_file`) happens in two places:
//!
//! - **On the driver** ([`plan`]), only the footers are read: each file's
//!   metadata gives its schema and row groups. The columns to read (the
//!   user's [`ParquetReadOptions::columns`], else the fields of the record
//!   type) are looked up by name, and their types are checked against the
//!   record type, so a missing column or a string column read into an `f64`
//!   fails before any task runs, naming the file and the column. Each
//!   non-empty row group becomes one partition ([`RowGroupSplit`]), as
//!   Spark's Parquet reader makes one split per row group of a large file.
//! - **On the executors** ([`ParquetFileRdd`]), a task reads its one row group,
//!   fetching only the chunks of the projected columns, as Arrow record
//!   batches of [`BATCH_ROWS`] rows, and turns each batch into records with a
//!   [`BatchDecoder`]: [`SerdeRows`] (serde structs through `serde_arrow`) or
//!   [`F64Rows`] (every column cast to `f64`, for the numerical programs).
//!   Records are handed out batch by batch, so a task holds one batch of
//!   decoded rows, not its whole row group.
//!
//! Writing (`Rdd::save_as_parquet_file`, [`write`]) traces an Arrow schema
//! from the record type, turns each partition's records into record batches
//! and writes them with Snappy compression (Spark's default), one
//! `part-NNNNN.parquet` per partition.
//!
//! Bytes come from a [`ChunkReader`](parquet::file::reader::ChunkReader)
//! over one file ([`source`]), which is the only place that knows where
//! files are kept.

pub mod decode;
pub mod error;
pub mod plan;
pub mod read;
pub mod source;
pub mod write;

pub use crate::nodes::parquet_file::ParquetFileRdd;
pub use decode::{BatchDecoder, F64Rows, SerdeRows};
pub use error::ParquetError;
pub use plan::{ParquetPlan, RowGroupSplit, plan_row_groups};
pub use write::{BatchEncoder, F64Columns, ParquetPartWriter, ParquetWriteOptions, SerdeRecords, write_parquet};

use serde::{Deserialize, Serialize};

/// Rows per Arrow record batch, read or written: large enough that per-batch
/// costs vanish, small enough that a batch of decoded rows is a few MB.
pub const BATCH_ROWS: usize = 8192;

/// How `Context::parquet_file` reads: which columns (Spark's
/// `spark.read.parquet(path).select("x", "y")`).
///
/// ```
/// use ember_rdd::parquet::ParquetReadOptions;
/// let options = ParquetReadOptions::new().columns(["x", "y"]);
/// assert_eq!(options.selected_columns(), Some(&["x".to_string(), "y".to_string()][..]));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParquetReadOptions {
    columns: Option<Vec<String>>,
}

impl ParquetReadOptions {
    /// Reads the columns the record type names (every column, for a record
    /// type whose fields cannot be traced).
    pub fn new() -> Self {
        ParquetReadOptions::default()
    }

    /// Reads only these top-level columns: the other columns' bytes are not
    /// fetched. A name the file lacks is an error naming the file and the
    /// column. Records are decoded from these columns only, so a field of
    /// the record type that none of them provides must be an `Option` (or
    /// have a serde default).
    pub fn columns<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        self.columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// The columns named with [`columns`](Self::columns), if any.
    pub fn selected_columns(&self) -> Option<&[String]> {
        self.columns.as_deref()
    }
}

#[cfg(test)]
mod tests;
