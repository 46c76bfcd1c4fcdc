//! A reduce task's input: every non-empty block of its partition, in map
//! order, read from this executor's files or streamed from the backends that
//! hold them.
//!
//! Blocks are handed out in map order whoever holds them (one stream per
//! remote backend, each answering in map order, interleaved as the order
//! asks), so a reduce partition reads the same records in the same order
//! wherever its map outputs ran: a recomputed partition is the same.
//! A block that cannot be read is a typed [`TaskError::FetchFailed`] naming
//! its map task and holder, which resubmits that map task.

use crate::fetch::{FetchError, RemoteBlocks, ShuffleFetcher};
use crate::shuffle_store::{LocalBlock, ShuffleStore};
use ember_rdd::TaskError;
use ember_rdd::ids::{ExecutorId, ShuffleId};
use ember_rdd::shuffle::map_output::{MapLocation, NonEmptyBlocks};
use ember_rdd::task::BlockSource;
use std::collections::VecDeque;
use std::sync::Arc;

/// Where a block comes from.
enum Holder {
    Local,
    /// Index into `ShuffleBlocks::remotes`.
    Remote(usize),
}

/// The block being read.
enum Reading {
    Local(LocalBlock),
    Remote(usize),
}

/// One remote backend's stream, opened on first need.
struct Remote {
    executor: ExecutorId,
    address: String,
    /// Its blocks' map indices, ascending.
    maps: Vec<u32>,
    stream: Option<RemoteBlocks>,
}

pub struct ShuffleBlocks {
    shuffle: ShuffleId,
    reduce: usize,
    executor_id: ExecutorId,
    store: Arc<ShuffleStore>,
    fetcher: Option<Arc<ShuffleFetcher>>,
    /// Blocks still to read, in map order.
    plan: VecDeque<(usize, Holder)>,
    remotes: Vec<Remote>,
    current: Option<(usize, Reading)>,
}

/// For each reduce partition, the map outputs whose block holds records:
/// the statuses' `NonEmptyBlocks` turned around, once per stage attempt
/// and executor, so that a reducer of a 10,000 × 10,000 shuffle looks at
/// its hundred non-empty blocks instead of testing ten thousand statuses.
pub struct MapsByReduce {
    /// Maps whose non-empty blocks are listed (`Only`), by reduce partition.
    listed: Vec<Vec<u32>>,
    /// Maps with most blocks non-empty (`All`, `AllBut`), tested one by one.
    dense: Vec<u32>,
}

impl MapsByReduce {
    pub fn new(locations: &[MapLocation]) -> Self {
        let mut listed: Vec<Vec<u32>> = Vec::new();
        let mut dense = Vec::new();
        for (map, loc) in locations.iter().enumerate() {
            match &loc.non_empty {
                NonEmptyBlocks::Only(reduces) => {
                    for &r in reduces {
                        if listed.len() <= r as usize {
                            listed.resize_with(r as usize + 1, Vec::new);
                        }
                        listed[r as usize].push(map as u32);
                    }
                }
                NonEmptyBlocks::All | NonEmptyBlocks::AllBut(_) => dense.push(map as u32),
            }
        }
        MapsByReduce { listed, dense }
    }

    /// The maps with records for `reduce`, ascending.
    pub fn maps_for(&self, reduce: usize, locations: &[MapLocation]) -> Vec<usize> {
        let listed = self.listed.get(reduce).map(Vec::as_slice).unwrap_or(&[]);
        let dense = self.dense.iter().filter(|&&m| locations[m as usize].non_empty.contains(reduce as u32));
        let mut maps: Vec<usize> = listed.iter().chain(dense).map(|&m| m as usize).collect();
        if !self.dense.is_empty() && !listed.is_empty() {
            maps.sort_unstable();
        }
        maps
    }
}

