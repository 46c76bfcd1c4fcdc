//! Frames: how records are stored in shuffle files and spill files.
//!
//! Records are postcard-encoded back to back and cut into *frames* of about
//! [`FRAME_BYTES`], each holding whole records:
//!
//! ```text
//! frame   := header:u32le payload
//! header  := payload length (low 31 bits) | COMPRESSED (bit 31)
//! payload := records                        (stored)
//!          | raw_len:u32le lz4_block(records) (COMPRESSED)
//! ```
//!
//! A frame is compressed only when lz4 makes it an eighth smaller, and a
//! writer whose frame did not compress stores its next 15 as they are before
//! trying again ([`Codec`]): random keys and numbers do not compress, and
//! trying costs time for nothing. Because frames hold
//! whole records and stand alone, a reader needs one frame in memory at a
//! time, sequences of frames concatenate (a map output's block is its spill
//! files' segments followed by its in-memory part, copied without decoding),
//! and bytes may reach a reader split anywhere (gRPC chunks): the
//! [`FrameReader`] reassembles them.

use crate::error::TaskError;
use crate::task::BlockSource;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;

/// The raw size at which a buffer of records becomes a frame.
pub const FRAME_BYTES: usize = 64 << 10;

const COMPRESSED: u32 = 1 << 31;
const LENGTH_MASK: u32 = COMPRESSED - 1;

/// Frames a writer stores as they are after one that did not compress.
const SKIP_AFTER_MISS: u32 = 15;

/// Whether a writer's frames are compressed, learning from its data.
#[derive(Clone, Copy, Debug)]
pub struct Codec {
    compress: bool,
    /// Frames still to store without trying to compress them.
    skip: u32,
}

impl Codec {
    pub fn new(compress: bool) -> Self {
        Codec { compress, skip: 0 }
    }

    /// Appends `raw` (whole records) to `out` as one frame.
    pub fn write_frame(&mut self, raw: &[u8], out: &mut Vec<u8>) -> Result<(), TaskError> {
        if raw.is_empty() {
            return Ok(());
        }
        let try_compress = self.compress && self.skip == 0;
        self.skip = self.skip.saturating_sub(1);
        if !write_frame(raw, try_compress, out)? && try_compress {
            self.skip = SKIP_AFTER_MISS;
        }
        Ok(())
    }
}

/// Appends `raw` (whole records) to `out` as one frame, lz4-compressed when
/// `compress` is set and that makes it an eighth smaller; returns whether
/// it was compressed.
pub fn write_frame(raw: &[u8], compress: bool, out: &mut Vec<u8>) -> Result<bool, TaskError> {
    if raw.is_empty() {
        return Ok(false);
    }
    if raw.len() > LENGTH_MASK as usize - 4 {
        return Err(TaskError::engine(format!(
            "a run of {} bytes of records is too large for one shuffle frame (2 GiB at most: is one record that large?)",
            raw.len()
        )));
    }
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    if compress {
        let bound = lz4_flex::block::get_maximum_output_size(raw.len());
        out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
        let body = out.len();
        out.resize(body + bound, 0);
        if let Ok(n) = lz4_flex::block::compress_into(raw, &mut out[body..])
            && n + 4 < raw.len() - raw.len() / 8
        {
            out.truncate(body + n);
            let len = (n + 4) as u32 | COMPRESSED;
            out[start..start + 4].copy_from_slice(&len.to_le_bytes());
            return Ok(true);
        }
        out.truncate(start + 4);
    }
    out.extend_from_slice(raw);
    out[start..start + 4].copy_from_slice(&(raw.len() as u32).to_le_bytes());
    Ok(false)
}

/// Reads frames from a [`BlockSource`], one at a time.
pub struct FrameReader<S> {
    source: S,
    /// Bytes read from the source and not yet consumed, from `pos`.
    pending: Vec<u8>,
    pos: usize,
    /// The current frame's records, when it was compressed.
    decompressed: Vec<u8>,
    current: Current,
    /// What the bytes are, for error messages ("shuffle_3 reduce 2").
    what: String,
}

/// Where the current frame's records are (read in place, never copied).
enum Current {
    None,
    /// These bytes of `pending`.
    Stored(std::ops::Range<usize>),
    /// All of `decompressed`.
    Decompressed,
}

/// How much a reader asks its source for at once.
const READ_BYTES: usize = 256 << 10;

impl<S: BlockSource> FrameReader<S> {
    pub fn new(source: S, what: String) -> Self {
        FrameReader { source, pending: Vec::new(), pos: 0, decompressed: Vec::new(), current: Current::None, what }
    }

    fn corrupt(&self, why: &str) -> TaskError {
        TaskError::engine(format!("{}: corrupt shuffle data: {why}", self.what))
    }

