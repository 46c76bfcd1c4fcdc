//! `CoalescedRdd`: fewer partitions without a shuffle; each new partition
//! reads a contiguous group of parent partitions.

use crate::Data;
use crate::error::{EmberError, TaskError};
use crate::rdd::{Dependency, RddBase, RddMeta, RddNode, RddRef};
use crate::shipping::{Parents, ShippedNode, from_fields, to_fields};
use crate::task::{BoxIter, TaskContext};

pub struct CoalescedRdd<T: 'static> {
    meta: RddMeta,
    parent: RddRef<T>,
    /// `groups[i]` lists the parent partitions read by partition `i`.
    groups: Vec<Vec<usize>>,
}

impl<T: Data> CoalescedRdd<T> {
    pub fn new(meta: RddMeta, parent: RddRef<T>, partitions: usize) -> Self {
        let n_parent = parent.num_partitions();
        let n = partitions.clamp(1, n_parent.max(1));
        let groups = (0..n).map(|i| (i * n_parent / n..(i + 1) * n_parent / n).collect()).collect();
        CoalescedRdd { meta, parent, groups }
    }
}

impl<T: Data> RddBase for CoalescedRdd<T> {
    common_rdd_base_methods!("CoalescedRdd");
    fn num_partitions(&self) -> usize {
        self.groups.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Narrow { rdd: self.parent.base(), one_to_one: false }]
    }
}

impl<T: Data> RddNode<T> for CoalescedRdd<T> {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<T>, TaskError> {
        let group = self.groups.get(split).ok_or_else(|| TaskError::engine("coalesce: no such partition"))?;
        let iters = group.iter().map(|&p| self.parent.iterator(p, tc)).collect::<Result<Vec<_>, _>>()?;
        Ok(Box::new(iters.into_iter().flatten()))
    }
}

impl<T: Data> ShippedNode for CoalescedRdd<T> {
    type Item = T;
    fn write_fields(&self) -> Result<Vec<u8>, EmberError> {
        to_fields(&self.groups)
    }
    fn rebuild(meta: RddMeta, fields: &[u8], parents: &Parents<'_>) -> Result<Self, TaskError> {
        Ok(CoalescedRdd { meta, parent: parents.get(0)?, groups: from_fields(fields)? })
    }
}
