//! Combining values by key: Spark's Aggregator (`create_combiner`,
//! `merge_value`, `merge_combiners`) and the map and reduce sides of a shuffle
//! built from it.
//!
//! A shuffle is a [`MapSide`] that turns a map partition's `(K, V)` records into
//! `(K, X)` records for the buckets, and a [`ReduceSide`] that turns the
//! fetched `(K, X)` records of a reduce partition into output records:
//!
//! | operation | map side | reduce side |
//! |---|---|---|
//! | partition_by | pass | pass (streamed) |
//! | reduce_by_key, combine_by_key, aggregate_by_key | combine to C | merge combiners |
//! | group_by_key | pass | combine values into `Vec<V>` |
//! | sort_by_key | pass | sort by key |
//!
//! Combining and sorting spill to disk past the task's memory
//! ([`crate::shuffle::aggregator`], [`crate::shuffle::sorter`]); only one
//! key's combiner (one key's group, for `group_by_key`) must fit in memory.

use crate::error::TaskError;
use crate::func::Fn1;
use crate::func::Fn2;
use crate::partitioner::Partitioner;
use crate::shuffle::aggregator::ExternalAggregator;
use crate::shuffle::input::ShuffleInput;
use crate::shuffle::sorter::ExternalSorter;
use crate::shuffle::writer::ShuffleWriter;
use crate::task::{BoxIter, TaskContext};
use crate::{Data, Key};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::marker::PhantomData;

/// How values of one key combine into a combiner `C`.
pub trait Aggregate<V, C>: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    fn create(&self, v: V) -> C;
    fn merge_value(&self, c: C, v: V) -> C;
    fn merge_combiners(&self, a: C, b: C) -> C;
}

/// `reduce_by_key(f)`: the combiner is a value.
#[derive(Clone, Serialize, Deserialize)]
pub struct ReduceAgg<F>(pub F);

impl<V, F: Fn2<V, V, V>> Aggregate<V, V> for ReduceAgg<F> {
    fn create(&self, v: V) -> V {
        v
    }
    fn merge_value(&self, c: V, v: V) -> V {
        self.0.call(c, v)
    }
    fn merge_combiners(&self, a: V, b: V) -> V {
        self.0.call(a, b)
    }
}

/// `aggregate_by_key(zero, seq, comb)` and `fold_by_key(zero, f)`.
#[derive(Clone, Serialize, Deserialize)]
pub struct ZeroAgg<C, S, M> {
    pub zero: C,
    pub seq: S,
    pub comb: M,
}

impl<V, C: Data, S: Fn2<C, V, C>, M: Fn2<C, C, C>> Aggregate<V, C> for ZeroAgg<C, S, M> {
    fn create(&self, v: V) -> C {
        self.seq.call(self.zero.clone(), v)
    }
    fn merge_value(&self, c: C, v: V) -> C {
        self.seq.call(c, v)
    }
    fn merge_combiners(&self, a: C, b: C) -> C {
        self.comb.call(a, b)
    }
}

/// `combine_by_key(create, merge_value, merge_combiners)`.
#[derive(Clone, Serialize, Deserialize)]
pub struct CombineAgg<A, B, M> {
    pub create: A,
    pub merge_value: B,
    pub merge_combiners: M,
}

impl<V, C, A: Fn1<V, C>, B: Fn2<C, V, C>, M: Fn2<C, C, C>> Aggregate<V, C> for CombineAgg<A, B, M> {
    fn create(&self, v: V) -> C {
        self.create.call(v)
    }
    fn merge_value(&self, c: C, v: V) -> C {
        self.merge_value.call(c, v)
    }
    fn merge_combiners(&self, a: C, b: C) -> C {
        self.merge_combiners.call(a, b)
    }
}

/// `group_by_key()`: the combiner is the list of values.
#[derive(Clone, Copy, Serialize, Deserialize)]
pub struct GroupAgg;

impl<V> Aggregate<V, Vec<V>> for GroupAgg {
    fn create(&self, v: V) -> Vec<V> {
        vec![v]
    }
    fn merge_value(&self, mut c: Vec<V>, v: V) -> Vec<V> {
        c.push(v);
        c
    }
    fn merge_combiners(&self, mut a: Vec<V>, b: Vec<V>) -> Vec<V> {
        a.extend(b);
        a
    }
}

/// The map side of a shuffle: turns a map partition's records into the
/// `(K, X)` records of the shuffle, each put in its reduce partition.
pub trait MapSide<K, V, X>: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    fn write<P: Partitioner<K>>(
        &self,
        input: BoxIter<(K, V)>,
        partitioner: &P,
        writer: &mut ShuffleWriter,
        tc: &TaskContext,
    ) -> Result<(), TaskError>;
}

/// The reduce side of a shuffle: turns a reduce partition's `(K, X)` records
/// into its output records.
pub trait ReduceSide<K, X, O>: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    fn read(&self, input: ShuffleInput<(K, X)>, tc: &TaskContext) -> Result<BoxIter<O>, TaskError>;
}

/// Records go through unchanged (map side of most shuffles; reduce side of partition_by).
#[derive(Clone, Copy, Serialize, Deserialize, Default)]
pub struct Pass;

