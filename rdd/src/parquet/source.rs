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

/// One Parquet file, opened for reading byte ranges.
pub struct FileSource {
    /// The file's path, as the user wrote it (for errors).
    name: String,
    file: File,
    len: u64,
}

impl FileSource {
    /// Opens `name`, whose size is `len` bytes (known from listing it).
    pub fn open(name: &str, len: u64) -> Result<FileSource, ParquetError> {
        let file = File::open(name).map_err(|e| ParquetError::Io { file: name.to_string(), message: e.to_string() })?;
        Ok(FileSource { name: name.to_string(), file, len })
    }

    /// The file's path or URL, as the user wrote it.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn external(&self, e: std::io::Error) -> parquet::errors::ParquetError {
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
