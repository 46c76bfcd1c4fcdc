//! Actions: they run a job and return values to the driver.
//!
//! Every action `x` has an async form `x_async` that returns a future, so one
//! driver can run several jobs at once; `x` blocks on it.
//!
//! More actions live beside this file: tree aggregation in `ops::tree`,
//! `max`/`min`/`top_by`/`take_ordered_by` in `ops::ordering`, statistics in
//! `ops::numeric` and histograms in `ops::histogram`.

use crate::error::{EmberError, Result};
use crate::func::{CapturesNothing, Fn1, Fn2, Plain, With};
use crate::nodes::result::{ResultRoot, decode_output};
use crate::ops::block_on;
use crate::ops::transform::State;
use crate::rdd::Rdd;
use crate::task::BoxIter;
use crate::{Data, Key};
use futures::future::BoxFuture;
use std::collections::{BinaryHeap, HashMap};
use std::panic::Location;
use std::sync::Arc;

impl<T: Data> Rdd<T> {
    /// Runs `f(partition, records)` on the given partitions and returns the
    /// results in that order; the building block of every action.
    #[track_caller]
    pub fn run_job_fn<R: Data, F: Fn2<usize, BoxIter<T>, R>>(
        &self,
        f: F,
        partitions: Vec<usize>,
    ) -> BoxFuture<'static, Result<Vec<R>>> {
        self.run_job_at(Location::caller(), f, partitions)
    }

    /// [`Self::run_job_fn`] for a job started at `call_site` (an action that
    /// starts its jobs later, from a future, captures its caller first).
    #[track_caller]
    pub(crate) fn run_job_at<R: Data, F: Fn2<usize, BoxIter<T>, R>>(
        &self,
        call_site: &'static Location<'static>,
        f: F,
        partitions: Vec<usize>,
    ) -> BoxFuture<'static, Result<Vec<R>>> {
        let root = Arc::new(ResultRoot::new(self.node.clone(), f, call_site));
        let job = self.runner.run_job(root, partitions);
        Box::pin(async move { job.await?.into_iter().map(decode_output::<R>).collect() })
    }

    #[track_caller]
    pub(crate) fn on_all<R: Data, F: Fn2<usize, BoxIter<T>, R>>(&self, f: F) -> BoxFuture<'static, Result<Vec<R>>> {
        self.run_job_fn(f, (0..self.num_partitions()).collect())
    }

    #[track_caller]
    pub fn collect_async(&self) -> BoxFuture<'static, Result<Vec<T>>> {
        let job = self.on_all(Plain::new(|_, it: BoxIter<T>| it.collect::<Vec<T>>()));
        Box::pin(async move { Ok(job.await?.into_iter().flatten().collect()) })
    }
    /// Every record, in partition order.
    #[track_caller]
    pub fn collect(&self) -> Result<Vec<T>> {
        block_on(self.collect_async())
    }

    #[track_caller]
    pub fn count_async(&self) -> BoxFuture<'static, Result<u64>> {
        let job = self.on_all(Plain::new(|_, it: BoxIter<T>| it.count() as u64));
        Box::pin(async move { Ok(job.await?.into_iter().sum()) })
    }
    #[track_caller]
    pub fn count(&self) -> Result<u64> {
        block_on(self.count_async())
    }

    /// The first `n` records, in partition order. Like Spark, it first scans
    /// one partition, then as many more as the records found so far suggest.
    #[track_caller]
    pub fn take_async(&self, n: usize) -> BoxFuture<'static, Result<Vec<T>>> {
        let rdd = self.clone();
        let call_site = Location::caller();
        Box::pin(async move {
            let total = rdd.num_partitions();
            let mut out: Vec<T> = Vec::with_capacity(n.min(1 << 16));
            let mut scanned = 0;
            while out.len() < n && scanned < total {
                let want = if scanned == 0 {
                    1
                } else if out.is_empty() {
                    scanned * 4
                } else {
                    // Scale by the records found per partition, with 50% slack.
                    ((n - out.len()) as f64 * 1.5 * scanned as f64 / out.len() as f64).ceil() as usize
                };
                let upto = (scanned + want.clamp(1, scanned.max(1) * 4)).min(total);
                let limit = n - out.len();
                let f = With::new(limit, |&limit: &usize, _, it: BoxIter<T>| it.take(limit).collect::<Vec<T>>());
                for part in rdd.run_job_at(call_site, f, (scanned..upto).collect()).await? {
                    out.extend(part.into_iter().take(n - out.len()));
                }
                scanned = upto;
            }
            Ok(out)
        })
    }
    #[track_caller]
    pub fn take(&self, n: usize) -> Result<Vec<T>> {
        block_on(self.take_async(n))
    }
    #[track_caller]
    pub fn first_async(&self) -> BoxFuture<'static, Result<T>> {
        let job = self.take_async(1);
        Box::pin(async move {
            job.await?.into_iter().next().ok_or_else(|| EmberError::InvalidArgument("first: the RDD is empty".into()))
        })
    }
    /// The first record; an error when the RDD is empty.
    #[track_caller]
    pub fn first(&self) -> Result<T> {
        block_on(self.first_async())
    }
    #[track_caller]
    pub fn is_empty_async(&self) -> BoxFuture<'static, Result<bool>> {
        let job = self.take_async(1);
        Box::pin(async move { Ok(job.await?.is_empty()) })
    }
    #[track_caller]
    pub fn is_empty(&self) -> Result<bool> {
        block_on(self.is_empty_async())
    }

    /// Merges all records with an associative, commutative `f`; `None` when empty.
    #[track_caller]
    pub fn reduce_async(&self, f: impl Fn(T, T) -> T + CapturesNothing) -> BoxFuture<'static, Result<Option<T>>> {
        let job = self
            .on_all(With::new(Plain::new(f), |f: &Plain<_>, _, it: BoxIter<T>| it.reduce(|a, b| Fn2::call(f, a, b))));
        Box::pin(async move { Ok(job.await?.into_iter().flatten().reduce(f)) })
    }
    #[track_caller]
    pub fn reduce(&self, f: impl Fn(T, T) -> T + CapturesNothing) -> Result<Option<T>> {
        block_on(self.reduce_async(f))
    }
    /// Folds each partition from `zero`, then the partial results from `zero`.
    #[track_caller]
    pub fn fold(&self, zero: T, f: impl Fn(T, T) -> T + CapturesNothing) -> Result<T> {
        self.aggregate(zero, f, f)
    }
    #[track_caller]
    pub fn fold_async(&self, zero: T, f: impl Fn(T, T) -> T + CapturesNothing) -> BoxFuture<'static, Result<T>> {
        self.aggregate_async(zero, f, f)
    }
    #[track_caller]
    pub fn aggregate_async<U: Data>(
        &self,
        zero: U,
        seq: impl Fn(U, T) -> U + CapturesNothing,
        comb: impl Fn(U, U) -> U + CapturesNothing,
    ) -> BoxFuture<'static, Result<U>> {
        let job = self
            .on_all(With::new((zero.clone(), Plain::new(seq)), |(z, seq): &(U, Plain<_>), _, it: BoxIter<T>| {
                it.fold(z.clone(), |acc, x| Fn2::call(seq, acc, x))
            }));
        Box::pin(async move { Ok(job.await?.into_iter().fold(zero, comb)) })
    }
    /// Spark's aggregate: `seq` folds records into a `U` started from `zero`
    /// in each partition, `comb` merges the partial results.
    #[track_caller]
    pub fn aggregate<U: Data>(
        &self,
        zero: U,
        seq: impl Fn(U, T) -> U + CapturesNothing,
        comb: impl Fn(U, U) -> U + CapturesNothing,
    ) -> Result<U> {
        block_on(self.aggregate_async(zero, seq, comb))
    }
    /// The `n` smallest records, ascending.
    #[track_caller]
    pub fn take_ordered(&self, n: usize) -> Result<Vec<T>>
    where
        T: Ord,
    {
        block_on(self.take_ordered_async(n))
    }
    #[track_caller]
    pub fn take_ordered_async(&self, n: usize) -> BoxFuture<'static, Result<Vec<T>>>
    where
        T: Ord,
    {
        let job = self.on_all(With::new(n, |&n: &usize, _, it: BoxIter<T>| smallest(it, n)));
        Box::pin(async move {
            let mut all: Vec<T> = job.await?.into_iter().flatten().collect();
            all.sort();
            all.truncate(n);
            Ok(all)
        })
    }
    /// The `n` largest records, descending.
    #[track_caller]
    pub fn top(&self, n: usize) -> Result<Vec<T>>
    where
        T: Ord,
    {
        block_on(self.top_async(n))
    }
    #[track_caller]
    pub fn top_async(&self, n: usize) -> BoxFuture<'static, Result<Vec<T>>>
    where
        T: Ord,
    {
        let job = self.on_all(With::new(n, |&n: &usize, _, it: BoxIter<T>| {
            smallest(it.map(std::cmp::Reverse), n).into_iter().map(|r| r.0).collect::<Vec<T>>()
        }));
        Box::pin(async move {
            let mut all: Vec<T> = job.await?.into_iter().flatten().collect();
            all.sort_by(|a, b| b.cmp(a));
            all.truncate(n);
            Ok(all)
        })
    }

    /// How many times each distinct record occurs.
    #[track_caller]
    pub fn count_by_value(&self) -> Result<HashMap<T, u64>>
    where
        T: Key,
    {
        block_on(self.count_by_value_async())
    }
    #[track_caller]
    pub fn count_by_value_async(&self) -> BoxFuture<'static, Result<HashMap<T, u64>>>
    where
        T: Key,
    {
        self.map(|x| (x, 1u64)).count_by_key_async()
    }

    /// Runs `f` on every record, on the executors.
    #[track_caller]
    pub fn foreach(&self, f: impl Fn(T) + CapturesNothing) -> Result<()> {
        block_on(self.foreach_async(f))
    }
    #[track_caller]
    pub fn foreach_async(&self, f: impl Fn(T) + CapturesNothing) -> BoxFuture<'static, Result<()>> {
        let job =
            self.on_all(With::new(Plain::new(f), |f: &Plain<_>, _, it: BoxIter<T>| it.for_each(|x| Fn1::call(f, x))));
        Box::pin(async move { job.await.map(drop) })
    }
    /// Runs `f(&state, x)` on every record, on the executors.
    #[track_caller]
    pub fn foreach_with<S: State>(&self, state: S, f: impl Fn(&S, T) + CapturesNothing) -> Result<()> {
        block_on(self.foreach_with_async(state, f))
    }
    #[track_caller]
    pub fn foreach_with_async<S: State>(
        &self,
        state: S,
        f: impl Fn(&S, T) + CapturesNothing,
    ) -> BoxFuture<'static, Result<()>> {
        let g = With::new(state, f);
        let job = self.on_all(With::new(g, |g: &With<S, _>, _, it: BoxIter<T>| it.for_each(|x| Fn1::call(g, x))));
        Box::pin(async move { job.await.map(drop) })
    }
    /// Runs `f` on every partition's iterator, on the executors.
    #[track_caller]
    pub fn foreach_partition(&self, f: impl Fn(BoxIter<T>) + CapturesNothing) -> Result<()> {
        block_on(self.foreach_partition_async(f))
    }
    #[track_caller]
    pub fn foreach_partition_async(&self, f: impl Fn(BoxIter<T>) + CapturesNothing) -> BoxFuture<'static, Result<()>> {
        let job = self.on_all(With::new(Plain::new(f), |f: &Plain<_>, _, it: BoxIter<T>| Fn1::call(f, it)));
        Box::pin(async move { job.await.map(drop) })
    }
}