impl<K: Data, V: Data> MapSide<K, V, V> for Pass {
    fn write<P: Partitioner<K>>(
        &self,
        input: BoxIter<(K, V)>,
        partitioner: &P,
        writer: &mut ShuffleWriter,
        _: &TaskContext,
    ) -> Result<(), TaskError> {
        for (k, v) in input {
            writer.insert(partitioner.partition(&k), &(k, v))?;
        }
        Ok(())
    }
}

impl<K: Data, V: Data> ReduceSide<K, V, (K, V)> for Pass {
    fn read(&self, input: ShuffleInput<(K, V)>, tc: &TaskContext) -> Result<BoxIter<(K, V)>, TaskError> {
        Ok(input.into_records(tc.deferred_error()))
    }
}

/// Map-side combine: values become combiners before they are written.
#[derive(Clone, Serialize, Deserialize)]
#[serde(bound(serialize = "A: Serialize", deserialize = "A: DeserializeOwned"))]
pub struct MapCombine<A, C>(pub A, #[serde(skip)] pub PhantomData<fn() -> C>);

impl<A: Clone, C> MapCombine<A, C> {
    pub fn new(agg: A) -> Self {
        MapCombine(agg, PhantomData)
    }
}

impl<K: Key, V: Data, C: Data, A: Aggregate<V, C>> MapSide<K, V, C> for MapCombine<A, C> {
    fn write<P: Partitioner<K>>(
        &self,
        input: BoxIter<(K, V)>,
        partitioner: &P,
        writer: &mut ShuffleWriter,
        tc: &TaskContext,
    ) -> Result<(), TaskError> {
        let agg = &self.0;
        let mut combined = ExternalAggregator::new(tc.spill_env()?);
        for (k, v) in input {
            combined.insert(k, v, |v| agg.create(v), |c, v| agg.merge_value(c, v))?;
        }
        let merger = agg.clone();
        for (k, c) in combined.finish(move |a, b| merger.merge_combiners(a, b), tc.deferred_error())? {
            writer.insert(partitioner.partition(&k), &(k, c))?;
        }
        Ok(())
    }
}

/// Combines a reduce partition's records by key, spilling past memory.
fn aggregate_input<K: Key, X: Data, C: Data, A: Aggregate<V, C>, V>(
    mut input: ShuffleInput<(K, X)>,
    tc: &TaskContext,
    agg: &A,
    create: impl Fn(X) -> C,
    merge: impl Fn(C, X) -> C,
) -> Result<BoxIter<(K, C)>, TaskError> {
    let mut combined = ExternalAggregator::new(tc.spill_env()?);
    while let Some((k, x)) = input.next_record()? {
        combined.insert(k, x, &create, &merge)?;
    }
    drop(input);
    let merger = agg.clone();
    combined.finish(move |a, b| merger.merge_combiners(a, b), tc.deferred_error())
}

/// Reduce side after a map-side combine: merge the combiners of each key.
#[derive(Clone, Serialize, Deserialize)]
#[serde(bound(serialize = "A: Serialize", deserialize = "A: DeserializeOwned"))]
pub struct MergeCombiners<A, V>(pub A, #[serde(skip)] pub PhantomData<fn() -> V>);

impl<A: Clone, V> MergeCombiners<A, V> {
    pub fn new(agg: A) -> Self {
        MergeCombiners(agg, PhantomData)
    }
}

impl<K: Key, V: Data, C: Data, A: Aggregate<V, C>> ReduceSide<K, C, (K, C)> for MergeCombiners<A, V> {
    fn read(&self, input: ShuffleInput<(K, C)>, tc: &TaskContext) -> Result<BoxIter<(K, C)>, TaskError> {
        let agg = &self.0;
        aggregate_input(input, tc, agg, |c| c, |a, b| agg.merge_combiners(a, b))
    }
}

/// Reduce side without a map-side combine: combine the raw values of each key.
#[derive(Clone, Serialize, Deserialize)]
#[serde(bound(serialize = "A: Serialize", deserialize = "A: DeserializeOwned"))]
pub struct CombineValues<A, C>(pub A, #[serde(skip)] pub PhantomData<fn() -> C>);

impl<A: Clone, C> CombineValues<A, C> {
    pub fn new(agg: A) -> Self {
        CombineValues(agg, PhantomData)
    }
}

impl<K: Key, V: Data, C: Data, A: Aggregate<V, C>> ReduceSide<K, V, (K, C)> for CombineValues<A, C> {
    fn read(&self, input: ShuffleInput<(K, V)>, tc: &TaskContext) -> Result<BoxIter<(K, C)>, TaskError> {
        let agg = &self.0;
        aggregate_input(input, tc, agg, |v| agg.create(v), |c, v| agg.merge_value(c, v))
    }
}

/// Reduce side of sort_by_key: sort the partition's records by key, spilling
/// sorted runs past memory. The sort is stable, and blocks arrive in map
/// order, so equal keys keep their order.
#[derive(Clone, Copy, Serialize, Deserialize)]
pub struct SortByKey {
    pub ascending: bool,
}

impl<K: Data + Ord, V: Data> ReduceSide<K, V, (K, V)> for SortByKey {
    fn read(&self, mut input: ShuffleInput<(K, V)>, tc: &TaskContext) -> Result<BoxIter<(K, V)>, TaskError> {
        let mut sorter = ExternalSorter::new(tc.spill_env()?, self.ascending);
        while let Some(record) = input.next_record()? {
            sorter.insert(record)?;
        }
        drop(input);
        sorter.finish(tc.deferred_error())
    }
}
