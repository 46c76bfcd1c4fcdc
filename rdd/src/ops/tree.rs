//! `tree_aggregate` and `tree_reduce`: aggregation whose partial results are
//! merged in levels on the executors, so the driver receives few of them
//! however many partitions there are (Spark's `RDD.treeAggregate`).
//!
//! The algorithm, and so what a non-neutral zero value gives, is Spark's:
//!
//! 1. `depth < 1` is refused ([`EmberError::TreeDepth`]; Spark's
//!    `require(depth >= 1)`); an RDD with no partitions gives `zero`.
//! 2. Each partition is folded from `zero` with `seq`: one partial each.
//! 3. With `n` partials and `scale = max(ceil(n^(1/depth)), 2)`, while
//!    `n > scale + ceil(n / scale)` (a level still saves more than it costs):
//!    `n /= scale` (rounding down), partial `i` is keyed `i % n` and the
//!    partials are folded by key from `zero` with `comb` into `n` partitions,
//!    key `k` in partition `k` (Spark's `foldByKey(zero, HashPartitioner(n))`,
//!    whose map side starts each key of each partition from `zero`: as every
//!    partition then holds one partial, `zero` is applied once per partial
//!    per level).
//! 4. The last partials are folded as [`Rdd::fold`] does: each partition from
//!    `zero`, then the partition results from `zero` in the driver.
//!
//! So with a non-neutral zero, `tree_aggregate(1, |a, _| a, +)` over `P`
//! partitions counts `P` (the partition folds) + the partials entering each
//! level + the final partitions + 1 (the driver): `2P + 1` without a level,
//! where `aggregate` gives `P + 1`. This is what Spark computes; with a
//! neutral zero, as Spark asks for, all of them agree.

use crate::Data;
use crate::aggregate::{MapCombine, MergeCombiners, ZeroAgg};
use crate::call_site::OperationScope;
use crate::error::{EmberError, Result};
use crate::func::{CapturesNothing, Fn2, Plain, With};
use crate::job_future::run_blocking;
use crate::partitioner::FnPartitioner;
use crate::rdd::Rdd;
use crate::task::BoxIter;
use futures::future::BoxFuture;

/// How many partials a level merges into one, for `partitions` partials and
/// a tree of `depth` levels (Spark's `scale`).
pub fn tree_scale(partitions: usize, depth: usize) -> usize {
    ((partitions as f64).powf(1.0 / depth as f64).ceil() as usize).max(2)
}

/// Whether merging `partitions` partials by `scale` still saves more than
/// the level costs (Spark's loop condition).
pub fn another_level(partitions: usize, scale: usize) -> bool {
    partitions > scale + partitions.div_ceil(scale)
}

