//! `MapPartitionsRdd`: the one node behind map, filter, flat_map,
//! map_partitions, map_partitions_with_index, glom, key_by, map_values, ...
//!
//! Each of those is a [`PartitionFn`] adapter around the user's function; the
//! node applies it to its parent's iterator, so a chain of narrow
//! transformations is pipelined inside one task without materializing.

use crate::Data;
use crate::error::{EmberError, TaskError};
use crate::func::{Fn1, Fn2};
use crate::rdd::{Dependency, RddBase, RddMeta, RddNode, RddRef};
use crate::shipping::{Parents, ShippedNode, from_fields, to_fields};
use crate::task::{BoxIter, TaskContext};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::marker::PhantomData;
use std::sync::Arc;

/// A function from one partition's records to another's.
pub trait PartitionFn<T, U>: Serialize + DeserializeOwned + Send + Sync + 'static {
    fn apply(this: Arc<Self>, split: usize, input: BoxIter<T>) -> BoxIter<U>;
}

pub struct MapPartitionsRdd<T: 'static, U, F> {
    meta: RddMeta,
    parent: RddRef<T>,
    f: Arc<F>,
    _out: PhantomData<fn() -> U>,
}

impl<T: Data, U: Data, F: PartitionFn<T, U>> MapPartitionsRdd<T, U, F> {
    pub fn new(meta: RddMeta, parent: RddRef<T>, f: F) -> Self {
        MapPartitionsRdd { meta, parent, f: Arc::new(f), _out: PhantomData }
    }
}

impl<T: Data, U: Data, F: PartitionFn<T, U>> RddBase for MapPartitionsRdd<T, U, F> {
    common_rdd_base_methods!("MapPartitionsRdd");
    fn num_partitions(&self) -> usize {
        self.parent.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Narrow { rdd: self.parent.base(), one_to_one: true }]
    }
}

impl<T: Data, U: Data, F: PartitionFn<T, U>> RddNode<U> for MapPartitionsRdd<T, U, F> {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<U>, TaskError> {
        let input = self.parent.iterator(split, tc)?;
        Ok(F::apply(self.f.clone(), split, input))
    }
}

impl<T: Data, U: Data, F: PartitionFn<T, U>> ShippedNode for MapPartitionsRdd<T, U, F> {
    type Item = U;
    fn write_fields(&self) -> Result<Vec<u8>, EmberError> {
        to_fields(&*self.f)
    }
    fn rebuild(meta: RddMeta, fields: &[u8], parents: &Parents<'_>) -> Result<Self, TaskError> {
        Ok(MapPartitionsRdd { meta, parent: parents.get(0)?, f: Arc::new(from_fields(fields)?), _out: PhantomData })
    }
}

/// `map(f)`.
#[derive(Serialize, Deserialize)]
pub struct MapFn<F>(pub F);

impl<T: Data, U: Data, F: Fn1<T, U>> PartitionFn<T, U> for MapFn<F> {
    fn apply(this: Arc<Self>, _: usize, input: BoxIter<T>) -> BoxIter<U> {
        Box::new(input.map(move |x| this.0.call(x)))
    }
}

/// `filter(f)`.
#[derive(Serialize, Deserialize)]
pub struct FilterFn<F>(pub F);

impl<T: Data, F: for<'a> Fn1<&'a T, bool>> PartitionFn<T, T> for FilterFn<F> {
    fn apply(this: Arc<Self>, _: usize, input: BoxIter<T>) -> BoxIter<T> {
        Box::new(input.filter(move |x| this.0.call(x)))
    }
}

