//! The bytes of one Parquet file, as the parquet crate asks for them: a
//! [`ChunkReader`] hands out byte ranges (the footer, then the column chunks
//! of one row group) and readers from an offset.
//!
//! Every error names the file, so a failure deep inside the parquet crate
//! still says which of many input files it was.

use crate::parquet::error::ParquetError;
use bytes::Bytes;
use parquet::file::reader::{ChunkReader, Length};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};

/// One Parquet file, opened for reading byte ranges.
pub struct FileSource {
    /// The file's path, as the user wrote it (for errors).
    name: String,
    file: File,
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
    /// Opens `name`, whose size is `len` bytes (known from listing it).
    pub fn open(name: &str, len: u64) -> Result<FileSource, ParquetError> {
        let file = File::open(name).map_err(|e| ParquetError::Io { file: name.to_string(), message: e.to_string() })?;
        Ok(FileSource { name: name.to_string(), file, len, io_failure: IoFailure::default() })
    }

    /// The file's path or URL, as the user wrote it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The record of this source's I/O errors.
    pub fn io_failure(&self) -> IoFailure {
        self.io_failure.clone()
    }

    fn external(&self, e: std::io::Error) -> parquet::errors::ParquetError {
        self.io_failure.record(&e.to_string());
        let named = std::io::Error::new(e.kind(), format!("{}: {e}", self.name));
        parquet::errors::ParquetError::External(Box::new(named))
    }
}

impl Length for FileSource {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for FileSource {
    type T = BufReader<File>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let mut file = self.file.try_clone().map_err(|e| self.external(e))?;
        file.seek(SeekFrom::Start(start)).map_err(|e| self.external(e))?;
        Ok(BufReader::new(file))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let mut file = self.file.try_clone().map_err(|e| self.external(e))?;
        file.seek(SeekFrom::Start(start)).map_err(|e| self.external(e))?;
        let mut buf = Vec::with_capacity(length);
        file.take(length as u64).read_to_end(&mut buf).map_err(|e| self.external(e))?;
        if buf.len() != length {
            let short = std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("asked for {length} bytes at offset {start}, the file ends after {}", buf.len()),
            );
            return Err(parquet::errors::ParquetError::EOF(format!("{}: {short}", self.name)));
        }
        Ok(Bytes::from(buf))
    }
}
