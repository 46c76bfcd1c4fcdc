//! [`WithState`] forms of the operations of `ops::zip`, `ops::pair_more`
//! and of the `_into(partitions)` variants: every function gets the state
//! first, as in `ops::with_state` (whose module docs explain why).

use crate::call_site::OperationScope;
use crate::error::Result;
use crate::func::{CapturesNothing, With};
use crate::job_future::run_blocking;
use crate::ops::transform::State;
use crate::ops::with_state::WithState;
use crate::rdd::Rdd;
use crate::task::BoxIter;
use crate::{Data, Key};
use futures::future::BoxFuture;
use std::collections::HashMap;

impl<T: Data, S: State> WithState<T, S> {
    /// `f(&state, this partition, other's partition)` for every partition
    /// index (Spark's zipPartitions); same partition counts required.
    #[track_caller]
    pub fn zip_partitions<U: Data, O: Data, I>(
        self,
        other: &Rdd<U>,
        f: impl Fn(&S, BoxIter<T>, BoxIter<U>) -> I + CapturesNothing,
    ) -> Result<Rdd<O>>
    where
        I: IntoIterator<Item = O> + 'static,
        I::IntoIter: Send + 'static,
    {
        let _op = OperationScope::enter("zip_partitions");
        self.rdd.zip_partitions_fn(other, With::new(self.state, f))
    }
    /// `f(&state, a, b, c)` over the i-th partitions of three RDDs.
    #[track_caller]
    pub fn zip_partitions3<U: Data, W: Data, O: Data, I>(
        self,
        b: &Rdd<U>,
        c: &Rdd<W>,
        f: impl Fn(&S, BoxIter<T>, BoxIter<U>, BoxIter<W>) -> I + CapturesNothing,
    ) -> Result<Rdd<O>>
    where
        I: IntoIterator<Item = O> + 'static,
        I::IntoIter: Send + 'static,
    {
        let _op = OperationScope::enter("zip_partitions3");
        self.rdd.zip_partitions3_fn(b, c, With::new(self.state, f))
    }
    /// The records grouped by `f(&state, &x)`, in `partitions` hash partitions.
    #[track_caller]
    pub fn group_by_into<K: Key>(
        self,
        f: impl Fn(&S, &T) -> K + CapturesNothing,
        partitions: usize,
    ) -> Rdd<(K, Vec<T>)> {
        let _op = OperationScope::enter("group_by_into");
        self.key_by(f).group_by_key_into(partitions)
    }
}

impl<K: Key, V: Data, S: State> WithState<(K, V), S> {
    /// `fold_by_key` with state, into `partitions` hash partitions.
    #[track_caller]
    pub fn fold_by_key_into(
        self,
        zero: V,
        f: impl Fn(&S, V, V) -> V + CapturesNothing,
        partitions: usize,
    ) -> Rdd<(K, V)> {
        let _op = OperationScope::enter("fold_by_key_into");
        self.aggregate_by_key_into(zero, f, f, partitions)
    }
    /// `aggregate_by_key` with state, into `partitions` hash partitions.
    #[track_caller]
    pub fn aggregate_by_key_into<C: Data>(
        self,
        zero: C,
        seq: impl Fn(&S, C, V) -> C + CapturesNothing,
        comb: impl Fn(&S, C, C) -> C + CapturesNothing,
        partitions: usize,
    ) -> Rdd<(K, C)> {
        let _op = OperationScope::enter("aggregate_by_key_into");
        let s = self.state;
        let agg = crate::aggregate::ZeroAgg { zero, seq: With::new(s.clone(), seq), comb: With::new(s, comb) };
        self.rdd.combine_by_key_with(agg, partitions, true)
    }
    /// The values of each key merged with `f(&state, a, b)`, returned to the
    /// driver as a map (Spark's reduceByKeyLocally).
    #[track_caller]
    pub fn reduce_by_key_locally(self, f: impl Fn(&S, V, V) -> V + CapturesNothing) -> Result<HashMap<K, V>> {
        let _op = OperationScope::enter("reduce_by_key_locally");
        run_blocking!(self.reduce_by_key_locally_async(f))
    }
    #[track_caller]
    pub fn reduce_by_key_locally_async(
        self,
        f: impl Fn(&S, V, V) -> V + CapturesNothing,
    ) -> BoxFuture<'static, Result<HashMap<K, V>>> {
        let _op = OperationScope::enter("reduce_by_key_locally");
        self.rdd.reduce_by_key_locally_fn(With::new(self.state, f))
    }
}
