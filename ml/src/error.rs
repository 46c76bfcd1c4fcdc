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
    /// A parameter is out of range.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// The matrix is numerically rank deficient for the chosen method.
    #[error("{0}")]
    RankDeficient(String),
}

pub type Result<T, E = MlError> = std::result::Result<T, E>;
