//! Spill files: sorted runs of records written to the executor's local
//! directory when a collection outgrows its memory, and read back to merge.
//!
//! A [`TempFile`] is owned: it is deleted when dropped (a failed task, a
//! finished merge, a panic unwinding), unless [`TempFile::persist`] renamed
//! it into place (a committed map output). A [`Run`] is a temp file of
//! frames ([`super::frame`]) and is read back with [`Run::records`].

use super::frame::{FrameWriter, RecordReader};
use crate::error::TaskError;
use crate::task::BlockSource;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A file in the local directory that is deleted when dropped.
pub struct TempFile {
    path: PathBuf,
    file: File,
    keep: bool,
}

static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

impl TempFile {
    /// Creates a new, empty file named `<kind>-<pid>-<n>.tmp` in `dir`.
    /// A name taken already is skipped: in a REPL process each cell's copy of
    /// Ember has its own counter (ADR 0009).
    pub fn create(dir: &Path, kind: &str) -> Result<TempFile, TaskError> {
        loop {
            let n = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!("{kind}-{}-{n}.tmp", std::process::id()));
            match OpenOptions::new().read(true).write(true).create_new(true).open(&path) {
                Ok(file) => return Ok(TempFile { path, file, keep: false }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(TaskError::engine(format!(
                        "cannot create a file in the local directory {}: {e}",
                        dir.display()
                    )));
                }
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    /// Appends `bytes`; the error names the file (a full disk says so).
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), TaskError> {
        self.file.write_all(bytes).map_err(|e| self.io_error("write", e))
    }

    /// Reads `buf.len()` bytes at `offset`.
    pub fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<(), TaskError> {
        self.file.read_exact_at(buf, offset).map_err(|e| self.io_error("read", e))
    }

    pub fn io_error(&self, what: &str, e: std::io::Error) -> TaskError {
        TaskError::engine(format!("cannot {what} {}: {e}", self.path.display()))
    }

    /// Renames the file to `to` (same file system), which keeps it.
    pub fn persist(mut self, to: &Path) -> std::io::Result<()> {
        std::fs::rename(&self.path, to)?;
        self.keep = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A byte range of a shared temp file, read in pieces.
pub struct FileRange {
    file: Arc<TempFile>,
    pos: u64,
    end: u64,
}

impl FileRange {
    pub fn new(file: Arc<TempFile>, start: u64, end: u64) -> Self {
        FileRange { file, pos: start, end }
    }
}

impl BlockSource for FileRange {
    fn read_into(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<bool, TaskError> {
        if self.pos >= self.end {
            return Ok(false);
        }
        let n = (max as u64).min(self.end - self.pos) as usize;
        let at = buf.len();
        buf.resize(at + n, 0);
        self.file.read_exact_at(&mut buf[at..], self.pos)?;
        self.pos += n as u64;
        Ok(true)
    }
}

/// Writes one run of records to a new temp file.
pub struct RunWriter {
    file: TempFile,
    frames: FrameWriter,
    /// Frames not yet written to the file.
    buf: Vec<u8>,
    bytes: u64,
    records: u64,
}

/// Frames are written to the file in writes of about this size.
const WRITE_BYTES: usize = 1 << 20;

impl RunWriter {
    pub fn create(dir: &Path, compress: bool) -> Result<RunWriter, TaskError> {
        let file = TempFile::create(dir, "spill")?;
        Ok(RunWriter { file, frames: FrameWriter::new(compress), buf: Vec::new(), bytes: 0, records: 0 })
    }

    pub fn push<T: Serialize>(&mut self, record: &T) -> Result<(), TaskError> {
        self.frames.push(record, &mut self.buf)?;
        self.records += 1;
        if self.buf.len() >= WRITE_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), TaskError> {
        self.file.write_all(&self.buf)?;
        self.bytes += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    pub fn finish(mut self) -> Result<Run, TaskError> {
        self.frames.seal(&mut self.buf)?;
        self.flush()?;
        Ok(Run { file: Arc::new(self.file), bytes: self.bytes, records: self.records })
    }
}

/// A sorted run of records on disk.
pub struct Run {
    file: Arc<TempFile>,
    /// Bytes in the file.
    pub bytes: u64,
    pub records: u64,
}

impl Run {
    /// Reads the run's records back, in order.
    pub fn records<T: DeserializeOwned>(&self) -> RecordReader<T, FileRange> {
        let what = format!("spill file {}", self.file.path().display());
        RecordReader::new(FileRange::new(self.file.clone(), 0, self.bytes), what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_reads_back_and_its_file_goes_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = RunWriter::create(dir.path(), true).unwrap();
        for i in 0..100_000u64 {
            w.push(&(i, i * 3)).unwrap();
        }
        let run = w.finish().unwrap();
        assert_eq!(run.records, 100_000);
        let mut r = run.records::<(u64, u64)>();
        let mut n = 0;
        while let Some((a, b)) = r.next_record().unwrap() {
            assert_eq!((a, b), (n, n * 3));
            n += 1;
        }
        assert_eq!(n, 100_000);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        drop(r);
        drop(run);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the spill file is deleted with its run");
    }

    #[test]
    fn an_unwritable_directory_is_named_in_the_error() {
        let e = RunWriter::create(Path::new("/proc/no-such-dir"), false).err().unwrap();
        assert!(e.to_string().contains("/proc/no-such-dir"), "{e}");
    }
}
