//! More of Spark's PairRDDFunctions and OrderedRDDFunctions:
//! `subtract_by_key`, `cogroup3`, stratified sampling (`sample_by_key`),
//! `reduce_by_key_locally`, `repartition_and_sort_within_partitions` and
//! `filter_by_range`.
//!
//! `sample_by_key` draws from the same per-partition RNGs as `sample` (see
//! `ops::sample`), so a recomputed partition keeps the same records.

use crate::aggregate::{Pass, SortByKey};
use crate::call_site::OperationScope;
use crate::error::{EmberError, Result};
use crate::func::{CapturesNothing, Fn2, Plain, With};
use crate::ops::block_on;
use crate::ops::pair::Either;
use crate::ops::sample::{partition_rng, poisson};
use crate::partitioner::Partitioner;
use crate::rdd::Rdd;
use crate::task::BoxIter;
use crate::{Data, Key};
use futures::future::BoxFuture;
use rand::RngExt;
use std::collections::HashMap;

/// Merges `(k, v)` into `map` with `f` (a key seen before gets `f(old, v)`).
fn merge_into<K: Key, V, F: Fn2<V, V, V>>(map: &mut HashMap<K, V>, k: K, v: V, f: &F) {
    let merged = match map.remove(&k) {
        Some(old) => f.call(old, v),
        None => v,
    };
    map.insert(k, merged);
}

