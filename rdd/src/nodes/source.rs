//! Sources that live in the driver's memory: `parallelize`, `range` and
//! `empty_rdd`.
//!
//! The slices of a parallelized collection travel inside the stage plan, so
//! each backend receives them once per stage (Spark ships them once per task).

use crate::Data;
use crate::error::{EmberError, TaskError};
use crate::rdd::{Dependency, RddBase, RddMeta, RddNode};
use crate::shipping::{Parents, ShippedNode, from_fields, to_fields};
use crate::task::{BoxIter, TaskContext};
use std::sync::Arc;

/// `parallelize(data, n)`: the data cut into `n` contiguous slices.
pub struct ParallelCollectionRdd<T> {
    meta: RddMeta,
    slices: Vec<Arc<Vec<T>>>,
}

impl<T: Data> ParallelCollectionRdd<T> {
    pub fn new(meta: RddMeta, data: Vec<T>, num_slices: usize) -> Self {
        let n = num_slices.max(1);
        let len = data.len();
        let mut slices = Vec::with_capacity(n);
        let mut rest = data.into_iter();
        for i in 0..n {
            // Slice i holds records [i*len/n, (i+1)*len/n), as Spark's positions.
            let (start, end) = (i * len / n, (i + 1) * len / n);
            slices.push(Arc::new(rest.by_ref().take(end - start).collect()));
        }
        ParallelCollectionRdd { meta, slices }
    }
}

impl<T: Data> RddBase for ParallelCollectionRdd<T> {
    common_rdd_base_methods!("ParallelCollectionRdd");
    fn num_partitions(&self) -> usize {
        self.slices.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl<T: Data> RddNode<T> for ParallelCollectionRdd<T> {
    /// Input records are counted as consumed; input bytes stay 0 (see
    /// [`crate::metrics`]).
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<T>, TaskError> {
        let slice = self.slices.get(split).cloned().ok_or_else(|| TaskError::engine("no such partition"))?;
        let len = slice.len();
        Ok(tc.count_input((0..len).map(move |i| slice[i].clone())))
    }
}

impl<T: Data> ShippedNode for ParallelCollectionRdd<T> {
    type Item = T;
    fn write_fields(&self) -> Result<Vec<u8>, EmberError> {
        let slices: Vec<&Vec<T>> = self.slices.iter().map(|s| s.as_ref()).collect();
        to_fields(&slices)
    }
    fn rebuild(meta: RddMeta, fields: &[u8], _: &Parents<'_>) -> Result<Self, TaskError> {
        let slices: Vec<Vec<T>> = from_fields(fields)?;
        Ok(ParallelCollectionRdd { meta, slices: slices.into_iter().map(Arc::new).collect() })
    }
}

/// `range(start, end, step, n)`: the integers `start, start+step, ...` below
/// `end` (above it for a negative step), in `n` contiguous partitions.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy)]
struct RangeFields {
    start: i64,
    step: i64,
    count: u64,
    partitions: usize,
}

pub struct RangeRdd {
    meta: RddMeta,
    fields: RangeFields,
}

impl RangeRdd {
    pub fn new(meta: RddMeta, start: i64, end: i64, step: i64, partitions: usize) -> Result<Self, EmberError> {
        if step == 0 {
            return Err(EmberError::InvalidArgument("range: step must not be 0".into()));
        }
        // In i128: `end - start` overflows i64 for far-apart bounds.
        let span = if step > 0 { end as i128 - start as i128 } else { start as i128 - end as i128 };
        let count = if span <= 0 { 0 } else { (span as u64).div_ceil(step.unsigned_abs()) };
        Ok(RangeRdd { meta, fields: RangeFields { start, step, count, partitions: partitions.max(1) } })
    }
}

impl RddBase for RangeRdd {
    common_rdd_base_methods!("RangeRdd");
    fn num_partitions(&self) -> usize {
        self.fields.partitions
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl RddNode<i64> for RangeRdd {
    /// Input records are counted as consumed, as `parallelize`'s.
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<i64>, TaskError> {
        let RangeFields { start, step, count, partitions } = self.fields;
        let n = partitions as u128;
        let lo = (split as u128 * count as u128 / n) as u64;
        let hi = ((split as u128 + 1) * count as u128 / n) as u64;
        let records = (lo..hi).map(move |i| start.wrapping_add((i as i64).wrapping_mul(step)));
        Ok(tc.count_generated_input(records, std::mem::size_of::<i64>() as u64))
    }
}

impl ShippedNode for RangeRdd {
    type Item = i64;
    fn write_fields(&self) -> Result<Vec<u8>, EmberError> {
        to_fields(&self.fields)
    }
    fn rebuild(meta: RddMeta, fields: &[u8], _: &Parents<'_>) -> Result<Self, TaskError> {
        Ok(RangeRdd { meta, fields: from_fields(fields)? })
    }
}

/// `empty_rdd()`: no partitions at all (Spark's `EmptyRDD`). A job on it has
/// no tasks and completes at once; a shuffle of it has no map tasks, so its
/// reduce partitions read nothing.
pub struct EmptyRdd<T> {
    meta: RddMeta,
    _records: std::marker::PhantomData<fn() -> T>,
}

impl<T: Data> EmptyRdd<T> {
    pub fn new(meta: RddMeta) -> Self {
        EmptyRdd { meta, _records: std::marker::PhantomData }
    }
}

impl<T: Data> RddBase for EmptyRdd<T> {
    common_rdd_base_methods!("EmptyRdd");
    fn num_partitions(&self) -> usize {
        0
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl<T: Data> RddNode<T> for EmptyRdd<T> {
    fn compute(&self, split: usize, _: &TaskContext) -> Result<BoxIter<T>, TaskError> {
        Err(TaskError::engine(format!("EmptyRdd has no partition {split}")))
    }
}

impl<T: Data> ShippedNode for EmptyRdd<T> {
    type Item = T;
    fn write_fields(&self) -> Result<Vec<u8>, EmberError> {
        Ok(Vec::new())
    }
    fn rebuild(meta: RddMeta, _: &[u8], _: &Parents<'_>) -> Result<Self, TaskError> {
        Ok(EmptyRdd::new(meta))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::RddId;

    fn range_count(start: i64, end: i64, step: i64) -> u64 {
        RangeRdd::new(RddMeta::new(RddId(0)), start, end, step, 1).unwrap().fields.count
    }

    #[test]
    fn range_counts_records_between_far_apart_bounds() {
        assert_eq!(range_count(0, 10, 3), 4);
        assert_eq!(range_count(10, 0, -3), 4);
        assert_eq!(range_count(5, 5, 1), 0);
        assert_eq!(range_count(0, 10, -1), 0);
        // The span overflows i64: MIN, MIN + 2^62, 0 and 2^62 are below MAX.
        assert_eq!(range_count(i64::MIN, i64::MAX, 1 << 62), 4);
        assert_eq!(range_count(i64::MAX, i64::MIN, -(1 << 62)), 4);
        assert_eq!(range_count(i64::MIN, i64::MAX, 1), u64::MAX);
    }
}
