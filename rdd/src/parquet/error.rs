//! What can go wrong with a Parquet file, each case naming the file (its
//! path or URL, as the user wrote it) and, where there is one, the column.

use crate::error::TaskError;
use thiserror::Error;

/// Why a Parquet file could not be planned, read or written.
#[derive(Debug, Error)]
pub enum ParquetError {
    /// A column named by the user (or by the record type) is not in the file.
    #[error("{file}: no column named '{column}'; the file's columns are: {available}")]
    MissingColumn { file: String, column: String, available: String },
    /// A column's values cannot become the record field of the same name.
    #[error(
        "{file}: column '{column}' holds {found} values, which do not fit field '{column}' of {record} \
         ({expected}); change the field's type or select other columns"
    )]
    ColumnType { file: String, column: String, found: String, expected: String, record: &'static str },
    /// A column read as numbers (the numerical loaders) holds something else.
    #[error(
        "{file}: column '{column}' holds {found} values, not numbers; numeric input needs integer or \
         floating-point columns only (select them with a column list)"
    )]
    NotNumeric { file: String, column: String, found: String },
    /// Rows could not be decoded into the record type (a null in a field
    /// that is not an `Option`, a number out of the field's range, ...);
    /// `message` names the field.
    #[error("{file}: rows {first_row}..{end_row} cannot be read as {record}: {message}")]
    Decode { file: String, first_row: u64, end_row: u64, record: &'static str, message: String },
    /// A value the numeric loaders refuse: a null, NaN or an infinity.
    #[error(
        "{file}: row {row}, column '{column}': {what}; numeric input refuses nulls, NaN and ±infinity, \
         remove or impute them before loading"
    )]
    BadNumber { file: String, row: u64, column: String, what: String },
    /// The file is not Parquet, is truncated, or its metadata is damaged.
    #[error("{file}: not a readable Parquet file: {message}")]
    Corrupt { file: String, message: String },
    /// The file could not be read (missing, unreadable, a network error).
    #[error("{file}: {message}")]
    Io { file: String, message: String },
    /// The record type cannot be described as an Arrow schema (for writing).
    #[error("{record} cannot be written as Parquet: {message}")]
    Schema { record: &'static str, message: String },
    /// This build has no Parquet support.
    #[error(
        "{path}: this program was built without Parquet support; build it with the `parquet` feature of \
         ember (for the examples: cargo run --release -p ember-examples --features parquet --bin ...)"
    )]
    Disabled { path: String },
    /// Records could not be converted to Arrow arrays or encoded.
    #[error("{file}: writing Parquet failed: {message}")]
    Write { file: String, message: String },
}

impl ParquetError {
    /// `error` (from the parquet crate) while reading `file`: an I/O error
    /// reaching the bytes, or a file that is not valid Parquet.
    #[cfg(feature = "parquet")]
    pub fn reading(file: &str, error: parquet::errors::ParquetError) -> ParquetError {
        match error {
            parquet::errors::ParquetError::External(e) => {
                ParquetError::Io { file: file.to_string(), message: e.to_string() }
            }
            other => ParquetError::Corrupt { file: file.to_string(), message: other.to_string() },
        }
    }

    /// The task error for this failure: an I/O error may pass on another
    /// attempt (a flaky network), anything else is in the data and would
    /// fail every attempt the same way.
    pub fn into_task_error(self) -> TaskError {
        match self {
            ParquetError::Io { .. } => TaskError::input(self.to_string()),
            other => TaskError::deterministic(other.to_string()),
        }
    }
}

/// The message of a `serde_arrow` error, without its `Error: ` prefix (its
/// annotations, which name the field, are kept).
#[cfg(feature = "parquet")]
pub fn serde_arrow_message(error: &serde_arrow::Error) -> String {
    let text = error.to_string();
    text.strip_prefix("Error: ").map(str::to_string).unwrap_or(text)
}
