//! Errors, typed end to end.
//!
//! A task fails with a [`TaskError`]; the scheduler decides what to do by its
//! variant (a [`TaskError::FetchFailed`] resubmits the map stage, the others are
//! retried up to `ember.task.maxFailures`), never by reading its message. A job
//! fails with an [`EmberError`].

use crate::ids::{ShuffleId, StageId};
use thiserror::Error;

/// Why one task attempt failed.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum TaskError {
    /// A shuffle block could not be fetched: its map output is lost.
    #[error("fetch failed: {shuffle} map {map_index} reduce {reduce_index} on executor {executor}: {message}")]
    FetchFailed { executor: String, shuffle: ShuffleId, map_index: usize, reduce_index: usize, message: String },
    /// The user's code panicked.
    #[error("user code panicked: {message}")]
    UserPanic { message: String },
    /// Input data was malformed or could not be read.
    #[error("{message}")]
    Input { message: String },
    /// Ember itself could not run the task (a bad plan, a missing block, ...).
    #[error("{message}")]
    Engine { message: String },
}

impl TaskError {
    pub fn engine(message: impl Into<String>) -> Self {
        TaskError::Engine { message: message.into() }
    }
    pub fn input(message: impl Into<String>) -> Self {
        TaskError::Input { message: message.into() }
    }
}

/// Why a job, or a call on the Ember API, failed.
#[derive(Debug, Error)]
pub enum EmberError {
    /// A task failed too many times; the job was aborted.
    #[error("job aborted: task for partition {partition} of {stage} failed {attempts} times; last error: {cause}")]
    JobAborted { stage: StageId, partition: usize, attempts: u32, cause: TaskError },
    /// A stage's shuffle input was lost too many times in a row.
    #[error("job aborted: {stage} failed {attempts} consecutive attempts; last error: {cause}")]
    StageAborted { stage: StageId, attempts: u32, cause: TaskError },
    /// The caller passed something invalid.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// RDDs combined partition by partition (`zip`, `zip_partitions`) have
    /// different numbers of partitions.
    #[error(
        "{operation}: can only zip RDDs with the same number of partitions, got {counts:?}; \
         repartition them to one count first (rdd.repartition(n))"
    )]
    PartitionCountMismatch { operation: &'static str, counts: Vec<usize> },
    /// Configuration was invalid (unknown master, bad value, ...).
    #[error("configuration error: {0}")]
    Config(String),
    /// A file or directory could not be read or written.
    #[error("{path}: {error}")]
    Io {
        path: String,
        // Not a `#[source]`: the message already says it, and error chains
        // (anyhow's `{:#}`) would say it twice.
        error: std::io::Error,
    },
    /// Data could not be encoded or decoded.
    #[error("serialization failed: {0}")]
    Serialization(String),
    /// The context was stopped, or its scheduler died.
    #[error("the context is stopped: {0}")]
    Stopped(String),
    /// An executor could not be started or reached.
    #[error("executor error: {0}")]
    Executor(String),
}

pub type Result<T, E = EmberError> = std::result::Result<T, E>;

impl From<postcard::Error> for EmberError {
    fn from(e: postcard::Error) -> Self {
        EmberError::Serialization(e.to_string())
    }
}
