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
use crate::rdd::{Dependency, RddBase, RddMeta, RddNode};
use crate::shipping::{Parents, ShippedNode, from_fields, to_fields};
use crate::task::{BoxIter, TaskContext};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// A byte range of one file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FileSplit {
    pub path: PathBuf,
    pub start: u64,
    pub end: u64,
}

/// Expands a path, a directory (its non-hidden files) or a glob into files,
/// sorted; an existing directory without files gives none (an empty
/// input), a path or glob that names nothing is an error naming it.
pub fn list_input_files(pattern: &str) -> Result<Vec<PathBuf>, EmberError> {
    let io_err = |source| EmberError::Io { path: pattern.to_string(), error: source };
    let path = Path::new(pattern);
    let mut files = Vec::new();
    let is_dir = path.is_dir();
    if is_dir {
        for entry in std::fs::read_dir(path).map_err(io_err)? {
            let entry = entry.map_err(io_err)?;
            let name = entry.file_name();
            let hidden = name.to_string_lossy().starts_with(['.', '_']);
            if !hidden && entry.file_type().map_err(io_err)?.is_file() {
                files.push(entry.path());
            }
        }
    } else if path.is_file() {
        files.push(path.to_path_buf());
    } else {
        let matches = glob::glob(pattern).map_err(|e| EmberError::InvalidArgument(format!("{pattern}: {e}")))?;
        for m in matches {
            let m = m.map_err(|e| EmberError::InvalidArgument(format!("{pattern}: {e}")))?;
            if m.is_file() {
                files.push(m);
            }
        }
    }
    // An existing directory without files is an empty input (Spark's
    // textFile of an empty directory has no partitions); a path or pattern
    // that names nothing is a mistake.
    if files.is_empty() && !is_dir {
        return Err(EmberError::Io {
            path: pattern.to_string(),
            error: std::io::Error::new(std::io::ErrorKind::NotFound, "input path does not exist or matches no file"),
        });
    }
    files.sort();
    Ok(files)
}

/// Cuts files into splits of about `total_bytes / min_partitions` bytes: at
/// least `min_partitions` splits when there are that many bytes.
pub fn plan_splits(files: &[PathBuf], min_partitions: usize) -> Result<Vec<FileSplit>, EmberError> {
    let mut sizes = Vec::with_capacity(files.len());
    for f in files {
        let meta =
            std::fs::metadata(f).map_err(|source| EmberError::Io { path: f.display().to_string(), error: source })?;
        sizes.push(meta.len());
    }
    let total: u64 = sizes.iter().sum();
    // Rounded down, as Hadoop's goal size: rounding up would make fewer splits
    // than asked (10 bytes for 6 partitions: 2-byte splits, only 5 of them).
    let goal = (total / min_partitions.max(1) as u64).max(1);
    let mut splits = Vec::new();
    for (path, &size) in files.iter().zip(&sizes) {
        let mut start = 0;
        loop {
            let end = (start + goal).min(size);
            splits.push(FileSplit { path: path.clone(), start, end });
            if end >= size {
                break;
            }
            start = end;
        }
    }
    Ok(splits)
}

/// The splits of the files that `pattern` names (see [`list_input_files`]),
/// at least `min_partitions` of them when there are that many bytes.
pub fn input_splits(pattern: &str, min_partitions: usize) -> Result<Vec<FileSplit>, EmberError> {
    plan_splits(&list_input_files(pattern)?, min_partitions)
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
    /// starts (errors name the file and line).
    fn records(&self, split: &FileSplit, lines: Vec<(u64, String)>) -> Result<Vec<Self::Record>, TaskError>;
}

/// A text source: one partition per [`FileSplit`], whose lines `reader`
/// turns into records (`text_file`'s are the lines themselves).
pub struct TextFileRdd<R = Lines> {
    meta: RddMeta,
    splits: Vec<FileSplit>,
    reader: R,
}

impl<R: SplitReader> TextFileRdd<R> {
    pub fn new(meta: RddMeta, splits: Vec<FileSplit>, reader: R) -> Self {
        TextFileRdd { meta, splits, reader }
    }
}

/// `text_file`'s reader: one record per line, without its line terminator.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Lines;

impl SplitReader for Lines {
    type Record = String;
    const KIND: &'static str = "TextFileRdd";
    /// The lines themselves, without their offsets.
    fn records(&self, _: &FileSplit, lines: Vec<(u64, String)>) -> Result<Vec<String>, TaskError> {
        Ok(lines.into_iter().map(|(_, line)| line).collect())
    }
}

/// The 1-based number of the line starting at byte `offset` of `path`,
/// found by counting the newlines before it (done only to report an error).
pub fn line_number_at(path: &Path, offset: u64) -> Result<u64, std::io::Error> {
    let mut reader = BufReader::new(std::fs::File::open(path)?).take(offset);
    let mut buf = [0u8; 64 * 1024];
    let mut newlines = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(newlines + 1);
        }
        newlines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

/// The lines of one split, as [`read_split_with_offsets`] reads them.
#[derive(Debug, Default)]
pub struct SplitLines {
    /// Each line that starts in the split, without its terminator, with the
    /// byte offset at which it starts.
    pub lines: Vec<(u64, String)>,
    /// The bytes of those lines, terminators included: the splits of a file
    /// add up to its size (the partial line a split skips, and the bytes it
    /// reads past its end to finish its last line, are another split's).
    pub bytes: u64,
}