    /// Makes sure `n` unconsumed bytes are buffered; false if the source
    /// ended before any byte past `pos`.
    fn fill(&mut self, n: usize) -> Result<bool, TaskError> {
        if self.pos > 0 && self.pos >= self.pending.len() / 2 {
            self.pending.drain(..self.pos);
            self.pos = 0;
        }
        while self.pending.len() - self.pos < n {
            let before = self.pending.len();
            if !self.source.read_into(&mut self.pending, READ_BYTES.max(n))? {
                return if before == self.pos { Ok(false) } else { Err(self.corrupt("truncated frame")) };
            }
        }
        Ok(true)
    }

    /// The records of the current frame (empty before the first).
    pub fn current(&self) -> &[u8] {
        match &self.current {
            Current::None => &[],
            Current::Stored(range) => &self.pending[range.clone()],
            Current::Decompressed => &self.decompressed,
        }
    }

    /// Moves to the next frame; false at the end.
    pub fn advance(&mut self) -> Result<bool, TaskError> {
        self.current = Current::None;
        if !self.fill(4)? {
            return Ok(false);
        }
        let header = u32::from_le_bytes(self.pending[self.pos..self.pos + 4].try_into().unwrap_or_default());
        let len = (header & LENGTH_MASK) as usize;
        if !self.fill(4 + len)? {
            return Err(self.corrupt("truncated frame"));
        }
        let payload = self.pos + 4..self.pos + 4 + len;
        self.pos = payload.end;
        if header & COMPRESSED == 0 {
            self.current = Current::Stored(payload);
            return Ok(true);
        }
        let body = &self.pending[payload];
        if body.len() < 4 {
            return Err(self.corrupt("compressed frame without its length"));
        }
        let raw_len = u32::from_le_bytes(body[..4].try_into().unwrap_or_default()) as usize;
        // lz4 expands at most about 255 times: a larger claim is garbage,
        // and must not become a huge allocation.
        if raw_len > body.len().saturating_mul(255) + 64 {
            return Err(self.corrupt(&format!("a frame claims {raw_len} bytes from {}", body.len())));
        }
        self.decompressed.resize(raw_len, 0);
        match lz4_flex::block::decompress_into(&body[4..], &mut self.decompressed) {
            Ok(n) if n == raw_len => {
                self.current = Current::Decompressed;
                Ok(true)
            }
            Ok(n) => Err(self.corrupt(&format!("a frame decompressed to {n} bytes instead of {raw_len}"))),
            Err(e) => Err(self.corrupt(&e.to_string())),
        }
    }
}

/// Decodes the records of a sequence of frames, in place.
pub struct RecordReader<T, S> {
    frames: FrameReader<S>,
    /// How far the current frame is decoded.
    offset: usize,
    _records: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned, S: BlockSource> RecordReader<T, S> {
    pub fn new(source: S, what: String) -> Self {
        RecordReader { frames: FrameReader::new(source, what), offset: 0, _records: PhantomData }
    }

    /// The next record, `None` at the end.
    pub fn next_record(&mut self) -> Result<Option<T>, TaskError> {
        while self.offset >= self.frames.current().len() {
            if !self.frames.advance()? {
                return Ok(None);
            }
            self.offset = 0;
        }
        let frame = self.frames.current();
        match postcard::take_from_bytes::<T>(&frame[self.offset..]) {
            Ok((record, rest)) => {
                self.offset = frame.len() - rest.len();
                Ok(Some(record))
            }
            Err(e) => {
                self.offset = frame.len();
                Err(self.frames.corrupt(&format!("a record does not decode: {e}")))
            }
        }
    }
}

/// Encodes records into frames as they come: [`FrameWriter::push`] appends a
/// record to the open buffer, which becomes a frame in `out` once it holds
/// [`FRAME_BYTES`].
pub struct FrameWriter {
    open: Vec<u8>,
    codec: Codec,
}

impl FrameWriter {
    pub fn new(compress: bool) -> Self {
        FrameWriter { open: Vec::new(), codec: Codec::new(compress) }
    }

    pub fn push<T: Serialize>(&mut self, record: &T, out: &mut Vec<u8>) -> Result<(), TaskError> {
        encode_into(record, &mut self.open)?;
        if self.open.len() >= FRAME_BYTES {
            self.seal(out)?;
        }
        Ok(())
    }

    /// Turns what is buffered into a frame.
    pub fn seal(&mut self, out: &mut Vec<u8>) -> Result<(), TaskError> {
        self.codec.write_frame(&self.open, out)?;
        self.open.clear();
        Ok(())
    }
}

/// Appends `record`'s postcard encoding to `buf`.
pub fn encode_into<T: Serialize>(record: &T, buf: &mut Vec<u8>) -> Result<(), TaskError> {
    postcard::serialize_with_flavor(record, AppendTo(buf))
        .map_err(|e| TaskError::engine(format!("cannot encode a record: {e}")))
}

/// A postcard flavor that appends to a vector byte by byte: a record's
/// fields are a few bytes each (varints), for which a `memmove` call per
/// field (what `Vec::extend_from_slice` compiles to) cost an eighth of a
/// shuffle's map side.
struct AppendTo<'a>(&'a mut Vec<u8>);