impl<T: Data> Rdd<T> {
    /// Like `aggregate`, but partial results are merged in a tree of about
    /// `depth` levels (at least 1; Spark's default is 2) on the executors
    /// before reaching the driver. Spark's algorithm, so a non-neutral `zero`
    /// is applied as Spark applies it (see the module docs).
    #[track_caller]
    pub fn tree_aggregate<U: Data>(
        &self,
        zero: U,
        seq: impl Fn(U, T) -> U + CapturesNothing,
        comb: impl Fn(U, U) -> U + CapturesNothing,
        depth: usize,
    ) -> Result<U> {
        let _op = OperationScope::enter("tree_aggregate");
        run_blocking!(self.tree_aggregate_async(zero, seq, comb, depth))
    }
    #[track_caller]
    pub fn tree_aggregate_async<U: Data>(
        &self,
        zero: U,
        seq: impl Fn(U, T) -> U + CapturesNothing,
        comb: impl Fn(U, U) -> U + CapturesNothing,
        depth: usize,
    ) -> BoxFuture<'static, Result<U>> {
        let _op = OperationScope::enter("tree_aggregate");
        self.tree_aggregate_fns("tree_aggregate", zero, Plain::new(seq), Plain::new(comb), depth)
    }
    /// `reduce` with a tree of partial merges (see `tree_aggregate`); `None`
    /// when the RDD is empty; `depth` at least 1.
    #[track_caller]
    pub fn tree_reduce(&self, f: impl Fn(T, T) -> T + CapturesNothing, depth: usize) -> Result<Option<T>> {
        let _op = OperationScope::enter("tree_reduce");
        run_blocking!(self.tree_reduce_async(f, depth))
    }
    #[track_caller]
    pub fn tree_reduce_async(
        &self,
        f: impl Fn(T, T) -> T + CapturesNothing,
        depth: usize,
    ) -> BoxFuture<'static, Result<Option<T>>> {
        let _op = OperationScope::enter("tree_reduce");
        self.tree_reduce_fn(Plain::new(f), depth)
    }

    /// `tree_reduce` for any shippable function (plain or with state).
    #[track_caller]
    pub(crate) fn tree_reduce_fn<F: Fn2<T, T, T>>(&self, f: F, depth: usize) -> BoxFuture<'static, Result<Option<T>>> {
        let partials: Rdd<Option<T>> = self
            .map_partitions_with(f.clone(), |f: &F, _, it: BoxIter<T>| std::iter::once(it.reduce(|a, b| f.call(a, b))));
        let merge = With::new(f, |f: &F, a: Option<T>, b: Option<T>| match (a, b) {
            (Some(a), Some(b)) => Some(f.call(a, b)),
            (a, None) => a,
            (None, b) => b,
        });
        partials.tree_aggregate_fns("tree_reduce", None, merge.clone(), merge, depth)
    }

    /// `tree_aggregate` for any shippable functions (plain or with state).
    #[track_caller]
    pub(crate) fn tree_aggregate_fns<U: Data, Seq: Fn2<U, T, U>, Comb: Fn2<U, U, U>>(
        &self,
        operation: &'static str,
        zero: U,
        seq: Seq,
        comb: Comb,
        depth: usize,
    ) -> BoxFuture<'static, Result<U>> {
        if depth < 1 {
            return Box::pin(async move { Err(EmberError::TreeDepth { operation, depth }) });
        }
        if self.num_partitions() == 0 {
            return Box::pin(async move { Ok(zero) });
        }
        let mut partials: Rdd<U> = self
            .map_partitions_with((zero.clone(), seq), |(z, seq): &(U, Seq), _, it: BoxIter<T>| {
                std::iter::once(it.fold(z.clone(), |acc, x| seq.call(acc, x)))
            });
        let mut n = partials.num_partitions();
        let scale = tree_scale(n, depth);
        while another_level(n, scale) {
            n /= scale;
            let keyed: Rdd<(u64, U)> = partials
                .map_partitions_with(n as u64, |&n: &u64, i, it: BoxIter<U>| it.map(move |u| (i as u64 % n, u)));
            // foldByKey(zero, comb): each key of each map partition starts from zero.
            let agg = ZeroAgg { zero: zero.clone(), seq: comb.clone(), comb: comb.clone() };
            // Key k goes to partition k, as Spark's HashPartitioner places an Int.
            let by_key = FnPartitioner::new(n, Plain::new(|k: &u64| *k));
            partials = keyed.shuffle(by_key, MapCombine::new(agg.clone()), MergeCombiners::<_, U>::new(agg)).values();
        }
        partials.fold_fn(zero, comb)
    }

    /// Spark's fold for any shippable function: each partition folded from
    /// `zero`, then the partition results from `zero` in the driver.
    #[track_caller]
    pub(crate) fn fold_fn<F: Fn2<T, T, T>>(&self, zero: T, f: F) -> BoxFuture<'static, Result<T>> {
        let fold_partition = |(z, f): &(T, F), _: usize, it: BoxIter<T>| it.fold(z.clone(), |a, x| f.call(a, x));
        let job =
            self.run_job_fn(With::new((zero.clone(), f.clone()), fold_partition), (0..self.num_partitions()).collect());
        Box::pin(async move { Ok(job.await?.into_iter().fold(zero, |a, b| f.call(a, b))) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_sparks_rule() {
        // 100 partitions, depth 2: scale 10, one level to 10 partials.
        assert_eq!(tree_scale(100, 2), 10);
        assert!(another_level(100, 10));
        assert!(!another_level(10, 10));
        // Depth 1 never adds a level.
        assert!(!another_level(50, tree_scale(50, 1)));
        // Few partitions: no level (3 > 2 + 2 is false).
        assert!(!another_level(3, tree_scale(3, 5)));
        assert_eq!(tree_scale(1, 3), 2);
    }
}
