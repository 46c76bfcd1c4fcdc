//! Transformations of any RDD.
//!
//! Each function-taking transformation comes in two shapes (see `func`):
//! `map(|x| ...)` for closures that capture nothing, and
//! `map_with(state, |state, x| ...)` for closures that need data from the
//! driver.

use crate::call_site::OperationScope;
use crate::func::{CapturesNothing, Fn1, Fn2, Plain, With};
use crate::nodes::cartesian::CartesianRdd;
use crate::nodes::coalesce::CoalescedRdd;
use crate::nodes::map_partitions::{
    FilterFn, FlatMapFn, GlomFn, KeyByFn, MapFn, MapPartitionsRdd, PartitionFn, PartitionsFn,
};
use crate::nodes::union::UnionRdd;
use crate::nodes::zip::ZippedRdd;
use crate::rdd::Rdd;
use crate::task::BoxIter;
use crate::{Data, Key};
use serde::{Serialize, de::DeserializeOwned};
use std::marker::PhantomData;
use std::sync::Arc;

/// State a `_with` closure can borrow.
pub trait State: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {}
impl<S: Serialize + DeserializeOwned + Clone + Send + Sync + 'static> State for S {}

impl<T: Data> Rdd<T> {
    /// Applies a partition function; the building block of the narrow transformations.
    #[track_caller]
    pub fn map_partitions_fn<U: Data, F: PartitionFn<T, U>>(&self, f: F) -> Rdd<U> {
        let _op = OperationScope::enter("map_partitions_fn");
        self.derive(Arc::new(MapPartitionsRdd::new(self.new_meta(), self.node.clone(), f)))
    }

    /// `f(x)` for every record.
    #[track_caller]
    pub fn map<U: Data>(&self, f: impl Fn(T) -> U + CapturesNothing) -> Rdd<U> {
        let _op = OperationScope::enter("map");
        self.map_partitions_fn(MapFn(Plain::new(f)))
    }
    /// `f(&state, x)` for every record.
    #[track_caller]
    pub fn map_with<S: State, U: Data>(&self, state: S, f: impl Fn(&S, T) -> U + CapturesNothing) -> Rdd<U> {
        let _op = OperationScope::enter("map_with");
        self.map_partitions_fn(MapFn(With::new(state, f)))
    }
    /// The records for which `f` is true.
    #[track_caller]
    pub fn filter(&self, f: impl Fn(&T) -> bool + CapturesNothing) -> Rdd<T> {
        let _op = OperationScope::enter("filter");
        self.map_partitions_fn(FilterFn(Plain::new(f)))
    }
    #[track_caller]
    pub fn filter_with<S: State>(&self, state: S, f: impl Fn(&S, &T) -> bool + CapturesNothing) -> Rdd<T> {
        let _op = OperationScope::enter("filter_with");
        self.map_partitions_fn(FilterFn(With::new(state, f)))
    }
    /// Every record of `f(x)` for every record `x`.
    #[track_caller]
    pub fn flat_map<U: Data, I>(&self, f: impl Fn(T) -> I + CapturesNothing) -> Rdd<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: Send + 'static,
    {
        let _op = OperationScope::enter("flat_map");
        self.map_partitions_fn(FlatMapFn(Plain::new(f), PhantomData))
    }
    #[track_caller]
    pub fn flat_map_with<S: State, U: Data, I>(&self, state: S, f: impl Fn(&S, T) -> I + CapturesNothing) -> Rdd<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: Send + 'static,
    {
        let _op = OperationScope::enter("flat_map_with");
        self.map_partitions_fn(FlatMapFn(With::new(state, f), PhantomData))
    }
    /// `f` over each partition's iterator.
    #[track_caller]
    pub fn map_partitions<U: Data, I>(&self, f: impl Fn(BoxIter<T>) -> I + CapturesNothing) -> Rdd<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: Send + 'static,
    {
        let _op = OperationScope::enter("map_partitions");
        self.map_partitions_with_index(move |_, it| f(it))
    }
    /// `f(partition_index, iterator)` over each partition.
    #[track_caller]
    pub fn map_partitions_with_index<U: Data, I>(&self, f: impl Fn(usize, BoxIter<T>) -> I + CapturesNothing) -> Rdd<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: Send + 'static,
    {
        let _op = OperationScope::enter("map_partitions_with_index");
        self.map_partitions_fn(PartitionsFn(Plain::new(f), PhantomData))
    }
    /// `f(&state, partition_index, iterator)` over each partition.
    #[track_caller]
    pub fn map_partitions_with<S: State, U: Data, I>(
        &self,
        state: S,
        f: impl Fn(&S, usize, BoxIter<T>) -> I + CapturesNothing,
    ) -> Rdd<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: Send + 'static,
    {
        let _op = OperationScope::enter("map_partitions_with");
        self.map_partitions_fn(PartitionsFn(With::new(state, f), PhantomData))
    }
    /// Each partition as one `Vec`.
    #[track_caller]
    pub fn glom(&self) -> Rdd<Vec<T>> {
        let _op = OperationScope::enter("glom");
        self.map_partitions_fn(GlomFn)
    }
    /// `(f(&x), x)` for every record.
    #[track_caller]
    pub fn key_by<K: Data>(&self, f: impl Fn(&T) -> K + CapturesNothing) -> Rdd<(K, T)> {
        let _op = OperationScope::enter("key_by");
        self.map_partitions_fn(KeyByFn(Plain::new(f)))
    }

