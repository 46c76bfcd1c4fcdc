//! `UnionRdd`: the partitions of several RDDs, one after another (no shuffle).

use crate::Data;
use crate::error::{EmberError, TaskError};
use crate::rdd::{Dependency, RddBase, RddMeta, RddNode, RddRef};
use crate::shipping::{Parents, ShippedNode};
use crate::task::{BoxIter, TaskContext};

pub struct UnionRdd<T: 'static> {
    meta: RddMeta,
    parents: Vec<RddRef<T>>,
    /// `starts[i]` is the first union partition that belongs to parent `i`.
    starts: Vec<usize>,
}

impl<T: Data> UnionRdd<T> {
    pub fn new(meta: RddMeta, parents: Vec<RddRef<T>>) -> Self {
        let mut starts = Vec::with_capacity(parents.len());
        let mut total = 0;
        for p in &parents {
            starts.push(total);
            total += p.num_partitions();
        }
        UnionRdd { meta, parents, starts }
    }

    /// Which parent, and which of its partitions, union partition `split` is.
    fn locate(&self, split: usize) -> Option<(usize, usize)> {
        let parent = self.starts.partition_point(|&s| s <= split).checked_sub(1)?;
        // Parents with no partitions share a start with their successor;
        // partition_point picks the last of them, which is the non-empty one.
        let local = split - self.starts[parent];
        (local < self.parents[parent].num_partitions()).then_some((parent, local))
    }
}

impl<T: Data> RddBase for UnionRdd<T> {
    common_rdd_base_methods!("UnionRdd");
    fn num_partitions(&self) -> usize {
        self.parents.iter().map(|p| p.num_partitions()).sum()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        self.parents.iter().map(|p| Dependency::Narrow { rdd: p.base(), one_to_one: false }).collect()
    }
}

impl<T: Data> RddNode<T> for UnionRdd<T> {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<T>, TaskError> {
        let (parent, local) = self.locate(split).ok_or_else(|| TaskError::engine("union: no such partition"))?;
        self.parents[parent].iterator(local, tc)
    }
}

impl<T: Data> ShippedNode for UnionRdd<T> {
    type Item = T;
    fn write_fields(&self) -> Result<Vec<u8>, EmberError> {
        Ok(Vec::new())
    }
    fn rebuild(meta: RddMeta, _: &[u8], parents: &Parents<'_>) -> Result<Self, TaskError> {
        let parents = (0..parents.len()).map(|i| parents.get(i)).collect::<Result<_, _>>()?;
        Ok(UnionRdd::new(meta, parents))
    }
}
