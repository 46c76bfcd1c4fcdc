//! The shuffle store: the map outputs this executor committed, as files in
//! its local directory, served to reducers here and over `FetchShuffle`.
//!
//! A map task writes its output to a temp file and hands it over
//! ([`ShuffleStore::commit`]); the store renames it to
//! `shuffle_<id>_<map>.data` and records where its index starts. The first
//! committed output of a map task stays: a later attempt's file (the same
//! bytes, since tasks are deterministic) is dropped, so a file that
//! reducers may be reading is never replaced. Blocks are read with
//! positional reads (`pread`) on a descriptor kept open while descriptors
//! are plentiful (half the process's limit), else opened per block.
//!
//! Removing a shuffle deletes its files; an executor's directory goes when
//! the executor ends.

use ember_rdd::TaskError;
use ember_rdd::ids::ShuffleId;
use ember_rdd::shuffle::map_output::{MapOutputSummary, block_range};
use ember_rdd::shuffle::writer::MapOutputFile;
use ember_rdd::task::BlockSource;
use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// One committed map output.
pub struct StoredMapOutput {
    path: PathBuf,
    /// Kept open while descriptors are plentiful.
    file: Option<File>,
    index_offset: u64,
    blocks: u32,
    pub summary: MapOutputSummary,
}

