//! Transformations of pair RDDs, `Rdd<(K, V)>`: the ones that shuffle.

use crate::aggregate::{
    Aggregate, CombineAgg, CombineValues, GroupAgg, MapCombine, MapSide, MergeCombiners, Pass, ReduceAgg, ReduceSide,
    SortByKey, ZeroAgg,
};
use crate::call_site::OperationScope;
use crate::func::{CapturesNothing, Fn1, Plain};
use crate::nodes::map_partitions::{FlatMapValuesFn, KeysFn, MapValuesFn, ValuesFn};
use crate::nodes::shuffle::{ShuffleDependency, ShuffledRdd};
use crate::partitioner::{FnPartitioner, HashPartitioner, PartitionNumber, Partitioner, RangePartitioner};
use crate::rdd::Rdd;
use crate::{Data, Key};
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use std::sync::Arc;

/// A value of the left or of the right RDD of a cogroup, tagged in the shuffle.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Either<A, B> {
    Left(A),
    Right(B),
}

impl<K: Key, V: Data> Rdd<(K, V)> {
    /// Shuffles this RDD: `map_side` runs before the records are bucketed by
    /// `partitioner`, `reduce_side` after a reduce partition's buckets are read.
    #[track_caller]
    pub fn shuffle<X: Data, O: Data, P, M, R>(&self, partitioner: P, map_side: M, reduce_side: R) -> Rdd<O>
    where
        P: Partitioner<K>,
        M: MapSide<K, V, X>,
        R: ReduceSide<K, X, O>,
    {
        let _op = OperationScope::enter("shuffle");
        let shuffle = self.runner.new_shuffle_id();
        let dep =
            Arc::new(ShuffleDependency::new(shuffle, self.node.clone(), partitioner, map_side, self.runner.clone()));
        self.derive(Arc::new(ShuffledRdd::new(self.new_meta(), dep, reduce_side)))
    }

    #[track_caller]
    pub fn keys(&self) -> Rdd<K> {
        let _op = OperationScope::enter("keys");
        self.map_partitions_fn(KeysFn)
    }
    #[track_caller]
    pub fn values(&self) -> Rdd<V> {
        let _op = OperationScope::enter("values");
        self.map_partitions_fn(ValuesFn)
    }
    /// `(k, f(v))` for every record.
    #[track_caller]
    pub fn map_values<W: Data>(&self, f: impl Fn(V) -> W + CapturesNothing) -> Rdd<(K, W)> {
        let _op = OperationScope::enter("map_values");
        self.map_partitions_fn(MapValuesFn(Plain::new(f)))
    }
    /// `(k, w)` for every `w` in `f(v)`.
    #[track_caller]
    pub fn flat_map_values<W: Data, I>(&self, f: impl Fn(V) -> I + CapturesNothing) -> Rdd<(K, W)>
    where
        I: IntoIterator<Item = W> + 'static,
        I::IntoIter: Send + 'static,
    {
        let _op = OperationScope::enter("flat_map_values");
        self.map_partitions_fn(FlatMapValuesFn(Plain::new(f), PhantomData))
    }

    /// The same records, placed in partitions by `partitioner`.
    #[track_caller]
    pub fn partition_by<P: Partitioner<K>>(&self, partitioner: P) -> Rdd<(K, V)> {
        let _op = OperationScope::enter("partition_by");
        self.shuffle(partitioner, Pass, Pass)
    }
    /// The same records, placed in `partitions` partitions: the key's is
    /// `f(&key)` (any integer) modulo `partitions`, the Euclidean way, so
    /// negative numbers partition as Spark's `nonNegativeMod` does.
    #[track_caller]
    pub fn partition_by_fn<I: PartitionNumber>(
        &self,
        partitions: usize,
        f: impl Fn(&K) -> I + CapturesNothing,
    ) -> Rdd<(K, V)> {
        let _op = OperationScope::enter("partition_by_fn");
        self.partition_by(FnPartitioner::new(partitions, Plain::new(f)))
    }

