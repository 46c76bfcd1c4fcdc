//! `CartesianRdd`: every pair of records; partition `i * n + j` pairs
//! partition `i` of the left RDD with partition `j` of the right one.

use crate::Data;
use crate::error::{EmberError, TaskError};
use crate::rdd::{Dependency, RddBase, RddMeta, RddNode, RddRef};
use crate::shipping::{Parents, ShippedNode};
use crate::task::{BoxIter, TaskContext};
use std::sync::Arc;

pub struct CartesianRdd<T: 'static, U: 'static> {
    meta: RddMeta,
    left: RddRef<T>,
    right: RddRef<U>,
}

impl<T: Data, U: Data> CartesianRdd<T, U> {
    pub fn new(meta: RddMeta, left: RddRef<T>, right: RddRef<U>) -> Self {
        CartesianRdd { meta, left, right }
    }
}

impl<T: Data, U: Data> RddBase for CartesianRdd<T, U> {
    common_rdd_base_methods!("CartesianRdd");
    fn num_partitions(&self) -> usize {
        self.left.num_partitions() * self.right.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![
            Dependency::Narrow { rdd: self.left.base(), one_to_one: false },
            Dependency::Narrow { rdd: self.right.base(), one_to_one: false },
        ]
    }
}

impl<T: Data, U: Data> RddNode<(T, U)> for CartesianRdd<T, U> {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<(T, U)>, TaskError> {
        let n = self.right.num_partitions();
        let right: Arc<Vec<U>> = Arc::new(self.right.iterator(split % n, tc)?.collect());
        let left = self.left.iterator(split / n, tc)?;
        Ok(Box::new(left.flat_map(move |t| {
            let right = right.clone();
            (0..right.len()).map(move |i| (t.clone(), right[i].clone()))
        })))
    }
}

impl<T: Data, U: Data> ShippedNode for CartesianRdd<T, U> {
    type Item = (T, U);
    fn write_fields(&self) -> Result<Vec<u8>, EmberError> {
        Ok(Vec::new())
    }
    fn rebuild(meta: RddMeta, _: &[u8], parents: &Parents<'_>) -> Result<Self, TaskError> {
        Ok(CartesianRdd { meta, left: parents.get(0)?, right: parents.get(1)? })
    }
}