impl StoredMapOutput {
    /// The byte range of block `reduce`.
    pub fn block_range(&self, reduce: u32) -> std::io::Result<(u64, u64)> {
        if reduce >= self.blocks {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "no such reduce partition"));
        }
        match &self.file {
            Some(f) => block_range(f, self.index_offset, reduce),
            None => block_range(&File::open(&self.path)?, self.index_offset, reduce),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A block of a stored map output, read in pieces.
pub struct LocalBlock {
    output: Arc<StoredMapOutput>,
    /// Opened per block when the output keeps no descriptor.
    own_file: Option<File>,
    pos: u64,
    end: u64,
}

impl LocalBlock {
    /// Block `reduce` of `output`.
    pub fn new(output: Arc<StoredMapOutput>, reduce: u32) -> std::io::Result<Self> {
        let own_file = match output.file {
            Some(_) => None,
            None => Some(File::open(&output.path)?),
        };
        let (pos, end) = match &own_file {
            Some(f) => block_range(f, output.index_offset, reduce)?,
            None => output.block_range(reduce)?,
        };
        Ok(LocalBlock { output, own_file, pos, end })
    }

    /// Reads the next piece (at most `max` bytes) into `buf`; false at the end.
    pub fn read_piece(&mut self, buf: &mut Vec<u8>, max: usize) -> std::io::Result<bool> {
        if self.pos >= self.end {
            return Ok(false);
        }
        let n = (max as u64).min(self.end - self.pos) as usize;
        let at = buf.len();
        buf.resize(at + n, 0);
        let file = match (&self.own_file, &self.output.file) {
            (Some(f), _) | (None, Some(f)) => f,
            (None, None) => return Err(std::io::Error::other("map output without a file")),
        };
        let read = file.read_exact_at(&mut buf[at..], self.pos);
        if read.is_err() {
            buf.truncate(at);
        }
        read?;
        self.pos += n as u64;
        Ok(true)
    }

    pub fn remaining(&self) -> u64 {
        self.end - self.pos
    }
}

impl BlockSource for LocalBlock {
    fn read_into(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<bool, TaskError> {
        self.read_piece(buf, max)
            .map_err(|e| TaskError::engine(format!("cannot read shuffle file {}: {e}", self.output.path.display())))
    }
}

pub struct ShuffleStore {
    /// Where map outputs are kept (the executor's local directory).
    dir: PathBuf,
    /// shuffle -> map index -> its committed output.
    shuffle_to_outputs: RwLock<HashMap<ShuffleId, Vec<Option<Arc<StoredMapOutput>>>>>,
    /// Serializes commits, so that two attempts of one map task cannot both win.
    commit_lock: Mutex<()>,
    /// Descriptors kept open, and the most this store keeps.
    open_files: AtomicUsize,
    max_open_files: usize,
}

impl ShuffleStore {
    pub fn new(dir: PathBuf) -> Self {
        ShuffleStore {
            dir,
            shuffle_to_outputs: RwLock::new(HashMap::new()),
            commit_lock: Mutex::new(()),
            open_files: AtomicUsize::new(0),
            max_open_files: descriptor_budget(),
        }
    }

    /// Publishes map task `map`'s output of `shuffle`; if one was committed
    /// before, that one stays and its summary is returned.
    pub fn commit(&self, shuffle: ShuffleId, map: usize, output: MapOutputFile) -> Result<MapOutputSummary, TaskError> {
        let _serialized = self.commit_lock.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = self.get(shuffle, map) {
            return Ok(existing.summary.clone());
        }
        let path = self.dir.join(format!("shuffle_{}_{map}.data", shuffle.0));
        let MapOutputFile { file, index_offset, blocks, summary } = output;
        file.persist(&path)
            .map_err(|e| TaskError::engine(format!("cannot commit the map output {}: {e}", path.display())))?;
        let keep_open = self.open_files.fetch_add(1, Ordering::Relaxed) < self.max_open_files;
        let file = if keep_open { File::open(&path).ok() } else { None };
        if file.is_none() {
            self.open_files.fetch_sub(1, Ordering::Relaxed);
        }
        let stored = Arc::new(StoredMapOutput { path, file, index_offset, blocks, summary: summary.clone() });
        let mut outputs = self.shuffle_to_outputs.write().unwrap_or_else(|p| p.into_inner());
        let maps = outputs.entry(shuffle).or_default();
        if maps.len() <= map {
            maps.resize(map + 1, None);
        }
        maps[map] = Some(stored);
        Ok(summary)
    }

    /// Map task `map`'s committed output of `shuffle`, if this executor has it.
    pub fn get(&self, shuffle: ShuffleId, map: usize) -> Option<Arc<StoredMapOutput>> {
        let outputs = self.shuffle_to_outputs.read().unwrap_or_else(|p| p.into_inner());
        outputs.get(&shuffle)?.get(map)?.clone()
    }

    /// Forgets a shuffle and deletes its files (readers still holding a
    /// descriptor finish reading).
    pub fn remove_shuffle(&self, shuffle: ShuffleId) {
        let removed = self.shuffle_to_outputs.write().unwrap_or_else(|p| p.into_inner()).remove(&shuffle);
        for output in removed.into_iter().flatten().flatten() {
            if output.file.is_some() {
                self.open_files.fetch_sub(1, Ordering::Relaxed);
            }
            if let Err(e) = std::fs::remove_file(&output.path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(file = %output.path.display(), error = %e, "cannot delete a shuffle file");
            }
        }
    }

    /// Bytes of blocks held, for metrics.
    pub fn bytes(&self) -> u64 {
        let outputs = self.shuffle_to_outputs.read().unwrap_or_else(|p| p.into_inner());
        outputs.values().flatten().flatten().map(|o| o.summary.bytes).sum()
    }

    /// Map outputs held.
    pub fn outputs(&self) -> usize {
        let outputs = self.shuffle_to_outputs.read().unwrap_or_else(|p| p.into_inner());
        outputs.values().flatten().flatten().count()
    }
}

/// How many descriptors a store keeps open: half of what the process may
/// open, once its soft limit is raised to the hard one (as Go's runtime and
/// most servers do at start).
fn descriptor_budget() -> usize {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct we pass; it has no other effect.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 256;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
        // SAFETY: setrlimit reads the struct we pass; raising the soft limit
        // up to the hard one needs no privilege and affects only this process.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit.rlim_cur = limit.rlim_max;
        }
    }
    (limit.rlim_cur / 2).min(1 << 20) as usize
}

#[cfg(test)]
mod tests;