impl postcard::ser_flavors::Flavor for AppendTo<'_> {
    type Output = ();

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.0.push(byte);
        Ok(())
    }

    fn try_extend(&mut self, bytes: &[u8]) -> postcard::Result<()> {
        if bytes.len() > 32 {
            self.0.extend_from_slice(bytes);
        } else {
            // Byte by byte: the per-push capacity check keeps LLVM from
            // turning the loop back into a `memmove` call.
            self.0.reserve(bytes.len());
            bytes.iter().for_each(|&b| self.0.push(b));
        }
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that hands its bytes out `step` at a time.
    struct Pieces {
        bytes: Vec<u8>,
        at: usize,
        step: usize,
    }

    impl BlockSource for Pieces {
        fn read_into(&mut self, buf: &mut Vec<u8>, _max: usize) -> Result<bool, TaskError> {
            if self.at >= self.bytes.len() {
                return Ok(false);
            }
            let end = (self.at + self.step).min(self.bytes.len());
            buf.extend_from_slice(&self.bytes[self.at..end]);
            self.at = end;
            Ok(true)
        }
    }

    fn frames_of(records: &[(u64, String)], compress: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut w = FrameWriter::new(compress);
        for r in records {
            w.push(r, &mut out).unwrap();
        }
        w.seal(&mut out).unwrap();
        out
    }

    fn read_all(bytes: Vec<u8>, step: usize) -> Result<Vec<(u64, String)>, TaskError> {
        let mut r = RecordReader::<(u64, String), _>::new(Pieces { bytes, at: 0, step }, "test".into());
        let mut out = Vec::new();
        while let Some(x) = r.next_record()? {
            out.push(x);
        }
        Ok(out)
    }

    #[test]
    fn records_survive_frames_split_anywhere() {
        let records: Vec<(u64, String)> = (0..20_000).map(|i| (i * 7919, format!("value {}", i % 97))).collect();
        for compress in [false, true] {
            let bytes = frames_of(&records, compress);
            for step in [1, 3, 4096, 1 << 20] {
                assert_eq!(read_all(bytes.clone(), step).unwrap(), records, "compress {compress} step {step}");
            }
        }
        // Repetitive records compress; concatenated frame sequences read as one.
        let plain = frames_of(&records, false);
        let packed = frames_of(&records, true);
        assert!(packed.len() < plain.len() * 3 / 4, "{} vs {}", packed.len(), plain.len());
        let mut both = packed.clone();
        both.extend_from_slice(&plain);
        assert_eq!(read_all(both, 777).unwrap().len(), 2 * records.len());
    }

    #[test]
    fn incompressible_frames_are_stored() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let noise: Vec<u8> = (0..10_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let mut out = Vec::new();
        assert!(!write_frame(&noise, true, &mut out).unwrap());
        assert_eq!(out.len(), noise.len() + 4);
        assert_eq!(u32::from_le_bytes(out[..4].try_into().unwrap()) & COMPRESSED, 0);
    }

    #[test]
    fn a_codec_stops_trying_for_a_while_after_a_miss() {
        let text = b"the same words again and again ".repeat(100);
        let mut codec = Codec::new(true);
        let mut out = Vec::new();
        codec.write_frame(&text, &mut out).unwrap();
        assert_eq!(codec.skip, 0, "text compresses");
        codec.write_frame(&[7u8, 1, 250, 3, 99, 12, 40, 8], &mut out).unwrap();
        assert_eq!(codec.skip, SKIP_AFTER_MISS, "eight random bytes do not");
        for _ in 0..SKIP_AFTER_MISS {
            let before = out.len();
            codec.write_frame(&text, &mut out).unwrap();
            assert_eq!(out.len() - before, text.len() + 4, "stored while skipping");
        }
        let before = out.len();
        codec.write_frame(&text, &mut out).unwrap();
        assert!(out.len() - before < text.len() / 4, "then it tries again");
        assert!(!Codec::new(false).compress);
    }

    #[test]
    fn truncated_and_garbled_data_are_errors_not_panics() {
        let records: Vec<(u64, String)> = (0..1000).map(|i| (i, "x".repeat(i as usize % 50))).collect();
        let bytes = frames_of(&records, true);
        let truncated = bytes[..bytes.len() - 3].to_vec();
        let e = read_all(truncated, 100).unwrap_err();
        assert!(e.to_string().contains("test: corrupt shuffle data: truncated frame"), "{e}");
        let mut garbled = bytes.clone();
        for b in garbled.iter_mut().skip(8).step_by(5) {
            *b ^= 0x5a;
        }
        assert!(read_all(garbled, 100).is_err());
    }
}