    /// The records of both RDDs (duplicates kept, no shuffle).
    #[track_caller]
    pub fn union(&self, other: &Rdd<T>) -> Rdd<T> {
        let _op = OperationScope::enter("union");
        Self::union_all(&[self.clone(), other.clone()])
    }
    /// The records of all the RDDs, in order (no shuffle).
    #[track_caller]
    pub fn union_all(rdds: &[Rdd<T>]) -> Rdd<T> {
        let _op = OperationScope::enter("union_all");
        let first = &rdds[0];
        let parents = rdds.iter().map(|r| r.node.clone()).collect();
        first.derive(Arc::new(UnionRdd::new(first.new_meta(), parents)))
    }
    /// Pairs the i-th records of two RDDs with the same partitions and the
    /// same number of records in each partition (checked when computed).
    #[track_caller]
    pub fn zip<U: Data>(&self, other: &Rdd<U>) -> crate::Result<Rdd<(T, U)>> {
        let _op = OperationScope::enter("zip");
        crate::ops::zip::same_partition_counts("zip", vec![self.num_partitions(), other.num_partitions()])?;
        Ok(self.derive(Arc::new(ZippedRdd::new(self.new_meta(), self.node.clone(), other.node.clone()))))
    }
    /// Every pair `(a, b)` of a record of this RDD and one of `other`.
    #[track_caller]
    pub fn cartesian<U: Data>(&self, other: &Rdd<U>) -> Rdd<(T, U)> {
        let _op = OperationScope::enter("cartesian");
        self.derive(Arc::new(CartesianRdd::new(self.new_meta(), self.node.clone(), other.node.clone())))
    }
    /// Fewer partitions without a shuffle (contiguous groups of partitions);
    /// with `shuffle`, any number of partitions, balanced.
    #[track_caller]
    pub fn coalesce(&self, partitions: usize, shuffle: bool) -> Rdd<T> {
        let _op = OperationScope::enter("coalesce");
        if shuffle {
            return self.repartition(partitions);
        }
        self.derive(Arc::new(CoalescedRdd::new(self.new_meta(), self.node.clone(), partitions)))
    }
    /// `partitions` partitions of about equal size, through a shuffle. Records
    /// are dealt round-robin from a start that depends only on the partition
    /// index, so a recomputed partition lands exactly where it did before.
    #[track_caller]
    pub fn repartition(&self, partitions: usize) -> Rdd<T> {
        let _op = OperationScope::enter("repartition");
        let n = partitions.max(1);
        self.map_partitions_with(n, |&n, index, it| {
            let start = crate::partitioner::stable_hash(&index) as usize % n;
            it.enumerate().map(move |(i, x)| (((start + i) % n) as u64, x))
        })
        // Target `t` goes to partition `t` itself: hashing the targets would
        // send several of them to one partition and leave others empty.
        .partition_by_fn(n, |&target| target as usize)
        .values()
    }
    /// `(x, f(x))` pairs keyed by `f`, grouped: `(key, records)`.
    #[track_caller]
    pub fn group_by<K: Key>(&self, f: impl Fn(&T) -> K + CapturesNothing) -> Rdd<(K, Vec<T>)> {
        let _op = OperationScope::enter("group_by");
        self.key_by(f).group_by_key()
    }
    /// `group_by` into `partitions` hash partitions.
    #[track_caller]
    pub fn group_by_into<K: Key>(&self, f: impl Fn(&T) -> K + CapturesNothing, partitions: usize) -> Rdd<(K, Vec<T>)> {
        let _op = OperationScope::enter("group_by_into");
        self.key_by(f).group_by_key_into(partitions)
    }
    /// The distinct records.
    #[track_caller]
    pub fn distinct(&self) -> Rdd<T>
    where
        T: Key,
    {
        let _op = OperationScope::enter("distinct");
        self.distinct_into(self.num_partitions())
    }
    /// `distinct` into `partitions` hash partitions.
    #[track_caller]
    pub fn distinct_into(&self, partitions: usize) -> Rdd<T>
    where
        T: Key,
    {
        let _op = OperationScope::enter("distinct_into");
        self.map(|x| (x, ())).reduce_by_key_into(|a, _| a, partitions).keys()
    }
    /// Records sorted by `f(x)`, in `partitions` range partitions.
    #[track_caller]
    pub fn sort_by<K: Key + Ord>(
        &self,
        f: impl Fn(&T) -> K + CapturesNothing,
        ascending: bool,
        partitions: usize,
    ) -> crate::Result<Rdd<T>> {
        let _op = OperationScope::enter("sort_by");
        Ok(self.key_by(f).sort_by_key(ascending, partitions)?.values())
    }
    /// The records of this RDD that are not in `other` (duplicates kept).
    #[track_caller]
    pub fn subtract(&self, other: &Rdd<T>) -> Rdd<T>
    where
        T: Key,
    {
        let _op = OperationScope::enter("subtract");
        self.subtract_into(other, self.num_partitions().max(other.num_partitions()))
    }
    /// `subtract` into `partitions` hash partitions.
    #[track_caller]
    pub fn subtract_into(&self, other: &Rdd<T>, partitions: usize) -> Rdd<T>
    where
        T: Key,
    {
        let _op = OperationScope::enter("subtract_into");
        self.map(|x| (x, ())).cogroup_into(&other.map(|x| (x, ())), partitions).flat_map(|(x, (mine, theirs))| {
            let n = if theirs.is_empty() { mine.len() } else { 0 };
            std::iter::repeat_n(x, n)
        })
    }
    /// The distinct records found in both RDDs.
    #[track_caller]
    pub fn intersection(&self, other: &Rdd<T>) -> Rdd<T>
    where
        T: Key,
    {
        let _op = OperationScope::enter("intersection");
        self.intersection_into(other, self.num_partitions().max(other.num_partitions()))
    }
    /// `intersection` into `partitions` hash partitions.
    #[track_caller]
    pub fn intersection_into(&self, other: &Rdd<T>, partitions: usize) -> Rdd<T>
    where
        T: Key,
    {
        let _op = OperationScope::enter("intersection_into");
        self.map(|x| (x, ()))
            .cogroup_into(&other.map(|x| (x, ())), partitions)
            .filter(|(_, (a, b))| !a.is_empty() && !b.is_empty())
            .keys()
    }
    /// Applies a shippable function; for extensions with their own function types.
    #[track_caller]
    pub fn map_fn<U: Data, F: Fn1<T, U>>(&self, f: F) -> Rdd<U> {
        let _op = OperationScope::enter("map_fn");
        self.map_partitions_fn(MapFn(f))
    }
    /// Applies a shippable two-argument partition function.
    #[track_caller]
    pub fn map_partitions_with_index_fn<U: Data, I, F>(&self, f: F) -> Rdd<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: Send + 'static,
        F: Fn2<usize, BoxIter<T>, I>,
    {
        let _op = OperationScope::enter("map_partitions_with_index_fn");
        self.map_partitions_fn(PartitionsFn(f, PhantomData))
    }
}
