//! Shuffles: [`ShuffleDependency`] writes a map partition's records into one
//! block per reduce partition of a map output file; [`ShuffledRdd`] reads a
//! reduce partition's blocks from every map output.
//!
//! Both sides work in bounded memory (see [`crate::shuffle`]): the map side
//! spills its buffers, the reduce side streams its blocks and spills what it
//! aggregates or sorts.

use crate::Data;
use crate::aggregate::{MapSide, ReduceSide};
use crate::error::{EmberError, TaskError};
use crate::ids::ShuffleId;
use crate::partitioner::Partitioner;
use crate::rdd::{Dependency, RddBase, RddMeta, RddNode, RddRef, ShuffleDependencyBase, StageRoot};
use crate::runner::JobRunner;
use crate::shipping::{EntryPoint, Parents, ShippedNode, ShippedRoot, encode_root, from_fields, to_fields};
use crate::shuffle::writer::ShuffleWriter;
use crate::task::{BoxIter, TaskContext, TaskOutput};
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use std::sync::Arc;

/// The map side of one shuffle: parent records, partitioner and map-side step.
pub struct ShuffleDependency<K: 'static, V: 'static, X, P, M> {
    shuffle: ShuffleId,
    parent: RddRef<(K, V)>,
    fields: ShuffleFields<P, M>,
    /// In the driver: releases the shuffle when the dependency is dropped.
    _release: Option<ReleaseOnDrop>,
    _x: PhantomData<fn() -> X>,
}

/// Tells the driver's runner that a shuffle is no longer read, when the
/// last RDD reading it (the only holders of its dependency, once its jobs
/// ended) is dropped: Spark's `ContextCleaner` with reference counts
/// instead of a garbage collector's weak references.
struct ReleaseOnDrop {
    shuffle: ShuffleId,
    runner: Arc<dyn JobRunner>,
}

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        self.runner.release_shuffle(self.shuffle);
    }
}

#[derive(Clone, Serialize, Deserialize)]
struct ShuffleFields<P, M> {
    shuffle: ShuffleId,
    partitioner: P,
    map_side: M,
}

impl<K, V, X, P, M> ShuffleDependency<K, V, X, P, M>
where
    K: Data,
    V: Data,
    X: Data,
    P: Partitioner<K>,
    M: MapSide<K, V, X>,
{
    /// A shuffle of `parent`'s records that `runner` releases when this
    /// dependency is dropped.
    pub fn new(
        shuffle: ShuffleId,
        parent: RddRef<(K, V)>,
        partitioner: P,
        map_side: M,
        runner: Arc<dyn JobRunner>,
    ) -> Self {
        ShuffleDependency {
            shuffle,
            parent,
            fields: ShuffleFields { shuffle, partitioner, map_side },
            _release: Some(ReleaseOnDrop { shuffle, runner }),
            _x: PhantomData,
        }
    }
}

impl<K, V, X, P, M> StageRoot for ShuffleDependency<K, V, X, P, M>
where
    K: Data,
    V: Data,
    X: Data,
    P: Partitioner<K>,
    M: MapSide<K, V, X>,
{
    fn rdd(&self) -> Arc<dyn RddBase> {
        self.parent.base()
    }

    fn run(&self, partition: usize, tc: &TaskContext) -> Result<TaskOutput, TaskError> {
        let partitioner = &self.fields.partitioner;
        let mut writer = ShuffleWriter::new(tc.spill_env()?, partitioner.num_partitions());
        let input = tc.interruptible(self.parent.iterator(partition, tc)?);
        self.fields.map_side.write(input, partitioner, &mut writer, tc)?;
        // An input that ended early on an error must not be committed as
        // this map task's whole output.
        if let Some(e) = tc.take_deferred_error() {
            return Err(e);
        }
        let writing = std::time::Instant::now();
        let output = writer.finish()?;
        let (bytes, records) = (output.summary.bytes, output.summary.records);
        let summary = tc.env.commit_map_output(self.shuffle, partition, output)?;
        let write_nanos = writing.elapsed().as_nanos() as u64;
        tc.add_metrics(|m| {
            m.shuffle_write_bytes += bytes;
            m.shuffle_write_records += records;
            m.shuffle_write_nanos += write_nanos;
        });
        Ok(TaskOutput::MapOutput(summary))
    }

    fn encode(&self) -> Result<(EntryPoint, Vec<u8>), EmberError> {
        encode_root(self)
    }
}

