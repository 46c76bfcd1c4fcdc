//! `ZippedRdd`: pairs the i-th records of two RDDs with the same partitioning.

use crate::Data;
use crate::error::{EmberError, TaskError};
use crate::rdd::{Dependency, RddBase, RddMeta, RddNode, RddRef};
use crate::shipping::{Parents, ShippedNode};
use crate::task::{BoxIter, TaskContext};

pub struct ZippedRdd<T: 'static, U: 'static> {
    meta: RddMeta,
    left: RddRef<T>,
    right: RddRef<U>,
}

impl<T: Data, U: Data> ZippedRdd<T, U> {
    pub fn new(meta: RddMeta, left: RddRef<T>, right: RddRef<U>) -> Self {
        ZippedRdd { meta, left, right }
    }
}

impl<T: Data, U: Data> RddBase for ZippedRdd<T, U> {
    common_rdd_base_methods!("ZippedRdd");
    fn num_partitions(&self) -> usize {
        self.left.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![
            Dependency::Narrow { rdd: self.left.base(), one_to_one: true },
            Dependency::Narrow { rdd: self.right.base(), one_to_one: true },
        ]
    }
}

impl<T: Data, U: Data> RddNode<(T, U)> for ZippedRdd<T, U> {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<(T, U)>, TaskError> {
        let left: Vec<T> = self.left.iterator(split, tc)?.collect();
        let right: Vec<U> = self.right.iterator(split, tc)?.collect();
        if left.len() != right.len() {
            return Err(TaskError::deterministic(format!(
                "zip: can only zip RDDs with the same number of records in each partition; \
                 partition {split} has {} and {}",
                left.len(),
                right.len()
            )));
        }
        Ok(Box::new(left.into_iter().zip(right)))
    }
}

impl<T: Data, U: Data> ShippedNode for ZippedRdd<T, U> {
    type Item = (T, U);
    fn write_fields(&self) -> Result<Vec<u8>, EmberError> {
        Ok(Vec::new())
    }
    fn rebuild(meta: RddMeta, _: &[u8], parents: &Parents<'_>) -> Result<Self, TaskError> {
        Ok(ZippedRdd { meta, left: parents.get(0)?, right: parents.get(1)? })
    }
}
