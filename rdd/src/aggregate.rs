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
//! | partition_by | pass | pass |
//! | reduce_by_key, combine_by_key, aggregate_by_key | combine to C | merge combiners |
//! | group_by_key | pass | combine values into `Vec<V>` |
//! | sort_by_key | pass | sort by key |

use crate::error::TaskError;
use crate::func::Fn1;
use crate::func::Fn2;
use crate::task::BoxIter;
use crate::{Data, Key};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
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

/// Combines records by key in a hash map, keeping first-seen key order out
/// of the picture: the output order is the map's, which is deterministic for
/// a given input order (the hasher is fixed).
fn combine<K: Key, V, C>(
    input: impl Iterator<Item = (K, V)>,
    create: impl Fn(V) -> C,
    merge: impl Fn(C, V) -> C,
) -> HashMap<K, Option<C>, std::hash::BuildHasherDefault<crate::partitioner::StableHasher>> {
    let mut map: HashMap<K, Option<C>, _> = HashMap::default();
    for (k, v) in input {
        match map.entry(k) {
            Entry::Vacant(e) => {
                e.insert(Some(create(v)));
            }
            Entry::Occupied(mut e) => {
                // The slot is an Option so the combiner can be moved out, merged
                // by value, and put back (user functions take combiners by value).
                let slot = e.get_mut();
                if let Some(c) = slot.take() {
                    *slot = Some(merge(c, v));
                }
            }
        }
    }
    map
}

fn drain<K: Key, C: Data>(
    map: HashMap<K, Option<C>, std::hash::BuildHasherDefault<crate::partitioner::StableHasher>>,
) -> BoxIter<(K, C)> {
    Box::new(map.into_iter().filter_map(|(k, c)| c.map(|c| (k, c))))
}

/// The map side of a shuffle.
pub trait MapSide<K, V, X>: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    fn write(&self, input: BoxIter<(K, V)>) -> BoxIter<(K, X)>;
}

/// The reduce side of a shuffle.
pub trait ReduceSide<K, X, O>: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    fn read(&self, input: &mut dyn Iterator<Item = Result<(K, X), TaskError>>) -> Result<BoxIter<O>, TaskError>;
}

/// Records go through unchanged (map side of most shuffles; reduce side of partition_by).
#[derive(Clone, Copy, Serialize, Deserialize, Default)]
pub struct Pass;

impl<K, V> MapSide<K, V, V> for Pass {
    fn write(&self, input: BoxIter<(K, V)>) -> BoxIter<(K, V)> {
        input
    }
}

impl<K: Data, V: Data> ReduceSide<K, V, (K, V)> for Pass {
    fn read(&self, input: &mut dyn Iterator<Item = Result<(K, V), TaskError>>) -> Result<BoxIter<(K, V)>, TaskError> {
        let records = input.collect::<Result<Vec<_>, _>>()?;
        Ok(Box::new(records.into_iter()))
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
    fn write(&self, input: BoxIter<(K, V)>) -> BoxIter<(K, C)> {
        let agg = &self.0;
        drain(combine(input, |v| agg.create(v), |c, v| agg.merge_value(c, v)))
    }
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
    fn read(&self, input: &mut dyn Iterator<Item = Result<(K, C), TaskError>>) -> Result<BoxIter<(K, C)>, TaskError> {
        let agg = &self.0;
        let mut err = None;
        let records = input.map_while(|r| r.map_err(|e| err = Some(e)).ok());
        let map = combine(records, |c| c, |a, b| agg.merge_combiners(a, b));
        match err {
            Some(e) => Err(e),
            None => Ok(drain(map)),
        }
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
    fn read(&self, input: &mut dyn Iterator<Item = Result<(K, V), TaskError>>) -> Result<BoxIter<(K, C)>, TaskError> {
        let agg = &self.0;
        let mut err = None;
        let records = input.map_while(|r| r.map_err(|e| err = Some(e)).ok());
        let map = combine(records, |v| agg.create(v), |c, v| agg.merge_value(c, v));
        match err {
            Some(e) => Err(e),
            None => Ok(drain(map)),
        }
    }
}

/// Reduce side of sort_by_key: sort the partition's records by key. The sort
/// is stable, and blocks arrive in map order, so equal keys keep their order.
#[derive(Clone, Copy, Serialize, Deserialize)]
pub struct SortByKey {
    pub ascending: bool,
}

impl<K: Data + Ord, V: Data> ReduceSide<K, V, (K, V)> for SortByKey {
    fn read(&self, input: &mut dyn Iterator<Item = Result<(K, V), TaskError>>) -> Result<BoxIter<(K, V)>, TaskError> {
        let mut records = input.collect::<Result<Vec<_>, _>>()?;
        if self.ascending {
            records.sort_by(|a, b| a.0.cmp(&b.0));
        } else {
            records.sort_by(|a, b| b.0.cmp(&a.0));
        }
        Ok(Box::new(records.into_iter()))
    }
}
