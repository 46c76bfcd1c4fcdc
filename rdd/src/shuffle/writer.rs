//! The map side of a shuffle: records bucketed by reduce partition under a
//! memory budget, ending as one map output file ([`super::map_output`]).
//!
//! Each reduce partition has an *open* buffer of encoded records, sealed
//! into a frame once it holds [`FRAME_BYTES`], and its *sealed* frames. The
//! buffers' capacities are the writer's memory; when the task's
//! reservation cannot cover them, every buffer is sealed and written to a
//! spill file, partition after partition (with the offset of each), and
//! memory is given back. At the end, block `r` of the output is each spill
//! file's segment `r`, in spill order, then what is still in memory: bytes
//! copied, never decoded, and records keep their arrival order.

use super::SpillEnv;
use super::frame::{Codec, FRAME_BYTES, encode_into};
use super::map_output::{MapOutputSummary, NonEmptyBlocks, index_and_footer};
use super::spill::TempFile;
use crate::error::TaskError;
use crate::memory::MemoryReservation;
use serde::Serialize;
use std::time::Instant;

/// A spill file of the writer and where each partition's segment starts.
struct Spill {
    file: TempFile,
    /// `offsets[r]..offsets[r + 1]` is partition `r`'s segment.
    offsets: Vec<u64>,
}

pub struct ShuffleWriter {
    env: SpillEnv,
    codec: Codec,
    /// Encoded records not yet in a frame, per reduce partition.
    open: Vec<Vec<u8>>,
    /// Frames per reduce partition.
    sealed: Vec<Vec<u8>>,
    /// Sum of the buffers' capacities: the memory the writer holds.
    held: u64,
    reservation: MemoryReservation,
    spills: Vec<Spill>,
    records: u64,
}

/// A finished map output, not yet committed: its file and what it holds.
pub struct MapOutputFile {
    pub file: TempFile,
    pub index_offset: u64,
    pub blocks: u32,
    pub summary: MapOutputSummary,
}

/// Writes go to files in pieces of about this size.
const WRITE_BYTES: usize = 1 << 20;

impl ShuffleWriter {
    pub fn new(env: SpillEnv, partitions: usize) -> Self {
        let reservation = env.memory.reservation();
        ShuffleWriter {
            codec: Codec::new(env.compress),
            env,
            open: vec![Vec::new(); partitions],
            sealed: vec![Vec::new(); partitions],
            held: 0,
            reservation,
            spills: Vec::new(),
            records: 0,
        }
    }

    /// Adds a record to reduce partition `partition`.
    pub fn insert<T: Serialize>(&mut self, partition: usize, record: &T) -> Result<(), TaskError> {
        let buf = &mut self.open[partition];
        let before = buf.capacity();
        encode_into(record, buf)?;
        self.records += 1;
        self.held += (buf.capacity() - before) as u64;
        if buf.len() >= FRAME_BYTES {
            self.seal(partition)?;
        }
        if self.env.must_spill(&mut self.reservation, self.held, self.held) {
            self.spill()?;
        }
        Ok(())
    }

    /// Moves partition `p`'s open records into a frame.
    fn seal(&mut self, p: usize) -> Result<(), TaskError> {
        let sealed = &mut self.sealed[p];
        let before = sealed.capacity();
        self.codec.write_frame(&self.open[p], sealed)?;
        self.held += (sealed.capacity() - before) as u64;
        self.open[p].clear();
        Ok(())
    }

    /// Writes every partition's buffers to a new spill file and frees them.
    fn spill(&mut self) -> Result<(), TaskError> {
        let start = Instant::now();
        let mut out = BufferedFile::new(TempFile::create(&self.env.dir, "shuffle-spill")?);
        let mut offsets = Vec::with_capacity(self.open.len() + 1);
        offsets.push(0);
        for p in 0..self.open.len() {
            self.seal(p)?;
            out.write(&self.sealed[p])?;
            self.sealed[p] = Vec::new();
            self.open[p] = Vec::new();
            offsets.push(out.pos);
        }
        let (file, bytes) = out.finish()?;
        self.env.record_spill(self.held, bytes, start.elapsed());
        self.held = 0;
        self.reservation.free();
        self.spills.push(Spill { file, offsets });
        Ok(())
    }

    /// Writes the map output file: every partition's spilled segments, then
    /// its buffers, then the index and footer.
    pub fn finish(mut self) -> Result<MapOutputFile, TaskError> {
        let mut out = BufferedFile::new(TempFile::create(&self.env.dir, "shuffle-output")?);
        let partitions = self.open.len();
        let mut offsets = Vec::with_capacity(partitions + 1);
        offsets.push(0);
        for p in 0..partitions {
            // Most blocks of a wide shuffle are empty: nothing to look at.
            if self.spills.is_empty() && self.open[p].is_empty() && self.sealed[p].is_empty() {
                offsets.push(out.pos);
                continue;
            }
            for spill in &self.spills {
                out.copy_range(&spill.file, spill.offsets[p], spill.offsets[p + 1])?;
            }
            self.seal(p)?;
            out.write(&self.sealed[p])?;
            self.sealed[p] = Vec::new();
            offsets.push(out.pos);
        }
        let bytes = out.pos;
        out.write(&index_and_footer(&offsets)?)?;
        let (file, _) = out.finish()?;
        self.reservation.free();
        let sizes: Vec<u64> = offsets.windows(2).map(|w| w[1] - w[0]).collect();
        let summary = MapOutputSummary { bytes, records: self.records, non_empty: NonEmptyBlocks::from_sizes(&sizes) };
        Ok(MapOutputFile { file, index_offset: bytes, blocks: partitions as u32, summary })
    }
}

/// A temp file written through a buffer of [`WRITE_BYTES`]; large pieces go
/// straight through.
struct BufferedFile {
    file: TempFile,
    buf: Vec<u8>,
    /// Bytes written so far, buffered ones included.
    pos: u64,
}

impl BufferedFile {
    fn new(file: TempFile) -> Self {
        BufferedFile { file, buf: Vec::new(), pos: 0 }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), TaskError> {
        if self.buf.len() + bytes.len() > WRITE_BYTES {
            self.flush()?;
        }
        if bytes.len() >= WRITE_BYTES {
            self.file.write_all(bytes)?;
        } else {
            self.buf.extend_from_slice(bytes);
        }
        self.pos += bytes.len() as u64;
        Ok(())
    }

    /// Appends bytes `start..end` of `from`, a piece at a time.
    fn copy_range(&mut self, from: &TempFile, mut start: u64, end: u64) -> Result<(), TaskError> {
        while start < end {
            if self.buf.len() >= WRITE_BYTES {
                self.flush()?;
            }
            let n = ((end - start) as usize).min(WRITE_BYTES);
            let at = self.buf.len();
            self.buf.resize(at + n, 0);
            from.read_exact_at(&mut self.buf[at..], start)?;
            start += n as u64;
            self.pos += n as u64;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), TaskError> {
        self.file.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// The file and the bytes written to it.
    fn finish(mut self) -> Result<(TempFile, u64), TaskError> {
        self.flush()?;
        Ok((self.file, self.pos))
    }
}

#[cfg(test)]
mod tests;