impl<K: Key, V: Data> Rdd<(K, V)> {
    /// The records whose key is not a key of `other` (Spark's
    /// subtractByKey); as many partitions as this RDD.
    #[track_caller]
    pub fn subtract_by_key<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, V)> {
        let _op = OperationScope::enter("subtract_by_key");
        self.subtract_by_key_into(other, self.num_partitions())
    }
    /// `subtract_by_key` into `partitions` hash partitions.
    #[track_caller]
    pub fn subtract_by_key_into<W: Data>(&self, other: &Rdd<(K, W)>, partitions: usize) -> Rdd<(K, V)> {
        let _op = OperationScope::enter("subtract_by_key_into");
        // Only the keys of `other` travel: its values are dropped before the shuffle.
        self.cogroup_into(&other.map_values(|_| ()), partitions).flat_map(|(k, (vs, theirs))| {
            let kept = if theirs.is_empty() { vs } else { Vec::new() };
            kept.into_iter().map(move |v| (k.clone(), v))
        })
    }

    /// For each key of any of the three RDDs, its values in each (Spark's
    /// three-way cogroup); as many partitions as the largest RDD.
    #[track_caller]
    pub fn cogroup3<W: Data, X: Data>(&self, b: &Rdd<(K, W)>, c: &Rdd<(K, X)>) -> Rdd<(K, (Vec<V>, Vec<W>, Vec<X>))> {
        let _op = OperationScope::enter("cogroup3");
        let partitions = self.num_partitions().max(b.num_partitions()).max(c.num_partitions());
        self.cogroup3_into(b, c, partitions)
    }
    /// `cogroup3` into `partitions` hash partitions.
    #[track_caller]
    pub fn cogroup3_into<W: Data, X: Data>(
        &self,
        b: &Rdd<(K, W)>,
        c: &Rdd<(K, X)>,
        partitions: usize,
    ) -> Rdd<(K, (Vec<V>, Vec<W>, Vec<X>))> {
        let _op = OperationScope::enter("cogroup3_into");
        type Tagged<V, W, X> = Either<V, Either<W, X>>;
        let a: Rdd<(K, Tagged<V, W, X>)> = self.map_values(Either::Left);
        let b: Rdd<(K, Tagged<V, W, X>)> = b.map_values(|w| Either::Right(Either::Left(w)));
        let c: Rdd<(K, Tagged<V, W, X>)> = c.map_values(|x| Either::Right(Either::Right(x)));
        Rdd::union_all(&[a, b, c]).group_by_key_into(partitions).map_values(|tagged| {
            let (mut vs, mut ws, mut xs) = (Vec::new(), Vec::new(), Vec::new());
            for t in tagged {
                match t {
                    Either::Left(v) => vs.push(v),
                    Either::Right(Either::Left(w)) => ws.push(w),
                    Either::Right(Either::Right(x)) => xs.push(x),
                }
            }
            (vs, ws, xs)
        })
    }

    /// The records placed in partitions by `partitioner`, each partition
    /// sorted by key (Spark's repartitionAndSortWithinPartitions): one
    /// shuffle whose reduce side sorts, spilling past memory.
    #[track_caller]
    pub fn repartition_and_sort_within_partitions<P: Partitioner<K>>(&self, partitioner: P) -> Rdd<(K, V)>
    where
        K: Ord,
    {
        let _op = OperationScope::enter("repartition_and_sort_within_partitions");
        self.shuffle(partitioner, Pass, SortByKey { ascending: true })
    }

    /// The records whose key is in `lower..=upper` (Spark's filterByRange).
    /// Ember does not track partitioners, so every partition is scanned.
    #[track_caller]
    pub fn filter_by_range(&self, lower: K, upper: K) -> Rdd<(K, V)>
    where
        K: Ord,
    {
        let _op = OperationScope::enter("filter_by_range");
        self.filter_with((lower, upper), |(lower, upper), (k, _)| lower <= k && k <= upper)
    }

    /// A stratified sample (Spark's sampleByKey, not the exact variant):
    /// each record of key `k` is kept with probability `fractions[k]`
    /// (without replacement) or repeated a Poisson(`fractions[k]`) number of
    /// times (with replacement). Keys missing from `fractions` are not
    /// sampled (Spark fails the job on them). The sample is the same for the
    /// same seed, however often it is recomputed.
    #[track_caller]
    pub fn sample_by_key(&self, with_replacement: bool, fractions: HashMap<K, f64>, seed: u64) -> Result<Rdd<(K, V)>> {
        let _op = OperationScope::enter("sample_by_key");
        if let Some(bad) = fractions.values().find(|f| f.is_nan() || **f < 0.0 || (!with_replacement && **f > 1.0)) {
            return Err(EmberError::InvalidArgument(format!(
                "sample_by_key: every fraction must be in [0, 1] without replacement and >= 0 with it, got {bad}"
            )));
        }
        let state = (with_replacement, fractions, seed);
        Ok(self.map_partitions_with(state, |(wr, fractions, seed), index, it| {
            let mut rng = partition_rng(*seed, index);
            let wr = *wr;
            let fractions = fractions.clone();
            it.flat_map(move |(k, v)| {
                let fraction = fractions.get(&k).copied().unwrap_or(0.0);
                let copies = if wr { poisson(&mut rng, fraction) } else { usize::from(rng.random::<f64>() < fraction) };
                std::iter::repeat_n((k, v), copies)
            })
        }))
    }

    /// Merges the values of each key with an associative, commutative `f`
    /// and returns the result to the driver as a map (Spark's
    /// reduceByKeyLocally): each partition is merged on its executor, the
    /// partial maps in the driver. No shuffle.
    #[track_caller]
    pub fn reduce_by_key_locally(&self, f: impl Fn(V, V) -> V + CapturesNothing) -> Result<HashMap<K, V>> {
        let _op = OperationScope::enter("reduce_by_key_locally");
        block_on(self.reduce_by_key_locally_fn(Plain::new(f)))
    }
    #[track_caller]
    pub fn reduce_by_key_locally_async(
        &self,
        f: impl Fn(V, V) -> V + CapturesNothing,
    ) -> BoxFuture<'static, Result<HashMap<K, V>>> {
        let _op = OperationScope::enter("reduce_by_key_locally");
        self.reduce_by_key_locally_fn(Plain::new(f))
    }
    /// `reduce_by_key_locally_async` with a shippable function (see `func`).
    #[track_caller]
    pub fn reduce_by_key_locally_fn<F: Fn2<V, V, V>>(&self, f: F) -> BoxFuture<'static, Result<HashMap<K, V>>> {
        let _op = OperationScope::enter("reduce_by_key_locally_fn");
        let per_partition = With::new(f.clone(), |f: &F, _, it: BoxIter<(K, V)>| {
            let mut map = HashMap::new();
            it.for_each(|(k, v)| merge_into(&mut map, k, v, f));
            map
        });
        let job = self.run_job_fn(per_partition, (0..self.num_partitions()).collect());
        Box::pin(async move {
            let mut merged = HashMap::new();
            for partial in job.await? {
                partial.into_iter().for_each(|(k, v)| merge_into(&mut merged, k, v, &f));
            }
            Ok(merged)
        })
    }
}
