//! The disk floor: the sequential write and read bandwidth of the temp
//! dir's filesystem, measured in the same run as the shuffles. A shuffle
//! that spills writes its data once and reads it back once (at least), so
//! (bytes ÷ write bandwidth + bytes ÷ read bandwidth) is the floor of its
//! time however good the engine is.
//!
//! The file is written in 8 MiB writes of incompressible bytes and fsynced
//! (both timed), dropped from the page cache (`posix_fadvise(DONTNEED)`,
//! which works on clean pages, hence after the fsync), then read back in
//! 8 MiB reads (timed), and deleted, also when something fails.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Instant;

const CHUNK: usize = 8 << 20;
/// Space left free on the filesystem besides the test file.
const MARGIN: u64 = 1 << 30;

/// The measured floor.
pub struct DiskFloor {
    pub dir: PathBuf,
    pub bytes: u64,
    pub write_secs: f64,
    pub read_secs: f64,
}

impl DiskFloor {
    pub fn write_mb_per_s(&self) -> f64 {
        self.bytes as f64 / self.write_secs / 1e6
    }
    pub fn read_mb_per_s(&self) -> f64 {
        self.bytes as f64 / self.read_secs / 1e6
    }
    pub fn describe(&self) -> String {
        format!(
            "{:.0} MiB in 8 MiB writes under {}: write + fsync {:.0} MB/s, read (page cache dropped) {:.0} MB/s",
            crate::rss::mib(self.bytes),
            self.dir.display(),
            self.write_mb_per_s(),
            self.read_mb_per_s()
        )
    }
}

/// A file removed when dropped.
struct ScratchFile(PathBuf);

impl Drop for ScratchFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Writes, drops from the cache and reads back `bytes` bytes in `dir`.
pub fn measure(dir: &Path, bytes: u64) -> anyhow::Result<DiskFloor> {
    let free = free_bytes(dir)?;
    anyhow::ensure!(bytes + MARGIN <= free, "{}: {free} bytes free, the floor needs {bytes} + 1 GiB", dir.display());
    let scratch = ScratchFile(dir.join(format!("ember-bench-disk-floor-{}", std::process::id())));
    let write_secs = write_synced(&scratch.0, bytes)?;
    let file = File::open(&scratch.0)?;
    drop_from_page_cache(&file)?;
    let read_secs = read_all(file, bytes)?;
    Ok(DiskFloor { dir: dir.to_path_buf(), bytes, write_secs, read_secs })
}

/// Bytes an unprivileged process can still write on `dir`'s filesystem.
fn free_bytes(dir: &Path) -> anyhow::Result<u64> {
    let path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())?;
    // SAFETY: statvfs fills the struct we pass; `path` is a NUL-terminated string alive for the call.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut stat) } != 0 {
        anyhow::bail!("statvfs {}: {}", dir.display(), std::io::Error::last_os_error());
    }
    Ok(stat.f_bavail as u64 * stat.f_frsize as u64)
}

/// Pseudo-random bytes (xorshift), so that a compressing filesystem cannot shrink them.
fn incompressible_chunk() -> Vec<u8> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut chunk = Vec::with_capacity(CHUNK);
    while chunk.len() < CHUNK {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk.extend_from_slice(&state.to_le_bytes());
    }
    chunk
}

/// Seconds to write `bytes` bytes to a new file at `path` and fsync it.
fn write_synced(path: &Path, bytes: u64) -> anyhow::Result<f64> {
    let chunk = incompressible_chunk();
    let mut file = File::options().write(true).create_new(true).open(path)?;
    let start = Instant::now();
    let mut left = bytes;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        file.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    file.sync_all()?;
    Ok(start.elapsed().as_secs_f64())
}

/// Asks the kernel to drop `file`'s (clean) pages from the page cache.
fn drop_from_page_cache(file: &File) -> anyhow::Result<()> {
    // SAFETY: posix_fadvise only reads its integer arguments; the fd is open.
    let error = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    anyhow::ensure!(error == 0, "posix_fadvise: {}", std::io::Error::from_raw_os_error(error));
    Ok(())
}

/// Seconds to read `file` to its end, checking that it holds `bytes` bytes.
fn read_all(mut file: File, bytes: u64) -> anyhow::Result<f64> {
    let mut buffer = vec![0u8; CHUNK];
    let start = Instant::now();
    let mut read = 0u64;
    loop {
        match file.read(&mut buffer)? {
            0 => break,
            n => read += n as u64,
        }
    }
    let secs = start.elapsed().as_secs_f64();
    anyhow::ensure!(read == bytes, "read back {read} bytes of {bytes}");
    Ok(secs)
}
