//! `rdd.with(state)`: state for the functions of any operation.
//!
//! A closure given to an operation must capture nothing (ADR 0001): its
//! captures could not be serialized to reach executors. Data from the driver
//! travels instead as explicit *state*, any `Serialize + DeserializeOwned +
//! Clone` value, which every function of the next operation receives by
//! reference as its first argument:
//!
//! ```ignore
//! let stop_words: HashSet<String> = ...;
//! let kept = words.with(stop_words).filter(|stop, w| !stop.contains(w));
//! let scaled = pairs.with(factor).reduce_by_key(|f, a, b| (a + b) * f);
//! let total = numbers.with(weights).aggregate(0.0, |w, acc, x| acc + w[x], |_, a, b| a + b)?;
//! ```
//!
//! [`WithState`] has every function-taking operation of [`Rdd`], so no
//! operation lacks a way to receive state, and a function chosen at run time
//! is one closure over that choice (`rdd.with(op).map(|op, x| op.apply(x))`)
//! rather than one closure per choice. The state travels with the stage plan,
//! once per stage and executor; large read-only data belongs in a broadcast
//! variable, itself passed as state. The older `map_with(state, f)`-style
//! methods are shorthands for `with(state).map(f)`.
//!
//! The ordering actions and tree aggregation with state are in
//! `ops::with_state_more`; zips, the `_into(partitions)` variants and the
//! other pair operations with state in `ops::with_state_pair`.

use crate::call_site::OperationScope;
use crate::error::Result;
use crate::func::{CapturesNothing, With};
use crate::job_future::run_blocking;
use crate::nodes::map_partitions::{FlatMapValuesFn, KeyByFn};
use crate::ops::transform::State;
use crate::partitioner::{FnPartitioner, PartitionNumber};
use crate::rdd::Rdd;
use crate::task::BoxIter;
use crate::{Data, Key};
use futures::future::BoxFuture;
use std::marker::PhantomData;

/// An RDD and the state its next operation's functions receive (see the
/// module docs); made by [`Rdd::with`].
pub struct WithState<T: 'static, S> {
    pub(crate) rdd: Rdd<T>,
    pub(crate) state: S,
}

impl<T: Data> Rdd<T> {
    /// This RDD with `state` for the functions of the next operation, which
    /// take it by reference as their first argument:
    /// `rdd.with(stop_words).filter(|stop, w| !stop.contains(w))`.
    pub fn with<S: State>(&self, state: S) -> WithState<T, S> {
        WithState { rdd: self.clone(), state }
    }
}

impl<T: Data, S: State> WithState<T, S> {
    /// `f(&state, x)` for every record.
    #[track_caller]
    pub fn map<U: Data>(self, f: impl Fn(&S, T) -> U + CapturesNothing) -> Rdd<U> {
        let _op = OperationScope::enter("map");
        self.rdd.map_with(self.state, f)
    }
    /// The records for which `f(&state, &x)` is true.
    #[track_caller]
    pub fn filter(self, f: impl Fn(&S, &T) -> bool + CapturesNothing) -> Rdd<T> {
        let _op = OperationScope::enter("filter");
        self.rdd.filter_with(self.state, f)
    }
    /// Every record of `f(&state, x)` for every record `x`.
    #[track_caller]
    pub fn flat_map<U: Data, I>(self, f: impl Fn(&S, T) -> I + CapturesNothing) -> Rdd<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: Send + 'static,
    {
        let _op = OperationScope::enter("flat_map");
        self.rdd.flat_map_with(self.state, f)
    }
    /// `f(&state, iterator)` over each partition.
    #[track_caller]
    pub fn map_partitions<U: Data, I>(self, f: impl Fn(&S, BoxIter<T>) -> I + CapturesNothing) -> Rdd<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: Send + 'static,
    {
        let _op = OperationScope::enter("map_partitions");
        self.rdd.map_partitions_with(self.state, move |s, _, it| f(s, it))
    }
    /// `f(&state, partition_index, iterator)` over each partition.
    #[track_caller]
    pub fn map_partitions_with_index<U: Data, I>(
        self,
        f: impl Fn(&S, usize, BoxIter<T>) -> I + CapturesNothing,
    ) -> Rdd<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: Send + 'static,
    {
        let _op = OperationScope::enter("map_partitions_with_index");
        self.rdd.map_partitions_with(self.state, f)
    }
    /// `(f(&state, &x), x)` for every record.
    #[track_caller]
    pub fn key_by<K: Data>(self, f: impl Fn(&S, &T) -> K + CapturesNothing) -> Rdd<(K, T)> {
        let _op = OperationScope::enter("key_by");
        self.rdd.map_partitions_fn(KeyByFn(With::new(self.state, f)))
    }
    /// The records grouped by `f(&state, &x)`.
    #[track_caller]
    pub fn group_by<K: Key>(self, f: impl Fn(&S, &T) -> K + CapturesNothing) -> Rdd<(K, Vec<T>)> {
        let _op = OperationScope::enter("group_by");
        self.key_by(f).group_by_key()
    }
    /// The records sorted by `f(&state, &x)`, in `partitions` range partitions.
    #[track_caller]
    pub fn sort_by<K: Key + Ord>(
        self,
        f: impl Fn(&S, &T) -> K + CapturesNothing,
        ascending: bool,
        partitions: usize,
    ) -> Result<Rdd<T>> {
        let _op = OperationScope::enter("sort_by");
        Ok(self.key_by(f).sort_by_key(ascending, partitions)?.values())
    }