impl<K, V, X, P, M> ShuffleDependencyBase for ShuffleDependency<K, V, X, P, M>
where
    K: Data,
    V: Data,
    X: Data,
    P: Partitioner<K>,
    M: MapSide<K, V, X>,
{
    fn shuffle_id(&self) -> ShuffleId {
        self.shuffle
    }
    fn num_reduce_partitions(&self) -> usize {
        self.fields.partitioner.num_partitions()
    }
    fn as_stage_root(self: Arc<Self>) -> Arc<dyn StageRoot> {
        self
    }
}

impl<K, V, X, P, M> ShippedRoot for ShuffleDependency<K, V, X, P, M>
where
    K: Data,
    V: Data,
    X: Data,
    P: Partitioner<K>,
    M: MapSide<K, V, X>,
{
    type Input = (K, V);
    fn write_fields(&self) -> Result<Vec<u8>, EmberError> {
        to_fields(&self.fields)
    }
    fn rebuild(fields: &[u8], input: RddRef<(K, V)>) -> Result<Self, TaskError> {
        let fields: ShuffleFields<P, M> = from_fields(fields)?;
        Ok(ShuffleDependency { shuffle: fields.shuffle, parent: input, fields, _release: None, _x: PhantomData })
    }
}

/// The reduce side of a shuffle: partition `i` holds the records every map
/// task put in bucket `i`, transformed by the reduce-side step.
pub struct ShuffledRdd<K, X, O, R> {
    meta: RddMeta,
    fields: ShuffledFields<R>,
    /// The map side; only in the driver (a backend never walks past a shuffle).
    dependency: Option<Arc<dyn ShuffleDependencyBase>>,
    _types: PhantomData<fn() -> (K, X, O)>,
}

#[derive(Clone, Serialize, Deserialize)]
struct ShuffledFields<R> {
    shuffle: ShuffleId,
    partitions: usize,
    reduce_side: R,
}

impl<K: Data, X: Data, O: Data, R: ReduceSide<K, X, O>> ShuffledRdd<K, X, O, R> {
    pub fn new(meta: RddMeta, dependency: Arc<dyn ShuffleDependencyBase>, reduce_side: R) -> Self {
        let fields = ShuffledFields {
            shuffle: dependency.shuffle_id(),
            partitions: dependency.num_reduce_partitions(),
            reduce_side,
        };
        ShuffledRdd { meta, fields, dependency: Some(dependency), _types: PhantomData }
    }
}

impl<K: Data, X: Data, O: Data, R: ReduceSide<K, X, O>> RddBase for ShuffledRdd<K, X, O, R> {
    common_rdd_base_methods!("ShuffledRdd");
    fn num_partitions(&self) -> usize {
        self.fields.partitions
    }
    fn dependencies(&self) -> Vec<Dependency> {
        self.dependency.iter().map(|d| Dependency::Shuffle(d.clone())).collect()
    }
}

impl<K: Data, X: Data, O: Data, R: ReduceSide<K, X, O>> RddNode<O> for ShuffledRdd<K, X, O, R> {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<O>, TaskError> {
        let input = tc.shuffle_input::<(K, X)>(self.fields.shuffle, split)?;
        self.fields.reduce_side.read(input, tc)
    }
}

impl<K: Data, X: Data, O: Data, R: ReduceSide<K, X, O>> ShippedNode for ShuffledRdd<K, X, O, R> {
    type Item = O;
    fn write_fields(&self) -> Result<Vec<u8>, EmberError> {
        to_fields(&self.fields)
    }
    fn rebuild(meta: RddMeta, fields: &[u8], _: &Parents<'_>) -> Result<Self, TaskError> {
        Ok(ShuffledRdd { meta, fields: from_fields(fields)?, dependency: None, _types: PhantomData })
    }
}
