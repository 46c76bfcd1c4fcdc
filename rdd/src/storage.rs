//! Storage levels and the shapes in which cached blocks are handed to and from
//! an executor's block manager.

use serde::{Deserialize, Serialize};
use std::any::Any;
use std::sync::Arc;

/// How an RDD's partitions are kept once computed (Spark's StorageLevel).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum StorageLevel {
    /// Not kept: recomputed from lineage on every use.
    #[default]
    None,
    /// Kept deserialized in memory; blocks evicted under memory pressure are
    /// recomputed from lineage when next needed.
    MemoryOnly,
    /// Kept deserialized in memory; blocks evicted under memory pressure are
    /// spilled to the executor's local disk and read back from there.
    MemoryAndDisk,
}

impl StorageLevel {
    pub fn is_cached(self) -> bool {
        self != StorageLevel::None
    }
    pub(crate) fn to_u8(self) -> u8 {
        match self {
            StorageLevel::None => 0,
            StorageLevel::MemoryOnly => 1,
            StorageLevel::MemoryAndDisk => 2,
        }
    }
    pub(crate) fn from_u8(v: u8) -> Self {
        match v {
            1 => StorageLevel::MemoryOnly,
            2 => StorageLevel::MemoryAndDisk,
            _ => StorageLevel::None,
        }
    }
}

/// A value kept in a block manager, erased: `Arc<Vec<T>>` for an RDD block.
pub type AnyValue = Arc<dyn Any + Send + Sync>;

/// Serializes an erased block (an `Arc<Vec<T>>`) so that it can be spilled to disk.
pub type SpillFn = fn(&(dyn Any + Send + Sync)) -> Option<Vec<u8>>;

/// A computed partition handed to the block manager for caching.
pub struct CachedBlock {
    pub value: AnyValue,
    /// Estimated size in memory, in bytes.
    pub size_bytes: u64,
    pub level: StorageLevel,
    /// How to serialize `value` when it is spilled (MEMORY_AND_DISK).
    pub spill: SpillFn,
}

/// A cached partition handed back by the block manager.
pub enum StoredBlock {
    /// Still in memory, deserialized, with its estimated size in bytes.
    Memory { value: AnyValue, size_bytes: u64 },
    /// Read back from disk, serialized with postcard.
    Serialized(Vec<u8>),
}

/// Where a block lives after a change; `None` when it is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockPlace {
    None,
    Memory,
    Disk,
}

/// A change of a cached block's place, reported by an executor to the
/// driver (which tracks where partitions are cached, for locality).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockUpdate {
    pub block: crate::ids::BlockId,
    pub place: BlockPlace,
    pub size_bytes: u64,
}
