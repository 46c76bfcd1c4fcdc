//! Actions that pick records by order: `max`, `min`, `max_by`, `min_by`,
//! `top_by`, `take_ordered_by` (Spark's `max`, `min`, `top` and `takeOrdered`
//! with an `Ordering`), and [`OrderedF64`], a total order for `f64` keys.
//!
//! Each partition picks its candidates on the executors; the driver merges the
//! candidates of every partition. Records that tie on the key are taken in
//! RDD order (partition by partition, then position in the partition):
//!
//! - `max`/`min`/`max_by`/`min_by` return the *first* of the tied records, as
//!   Scala's `Ordering.max(x, y)` returns `x` when they compare equal (Spark's
//!   `reduce(ord.max)`; Spark merges partitions in task completion order, so
//!   which tied record it returns can vary from run to run, Ember's cannot);
//! - `top_by(n)` / `take_ordered_by(n)` list tied records in RDD order and,
//!   when a tie straddles the n-th place, keep the earliest ones. Spark leaves
//!   both unspecified (its bounded priority queues merge in completion order).
//!
//! Empty RDDs give `None` / `[]` (Spark's `max` and `min` throw "empty
//! collection" instead).
//!
//! `f64` is not `Ord` (NaN is unordered); key by [`OrderedF64`] to order by
//! [`f64::total_cmp`]: `rdd.max_by(|&x| OrderedF64(x))`.

use crate::Data;
use crate::call_site::OperationScope;
use crate::error::Result;
use crate::func::{CapturesNothing, Fn1, Plain, With};
use crate::job_future::run_blocking;
use crate::rdd::Rdd;
use crate::task::BoxIter;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// An `f64` ordered by [`f64::total_cmp`], so it can be a key of `max_by`,
/// `top_by`, `sort_by` and the like: `-NaN < -inf < ... < -0.0 < 0.0 < ... <
/// inf < NaN` (a NaN with its sign bit clear, the usual one, is the largest).
/// Equality and hashing are by bits, consistent with that order, so `0.0` and
/// `-0.0` are distinct keys and every NaN equals itself.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct OrderedF64(pub f64);

impl PartialEq for OrderedF64 {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for OrderedF64 {}
impl PartialOrd for OrderedF64 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OrderedF64 {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}
impl std::hash::Hash for OrderedF64 {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}
impl From<f64> for OrderedF64 {
    fn from(x: f64) -> Self {
        OrderedF64(x)
    }
}

/// Which end of the order an action wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum End {
    Smallest,
    Largest,
}

impl End {
    /// `a` against `b` where `Less` means "`a` is wanted first".
    fn rank<K: Ord>(self, a: &K, b: &K) -> Ordering {
        match self {
            End::Smallest => a.cmp(b),
            End::Largest => b.cmp(a),
        }
    }
}

/// The first record whose key is at `end` of the order (the first of ties).
pub fn first_extreme<T, K: Ord>(records: impl Iterator<Item = T>, key: impl Fn(&T) -> K, end: End) -> Option<T> {
    let mut best: Option<(K, T)> = None;
    for x in records {
        let k = key(&x);
        if best.as_ref().is_none_or(|(bk, _)| end.rank(&k, bk) == Ordering::Less) {
            best = Some((k, x));
        }
    }
    best.map(|(_, x)| x)
}

/// A kept record: its key, its position among the records seen, itself.
struct Ranked<K, T> {
    key: K,
    pos: usize,
    record: T,
    end: End,
}

impl<K: Ord, T> Ranked<K, T> {
    /// `Less`: wanted first (a better key, or the same key seen earlier).
    fn rank(&self, other: &Self) -> Ordering {
        self.end.rank(&self.key, &other.key).then(self.pos.cmp(&other.pos))
    }
}
impl<K: Ord, T> PartialEq for Ranked<K, T> {
    fn eq(&self, other: &Self) -> bool {
        self.rank(other) == Ordering::Equal
    }
}
impl<K: Ord, T> Eq for Ranked<K, T> {}
impl<K: Ord, T> PartialOrd for Ranked<K, T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<K: Ord, T> Ord for Ranked<K, T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank(other)
    }
}