/// The `n` smallest items of an iterator, with a bounded max-heap.
fn smallest<T: Ord>(it: impl Iterator<Item = T>, n: usize) -> Vec<T> {
    if n == 0 {
        return Vec::new();
    }
    let mut heap = BinaryHeap::with_capacity(n + 1);
    for x in it {
        if heap.len() < n {
            heap.push(x);
        } else if heap.peek().is_some_and(|top| x < *top) {
            heap.pop();
            heap.push(x);
        }
    }
    heap.into_vec()
}

impl<K: Key, V: Data> Rdd<(K, V)> {
    /// How many records each key has.
    #[track_caller]
    pub fn count_by_key(&self) -> Result<HashMap<K, u64>> {
        block_on(self.count_by_key_async())
    }
    #[track_caller]
    pub fn count_by_key_async(&self) -> BoxFuture<'static, Result<HashMap<K, u64>>> {
        let job = self.map_values(|_| 1u64).reduce_by_key(|a, b| a + b).collect_async();
        Box::pin(async move { Ok(job.await?.into_iter().collect()) })
    }
    /// Every value of `key`.
    #[track_caller]
    pub fn lookup(&self, key: K) -> Result<Vec<V>> {
        block_on(self.lookup_async(key))
    }
    #[track_caller]
    pub fn lookup_async(&self, key: K) -> BoxFuture<'static, Result<Vec<V>>> {
        self.filter_with(key, |k, (kk, _)| kk == k).values().collect_async()
    }
    /// Every record, as a map from key to value (the last value wins).
    #[track_caller]
    pub fn collect_as_map(&self) -> Result<HashMap<K, V>> {
        block_on(self.collect_as_map_async())
    }
    #[track_caller]
    pub fn collect_as_map_async(&self) -> BoxFuture<'static, Result<HashMap<K, V>>> {
        let job = self.collect_async();
        Box::pin(async move { Ok(job.await?.into_iter().collect()) })
    }
}
