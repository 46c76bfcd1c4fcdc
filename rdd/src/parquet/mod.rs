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

//! Everything that needs arrow and parquet is behind the `parquet` cargo
//! feature (they are large crates that lengthen a release build). The entry points
//! below ([`read_records`], [`read_f64_rows`], and `Rdd::save_as_parquet_file`)
//! exist either way, so crates above this one need no feature logic of their
//! own: built without the feature, they fail with [`ParquetError::Disabled`],
//! which says how to enable it.

#[cfg(feature = "parquet")]
pub mod decode;
pub mod error;
#[cfg(feature = "parquet")]
pub mod plan;
#[cfg(feature = "parquet")]
pub mod read;
#[cfg(feature = "parquet")]
pub mod source;
#[cfg(feature = "parquet")]
pub mod write;

#[cfg(feature = "parquet")]
pub use crate::nodes::parquet_file::ParquetFileRdd;
#[cfg(feature = "parquet")]
pub use decode::{BatchDecoder, F64Rows, SerdeRows};
pub use error::ParquetError;
#[cfg(feature = "parquet")]
pub use plan::{ParquetPlan, RowGroupSplit, plan_row_groups};
#[cfg(feature = "parquet")]
pub use write::{BatchEncoder, F64Columns, ParquetPartWriter, SerdeRecords, write_parquet};

use crate::Data;
use crate::error::EmberError;
use crate::io::{AsLocation, StoreOptions};
#[cfg(feature = "parquet")]
use crate::ops::block_on;
use crate::rdd::{Rdd, RddMeta};
use crate::runner::JobRunner;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

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

/// How `save_as_parquet_file` writes each part file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParquetWriteOptions {
    /// Rows per row group at most (each row group is one partition when the
    /// files are read back). Parquet's default, 1,048,576.
    pub row_group_rows: usize,
}

impl Default for ParquetWriteOptions {
    fn default() -> Self {
        ParquetWriteOptions { row_group_rows: 1 << 20 }
    }
}

impl ParquetWriteOptions {
    /// Row groups of at most `rows` rows (at least 1).
    pub fn row_group_rows(mut self, rows: usize) -> Self {
        self.row_group_rows = rows.max(1);
        self
    }
}

/// What numeric rows do with NaN and ±infinity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum NonFinite {
    /// Read them as they are.
    #[default]
    Keep,
    /// Fail, naming the file, row and column (the numerical programs: one
    /// NaN would turn a k-means cost or a log-loss into NaN).
    Refuse,
}

/// Numeric rows read from Parquet files, and the columns they came from.
pub struct F64RowsRdd {
    /// One `Vec<f64>` per row, in `columns`' order.
    pub rows: Rdd<Vec<f64>>,
    pub columns: Vec<String>,
}

/// `Context::parquet_file`: plans the read of `path` on the driver (footers
/// only) and makes its RDD of `T` records.
pub fn read_records<T: Data>(
    meta: RddMeta,
    runner: Arc<dyn JobRunner>,
    path: &str,
    store: StoreOptions,
    options: &ParquetReadOptions,
) -> Result<Rdd<T>, EmberError> {
    #[cfg(feature = "parquet")]
    {
        let decoder = SerdeRows::<T>::new();
        let plan = plan_row_groups(path, &store, options, &decoder)?;
        let node = ParquetFileRdd::new(meta, plan.splits, plan.columns, decoder, store);
        Ok(Rdd::from_node(Arc::new(node), runner))
    }
    #[cfg(not(feature = "parquet"))]
    {
        let _ = (meta, runner, store, options);
        Err(ParquetError::Disabled { path: path.to_string() }.into())
    }
}

/// `Context::parquet_f64_rows`: every selected column (all of them by
/// default) of `path` as `f64`, one `Vec<f64>` per row; a column that is not
/// numeric is an error naming it, and so is a null (or, with
/// [`NonFinite::Refuse`], a NaN or an infinity) naming its row.
pub fn read_f64_rows(
    meta: RddMeta,
    runner: Arc<dyn JobRunner>,
    path: &str,
    store: StoreOptions,
    options: &ParquetReadOptions,
    non_finite: NonFinite,
) -> Result<F64RowsRdd, EmberError> {
    #[cfg(feature = "parquet")]
    {
        let decoder = F64Rows { finite_only: non_finite == NonFinite::Refuse };
        let plan = plan_row_groups(path, &store, options, &decoder)?;
        let node = ParquetFileRdd::new(meta, plan.splits, plan.columns.clone(), decoder, store);
        Ok(F64RowsRdd { rows: Rdd::from_node(Arc::new(node), runner), columns: plan.columns })
    }
    #[cfg(not(feature = "parquet"))]
    {
        let _ = (meta, runner, store, options, non_finite);
        Err(ParquetError::Disabled { path: path.to_string() }.into())
    }
}

impl<T: Data> Rdd<T> {
    /// Writes each partition as a Parquet file `part-NNNNN.parquet` into the
    /// directory `path` (a path or an `s3://` URL), then `_SUCCESS`, committed
    /// as `save_as_text_file` is (Spark's `df.write.parquet(path)`). The
    /// schema is traced from `T` (a serde struct: one column per field,
    /// `Option` fields nullable), Snappy-compressed, one row group per
    /// [`ParquetWriteOptions::row_group_rows`] rows.
    #[track_caller]
    pub fn save_as_parquet_file(&self, path: impl AsLocation) -> Result<(), EmberError> {
        self.save_as_parquet_file_with(path, ParquetWriteOptions::default())
    }

    /// [`save_as_parquet_file`](Self::save_as_parquet_file) with options.
    #[track_caller]
    pub fn save_as_parquet_file_with(
        &self,
        path: impl AsLocation,
        options: ParquetWriteOptions,
    ) -> Result<(), EmberError> {
        #[cfg(feature = "parquet")]
        {
            block_on(self.save_committed(path, ParquetPartWriter::new(SerdeRecords::<T>::new(), options)))
        }
        #[cfg(not(feature = "parquet"))]
        {
            let _ = options;
            Err(ParquetError::Disabled { path: path.as_location()?.to_string() }.into())
        }
    }
}

impl Rdd<Vec<f64>> {
    /// Writes rows of numbers as Parquet files of `Float64` columns named
    /// `columns` (as [`save_as_parquet_file`](Rdd::save_as_parquet_file));
    /// a row of another length fails the job.
    #[track_caller]
    pub fn save_as_parquet_f64_columns(&self, path: impl AsLocation, columns: &[String]) -> Result<(), EmberError> {
        #[cfg(feature = "parquet")]
        {
            let encoder = F64Columns { names: columns.to_vec() };
            block_on(self.save_committed(path, ParquetPartWriter::new(encoder, ParquetWriteOptions::default())))
        }
        #[cfg(not(feature = "parquet"))]
        {
            let _ = columns;
            Err(ParquetError::Disabled { path: path.as_location()?.to_string() }.into())
        }
    }
}

#[cfg(all(test, feature = "parquet"))]
mod tests;