    /// Combines the values of each key with `agg`, into `partitions` hash
    /// partitions; `map_side_combine` combines before the shuffle too.
    #[track_caller]
    pub fn combine_by_key_with<C: Data, A: Aggregate<V, C>>(
        &self,
        agg: A,
        partitions: usize,
        map_side_combine: bool,
    ) -> Rdd<(K, C)> {
        let _op = OperationScope::enter("combine_by_key_with");
        let partitioner = HashPartitioner::new(partitions);
        if map_side_combine {
            self.shuffle(partitioner, MapCombine::new(agg.clone()), MergeCombiners::<A, V>::new(agg))
        } else {
            self.shuffle(partitioner, Pass, CombineValues::<A, C>::new(agg))
        }
    }
    /// Spark's combineByKey, with a map-side combine.
    #[track_caller]
    pub fn combine_by_key<C: Data>(
        &self,
        create: impl Fn(V) -> C + CapturesNothing,
        merge_value: impl Fn(C, V) -> C + CapturesNothing,
        merge_combiners: impl Fn(C, C) -> C + CapturesNothing,
        partitions: usize,
    ) -> Rdd<(K, C)> {
        let _op = OperationScope::enter("combine_by_key");
        let agg = CombineAgg {
            create: Plain::new(create),
            merge_value: Plain::new(merge_value),
            merge_combiners: Plain::new(merge_combiners),
        };
        self.combine_by_key_with(agg, partitions, true)
    }
    /// Merges the values of each key with an associative function, combining
    /// on the map side first; as many partitions as this RDD.
    #[track_caller]
    pub fn reduce_by_key(&self, f: impl Fn(V, V) -> V + CapturesNothing) -> Rdd<(K, V)> {
        let _op = OperationScope::enter("reduce_by_key");
        self.reduce_by_key_into(f, self.num_partitions())
    }
    #[track_caller]
    pub fn reduce_by_key_into(&self, f: impl Fn(V, V) -> V + CapturesNothing, partitions: usize) -> Rdd<(K, V)> {
        let _op = OperationScope::enter("reduce_by_key_into");
        self.combine_by_key_with(ReduceAgg(Plain::new(f)), partitions, true)
    }
    /// Like `reduce_by_key`, starting each key (in each partition) from `zero`.
    #[track_caller]
    pub fn fold_by_key(&self, zero: V, f: impl Fn(V, V) -> V + CapturesNothing) -> Rdd<(K, V)> {
        let _op = OperationScope::enter("fold_by_key");
        self.fold_by_key_into(zero, f, self.num_partitions())
    }
    /// `fold_by_key` into `partitions` hash partitions.
    #[track_caller]
    pub fn fold_by_key_into(&self, zero: V, f: impl Fn(V, V) -> V + CapturesNothing, partitions: usize) -> Rdd<(K, V)> {
        let _op = OperationScope::enter("fold_by_key_into");
        let agg = ZeroAgg { zero, seq: Plain::new(f), comb: Plain::new(f) };
        self.combine_by_key_with(agg, partitions, true)
    }
    /// Spark's aggregateByKey: `seq` folds values into a `C` started from
    /// `zero`, `comb` merges two `C`s.
    #[track_caller]
    pub fn aggregate_by_key<C: Data>(
        &self,
        zero: C,
        seq: impl Fn(C, V) -> C + CapturesNothing,
        comb: impl Fn(C, C) -> C + CapturesNothing,
    ) -> Rdd<(K, C)> {
        let _op = OperationScope::enter("aggregate_by_key");
        self.aggregate_by_key_into(zero, seq, comb, self.num_partitions())
    }
    /// `aggregate_by_key` into `partitions` hash partitions.
    #[track_caller]
    pub fn aggregate_by_key_into<C: Data>(
        &self,
        zero: C,
        seq: impl Fn(C, V) -> C + CapturesNothing,
        comb: impl Fn(C, C) -> C + CapturesNothing,
        partitions: usize,
    ) -> Rdd<(K, C)> {
        let _op = OperationScope::enter("aggregate_by_key_into");
        let agg = ZeroAgg { zero, seq: Plain::new(seq), comb: Plain::new(comb) };
        self.combine_by_key_with(agg, partitions, true)
    }
    /// The values of each key, in one record per key (no map-side combine:
    /// it would not reduce the data).
    #[track_caller]
    pub fn group_by_key(&self) -> Rdd<(K, Vec<V>)> {
        let _op = OperationScope::enter("group_by_key");
        self.group_by_key_into(self.num_partitions())
    }
    #[track_caller]
    pub fn group_by_key_into(&self, partitions: usize) -> Rdd<(K, Vec<V>)> {
        let _op = OperationScope::enter("group_by_key_into");
        self.combine_by_key_with(GroupAgg, partitions, false)
    }

    /// Records sorted by key across `partitions` range partitions. Runs a job
    /// to sample the keys and choose the ranges, as Spark does.
    #[track_caller]
    pub fn sort_by_key(&self, ascending: bool, partitions: usize) -> crate::Result<Rdd<(K, V)>>
    where
        K: Ord,
    {
        let _op = OperationScope::enter("sort_by_key");
        let n = partitions.max(1);
        let per_partition = (20 * n).div_ceil(self.num_partitions().max(1)).max(1);
        let sample = futures::executor::block_on(self.keys().sample_per_partition_async(per_partition))?;
        let partitioner = RangePartitioner::from_sample(sample, n, ascending);
        Ok(self.shuffle(partitioner, Pass, SortByKey { ascending }))
    }

