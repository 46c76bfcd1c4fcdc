//! Text sources: `text_file` (one record per line), `text_file_parsed` (one
//! record per parsed line: the same node with another [`SplitReader`], see
//! [`parsed_text`](super::parsed_text)) and `whole_text_files` (one
//! `(path, content)` record per file).
//!
//! Like Hadoop's input splits, `text_file` cuts each file into byte ranges of
//! about `total / min_partitions` bytes; a split owns every line that *starts*
//! inside its range, so it skips a partial first line (unless it starts at 0)
//! and reads past its end to finish its last line. Files are listed once, on
//! the driver, so every process agrees on the splits.

use crate::Data;
use crate::error::{EmberError, TaskError};
use crate::io::{Codec, InputFile, IoError, Location, StoreOptions, list_input_files, open_split_reader};
use crate::rdd::{Dependency, RddBase, RddMeta, RddNode};
use crate::shipping::{Parents, ShippedNode, from_fields, to_fields};
use crate::task::{BoxIter, TaskContext};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::io::{BufRead, BufReader, Read};

/// A byte range of one file or object; a compressed file's only split is
/// the whole file, read through its codec.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FileSplit {
    pub location: Location,
    pub start: u64,
    pub end: u64,
    pub codec: Option<Codec>,
}

/// Cuts files into splits of about `total_bytes / min_partitions` bytes: at
/// least `min_partitions` splits when there are that many bytes (compressed
/// files, which cannot be split, count as one each).
pub fn plan_splits(files: &[InputFile], min_partitions: usize) -> Vec<FileSplit> {
    let total: u64 = files.iter().map(|f| f.size).sum();
    // Rounded down, as Hadoop's goal size: rounding up would make fewer splits
    // than asked (10 bytes for 6 partitions: 2-byte splits, only 5 of them).
    let goal = (total / min_partitions.max(1) as u64).max(1);
    let mut splits = Vec::new();
    for file in files {
        let codec = Codec::from_name(&file.location.file_name());
        if codec.is_some() {
            splits.push(FileSplit { location: file.location.clone(), start: 0, end: file.size, codec });
            continue;
        }
        let mut start = 0;
        loop {
            let end = (start + goal).min(file.size);
            splits.push(FileSplit { location: file.location.clone(), start, end, codec: None });
            if end >= file.size {
                break;
            }
            start = end;
        }
    }
    splits
}

/// The splits of the files that `pattern` names (see
/// [`list_input_files`]), at least `min_partitions` of them when there are
/// that many bytes.
pub fn input_splits(
    pattern: &str,
    options: &StoreOptions,
    min_partitions: usize,
) -> Result<Vec<FileSplit>, EmberError> {
    Ok(plan_splits(&list_input_files(pattern, options)?, min_partitions))
}

/// How a text source turns the lines of one split into records: [`Lines`]
/// for `text_file`, [`ParsedLines`](super::parsed_text::ParsedLines) for
/// `text_file_parsed`. It travels with the node, so it is serializable. The
/// node reads the split (and counts what it read); the reader only turns its
/// lines into records.
pub trait SplitReader: Serialize + DeserializeOwned + Send + Sync + 'static {
    type Record: Data;
    /// The node's kind, as `to_debug_string` shows it.
    const KIND: &'static str;
    /// The records of `split`'s lines, each with the byte offset at which it
    /// starts (errors name the file and line: see [`describe_line`]).
    fn records(
        &self,
        split: &FileSplit,
        options: &StoreOptions,
        lines: Vec<(u64, String)>,
    ) -> Result<Vec<Self::Record>, TaskError>;
}

/// A text source: one partition per [`FileSplit`], whose lines `reader`
/// turns into records (`text_file`'s are the lines themselves).
pub struct TextFileRdd<R = Lines> {
    meta: RddMeta,
    splits: Vec<FileSplit>,
    reader: R,
    /// How executors reach the files (shipped with the node).
    options: StoreOptions,
}

impl<R: SplitReader> TextFileRdd<R> {
    pub fn new(meta: RddMeta, splits: Vec<FileSplit>, reader: R, options: StoreOptions) -> Self {
        TextFileRdd { meta, splits, reader, options }
    }
}

/// `text_file`'s reader: one record per line, without its line terminator.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Lines;

impl SplitReader for Lines {
    type Record = String;
    const KIND: &'static str = "TextFileRdd";
    /// The lines themselves, without their offsets.
    fn records(&self, _: &FileSplit, _: &StoreOptions, lines: Vec<(u64, String)>) -> Result<Vec<String>, TaskError> {
        Ok(lines.into_iter().map(|(_, line)| line).collect())
    }
}