    /// Runs `f(&state, partition_index, records)` on every partition.
    #[track_caller]
    fn on_all<R: Data>(
        &self,
        f: impl Fn(&S, usize, BoxIter<T>) -> R + CapturesNothing,
    ) -> BoxFuture<'static, Result<Vec<R>>> {
        let partitions = (0..self.rdd.num_partitions()).collect();
        self.rdd.run_job_fn(With::new(self.state.clone(), f), partitions)
    }

    /// `f(&state, x)` for every record, on the executors.
    #[track_caller]
    pub fn foreach(self, f: impl Fn(&S, T) + CapturesNothing) -> Result<()> {
        let _op = OperationScope::enter("foreach");
        run_blocking!(self.foreach_async(f))
    }
    #[track_caller]
    pub fn foreach_async(self, f: impl Fn(&S, T) + CapturesNothing) -> crate::JobFuture<()> {
        let _op = OperationScope::enter("foreach");
        self.rdd.foreach_with_async(self.state, f)
    }
    /// `f(&state, records)` for every partition, on the executors.
    #[track_caller]
    pub fn foreach_partition(self, f: impl Fn(&S, BoxIter<T>) + CapturesNothing) -> Result<()> {
        let _op = OperationScope::enter("foreach_partition");
        run_blocking!(self.foreach_partition_async(f))
    }
    #[track_caller]
    pub fn foreach_partition_async(
        self,
        f: impl Fn(&S, BoxIter<T>) + CapturesNothing,
    ) -> BoxFuture<'static, Result<()>> {
        let _op = OperationScope::enter("foreach_partition");
        let job = self.on_all(move |s, _, it| f(s, it));
        Box::pin(async move { job.await.map(drop) })
    }

    /// Merges all records with `f(&state, a, b)` (associative and
    /// commutative); `None` when the RDD is empty.
    #[track_caller]
    pub fn reduce(self, f: impl Fn(&S, T, T) -> T + CapturesNothing) -> Result<Option<T>> {
        let _op = OperationScope::enter("reduce");
        run_blocking!(self.reduce_async(f))
    }
    #[track_caller]
    pub fn reduce_async(self, f: impl Fn(&S, T, T) -> T + CapturesNothing) -> BoxFuture<'static, Result<Option<T>>> {
        let _op = OperationScope::enter("reduce");
        let job = self.on_all(move |s, _, it| it.reduce(|a, b| f(s, a, b)));
        let state = self.state;
        Box::pin(async move { Ok(job.await?.into_iter().flatten().reduce(|a, b| f(&state, a, b))) })
    }
    /// Folds each partition from `zero` with `f(&state, acc, x)`, then the
    /// partial results from `zero` (Spark's fold).
    #[track_caller]
    pub fn fold(self, zero: T, f: impl Fn(&S, T, T) -> T + CapturesNothing) -> Result<T> {
        let _op = OperationScope::enter("fold");
        run_blocking!(self.aggregate_async(zero, f, f))
    }
    #[track_caller]
    pub fn fold_async(self, zero: T, f: impl Fn(&S, T, T) -> T + CapturesNothing) -> BoxFuture<'static, Result<T>> {
        let _op = OperationScope::enter("fold");
        self.aggregate_async(zero, f, f)
    }
    /// Spark's aggregate: `seq(&state, acc, x)` folds each partition's
    /// records into a `U` started from `zero`, `comb(&state, a, b)` merges
    /// the partial results (from `zero` too).
    #[track_caller]
    pub fn aggregate<U: Data>(
        self,
        zero: U,
        seq: impl Fn(&S, U, T) -> U + CapturesNothing,
        comb: impl Fn(&S, U, U) -> U + CapturesNothing,
    ) -> Result<U> {
        let _op = OperationScope::enter("aggregate");
        run_blocking!(self.aggregate_async(zero, seq, comb))
    }
    #[track_caller]
    pub fn aggregate_async<U: Data>(
        self,
        zero: U,
        seq: impl Fn(&S, U, T) -> U + CapturesNothing,
        comb: impl Fn(&S, U, U) -> U + CapturesNothing,
    ) -> BoxFuture<'static, Result<U>> {
        let _op = OperationScope::enter("aggregate");
        let partitions = (0..self.rdd.num_partitions()).collect();
        let fold_partition =
            move |(s, z): &(S, U), _: usize, it: BoxIter<T>| it.fold(z.clone(), |acc, x| seq(s, acc, x));
        let job = self.rdd.run_job_fn(With::new((self.state.clone(), zero.clone()), fold_partition), partitions);
        let state = self.state;
        Box::pin(async move { Ok(job.await?.into_iter().fold(zero, |a, b| comb(&state, a, b))) })
    }
}