impl ShuffleBlocks {
    /// The blocks of `reduce` of the maps `maps` (ascending), which
    /// `locations` (one per map task) say where to find.
    pub fn new(
        shuffle: ShuffleId,
        reduce: usize,
        maps: &[usize],
        locations: &[MapLocation],
        executor_id: &str,
        store: Arc<ShuffleStore>,
        fetcher: Option<Arc<ShuffleFetcher>>,
    ) -> Self {
        let mut plan = VecDeque::new();
        let mut remotes: Vec<Remote> = Vec::new();
        for &map in maps {
            let loc = &locations[map];
            if loc.executor_id.0 == executor_id {
                plan.push_back((map, Holder::Local));
                continue;
            }
            let i = match remotes.iter().position(|r| r.executor == loc.executor_id) {
                Some(i) => i,
                None => {
                    let remote = Remote {
                        executor: loc.executor_id.clone(),
                        address: loc.address.clone(),
                        maps: Vec::new(),
                        stream: None,
                    };
                    remotes.push(remote);
                    remotes.len() - 1
                }
            };
            remotes[i].maps.push(map as u32);
            plan.push_back((map, Holder::Remote(i)));
        }
        let executor_id = ExecutorId::from(executor_id);
        ShuffleBlocks { shuffle, reduce, executor_id, store, fetcher, plan, remotes, current: None }
    }

    fn fetch_failed(&self, holder: &ExecutorId, map: usize, message: String) -> TaskError {
        TaskError::FetchFailed {
            executor: holder.clone(),
            shuffle: self.shuffle,
            map_index: map,
            reduce_index: self.reduce,
            message,
        }
    }

    /// Starts reading the next planned block.
    fn start(&mut self, map: usize, holder: Holder) -> Result<Reading, TaskError> {
        match holder {
            Holder::Local => {
                let lost = |why: String| self.fetch_failed(&self.executor_id, map, why);
                let output =
                    self.store.get(self.shuffle, map).ok_or_else(|| lost("map output missing locally".into()))?;
                let block = LocalBlock::new(output, self.reduce as u32)
                    .map_err(|e| lost(format!("cannot read the local map output: {e}")))?;
                Ok(Reading::Local(block))
            }
            Holder::Remote(i) => {
                if self.remotes[i].stream.is_none() {
                    let stream = self.open_remote(i)?;
                    self.remotes[i].stream = Some(stream);
                }
                Ok(Reading::Remote(i))
            }
        }
    }

    fn open_remote(&mut self, i: usize) -> Result<RemoteBlocks, TaskError> {
        let remote = &mut self.remotes[i];
        let first = remote.maps.first().copied().unwrap_or(0) as usize;
        let maps = std::mem::take(&mut remote.maps);
        let (executor, address) = (remote.executor.clone(), remote.address.clone());
        let Some(fetcher) = self.fetcher.clone() else {
            return Err(self.fetch_failed(&executor, first, "no fetcher for remote blocks in process".into()));
        };
        fetcher.open(&address, self.shuffle, self.reduce, maps).map_err(|e| match e {
            FetchError::Missing { ref maps, .. } => {
                let map = maps.first().map(|&m| m as usize).unwrap_or(first);
                self.fetch_failed(&executor, map, e.to_string())
            }
            FetchError::Failed { .. } => self.fetch_failed(&executor, first, e.to_string()),
        })
    }

    /// The next piece of block `map` held by remote `i`.
    fn remote_piece(&mut self, i: usize, map: usize) -> Result<ember_proto::v1::ShuffleChunk, TaskError> {
        let remote = &mut self.remotes[i];
        let piece = match remote.stream.as_mut() {
            Some(stream) => stream.next_piece(map as u32).map_err(|e| e.to_string()),
            None => Err("the stream was not opened".to_string()),
        };
        let executor = remote.executor.clone();
        piece.map_err(|why| self.fetch_failed(&executor, map, why))
    }
}

impl BlockSource for ShuffleBlocks {
    fn read_into(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<bool, TaskError> {
        loop {
            let (map, reading) = match self.current.take() {
                Some(current) => current,
                None => match self.plan.pop_front() {
                    None => return Ok(false),
                    Some((map, holder)) => (map, self.start(map, holder)?),
                },
            };
            match reading {
                Reading::Local(mut block) => {
                    let more = block.read_piece(buf, max).map_err(|e| {
                        self.fetch_failed(&self.executor_id, map, format!("cannot read the local map output: {e}"))
                    })?;
                    if more {
                        self.current = Some((map, Reading::Local(block)));
                        return Ok(true);
                    }
                }
                Reading::Remote(i) => {
                    let piece = self.remote_piece(i, map)?;
                    buf.extend_from_slice(&piece.data);
                    if !piece.last {
                        self.current = Some((map, Reading::Remote(i)));
                    }
                    if !piece.data.is_empty() {
                        return Ok(true);
                    }
                }
            }
        }
    }
}
