//! Sources of structured records: JSON lines and Parquet. Both are thin:
//! JSON lines are `text_file_parsed` with a JSON parser, and Parquet's
//! planning and reading live in [`ember_rdd::parquet`] (behind the
//! `parquet` feature; without it these methods fail with an error saying how
//! to enable it).

use super::Context;
use ember_rdd::json_lines::parse_json_line;
use ember_rdd::parquet::{F64RowsRdd, NonFinite, ParquetReadOptions, read_f64_rows, read_records};
use ember_rdd::{Data, Rdd, Result};

impl Context {
    /// The records of JSON-lines files (one JSON value per line, Spark's
    /// `spark.read.json`): a file, a directory's files or a glob, split by
    /// byte ranges into at least `min_partitions`, as `text_file`. Blank
    /// lines are skipped; a line that is not a `T` fails the job with
    /// `file:line: not a JSON T: reason (column n)`.
    #[track_caller]
    pub fn json_file<T: Data>(&self, path: &str, min_partitions: usize) -> Result<Rdd<T>> {
        self.text_file_parsed(path, min_partitions, parse_json_line::<T>)
    }

    /// The rows of Parquet files as records of `T`, a serde struct whose
    /// field names are column names (Spark's `spark.read.parquet(path)
    /// .as[T]`): a file, a directory's files (a saved Parquet output) or a
    /// glob. One partition per row group.
    ///
    /// Only the columns `T` names are read, or those of
    /// [`ParquetReadOptions::columns`]. The files' footers are read here, on
    /// the driver: a missing column, a column whose type cannot become its
    /// field, or a file that is not Parquet is an error naming the file and
    /// the column, before any task runs.
    ///
    /// ```ignore
    /// #[derive(Clone, Serialize, Deserialize)]
    /// struct Trip { distance: f64, fare: f64 }
    /// let trips: Rdd<Trip> = ctx.parquet_file("trips/", ParquetReadOptions::new())?;
    /// let fares: Rdd<Trip> = ctx.parquet_file("trips/", ParquetReadOptions::new().columns(["fare"]))?;
    /// ```
    #[track_caller]
    pub fn parquet_file<T: Data>(&self, path: &str, options: ParquetReadOptions) -> Result<Rdd<T>> {
        read_records(self.meta(), self.runner(), path, self.store_options(), &options)
    }

    /// The rows of Parquet files as numbers: every selected column (all of
    /// them by default), integers, floats and decimals cast to `f64`, one
    /// `Vec<f64>` per row in the columns' order. A column that is not
    /// numeric is an error naming it (before any task runs); a null, or with
    /// [`NonFinite::Refuse`] a NaN or an infinity, fails the job naming the
    /// file, row and column.
    #[track_caller]
    pub fn parquet_f64_rows(
        &self,
        path: &str,
        options: ParquetReadOptions,
        non_finite: NonFinite,
    ) -> Result<F64RowsRdd> {
        read_f64_rows(self.meta(), self.runner(), path, self.store_options(), &options, non_finite)
    }
}