impl<K: Key, V: Data, S: State> WithState<(K, V), S> {
    /// `(k, f(&state, v))` for every record.
    #[track_caller]
    pub fn map_values<W: Data>(self, f: impl Fn(&S, V) -> W + CapturesNothing) -> Rdd<(K, W)> {
        let _op = OperationScope::enter("map_values");
        self.rdd.map_values_fn(With::new(self.state, f))
    }
    /// `(k, w)` for every `w` of `f(&state, v)`.
    #[track_caller]
    pub fn flat_map_values<W: Data, I>(self, f: impl Fn(&S, V) -> I + CapturesNothing) -> Rdd<(K, W)>
    where
        I: IntoIterator<Item = W> + 'static,
        I::IntoIter: Send + 'static,
    {
        let _op = OperationScope::enter("flat_map_values");
        self.rdd.map_partitions_fn(FlatMapValuesFn(With::new(self.state, f), PhantomData))
    }
    /// The records placed in `partitions` partitions by `f(&state, &key)`
    /// (any integer, taken modulo `partitions` the Euclidean way).
    #[track_caller]
    pub fn partition_by_fn<I: PartitionNumber>(
        self,
        partitions: usize,
        f: impl Fn(&S, &K) -> I + CapturesNothing,
    ) -> Rdd<(K, V)> {
        let _op = OperationScope::enter("partition_by_fn");
        self.rdd.partition_by(FnPartitioner::new(partitions, With::new(self.state, f)))
    }
    /// Spark's combineByKey with state for its three functions.
    #[track_caller]
    pub fn combine_by_key<C: Data>(
        self,
        create: impl Fn(&S, V) -> C + CapturesNothing,
        merge_value: impl Fn(&S, C, V) -> C + CapturesNothing,
        merge_combiners: impl Fn(&S, C, C) -> C + CapturesNothing,
        partitions: usize,
    ) -> Rdd<(K, C)> {
        let _op = OperationScope::enter("combine_by_key");
        let s = self.state;
        let agg = crate::aggregate::CombineAgg {
            create: With::new(s.clone(), create),
            merge_value: With::new(s.clone(), merge_value),
            merge_combiners: With::new(s, merge_combiners),
        };
        self.rdd.combine_by_key_with(agg, partitions, true)
    }
    /// Merges the values of each key with `f(&state, a, b)`; as many
    /// partitions as the RDD.
    #[track_caller]
    pub fn reduce_by_key(self, f: impl Fn(&S, V, V) -> V + CapturesNothing) -> Rdd<(K, V)> {
        let _op = OperationScope::enter("reduce_by_key");
        let partitions = self.rdd.num_partitions();
        self.reduce_by_key_into(f, partitions)
    }
    #[track_caller]
    pub fn reduce_by_key_into(self, f: impl Fn(&S, V, V) -> V + CapturesNothing, partitions: usize) -> Rdd<(K, V)> {
        let _op = OperationScope::enter("reduce_by_key_into");
        self.rdd.combine_by_key_with(crate::aggregate::ReduceAgg(With::new(self.state, f)), partitions, true)
    }
    /// `reduce_by_key` starting each key (in each partition) from `zero`.
    #[track_caller]
    pub fn fold_by_key(self, zero: V, f: impl Fn(&S, V, V) -> V + CapturesNothing) -> Rdd<(K, V)> {
        let _op = OperationScope::enter("fold_by_key");
        self.aggregate_by_key(zero, f, f)
    }
    /// Spark's aggregateByKey with state for `seq` and `comb`.
    #[track_caller]
    pub fn aggregate_by_key<C: Data>(
        self,
        zero: C,
        seq: impl Fn(&S, C, V) -> C + CapturesNothing,
        comb: impl Fn(&S, C, C) -> C + CapturesNothing,
    ) -> Rdd<(K, C)> {
        let _op = OperationScope::enter("aggregate_by_key");
        let partitions = self.rdd.num_partitions();
        let s = self.state;
        let agg = crate::aggregate::ZeroAgg { zero, seq: With::new(s.clone(), seq), comb: With::new(s, comb) };
        self.rdd.combine_by_key_with(agg, partitions, true)
    }
}