/// The `n` records wanted first by key at `end`, ties by position, in that
/// order; a bounded heap whose top is the least wanted record kept.
pub fn first_n_by<T, K: Ord>(records: impl Iterator<Item = T>, n: usize, key: impl Fn(&T) -> K, end: End) -> Vec<T> {
    if n == 0 {
        return Vec::new();
    }
    let mut heap: BinaryHeap<Ranked<K, T>> = BinaryHeap::new();
    for (pos, record) in records.enumerate() {
        let r = Ranked { key: key(&record), pos, record, end };
        if heap.len() < n {
            heap.push(r);
        } else if heap.peek().is_some_and(|worst| r < *worst) {
            heap.pop();
            heap.push(r);
        }
    }
    heap.into_sorted_vec().into_iter().map(|r| r.record).collect()
}

impl<T: Data> Rdd<T> {
    /// The largest record; the first of equal ones; `None` when empty.
    #[track_caller]
    pub fn max(&self) -> Result<Option<T>>
    where
        T: Ord,
    {
        let _op = OperationScope::enter("max");
        run_blocking!(self.max_async())
    }
    #[track_caller]
    pub fn max_async(&self) -> BoxFuture<'static, Result<Option<T>>>
    where
        T: Ord,
    {
        let _op = OperationScope::enter("max");
        self.extreme_by_fn(Plain::new(|x: &T| x.clone()), End::Largest)
    }
    /// The smallest record; the first of equal ones; `None` when empty.
    #[track_caller]
    pub fn min(&self) -> Result<Option<T>>
    where
        T: Ord,
    {
        let _op = OperationScope::enter("min");
        run_blocking!(self.min_async())
    }
    #[track_caller]
    pub fn min_async(&self) -> BoxFuture<'static, Result<Option<T>>>
    where
        T: Ord,
    {
        let _op = OperationScope::enter("min");
        self.extreme_by_fn(Plain::new(|x: &T| x.clone()), End::Smallest)
    }
    /// The record with the largest `key(&x)`; the first of those that tie;
    /// `None` when empty. For `f64` keys use [`OrderedF64`].
    #[track_caller]
    pub fn max_by<K: Ord>(&self, key: impl Fn(&T) -> K + CapturesNothing) -> Result<Option<T>> {
        let _op = OperationScope::enter("max_by");
        run_blocking!(self.max_by_async(key))
    }
    #[track_caller]
    pub fn max_by_async<K: Ord>(
        &self,
        key: impl Fn(&T) -> K + CapturesNothing,
    ) -> BoxFuture<'static, Result<Option<T>>> {
        let _op = OperationScope::enter("max_by");
        self.extreme_by_fn(Plain::new(key), End::Largest)
    }
    /// The record with the smallest `key(&x)`; the first of those that tie;
    /// `None` when empty.
    #[track_caller]
    pub fn min_by<K: Ord>(&self, key: impl Fn(&T) -> K + CapturesNothing) -> Result<Option<T>> {
        let _op = OperationScope::enter("min_by");
        run_blocking!(self.min_by_async(key))
    }
    #[track_caller]
    pub fn min_by_async<K: Ord>(
        &self,
        key: impl Fn(&T) -> K + CapturesNothing,
    ) -> BoxFuture<'static, Result<Option<T>>> {
        let _op = OperationScope::enter("min_by");
        self.extreme_by_fn(Plain::new(key), End::Smallest)
    }
    /// The `n` records with the largest `key(&x)`, largest first; records
    /// with equal keys in RDD order, the earliest kept (see the module docs).
    #[track_caller]
    pub fn top_by<K: Ord>(&self, n: usize, key: impl Fn(&T) -> K + CapturesNothing) -> Result<Vec<T>> {
        let _op = OperationScope::enter("top_by");
        run_blocking!(self.top_by_async(n, key))
    }
    #[track_caller]
    pub fn top_by_async<K: Ord>(
        &self,
        n: usize,
        key: impl Fn(&T) -> K + CapturesNothing,
    ) -> BoxFuture<'static, Result<Vec<T>>> {
        let _op = OperationScope::enter("top_by");
        self.first_n_by_fn(n, Plain::new(key), End::Largest)
    }
    /// The `n` records with the smallest `key(&x)`, smallest first; records
    /// with equal keys in RDD order, the earliest kept.
    #[track_caller]
    pub fn take_ordered_by<K: Ord>(&self, n: usize, key: impl Fn(&T) -> K + CapturesNothing) -> Result<Vec<T>> {
        let _op = OperationScope::enter("take_ordered_by");
        run_blocking!(self.take_ordered_by_async(n, key))
    }
    #[track_caller]
    pub fn take_ordered_by_async<K: Ord>(
        &self,
        n: usize,
        key: impl Fn(&T) -> K + CapturesNothing,
    ) -> BoxFuture<'static, Result<Vec<T>>> {
        let _op = OperationScope::enter("take_ordered_by");
        self.first_n_by_fn(n, Plain::new(key), End::Smallest)
    }

    /// `max_by` / `min_by` for any shippable key function.
    #[track_caller]
    pub(crate) fn extreme_by_fn<K: Ord, F: for<'a> Fn1<&'a T, K>>(
        &self,
        key: F,
        end: End,
    ) -> BoxFuture<'static, Result<Option<T>>> {
        let pick = |(key, end): &(F, End), _: usize, it: BoxIter<T>| first_extreme(it, |x| key.call(x), *end);
        let job = self.run_job_fn(With::new((key.clone(), end), pick), (0..self.num_partitions()).collect());
        // Partition results come in partition order, so the first of ties stays first.
        Box::pin(async move { Ok(first_extreme(job.await?.into_iter().flatten(), |x| key.call(x), end)) })
    }

    /// `top_by` / `take_ordered_by` for any shippable key function.
    #[track_caller]
    pub(crate) fn first_n_by_fn<K: Ord, F: for<'a> Fn1<&'a T, K>>(
        &self,
        n: usize,
        key: F,
        end: End,
    ) -> BoxFuture<'static, Result<Vec<T>>> {
        if n == 0 {
            return Box::pin(async { Ok(Vec::new()) });
        }
        let pick =
            |(n, key, end): &(usize, F, End), _: usize, it: BoxIter<T>| first_n_by(it, *n, |x| key.call(x), *end);
        let job = self.run_job_fn(With::new((n, key.clone(), end), pick), (0..self.num_partitions()).collect());
        // Each partition's list is in rank order, and the lists come in
        // partition order: positions in the concatenation order ties as the RDD does.
        Box::pin(async move { Ok(first_n_by(job.await?.into_iter().flatten(), n, |x| key.call(x), end)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_f64_is_total() {
        let mut v: Vec<OrderedF64> =
            [f64::NAN, 1.0, -0.0, 0.0, f64::NEG_INFINITY, f64::INFINITY, -3.5].into_iter().map(OrderedF64).collect();
        v.sort();
        let bits: Vec<u64> = v.iter().map(|x| x.0.to_bits()).collect();
        let expected: Vec<u64> =
            [f64::NEG_INFINITY, -3.5, -0.0, 0.0, 1.0, f64::INFINITY, f64::NAN].iter().map(|x| x.to_bits()).collect();
        assert_eq!(bits, expected);
        assert_eq!(OrderedF64(f64::NAN), OrderedF64(f64::NAN));
        assert_ne!(OrderedF64(0.0), OrderedF64(-0.0));
    }

    #[test]
    fn extremes_keep_the_first_of_ties() {
        let v = vec![(1, 'a'), (3, 'b'), (3, 'c'), (0, 'd'), (0, 'e')];
        assert_eq!(first_extreme(v.clone().into_iter(), |x| x.0, End::Largest), Some((3, 'b')));
        assert_eq!(first_extreme(v.clone().into_iter(), |x| x.0, End::Smallest), Some((0, 'd')));
        assert_eq!(first_extreme(Vec::<(i32, char)>::new().into_iter(), |x| x.0, End::Largest), None);
    }

    #[test]
    fn first_n_keeps_the_earliest_of_ties_in_order() {
        let v = vec![(2, 'a'), (1, 'b'), (2, 'c'), (1, 'd'), (3, 'e'), (2, 'f')];
        let keys = |x: &(i32, char)| x.0;
        let top = first_n_by(v.clone().into_iter(), 3, keys, End::Largest);
        assert_eq!(top, vec![(3, 'e'), (2, 'a'), (2, 'c')]);
        let low = first_n_by(v.clone().into_iter(), 3, keys, End::Smallest);
        assert_eq!(low, vec![(1, 'b'), (1, 'd'), (2, 'a')]);
        assert_eq!(first_n_by(v.clone().into_iter(), 0, keys, End::Largest), vec![]);
        assert_eq!(first_n_by(v.clone().into_iter(), 10, keys, End::Smallest).len(), 6);
    }
}
