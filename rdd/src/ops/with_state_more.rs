//! More of [`WithState`]: the ordering actions (`max_by`, `min_by`, `top_by`,
//! `take_ordered_by`, see `ops::ordering`) and tree aggregation
//! (`tree_aggregate`, `tree_reduce`, see `ops::tree`), each function
//! receiving the state first. Same semantics as the plain forms.

use crate::Data;
use crate::call_site::OperationScope;
use crate::error::Result;
use crate::func::{CapturesNothing, With};
use crate::job_future::run_blocking;
use crate::ops::ordering::End;
use crate::ops::transform::State;
use crate::ops::with_state::WithState;
use futures::future::BoxFuture;

impl<T: Data, S: State> WithState<T, S> {
    /// The record with the largest `key(&state, &x)`; the first of ties;
    /// `None` when empty.
    #[track_caller]
    pub fn max_by<K: Ord>(self, key: impl Fn(&S, &T) -> K + CapturesNothing) -> Result<Option<T>> {
        let _op = OperationScope::enter("max_by");
        run_blocking!(self.max_by_async(key))
    }
    #[track_caller]
    pub fn max_by_async<K: Ord>(
        self,
        key: impl Fn(&S, &T) -> K + CapturesNothing,
    ) -> BoxFuture<'static, Result<Option<T>>> {
        let _op = OperationScope::enter("max_by");
        self.rdd.extreme_by_fn(With::new(self.state, key), End::Largest)
    }
    /// The record with the smallest `key(&state, &x)`; the first of ties;
    /// `None` when empty.
    #[track_caller]
    pub fn min_by<K: Ord>(self, key: impl Fn(&S, &T) -> K + CapturesNothing) -> Result<Option<T>> {
        let _op = OperationScope::enter("min_by");
        run_blocking!(self.min_by_async(key))
    }
    #[track_caller]
    pub fn min_by_async<K: Ord>(
        self,
        key: impl Fn(&S, &T) -> K + CapturesNothing,
    ) -> BoxFuture<'static, Result<Option<T>>> {
        let _op = OperationScope::enter("min_by");
        self.rdd.extreme_by_fn(With::new(self.state, key), End::Smallest)
    }
    /// The `n` records with the largest `key(&state, &x)`, largest first;
    /// ties in RDD order, the earliest kept.
    #[track_caller]
    pub fn top_by<K: Ord>(self, n: usize, key: impl Fn(&S, &T) -> K + CapturesNothing) -> Result<Vec<T>> {
        let _op = OperationScope::enter("top_by");
        run_blocking!(self.top_by_async(n, key))
    }
    #[track_caller]
    pub fn top_by_async<K: Ord>(
        self,
        n: usize,
        key: impl Fn(&S, &T) -> K + CapturesNothing,
    ) -> BoxFuture<'static, Result<Vec<T>>> {
        let _op = OperationScope::enter("top_by");
        self.rdd.first_n_by_fn(n, With::new(self.state, key), End::Largest)
    }
    /// The `n` records with the smallest `key(&state, &x)`, smallest first;
    /// ties in RDD order, the earliest kept.
    #[track_caller]
    pub fn take_ordered_by<K: Ord>(self, n: usize, key: impl Fn(&S, &T) -> K + CapturesNothing) -> Result<Vec<T>> {
        let _op = OperationScope::enter("take_ordered_by");
        run_blocking!(self.take_ordered_by_async(n, key))
    }
    #[track_caller]
    pub fn take_ordered_by_async<K: Ord>(
        self,
        n: usize,
        key: impl Fn(&S, &T) -> K + CapturesNothing,
    ) -> BoxFuture<'static, Result<Vec<T>>> {
        let _op = OperationScope::enter("take_ordered_by");
        self.rdd.first_n_by_fn(n, With::new(self.state, key), End::Smallest)
    }

    /// Spark's treeAggregate with state for `seq(&state, acc, x)` and
    /// `comb(&state, a, b)`; `depth` at least 1; a non-neutral `zero` is
    /// applied as Spark applies it (see `ops::tree`).
    #[track_caller]
    pub fn tree_aggregate<U: Data>(
        self,
        zero: U,
        seq: impl Fn(&S, U, T) -> U + CapturesNothing,
        comb: impl Fn(&S, U, U) -> U + CapturesNothing,
        depth: usize,
    ) -> Result<U> {
        let _op = OperationScope::enter("tree_aggregate");
        run_blocking!(self.tree_aggregate_async(zero, seq, comb, depth))
    }
    #[track_caller]
    pub fn tree_aggregate_async<U: Data>(
        self,
        zero: U,
        seq: impl Fn(&S, U, T) -> U + CapturesNothing,
        comb: impl Fn(&S, U, U) -> U + CapturesNothing,
        depth: usize,
    ) -> BoxFuture<'static, Result<U>> {
        let _op = OperationScope::enter("tree_aggregate");
        let (seq, comb) = (With::new(self.state.clone(), seq), With::new(self.state, comb));
        self.rdd.tree_aggregate_fns("tree_aggregate", zero, seq, comb, depth)
    }
    /// `reduce` with `f(&state, a, b)` and a tree of partial merges; `None`
    /// when empty; `depth` at least 1.
    #[track_caller]
    pub fn tree_reduce(self, f: impl Fn(&S, T, T) -> T + CapturesNothing, depth: usize) -> Result<Option<T>> {
        let _op = OperationScope::enter("tree_reduce");
        run_blocking!(self.tree_reduce_async(f, depth))
    }
    #[track_caller]
    pub fn tree_reduce_async(
        self,
        f: impl Fn(&S, T, T) -> T + CapturesNothing,
        depth: usize,
    ) -> BoxFuture<'static, Result<Option<T>>> {
        let _op = OperationScope::enter("tree_reduce");
        self.rdd.tree_reduce_fn(With::new(self.state, f), depth)
    }
}
