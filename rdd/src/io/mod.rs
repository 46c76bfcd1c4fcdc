//! Where data lives: inputs and outputs named by a path or a URL.
//!
//! Everything that reads or writes user data (`text_file`,
//! `whole_text_files`, `save_as_text_file`, checkpoints, the ML loaders, the
//! event log) names it by a [`Location`]: a bare path or `file://` URL on a
//! local (or mounted) file system, or `s3://bucket/key` on an object store
//! reached through the `object_store` crate (the one DataFusion and Ballista
//! use). One set of operations ([`store`]) serves both, so a program moves
//! from a laptop's disk to a cluster's bucket by changing a string.
//!
//! How the pieces divide the work, as Hadoop's `FileInputFormat` and
//! `FileOutputCommitter` do in Spark:
//! - [`listing`]: the driver expands a file, a directory (its visible files)
//!   or a glob into files and their sizes, once, so every process agrees.
//! - splits (`nodes::text_file`): the driver cuts files into byte ranges;
//!   each executor reads its own range ([`store::read_range`],
//!   [`store::open_reader`]); the driver never reads data.
//! - [`codec`]: `.gz`, `.zst` and `.bz2` are decompressed by extension (one
//!   partition per file: a compressed stream cannot start mid-way), and
//!   text outputs may be compressed.
//! - [`commit`]: outputs are written under `_temporary/` and moved into
//!   place only when the job succeeds, with a `_SUCCESS` marker.
//!
//! How to reach an object store ([`StoreOptions`]: endpoint, region,
//! credentials, timeouts) is resolved once, on the driver, from the
//! `ember.s3.*` keys, the AWS environment variables and the AWS config
//! files, and travels inside the RDD nodes that need it: executors need no
//! configuration of their own (as Spark ships its Hadoop configuration).
//!
//! `object_store` is async; tasks are not. [`runtime`] runs its requests on
//! one small tokio runtime of the process and blocks the calling task
//! thread on each, which is what a task reading its split wants.

pub mod codec;
pub mod commit;
pub mod listing;
mod location;
mod options;
mod runtime;
pub mod store;

pub use codec::Codec;
pub use listing::{InputFile, list_input_files};
pub use location::{AsLocation, Location};
pub use options::{IoSettings, S3Options, StoreOptions};
pub use store::{ObjectWriter, open_reader, open_split_reader, read_all, read_range};

use crate::error::{EmberError, TaskError};

/// A read or write of a [`Location`] failed; says which URL and why.
#[derive(Debug, thiserror::Error)]
#[error("{url}: {message}")]
pub struct IoError {
    /// The location, as the user wrote it (a path or a URL).
    pub url: String,
    pub kind: std::io::ErrorKind,
    pub message: String,
}

impl IoError {
    pub fn new(url: impl std::fmt::Display, kind: std::io::ErrorKind, message: impl Into<String>) -> Self {
        IoError { url: url.to_string(), kind, message: message.into() }
    }
    /// A local file system error on `url`.
    pub fn from_io(url: impl std::fmt::Display, error: &std::io::Error) -> Self {
        IoError::new(url, error.kind(), error.to_string())
    }
}

impl From<IoError> for EmberError {
    fn from(e: IoError) -> Self {
        EmberError::Io { path: e.url, error: std::io::Error::new(e.kind, e.message) }
    }
}

impl From<IoError> for TaskError {
    /// Corrupt data fails every retry alike (deterministic); a missing
    /// object or a network error may not.
    fn from(e: IoError) -> Self {
        if e.kind == std::io::ErrorKind::InvalidData {
            TaskError::deterministic(e.to_string())
        } else {
            TaskError::input(e.to_string())
        }
    }
}
