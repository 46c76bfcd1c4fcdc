//! Actions: they run a job and return values to the driver.
//!
//! Every action `x` has an async form `x_async` that returns a future, so one
//! driver can run several jobs at once; `x` blocks on it. The actions of this
//! file return a [`JobFuture`]: it runs in the background, has a status and
//! can be cancelled (see [`crate::job_future`]).
//!
//! More actions live beside this file: tree aggregation in `ops::tree`,
//! `max`/`min`/`top_by`/`take_ordered_by` in `ops::ordering`, statistics in
//! `ops::numeric` and histograms in `ops::histogram`.

use crate::call_site::CallSite;
use crate::call_site::OperationScope;
use crate::error::{EmberError, Result};
use crate::func::{CapturesNothing, Fn1, Fn2, Plain, With};
use crate::job_future::run_blocking;
use crate::job_future::{ActionProgress, JobFuture};
use crate::nodes::result::{ResultRoot, decode_output};
use crate::ops::transform::State;
use crate::rdd::Rdd;
use crate::task::BoxIter;
use crate::{Data, Key};
use futures::future::BoxFuture;
use std::collections::{BinaryHeap, HashMap};
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
        let _op = OperationScope::enter("run_job_fn");
        self.run_job_at(CallSite::caller(), f, partitions)
    }

    /// [`Self::run_job_fn`] for a job started at `call_site` (an action that
    /// starts its jobs later, from a future, captures its caller first).
    #[track_caller]
    pub(crate) fn run_job_at<R: Data, F: Fn2<usize, BoxIter<T>, R>>(
        &self,
        call_site: CallSite,
        f: F,
        partitions: Vec<usize>,
    ) -> BoxFuture<'static, Result<Vec<R>>> {
        let action = self.runner.new_action();
        self.run_job_in(&action, call_site, f, partitions)
    }

    /// A job of `action` (which may run several, as `take` does).
    pub(crate) fn run_job_in<R: Data, F: Fn2<usize, BoxIter<T>, R>>(
        &self,
        action: &Arc<ActionProgress>,
        call_site: CallSite,
        f: F,
        partitions: Vec<usize>,
    ) -> BoxFuture<'static, Result<Vec<R>>> {
        let root = Arc::new(ResultRoot::new(self.node.clone(), f, call_site));
        let job = self.runner.run_job(root, partitions, action);
        Box::pin(async move { job.await?.into_iter().map(decode_output::<R>).collect() })
    }

    #[track_caller]
    pub(crate) fn on_all<R: Data, F: Fn2<usize, BoxIter<T>, R>>(&self, f: F) -> BoxFuture<'static, Result<Vec<R>>> {
        self.run_job_fn(f, (0..self.num_partitions()).collect())
    }

    /// Starts an action in the background: `work` submits its jobs with the
    /// action's progress (the first one before this returns, on the
    /// caller's thread) and returns what computes its result.
    pub(crate) fn start_action<R: Send + 'static>(
        &self,
        work: impl FnOnce(&Arc<ActionProgress>) -> BoxFuture<'static, Result<R>>,
    ) -> JobFuture<R> {
        let action = self.runner.new_action();
        let work = work(&action);
        JobFuture::start(self.runner.clone(), action, work)
    }

    /// An action of one job running `f` on every partition, whose results
    /// `merge` turns into the action's result on the driver.
    #[track_caller]
    pub(crate) fn action_on_all<R: Data, F: Fn2<usize, BoxIter<T>, R>, U: Send + 'static>(
        &self,
        f: F,
        merge: impl FnOnce(Vec<R>) -> Result<U> + Send + 'static,
    ) -> JobFuture<U> {
        let call_site = CallSite::caller();
        self.start_action(|action| {
            let job = self.run_job_in(action, call_site, f, (0..self.num_partitions()).collect());
            Box::pin(async move { merge(job.await?) })
        })
    }

    /// Every record, in partition order, as a [`JobFuture`].
    #[track_caller]
    pub fn collect_async(&self) -> JobFuture<Vec<T>> {
        let _op = OperationScope::enter("collect");
        self.action_on_all(Plain::new(|_, it: BoxIter<T>| it.collect::<Vec<T>>()), |parts| {
            Ok(parts.into_iter().flatten().collect())
        })
    }
    /// Every record, in partition order.
    #[track_caller]
    pub fn collect(&self) -> Result<Vec<T>> {
        let _op = OperationScope::enter("collect");
        run_blocking!(self.collect_async())
    }

    /// The number of records, as a [`JobFuture`].
    #[track_caller]
    pub fn count_async(&self) -> JobFuture<u64> {
        let _op = OperationScope::enter("count");
        self.action_on_all(Plain::new(|_, it: BoxIter<T>| it.count() as u64), |counts| Ok(counts.into_iter().sum()))
    }
    #[track_caller]
    pub fn count(&self) -> Result<u64> {
        let _op = OperationScope::enter("count");
        run_blocking!(self.count_async())
    }

    /// `take`'s jobs, as a job of `action` each.
    fn take_work(
        &self,
        n: usize,
        call_site: CallSite,
        action: &Arc<ActionProgress>,
    ) -> BoxFuture<'static, Result<Vec<T>>> {
        let rdd = self.clone();
        let action = action.clone();
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
                for part in rdd.run_job_in(&action, call_site, f, (scanned..upto).collect()).await? {
                    out.extend(part.into_iter().take(n - out.len()));
                }
                scanned = upto;
            }
            Ok(out)
        })
    }

    /// The first `n` records, in partition order. Like Spark, it first scans
    /// one partition, then as many more as the records found so far suggest
    /// (one job each, all of this one [`JobFuture`]).
    #[track_caller]
    pub fn take_async(&self, n: usize) -> JobFuture<Vec<T>> {
        let _op = OperationScope::enter("take");
        let call_site = CallSite::caller();
        self.start_action(|action| self.take_work(n, call_site, action))
    }
    #[track_caller]
    pub fn take(&self, n: usize) -> Result<Vec<T>> {
        let _op = OperationScope::enter("take");
        run_blocking!(self.take_async(n))
    }
    #[track_caller]
    pub fn first_async(&self) -> JobFuture<T> {
        let _op = OperationScope::enter("first");
        let call_site = CallSite::caller();
        self.start_action(|action| {
            let job = self.take_work(1, call_site, action);
            Box::pin(async move {
                job.await?
                    .into_iter()
                    .next()
                    .ok_or_else(|| EmberError::InvalidArgument("first: the RDD is empty".into()))
            })
        })
    }
    /// The first record; an error when the RDD is empty.
    #[track_caller]
    pub fn first(&self) -> Result<T> {
        let _op = OperationScope::enter("first");
        run_blocking!(self.first_async())
    }
    #[track_caller]
    pub fn is_empty_async(&self) -> JobFuture<bool> {
        let _op = OperationScope::enter("is_empty");
        let call_site = CallSite::caller();
        self.start_action(|action| {
            let job = self.take_work(1, call_site, action);
            Box::pin(async move { Ok(job.await?.is_empty()) })
        })
    }
    #[track_caller]
    pub fn is_empty(&self) -> Result<bool> {
        let _op = OperationScope::enter("is_empty");
        run_blocking!(self.is_empty_async())
    }

    /// Merges all records with an associative, commutative `f`; `None` when empty.
    #[track_caller]
    pub fn reduce_async(&self, f: impl Fn(T, T) -> T + CapturesNothing) -> JobFuture<Option<T>> {
        let _op = OperationScope::enter("reduce");
        self.action_on_all(
            With::new(Plain::new(f), |f: &Plain<_>, _, it: BoxIter<T>| it.reduce(|a, b| Fn2::call(f, a, b))),
            move |parts| Ok(parts.into_iter().flatten().reduce(f)),
        )
    }
    #[track_caller]
    pub fn reduce(&self, f: impl Fn(T, T) -> T + CapturesNothing) -> Result<Option<T>> {
        let _op = OperationScope::enter("reduce");
        run_blocking!(self.reduce_async(f))
    }
    /// Folds each partition from `zero`, then the partial results from `zero`.
    #[track_caller]
    pub fn fold(&self, zero: T, f: impl Fn(T, T) -> T + CapturesNothing) -> Result<T> {
        let _op = OperationScope::enter("fold");
        self.aggregate(zero, f, f)
    }
    #[track_caller]
    pub fn fold_async(&self, zero: T, f: impl Fn(T, T) -> T + CapturesNothing) -> JobFuture<T> {
        let _op = OperationScope::enter("fold");
        self.aggregate_async(zero, f, f)
    }
    #[track_caller]
    pub fn aggregate_async<U: Data>(
        &self,
        zero: U,
        seq: impl Fn(U, T) -> U + CapturesNothing,
        comb: impl Fn(U, U) -> U + CapturesNothing,
    ) -> JobFuture<U> {
        let _op = OperationScope::enter("aggregate");
        let f = With::new((zero.clone(), Plain::new(seq)), |(z, seq): &(U, Plain<_>), _, it: BoxIter<T>| {
            it.fold(z.clone(), |acc, x| Fn2::call(seq, acc, x))
        });
        self.action_on_all(f, move |parts| Ok(parts.into_iter().fold(zero, comb)))
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
        let _op = OperationScope::enter("aggregate");
        run_blocking!(self.aggregate_async(zero, seq, comb))
    }
    /// The `n` smallest records, ascending.
    #[track_caller]
    pub fn take_ordered(&self, n: usize) -> Result<Vec<T>>
    where
        T: Ord,
    {
        let _op = OperationScope::enter("take_ordered");
        run_blocking!(self.take_ordered_async(n))
    }
    #[track_caller]
    pub fn take_ordered_async(&self, n: usize) -> JobFuture<Vec<T>>
    where
        T: Ord,
    {
        let _op = OperationScope::enter("take_ordered");
        self.action_on_all(With::new(n, |&n: &usize, _, it: BoxIter<T>| smallest(it, n)), move |parts| {
            let mut all: Vec<T> = parts.into_iter().flatten().collect();
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
        let _op = OperationScope::enter("top");
        run_blocking!(self.top_async(n))
    }
    #[track_caller]
    pub fn top_async(&self, n: usize) -> JobFuture<Vec<T>>
    where
        T: Ord,
    {
        let _op = OperationScope::enter("top");
        let f = With::new(n, |&n: &usize, _, it: BoxIter<T>| {
            smallest(it.map(std::cmp::Reverse), n).into_iter().map(|r| r.0).collect::<Vec<T>>()
        });
        self.action_on_all(f, move |parts| {
            let mut all: Vec<T> = parts.into_iter().flatten().collect();
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
        let _op = OperationScope::enter("count_by_value");
        run_blocking!(self.count_by_value_async())
    }
    #[track_caller]
    pub fn count_by_value_async(&self) -> BoxFuture<'static, Result<HashMap<T, u64>>>
    where
        T: Key,
    {
        let _op = OperationScope::enter("count_by_value");
        self.map(|x| (x, 1u64)).count_by_key_async()
    }

    /// Runs `f` on every record, on the executors.
    #[track_caller]
    pub fn foreach(&self, f: impl Fn(T) + CapturesNothing) -> Result<()> {
        let _op = OperationScope::enter("foreach");
        run_blocking!(self.foreach_async(f))
    }
    #[track_caller]
    pub fn foreach_async(&self, f: impl Fn(T) + CapturesNothing) -> JobFuture<()> {
        let _op = OperationScope::enter("foreach");
        self.action_on_all(
            With::new(Plain::new(f), |f: &Plain<_>, _, it: BoxIter<T>| it.for_each(|x| Fn1::call(f, x))),
            |_| Ok(()),
        )
    }
    /// Runs `f(&state, x)` on every record, on the executors.
    #[track_caller]
    pub fn foreach_with<S: State>(&self, state: S, f: impl Fn(&S, T) + CapturesNothing) -> Result<()> {
        let _op = OperationScope::enter("foreach_with");
        run_blocking!(self.foreach_with_async(state, f))
    }
    #[track_caller]
    pub fn foreach_with_async<S: State>(&self, state: S, f: impl Fn(&S, T) + CapturesNothing) -> JobFuture<()> {
        let _op = OperationScope::enter("foreach_with");
        let g = With::new(state, f);
        self.action_on_all(With::new(g, |g: &With<S, _>, _, it: BoxIter<T>| it.for_each(|x| Fn1::call(g, x))), |_| {
            Ok(())
        })
    }
    /// Runs `f` on every partition's iterator, on the executors.
    #[track_caller]
    pub fn foreach_partition(&self, f: impl Fn(BoxIter<T>) + CapturesNothing) -> Result<()> {
        let _op = OperationScope::enter("foreach_partition");
        run_blocking!(self.foreach_partition_async(f))
    }
    #[track_caller]
    pub fn foreach_partition_async(&self, f: impl Fn(BoxIter<T>) + CapturesNothing) -> JobFuture<()> {
        let _op = OperationScope::enter("foreach_partition");
        self.action_on_all(With::new(Plain::new(f), |f: &Plain<_>, _, it: BoxIter<T>| Fn1::call(f, it)), |_| Ok(()))
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
        let _op = OperationScope::enter("count_by_key");
        run_blocking!(self.count_by_key_async())
    }
    #[track_caller]
    pub fn count_by_key_async(&self) -> BoxFuture<'static, Result<HashMap<K, u64>>> {
        let _op = OperationScope::enter("count_by_key");
        let job = self.map_values(|_| 1u64).reduce_by_key(|a, b| a + b).collect_async();
        Box::pin(async move { Ok(job.await?.into_iter().collect()) })
    }
    /// Every value of `key`.
    #[track_caller]
    pub fn lookup(&self, key: K) -> Result<Vec<V>> {
        let _op = OperationScope::enter("lookup");
        run_blocking!(self.lookup_async(key))
    }
    #[track_caller]
    pub fn lookup_async(&self, key: K) -> JobFuture<Vec<V>> {
        let _op = OperationScope::enter("lookup");
        self.filter_with(key, |k, (kk, _)| kk == k).values().collect_async()
    }
    /// Every record, as a map from key to value (the last value wins).
    #[track_caller]
    pub fn collect_as_map(&self) -> Result<HashMap<K, V>> {
        let _op = OperationScope::enter("collect_as_map");
        run_blocking!(self.collect_as_map_async())
    }
    #[track_caller]
    pub fn collect_as_map_async(&self) -> BoxFuture<'static, Result<HashMap<K, V>>> {
        let _op = OperationScope::enter("collect_as_map");
        let job = self.collect_async();
        Box::pin(async move { Ok(job.await?.into_iter().collect()) })
    }
}
