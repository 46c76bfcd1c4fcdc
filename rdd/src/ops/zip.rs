//! Combining RDDs partition by partition, and numbering records without a
//! job: Spark's `zipPartitions` and `zipWithUniqueId`.
//!
//! `zip_partitions` hands `f` the i-th partition of each RDD as iterators, so
//! the partitions may hold different numbers of records (unlike `zip`, which
//! pairs records one to one). The RDDs must have the same number of
//! partitions: checked when the RDD is defined, a
//! [`EmberError::PartitionCountMismatch`] otherwise.

use crate::call_site::OperationScope;
use crate::error::{EmberError, Result};
use crate::func::{Fn2, Fn3, Plain};
use crate::nodes::zip_partitions::{ZippedPartitionsRdd2, ZippedPartitionsRdd3};
use crate::rdd::Rdd;
use crate::task::BoxIter;
use crate::{Data, func::CapturesNothing};
use std::sync::Arc;

/// Checks that every RDD zipped has the same number of partitions.
pub(crate) fn same_partition_counts(operation: &'static str, counts: Vec<usize>) -> Result<()> {
    if counts.windows(2).all(|w| w[0] == w[1]) {
        Ok(())
    } else {
        Err(EmberError::PartitionCountMismatch { operation, counts })
    }
}

impl<T: Data> Rdd<T> {
    /// `f(this partition, other's partition)` for every partition index, as
    /// Spark's zipPartitions; the RDDs must have the same number of partitions.
    #[track_caller]
    pub fn zip_partitions<U: Data, O: Data, I>(
        &self,
        other: &Rdd<U>,
        f: impl Fn(BoxIter<T>, BoxIter<U>) -> I + CapturesNothing,
    ) -> Result<Rdd<O>>
    where
        I: IntoIterator<Item = O> + 'static,
        I::IntoIter: Send + 'static,
    {
        let _op = OperationScope::enter("zip_partitions");
        self.zip_partitions_fn(other, Plain::new(f))
    }

    /// `f(this partition, b's partition, c's partition)` for every partition
    /// index; the three RDDs must have the same number of partitions.
    #[track_caller]
    pub fn zip_partitions3<U: Data, W: Data, O: Data, I>(
        &self,
        b: &Rdd<U>,
        c: &Rdd<W>,
        f: impl Fn(BoxIter<T>, BoxIter<U>, BoxIter<W>) -> I + CapturesNothing,
    ) -> Result<Rdd<O>>
    where
        I: IntoIterator<Item = O> + 'static,
        I::IntoIter: Send + 'static,
    {
        let _op = OperationScope::enter("zip_partitions3");
        self.zip_partitions3_fn(b, c, Plain::new(f))
    }

    /// `zip_partitions` with a shippable function (see `func`).
    #[track_caller]
    pub fn zip_partitions_fn<U: Data, O: Data, I, F>(&self, other: &Rdd<U>, f: F) -> Result<Rdd<O>>
    where
        I: IntoIterator<Item = O> + 'static,
        I::IntoIter: Send + 'static,
        F: Fn2<BoxIter<T>, BoxIter<U>, I>,
    {
        let _op = OperationScope::enter("zip_partitions_fn");
        same_partition_counts("zip_partitions", vec![self.num_partitions(), other.num_partitions()])?;
        let node = ZippedPartitionsRdd2::new(self.new_meta(), self.node.clone(), other.node.clone(), f);
        Ok(self.derive(Arc::new(node)))
    }

    /// `zip_partitions3` with a shippable function (see `func`).
    #[track_caller]
    pub fn zip_partitions3_fn<U: Data, W: Data, O: Data, I, F>(&self, b: &Rdd<U>, c: &Rdd<W>, f: F) -> Result<Rdd<O>>
    where
        I: IntoIterator<Item = O> + 'static,
        I::IntoIter: Send + 'static,
        F: Fn3<BoxIter<T>, BoxIter<U>, BoxIter<W>, I>,
    {
        let _op = OperationScope::enter("zip_partitions3_fn");
        let counts = vec![self.num_partitions(), b.num_partitions(), c.num_partitions()];
        same_partition_counts("zip_partitions3", counts)?;
        let node = ZippedPartitionsRdd3::new(self.new_meta(), self.node.clone(), b.node.clone(), c.node.clone(), f);
        Ok(self.derive(Arc::new(node)))
    }

    /// Each record with a unique id: the records of partition `k` of `n` get
    /// `k, n + k, 2n + k, ...` in order (Spark's zipWithUniqueId). Unlike
    /// `zip_with_index`, no job runs, and the ids have gaps when partitions
    /// differ in size.
    #[track_caller]
    pub fn zip_with_unique_id(&self) -> Rdd<(T, u64)> {
        let _op = OperationScope::enter("zip_with_unique_id");
        let n = self.num_partitions() as u64;
        self.map_partitions_with(n, |&n, k, it| it.enumerate().map(move |(i, x)| (x, i as u64 * n + k as u64)))
    }
}