    /// For each key of either RDD, its values in this RDD and in `other`;
    /// as many partitions as the larger of the two RDDs (as the joins).
    #[track_caller]
    pub fn cogroup<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (Vec<V>, Vec<W>))> {
        let _op = OperationScope::enter("cogroup");
        self.cogroup_into(other, self.num_partitions().max(other.num_partitions()))
    }
    /// `cogroup` into `partitions` hash partitions.
    #[track_caller]
    pub fn cogroup_into<W: Data>(&self, other: &Rdd<(K, W)>, partitions: usize) -> Rdd<(K, (Vec<V>, Vec<W>))> {
        let _op = OperationScope::enter("cogroup_into");
        let left: Rdd<(K, Either<V, W>)> = self.map_values(Either::Left);
        let right: Rdd<(K, Either<V, W>)> = other.map_values(Either::Right);
        left.union(&right).group_by_key_into(partitions).map_values(|tagged| {
            let (mut vs, mut ws) = (Vec::new(), Vec::new());
            for t in tagged {
                match t {
                    Either::Left(v) => vs.push(v),
                    Either::Right(w) => ws.push(w),
                }
            }
            (vs, ws)
        })
    }
    /// Pairs `(k, (v, w))` for every `v` and `w` with the same key.
    #[track_caller]
    pub fn join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (V, W))> {
        let _op = OperationScope::enter("join");
        self.join_into(other, self.num_partitions().max(other.num_partitions()))
    }
    /// `join` into `partitions` hash partitions.
    #[track_caller]
    pub fn join_into<W: Data>(&self, other: &Rdd<(K, W)>, partitions: usize) -> Rdd<(K, (V, W))> {
        let _op = OperationScope::enter("join_into");
        self.cogroup_into(other, partitions).flat_map_values(|(vs, ws)| pairs(vs, ws, |v, w| Some((v?, w?))))
    }
    /// Like `join`, keeping keys absent from `other` with `None`.
    #[track_caller]
    pub fn left_outer_join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (V, Option<W>))> {
        let _op = OperationScope::enter("left_outer_join");
        self.left_outer_join_into(other, self.num_partitions().max(other.num_partitions()))
    }
    /// `left_outer_join` into `partitions` hash partitions.
    #[track_caller]
    pub fn left_outer_join_into<W: Data>(&self, other: &Rdd<(K, W)>, partitions: usize) -> Rdd<(K, (V, Option<W>))> {
        let _op = OperationScope::enter("left_outer_join_into");
        self.cogroup_into(other, partitions).flat_map_values(|(vs, ws)| pairs(vs, ws, |v, w| Some((v?, w))))
    }
    /// Like `join`, keeping keys absent from this RDD with `None`.
    #[track_caller]
    pub fn right_outer_join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (Option<V>, W))> {
        let _op = OperationScope::enter("right_outer_join");
        self.right_outer_join_into(other, self.num_partitions().max(other.num_partitions()))
    }
    /// `right_outer_join` into `partitions` hash partitions.
    #[track_caller]
    pub fn right_outer_join_into<W: Data>(&self, other: &Rdd<(K, W)>, partitions: usize) -> Rdd<(K, (Option<V>, W))> {
        let _op = OperationScope::enter("right_outer_join_into");
        self.cogroup_into(other, partitions).flat_map_values(|(vs, ws)| pairs(vs, ws, |v, w| Some((v, w?))))
    }
    /// Like `join`, keeping keys absent from either side with `None`.
    #[track_caller]
    pub fn full_outer_join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (Option<V>, Option<W>))> {
        let _op = OperationScope::enter("full_outer_join");
        self.full_outer_join_into(other, self.num_partitions().max(other.num_partitions()))
    }
    /// `full_outer_join` into `partitions` hash partitions.
    #[track_caller]
    pub fn full_outer_join_into<W: Data>(
        &self,
        other: &Rdd<(K, W)>,
        partitions: usize,
    ) -> Rdd<(K, (Option<V>, Option<W>))> {
        let _op = OperationScope::enter("full_outer_join_into");
        self.cogroup_into(other, partitions).flat_map_values(|(vs, ws)| pairs(vs, ws, |v, w| Some((v, w))))
    }

    /// Applies a shippable function to the values; for extensions.
    #[track_caller]
    pub fn map_values_fn<W: Data, F: Fn1<V, W>>(&self, f: F) -> Rdd<(K, W)> {
        let _op = OperationScope::enter("map_values_fn");
        self.map_partitions_fn(MapValuesFn(f))
    }
}

/// The cross product of two value lists for a join: a side with no values
/// contributes one `None`, and `keep` decides which combinations survive.
fn pairs<V: Clone, W: Clone, O>(vs: Vec<V>, ws: Vec<W>, keep: impl Fn(Option<V>, Option<W>) -> Option<O>) -> Vec<O> {
    let vs: Vec<Option<V>> = if vs.is_empty() { vec![None] } else { vs.into_iter().map(Some).collect() };
    let ws: Vec<Option<W>> = if ws.is_empty() { vec![None] } else { ws.into_iter().map(Some).collect() };
    let mut out = Vec::new();
    for v in &vs {
        for w in &ws {
            if let Some(o) = keep(v.clone(), w.clone()) {
                out.push(o);
            }
        }
    }
    out
}