/// `flat_map(f)`.
#[derive(Serialize, Deserialize)]
#[serde(bound(serialize = "F: Serialize", deserialize = "F: DeserializeOwned"))]
pub struct FlatMapFn<F, I>(pub F, #[serde(skip)] pub PhantomData<fn() -> I>);

impl<T, U, I, F> PartitionFn<T, U> for FlatMapFn<F, I>
where
    T: Data,
    U: Data,
    I: IntoIterator<Item = U> + 'static,
    I::IntoIter: Send + 'static,
    F: Fn1<T, I>,
{
    fn apply(this: Arc<Self>, _: usize, input: BoxIter<T>) -> BoxIter<U> {
        Box::new(input.flat_map(move |x| this.0.call(x)))
    }
}

/// `map_partitions_with_index(f)` (and `map_partitions`, which ignores the index).
#[derive(Serialize, Deserialize)]
#[serde(bound(serialize = "F: Serialize", deserialize = "F: DeserializeOwned"))]
pub struct PartitionsFn<F, I>(pub F, #[serde(skip)] pub PhantomData<fn() -> I>);

impl<T, U, I, F> PartitionFn<T, U> for PartitionsFn<F, I>
where
    T: Data,
    U: Data,
    I: IntoIterator<Item = U> + 'static,
    I::IntoIter: Send + 'static,
    F: Fn2<usize, BoxIter<T>, I>,
{
    fn apply(this: Arc<Self>, split: usize, input: BoxIter<T>) -> BoxIter<U> {
        Box::new(this.0.call(split, input).into_iter())
    }
}

/// `map_values(f)` on a pair RDD.
#[derive(Serialize, Deserialize)]
pub struct MapValuesFn<F>(pub F);

impl<K: Data, V: Data, W: Data, F: Fn1<V, W>> PartitionFn<(K, V), (K, W)> for MapValuesFn<F> {
    fn apply(this: Arc<Self>, _: usize, input: BoxIter<(K, V)>) -> BoxIter<(K, W)> {
        Box::new(input.map(move |(k, v)| (k, this.0.call(v))))
    }
}

/// `flat_map_values(f)` on a pair RDD.
#[derive(Serialize, Deserialize)]
#[serde(bound(serialize = "F: Serialize", deserialize = "F: DeserializeOwned"))]
pub struct FlatMapValuesFn<F, I>(pub F, #[serde(skip)] pub PhantomData<fn() -> I>);

impl<K, V, W, I, F> PartitionFn<(K, V), (K, W)> for FlatMapValuesFn<F, I>
where
    K: Data,
    V: Data,
    W: Data,
    I: IntoIterator<Item = W> + 'static,
    I::IntoIter: Send + 'static,
    F: Fn1<V, I>,
{
    fn apply(this: Arc<Self>, _: usize, input: BoxIter<(K, V)>) -> BoxIter<(K, W)> {
        Box::new(input.flat_map(move |(k, v)| {
            let values = this.0.call(v);
            values.into_iter().map(move |w| (k.clone(), w))
        }))
    }
}

/// `key_by(f)`: `x` becomes `(f(&x), x)`.
#[derive(Serialize, Deserialize)]
pub struct KeyByFn<F>(pub F);

impl<T: Data, K: Data, F: for<'a> Fn1<&'a T, K>> PartitionFn<T, (K, T)> for KeyByFn<F> {
    fn apply(this: Arc<Self>, _: usize, input: BoxIter<T>) -> BoxIter<(K, T)> {
        Box::new(input.map(move |x| (this.0.call(&x), x)))
    }
}

/// `glom()`: a partition becomes one `Vec` of its records.
#[derive(Serialize, Deserialize)]
pub struct GlomFn;

impl<T: Data> PartitionFn<T, Vec<T>> for GlomFn {
    fn apply(_: Arc<Self>, _: usize, input: BoxIter<T>) -> BoxIter<Vec<T>> {
        Box::new(std::iter::once(input.collect()))
    }
}

/// Projections of pair RDDs: `keys()` and `values()`.
#[derive(Serialize, Deserialize)]
pub struct KeysFn;
#[derive(Serialize, Deserialize)]
pub struct ValuesFn;

impl<K: Data, V: Data> PartitionFn<(K, V), K> for KeysFn {
    fn apply(_: Arc<Self>, _: usize, input: BoxIter<(K, V)>) -> BoxIter<K> {
        Box::new(input.map(|(k, _)| k))
    }
}

impl<K: Data, V: Data> PartitionFn<(K, V), V> for ValuesFn {
    fn apply(_: Arc<Self>, _: usize, input: BoxIter<(K, V)>) -> BoxIter<V> {
        Box::new(input.map(|(_, v)| v))
    }
}