/// The 1-based number of the line starting at byte `offset` (of the
/// decompressed text) of a split's file, found by counting the newlines
/// before it (done only to report an error).
pub fn line_number_at(split: &FileSplit, options: &StoreOptions, offset: u64) -> Result<u64, IoError> {
    let file = &split.location;
    let raw = open_split_reader(file, options, 0, split.end)?;
    let text: Box<dyn Read + Send> = match split.codec {
        Some(codec) => codec.decoder(raw).map_err(|e| IoError::from_io(file, &e))?,
        None => raw,
    };
    let mut reader = text.take(offset);
    let mut buf = vec![0u8; 64 * 1024];
    let mut newlines = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(|e| IoError::from_io(file, &e))?;
        if n == 0 {
            return Ok(newlines + 1);
        }
        newlines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

/// Where in its file a record of a split is, for an error message:
/// `file:line N` (or `file:byte offset N` if the line cannot be counted).
pub fn describe_line(split: &FileSplit, options: &StoreOptions, offset: u64) -> String {
    match line_number_at(split, options, offset) {
        Ok(n) => format!("{}:{n}", split.location),
        Err(_) => format!("{}:byte offset {offset}", split.location),
    }
}

/// The lines of one split, as [`read_split_with_offsets`] reads them.
#[derive(Debug, Default)]
pub struct SplitLines {
    /// Each line that starts in the split, without its terminator, with the
    /// byte offset at which it starts (in the decompressed text).
    pub lines: Vec<(u64, String)>,
    /// The bytes of those lines as stored, terminators included: the splits
    /// of a file add up to its size (the partial line a split skips, and the
    /// bytes it reads past its end to finish its last line, are another
    /// split's); a compressed file's split counts the compressed size.
    pub bytes: u64,
}

/// The lines that start in `[start, end)` of a split's file (every line of
/// a compressed file), each with the byte offset at which it starts; errors
/// name the file (and the line, for invalid UTF-8).
pub fn read_split_with_offsets(split: &FileSplit, options: &StoreOptions) -> Result<SplitLines, TaskError> {
    let file = &split.location;
    let io = |e: std::io::Error| TaskError::from(IoError::from_io(file, &e));
    // Start one byte early: if that byte ends a line, the split's first
    // line starts exactly at `start` and belongs to this split.
    let from = split.start.saturating_sub(1);
    let raw = open_split_reader(file, options, from, split.end)?;
    let (mut reader, end): (Box<dyn BufRead + Send>, u64) = match split.codec {
        Some(codec) => (Box::new(BufReader::with_capacity(256 << 10, codec.decoder(raw).map_err(io)?)), u64::MAX),
        None => (Box::new(BufReader::with_capacity(256 << 10, raw)), split.end),
    };
    let mut pos = from;
    let mut buf = Vec::new();
    if split.start > 0 {
        pos += reader.read_until(b'\n', &mut buf).map_err(io)? as u64;
    }
    let mut lines = Vec::new();
    let first = pos;
    while pos < end {
        buf.clear();
        let line_start = pos;
        let n = reader.read_until(b'\n', &mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        pos += n as u64;
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        let line = String::from_utf8(std::mem::take(&mut buf)).map_err(|_| {
            let at = line_number_at(split, options, line_start).map(|n| format!("line {n}"));
            let at = at.unwrap_or_else(|_| format!("byte offset {line_start}"));
            TaskError::deterministic(format!("{}:{at}: not valid UTF-8", split.location))
        })?;
        lines.push((line_start, line));
    }
    let bytes = if split.codec.is_some() { split.end - split.start } else { pos - first };
    Ok(SplitLines { lines, bytes })
}

impl<R: SplitReader> RddBase for TextFileRdd<R> {
    common_rdd_base_methods!(R::KIND);
    fn num_partitions(&self) -> usize {
        self.splits.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl<R: SplitReader> RddNode<R::Record> for TextFileRdd<R> {
    /// Reads the whole split at once, so its input metrics are added here:
    /// every line the split owns, and their bytes.
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<R::Record>, TaskError> {
        let split = self.splits.get(split).ok_or_else(|| TaskError::engine(format!("{}: no such split", R::KIND)))?;
        let SplitLines { lines, bytes } = read_split_with_offsets(split, &self.options)?;
        let count = lines.len() as u64;
        tc.add_metrics(|m| {
            m.records_read += count;
            m.bytes_read += bytes;
        });
        Ok(Box::new(self.reader.records(split, &self.options, lines)?.into_iter()))
    }
}

impl<R: SplitReader> ShippedNode for TextFileRdd<R> {
    type Item = R::Record;
    fn write_fields(&self) -> Result<Vec<u8>, EmberError> {
        to_fields(&(&self.splits, &self.reader, &self.options))
    }
    fn rebuild(meta: RddMeta, fields: &[u8], _: &Parents<'_>) -> Result<Self, TaskError> {
        let (splits, reader, options) = from_fields(fields)?;
        Ok(TextFileRdd { meta, splits, reader, options })
    }
}

/// `whole_text_files`: one `(path, content)` record per file (compressed
/// files decompressed); files are spread over `partitions` partitions.
pub struct WholeTextFilesRdd {
    meta: RddMeta,
    groups: Vec<Vec<Location>>,
    options: StoreOptions,
}

impl WholeTextFilesRdd {
    pub fn new(meta: RddMeta, files: Vec<InputFile>, partitions: usize, options: StoreOptions) -> Self {
        // No file, no partition (as text_file of an empty directory).
        let n = if files.is_empty() { 0 } else { partitions.clamp(1, files.len()) };
        let len = files.len();
        let mut groups = vec![Vec::new(); n];
        for (i, f) in files.into_iter().enumerate() {
            groups[i * n / len.max(1)].push(f.location);
        }
        WholeTextFilesRdd { meta, groups, options }
    }
}

impl RddBase for WholeTextFilesRdd {
    common_rdd_base_methods!("WholeTextFilesRdd");
    fn num_partitions(&self) -> usize {
        self.groups.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

/// The whole text of a file or object, decompressed if its name says so.
fn read_whole_text(file: &Location, options: &StoreOptions) -> Result<(String, u64), TaskError> {
    let io = |e: std::io::Error| TaskError::from(IoError::from_io(file, &e));
    let stored = crate::io::read_all(file, options)?;
    let size = stored.len() as u64;
    let bytes = match Codec::from_name(&file.file_name()) {
        Some(codec) => {
            let mut out = Vec::new();
            codec.decoder(&stored[..]).map_err(io)?.read_to_end(&mut out).map_err(io)?;
            out
        }
        None => stored.to_vec(),
    };
    let text = String::from_utf8(bytes).map_err(|_| TaskError::deterministic(format!("{file}: not valid UTF-8")))?;
    Ok((text, size))
}

impl RddNode<(String, String)> for WholeTextFilesRdd {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<(String, String)>, TaskError> {
        let group = self.groups.get(split).ok_or_else(|| TaskError::engine("whole text files: no such split"))?;
        let mut out = Vec::with_capacity(group.len());
        let mut bytes = 0u64;
        for file in group {
            let (content, size) = read_whole_text(file, &self.options)?;
            bytes += size;
            out.push((file.to_string(), content));
        }
        let files = out.len() as u64;
        tc.add_metrics(|m| {
            m.records_read += files;
            m.bytes_read += bytes;
        });
        Ok(Box::new(out.into_iter()))
    }
}

impl ShippedNode for WholeTextFilesRdd {
    type Item = (String, String);
    fn write_fields(&self) -> Result<Vec<u8>, EmberError> {
        to_fields(&(&self.groups, &self.options))
    }
    fn rebuild(meta: RddMeta, fields: &[u8], _: &Parents<'_>) -> Result<Self, TaskError> {
        let (groups, options) = from_fields(fields)?;
        Ok(WholeTextFilesRdd { meta, groups, options })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_splits_makes_at_least_min_partitions_contiguous_splits() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, [b'x'; 10]).unwrap();
        std::fs::write(&b, [b'y'; 7]).unwrap();
        let input = |p: &std::path::Path| InputFile {
            location: Location::Local(p.to_path_buf()),
            size: std::fs::metadata(p).unwrap().len(),
        };
        for files in [vec![input(&a)], vec![input(&a), input(&b)]] {
            let total: u64 = files.iter().map(|f| f.size).sum();
            for min in 1..=total as usize {
                let splits = plan_splits(&files, min);
                assert!(splits.len() >= min, "{} splits of {total} bytes for {min}", splits.len());
                // Each file is covered by contiguous, non-empty ranges.
                for f in &files {
                    let ranges: Vec<(u64, u64)> =
                        splits.iter().filter(|s| s.location == f.location).map(|s| (s.start, s.end)).collect();
                    assert_eq!(ranges.first().unwrap().0, 0);
                    assert_eq!(ranges.last().unwrap().1, f.size);
                    assert!(ranges.windows(2).all(|w| w[0].1 == w[1].0 && w[0].0 < w[0].1));
                }
            }
        }
    }
}
