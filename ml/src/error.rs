//! Errors of the numerical programs.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum MlError {
    /// The engine failed (a job, an input file, ...).
    #[error(transparent)]
    Ember(#[from] ember::EmberError),
    /// The input data is malformed or inconsistent (names the file and line when it can).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A NaN or an infinity in a raw f64 input file: `row` and `column` are
    /// 1-based, `byte_offset` is where the value's 8 bytes start. (CSV and
    /// LIBSVM files report theirs as `file:line: 'NaN' is not a finite
    /// number`, as the job's input error.)
    #[error(
        "{file}: row {row}, column {column} (byte offset {byte_offset}): {value} is not a finite number; \
         NaN and ±infinity are refused, remove or impute them before loading"
    )]
    NonFinite { file: String, row: u64, column: usize, byte_offset: u64, value: f64 },
    /// A parameter is out of range.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// The matrix is numerically rank deficient for the chosen method.
    #[error("{0}")]
    RankDeficient(String),
}

impl From<ember::extend::io::IoError> for MlError {
    fn from(e: ember::extend::io::IoError) -> Self {
        MlError::Ember(e.into())
    }
}

pub type Result<T, E = MlError> = std::result::Result<T, E>;