/// The lines that start in `[start, end)` of a split's file, each with the
/// byte offset at which it starts; errors name the file (and the line, for
/// invalid UTF-8).
pub fn read_split_with_offsets(split: &FileSplit) -> Result<SplitLines, TaskError> {
    let name = split.path.display();
    let file = std::fs::File::open(&split.path).map_err(|e| TaskError::input(format!("{name}: {e}")))?;
    let mut reader = BufReader::new(file);
    let mut pos = split.start;
    let mut buf = Vec::new();
    if split.start > 0 {
        // Start one byte early: if that byte ends a line, the split's first
        // line starts exactly at `start` and belongs to this split.
        reader.seek(SeekFrom::Start(split.start - 1)).map_err(|e| TaskError::input(format!("{name}: {e}")))?;
        pos = split.start - 1;
        let n = reader.read_until(b'\n', &mut buf).map_err(|e| TaskError::input(format!("{name}: {e}")))?;
        pos += n as u64;
    }
    let mut lines = Vec::new();
    let first = pos;
    while pos < split.end {
        buf.clear();
        let line_start = pos;
        let n = reader.read_until(b'\n', &mut buf).map_err(|e| TaskError::input(format!("{name}: {e}")))?;
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
            let line = line_number_at(&split.path, line_start).map(|n| format!("line {n}"));
            let at = line.unwrap_or_else(|_| format!("byte offset {line_start}"));
            TaskError::deterministic(format!("{name}:{at}: not valid UTF-8"))
        })?;
        lines.push((line_start, line));
    }
    Ok(SplitLines { lines, bytes: pos - first })
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
        let SplitLines { lines, bytes } = read_split_with_offsets(split)?;
        let count = lines.len() as u64;
        tc.add_metrics(|m| {
            m.records_read += count;
            m.bytes_read += bytes;
        });
        Ok(Box::new(self.reader.records(split, lines)?.into_iter()))
    }
}

impl<R: SplitReader> ShippedNode for TextFileRdd<R> {
    type Item = R::Record;
    fn write_fields(&self) -> Result<Vec<u8>, EmberError> {
        to_fields(&(&self.splits, &self.reader))
    }
    fn rebuild(meta: RddMeta, fields: &[u8], _: &Parents<'_>) -> Result<Self, TaskError> {
        let (splits, reader) = from_fields(fields)?;
        Ok(TextFileRdd { meta, splits, reader })
    }
}

/// `whole_text_files`: one `(path, content)` record per file; files are spread
/// over `partitions` partitions.
pub struct WholeTextFilesRdd {
    meta: RddMeta,
    groups: Vec<Vec<PathBuf>>,
}

impl WholeTextFilesRdd {
    pub fn new(meta: RddMeta, files: Vec<PathBuf>, partitions: usize) -> Self {
        // No file, no partition (as text_file of an empty directory).
        let n = if files.is_empty() { 0 } else { partitions.clamp(1, files.len()) };
        let len = files.len();
        let mut groups = vec![Vec::new(); n];
        for (i, f) in files.into_iter().enumerate() {
            groups[i * n / len.max(1)].push(f);
        }
        WholeTextFilesRdd { meta, groups }
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

impl RddNode<(String, String)> for WholeTextFilesRdd {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<(String, String)>, TaskError> {
        let group = self.groups.get(split).ok_or_else(|| TaskError::engine("whole text files: no such split"))?;
        let mut out = Vec::with_capacity(group.len());
        let mut bytes = 0u64;
        for path in group {
            let name = path.display().to_string();
            let mut content = String::new();
            std::fs::File::open(path)
                .and_then(|mut f| f.read_to_string(&mut content))
                .map_err(|e| TaskError::input(format!("{name}: {e}")))?;
            bytes += content.len() as u64;
            out.push((name, content));
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
        to_fields(&self.groups)
    }
    fn rebuild(meta: RddMeta, fields: &[u8], _: &Parents<'_>) -> Result<Self, TaskError> {
        Ok(WholeTextFilesRdd { meta, groups: from_fields(fields)? })
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
        for files in [vec![a.clone()], vec![a.clone(), b.clone()]] {
            let total: u64 = files.iter().map(|f| std::fs::metadata(f).unwrap().len()).sum();
            for min in 1..=total as usize {
                let splits = plan_splits(&files, min).unwrap();
                assert!(splits.len() >= min, "{} splits of {total} bytes for {min}", splits.len());
                // Each file is covered by contiguous, non-empty ranges.
                for f in &files {
                    let ranges: Vec<(u64, u64)> =
                        splits.iter().filter(|s| &s.path == f).map(|s| (s.start, s.end)).collect();
                    assert_eq!(ranges.first().unwrap().0, 0);
                    assert_eq!(ranges.last().unwrap().1, std::fs::metadata(f).unwrap().len());
                    assert!(ranges.windows(2).all(|w| w[0].1 == w[1].0 && w[0].0 < w[0].1));
                }
            }
        }
    }
}
