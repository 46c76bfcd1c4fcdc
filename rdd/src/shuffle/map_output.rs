//! A map task's output: one file of blocks, one per reduce partition, and
//! what the driver is told about it.
//!
//! ```text
//! file   := block_0 … block_{n-1} index footer
//! block  := frames (see super::frame), possibly none
//! index  := (n + 1) × u64le offsets: block r is bytes [index[r], index[r + 1])
//! footer := index_offset:u64le  n:u32le  MAGIC:u32le
//! ```
//!
//! Spark keeps the index in a second file; here it ends the data file, so a
//! map output is published by one atomic rename (a reader can never see the
//! data of one attempt with the index of another) and costs one file and
//! one descriptor instead of two. The footer makes the file self-describing.

use crate::error::TaskError;
use crate::ids::ExecutorId;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::os::unix::fs::FileExt;

/// Ends every map output file: "EMS1".
pub const MAGIC: u32 = u32::from_le_bytes(*b"EMS1");

/// Bytes of the footer.
pub const FOOTER_BYTES: usize = 16;

/// Which reduce partitions a map output holds records for. Reducers fetch
/// only those blocks; the driver keeps this instead of a size per block, so
/// a 10,000 × 10,000 shuffle's statuses stay small.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NonEmptyBlocks {
    /// Every block holds records.
    All,
    /// Only these blocks (ascending).
    Only(Vec<u32>),
    /// Every block but these (ascending).
    AllBut(Vec<u32>),
}

impl NonEmptyBlocks {
    /// The shorter description of which of `sizes` are non-empty.
    pub fn from_sizes(sizes: &[u64]) -> Self {
        let empty = sizes.iter().filter(|&&s| s == 0).count();
        let indices = |want_empty: bool| {
            sizes.iter().enumerate().filter(|(_, s)| (**s == 0) == want_empty).map(|(i, _)| i as u32).collect()
        };
        if empty == 0 {
            NonEmptyBlocks::All
        } else if empty * 2 >= sizes.len() {
            NonEmptyBlocks::Only(indices(false))
        } else {
            NonEmptyBlocks::AllBut(indices(true))
        }
    }

    pub fn contains(&self, reduce: u32) -> bool {
        match self {
            NonEmptyBlocks::All => true,
            NonEmptyBlocks::Only(v) => v.binary_search(&reduce).is_ok(),
            NonEmptyBlocks::AllBut(v) => v.binary_search(&reduce).is_err(),
        }
    }
}

/// What a map task reports to the driver.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapOutputSummary {
    /// Bytes of its blocks (the index excluded).
    pub bytes: u64,
    pub records: u64,
    pub non_empty: NonEmptyBlocks,
}

/// Where one map output lives, as a reducer is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapLocation {
    pub executor_id: ExecutorId,
    /// host:port of the backend's `FetchShuffle` service (empty in process).
    pub address: String,
    pub non_empty: NonEmptyBlocks,
}

/// For each shuffle a stage reads: the location of each map output, by map index.
pub type ShuffleLocations = std::collections::HashMap<crate::ids::ShuffleId, Vec<MapLocation>>;

/// Where block `reduce` lies in a map output file whose index starts at
/// `index_offset`: its byte range.
pub fn block_range(file: &File, index_offset: u64, reduce: u32) -> std::io::Result<(u64, u64)> {
    let mut buf = [0u8; 16];
    file.read_exact_at(&mut buf, index_offset + 8 * reduce as u64)?;
    let (start, end) = buf.split_at(8);
    let start = u64::from_le_bytes(start.try_into().unwrap_or_default());
    let end = u64::from_le_bytes(end.try_into().unwrap_or_default());
    if start > end || end > index_offset {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "the index is corrupt"));
    }
    Ok((start, end))
}

/// The index offset and block count a map output file's footer records.
pub fn read_footer(file: &File) -> std::io::Result<(u64, u32)> {
    let len = file.metadata()?.len();
    if len < FOOTER_BYTES as u64 {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "too short for a map output"));
    }
    let mut buf = [0u8; FOOTER_BYTES];
    file.read_exact_at(&mut buf, len - FOOTER_BYTES as u64)?;
    let index_offset = u64::from_le_bytes(buf[..8].try_into().unwrap_or_default());
    let blocks = u32::from_le_bytes(buf[8..12].try_into().unwrap_or_default());
    let magic = u32::from_le_bytes(buf[12..].try_into().unwrap_or_default());
    if magic != MAGIC || index_offset + 8 * (blocks as u64 + 1) + FOOTER_BYTES as u64 != len {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "not a map output file"));
    }
    Ok((index_offset, blocks))
}

/// Appends the index and the footer to a map output being written.
pub fn index_and_footer(offsets: &[u64]) -> Result<Vec<u8>, TaskError> {
    let index_offset = *offsets.last().unwrap_or(&0);
    let blocks = u32::try_from(offsets.len().saturating_sub(1))
        .map_err(|_| TaskError::engine("a shuffle has more than 2^32 reduce partitions"))?;
    let mut out = Vec::with_capacity(offsets.len() * 8 + FOOTER_BYTES);
    for o in offsets {
        out.extend_from_slice(&o.to_le_bytes());
    }
    out.extend_from_slice(&index_offset.to_le_bytes());
    out.extend_from_slice(&blocks.to_le_bytes());
    out.extend_from_slice(&MAGIC.to_le_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shorter_description_is_chosen() {
        assert_eq!(NonEmptyBlocks::from_sizes(&[1, 2, 3]), NonEmptyBlocks::All);
        assert_eq!(NonEmptyBlocks::from_sizes(&[0, 2, 0, 0]), NonEmptyBlocks::Only(vec![1]));
        assert_eq!(NonEmptyBlocks::from_sizes(&[5, 2, 0, 7]), NonEmptyBlocks::AllBut(vec![2]));
        assert_eq!(NonEmptyBlocks::from_sizes(&[]), NonEmptyBlocks::All);
        for sizes in [vec![0, 2, 0, 0], vec![5, 2, 0, 7], vec![1, 1]] {
            let d = NonEmptyBlocks::from_sizes(&sizes);
            for (r, s) in sizes.iter().enumerate() {
                assert_eq!(d.contains(r as u32), *s > 0);
            }
        }
    }

    #[test]
    fn footer_and_index_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let mut bytes = b"aaabbbbb".to_vec();
        bytes.extend(index_and_footer(&[0, 3, 3, 8]).unwrap());
        std::fs::write(&path, &bytes).unwrap();
        let file = File::open(&path).unwrap();
        assert_eq!(read_footer(&file).unwrap(), (8, 3));
        assert_eq!(block_range(&file, 8, 0).unwrap(), (0, 3));
        assert_eq!(block_range(&file, 8, 1).unwrap(), (3, 3));
        assert_eq!(block_range(&file, 8, 2).unwrap(), (3, 8));
        std::fs::write(&path, b"not a map output at all").unwrap();
        assert!(read_footer(&File::open(&path).unwrap()).is_err());
    }
}
