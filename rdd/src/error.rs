//! Errors, typed end to end.
//!
//! A task fails with a [`TaskError`]; the scheduler decides what to do by its
//! variant, never by reading its message: a [`TaskError::FetchFailed`]
//! resubmits the map stage, a [`TaskError::Deterministic`] fails the job at
//! once (no retry can succeed: the input itself is wrong), the others are
//! retried up to `ember.task.maxFailures`. A job fails with an [`EmberError`].

use crate::ids::{ExecutorId, JobId, ShuffleId, StageId};
use thiserror::Error;

/// Why one task attempt failed.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum TaskError {
    /// A shuffle block could not be fetched: its map output is lost.
    #[error("fetch failed: {shuffle} map {map_index} reduce {reduce_index} on executor {executor}: {message}")]
    FetchFailed { executor: ExecutorId, shuffle: ShuffleId, map_index: usize, reduce_index: usize, message: String },
    /// The user's code panicked; `backtrace` says where ("panicked at
    /// src/main.rs:14:5", then the frames when backtraces are on).
    #[error("user code panicked: {message}")]
    UserPanic { message: String, backtrace: Option<String> },
    /// Input data was malformed or could not be read.
    #[error("{message}")]
    Input { message: String },
    /// Ember itself could not run the task (a bad plan, a missing block, ...).
    #[error("{message}")]
    Engine { message: String },
    /// The task fails the same way on every attempt: its input is wrong, not
    /// its executor (a malformed line, text that is not UTF-8, a zip of
    /// partitions of different lengths). Spark retries these; Ember fails the
    /// job on the first one and says so.
    #[error("{message}")]
    Deterministic { message: String },
    /// The driver killed the task: its job was cancelled (or is no longer
    /// needed). Not a failure of the task; never retried.
    #[error("task killed: {reason}")]
    Killed { reason: String },
}

impl TaskError {
    pub fn engine(message: impl Into<String>) -> Self {
        TaskError::Engine { message: message.into() }
    }
    pub fn input(message: impl Into<String>) -> Self {
        TaskError::Input { message: message.into() }
    }
    /// A failure that every retry would repeat (see [`TaskError::Deterministic`]).
    pub fn deterministic(message: impl Into<String>) -> Self {
        TaskError::Deterministic { message: message.into() }
    }
    /// Where a panic happened, when it is known.
    pub fn backtrace(&self) -> Option<&str> {
        match self {
            TaskError::UserPanic { backtrace, .. } => backtrace.as_deref(),
            _ => None,
        }
    }
    /// Whether retrying the task cannot help.
    pub fn is_deterministic(&self) -> bool {
        matches!(self, TaskError::Deterministic { .. })
    }
}

/// Why a job, or a call on the Ember API, failed.
#[derive(Debug, Error)]
pub enum EmberError {
    /// A task failed too many times; the job was aborted.
    #[error("job aborted: task for partition {partition} of {stage} failed {attempts} times; last error: {cause}")]
    JobAborted { stage: StageId, partition: usize, attempts: u32, cause: TaskError },
    /// A task failed in a way no retry can fix (see [`TaskError::Deterministic`]);
    /// the job was aborted on its first failure.
    #[error("job aborted: task for partition {partition} of {stage} cannot succeed on retry: {cause}")]
    DeterministicFailure { stage: StageId, partition: usize, cause: TaskError },
    /// A stage's shuffle input was lost too many times in a row.
    #[error("job aborted: {stage} failed {attempts} consecutive attempts; last error: {cause}")]
    StageAborted { stage: StageId, attempts: u32, cause: TaskError },
    /// The job was cancelled (`Context::cancel_job`, `cancel_job_group`,
    /// `cancel_all_jobs`).
    #[error("{job} was cancelled: {reason}")]
    Cancelled { job: JobId, reason: String },
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
    /// `tree_aggregate` / `tree_reduce` was asked for a tree of no levels
    /// (Spark: `require(depth >= 1)`).
    #[error(
        "{operation}: depth must be at least 1, got {depth} (depth 1 merges every partition's result in the \
         driver, as aggregate does; Spark's default is 2)"
    )]
    TreeDepth { operation: &'static str, depth: usize },
    /// A Parquet file could not be planned, read or written (names the file
    /// and, where there is one, the column).
    #[error(transparent)]
    Parquet(#[from] crate::parquet::ParquetError),
    /// A histogram could not be computed from these arguments or this data.
    #[error(transparent)]
    Histogram(#[from] HistogramError),
}

/// Why `histogram` / `histogram_by_edges` refused to run (Spark's rules, see
/// `ops::histogram`).
#[derive(Debug, Clone, Error, PartialEq)]
pub enum HistogramError {
    /// `histogram(0)`: no bucket to count into.
    #[error("histogram: bucket_count must be at least 1, got {bucket_count}")]
    NoBuckets { bucket_count: usize },
    /// `histogram(n)` of an RDD with no records: there is no min and max to
    /// place buckets between.
    #[error(
        "histogram on an empty RDD: there is no min or max to place evenly spaced buckets between; \
         give the edges with histogram_by_edges, which counts nothing into them"
    )]
    Empty,
    /// `histogram(n)` of an RDD holding NaN or an infinity: evenly spaced
    /// buckets between its min and max do not exist.
    #[error(
        "histogram on an RDD containing +/-infinity or NaN (min {min}, max {max}): evenly spaced buckets \
         need finite bounds; filter those records out, or give edges with histogram_by_edges"
    )]
    NotFinite { min: f64, max: f64 },
    /// `histogram_by_edges` with fewer than two edges (no bucket).
    #[error("histogram_by_edges: at least two edges are needed (one bucket), got {count}")]
    TooFewEdges { count: usize },
    /// An edge is NaN: it cannot bound a bucket.
    #[error("histogram_by_edges: edge {index} is NaN; edges must be numbers in increasing order")]
    NanEdge { index: usize },
    /// The edges are not strictly increasing.
    #[error(
        "histogram_by_edges: edges must be sorted in increasing order without duplicates, but edge {index} \
         ({edge}) is not above edge {} ({previous})", index - 1
    )]
    UnsortedEdges { index: usize, edge: f64, previous: f64 },
}

/// The message of a caught panic (`panic!("...")` payloads are strings).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

pub type Result<T, E = EmberError> = std::result::Result<T, E>;

impl From<postcard::Error> for EmberError {
    fn from(e: postcard::Error) -> Self {
        EmberError::Serialization(e.to_string())
    }
}
