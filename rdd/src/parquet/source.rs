//! The bytes of one Parquet file, as the parquet crate asks for them: a
//! [`ChunkReader`] hands out byte ranges (the footer, then the column chunks
//! of one row group) and readers from an offset, through
//! [`io::read_range`](crate::io::read_range) and
//! [`io::open_reader`](crate::io::open_reader), so a file on disk and an
//! object in a bucket are read alike: on S3, one ranged GET per column chunk
//! and two for the footer.
//!
//! Every error names the file, so a failure deep inside the parquet crate
//! still says which of many input files it was.

use crate::io::{IoError, Location, StoreOptions, open_reader, read_range};
use bytes::Bytes;
use parquet::file::reader::{ChunkReader, Length};
use std::io::Read;
use std::sync::{Arc, Mutex};

/// One Parquet file, opened for reading byte ranges.
pub struct FileSource {
    location: Location,
    options: StoreOptions,
    len: u64,
    io_failure: IoFailure,
}

/// The first I/O error a [`FileSource`] met, shared with whoever reads
/// through it. The parquet crate's record batch reader turns every error
/// into a string, so this is how a reader tells a failed read (worth a
/// retry) from a corrupt file (not).
#[derive(Clone, Default)]
pub struct IoFailure(Arc<Mutex<Option<String>>>);

impl IoFailure {
    fn record(&self, message: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(|| message.to_string());
    }

    /// The first I/O error met, if any.
    pub fn first(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl FileSource {
    /// The file at `location`, whose size is `len` bytes (known from
    /// listing it, so no request asks for it).
    pub fn new(location: Location, options: StoreOptions, len: u64) -> FileSource {
        FileSource { location, options, len, io_failure: IoFailure::default() }
    }

    /// Where the file is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The record of this source's I/O errors.
    pub fn io_failure(&self) -> IoFailure {
        self.io_failure.clone()
    }

    fn external(&self, e: IoError) -> parquet::errors::ParquetError {
        self.io_failure.record(&e.to_string());
        parquet::errors::ParquetError::External(Box::new(e))
    }
}

impl Length for FileSource {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for FileSource {
    type T = Box<dyn Read + Send>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        open_reader(&self.location, &self.options, start).map_err(|e| self.external(e))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let end = start + length as u64;
        if end > self.len {
            // The footer points past the end: the file is damaged, not
            // unreachable.
            return Err(parquet::errors::ParquetError::EOF(format!(
                "{}: asked for bytes {start}..{end}, but the file has {}",
                self.location, self.len
            )));
        }
        read_range(&self.location, &self.options, start..end).map_err(|e| self.external(e))
    }
}
