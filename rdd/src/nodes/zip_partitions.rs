//! `ZippedPartitionsRdd2` and `ZippedPartitionsRdd3`: Spark's zipPartitions.
//! Partition `i` is `f` applied to partition `i` of each parent, as iterators
//! (nothing is materialized, unlike `zip`, which must check record counts).
//!
//! Every parent has the same number of partitions; the operations that build
//! these nodes check it when the RDD is defined (`ops::zip`).

use crate::Data;
use crate::error::{EmberError, TaskError};
use crate::func::{Fn2, Fn3};
use crate::rdd::{Dependency, RddBase, RddMeta, RddNode, RddRef};
use crate::shipping::{Parents, ShippedNode, from_fields, to_fields};
use crate::task::{BoxIter, TaskContext};
use std::marker::PhantomData;

/// Partition `i` is `f(a_i, b_i)`.
pub struct ZippedPartitionsRdd2<A: 'static, B: 'static, O, I, F> {
    meta: RddMeta,
    a: RddRef<A>,
    b: RddRef<B>,
    f: F,
    _out: PhantomData<fn() -> (O, I)>,
}

impl<A: Data, B: Data, O: Data, I, F> ZippedPartitionsRdd2<A, B, O, I, F> {
    pub fn new(meta: RddMeta, a: RddRef<A>, b: RddRef<B>, f: F) -> Self {
        ZippedPartitionsRdd2 { meta, a, b, f, _out: PhantomData }
    }
}

impl<A, B, O, I, F> RddBase for ZippedPartitionsRdd2<A, B, O, I, F>
where
    A: Data,
    B: Data,
    O: Data,
    I: IntoIterator<Item = O> + 'static,
    I::IntoIter: Send + 'static,
    F: Fn2<BoxIter<A>, BoxIter<B>, I>,
{
    common_rdd_base_methods!("ZippedPartitionsRdd2");
    fn num_partitions(&self) -> usize {
        self.a.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![
            Dependency::Narrow { rdd: self.a.base(), one_to_one: true },
            Dependency::Narrow { rdd: self.b.base(), one_to_one: true },
        ]
    }
}

impl<A, B, O, I, F> RddNode<O> for ZippedPartitionsRdd2<A, B, O, I, F>
where
    A: Data,
    B: Data,
    O: Data,
    I: IntoIterator<Item = O> + 'static,
    I::IntoIter: Send + 'static,
    F: Fn2<BoxIter<A>, BoxIter<B>, I>,
{
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<O>, TaskError> {
        let (a, b) = (self.a.iterator(split, tc)?, self.b.iterator(split, tc)?);
        Ok(Box::new(self.f.call(a, b).into_iter()))
    }
}

impl<A, B, O, I, F> ShippedNode for ZippedPartitionsRdd2<A, B, O, I, F>
where
    A: Data,
    B: Data,
    O: Data,
    I: IntoIterator<Item = O> + 'static,
    I::IntoIter: Send + 'static,
    F: Fn2<BoxIter<A>, BoxIter<B>, I>,
{
    type Item = O;
    fn write_fields(&self) -> Result<Vec<u8>, EmberError> {
        to_fields(&self.f)
    }
    fn rebuild(meta: RddMeta, fields: &[u8], parents: &Parents<'_>) -> Result<Self, TaskError> {
        Ok(Self::new(meta, parents.get(0)?, parents.get(1)?, from_fields(fields)?))
    }
}

/// Partition `i` is `f(a_i, b_i, c_i)`.
pub struct ZippedPartitionsRdd3<A: 'static, B: 'static, C: 'static, O, I, F> {
    meta: RddMeta,
    a: RddRef<A>,
    b: RddRef<B>,
    c: RddRef<C>,
    f: F,
    _out: PhantomData<fn() -> (O, I)>,
}

impl<A: Data, B: Data, C: Data, O: Data, I, F> ZippedPartitionsRdd3<A, B, C, O, I, F> {
    pub fn new(meta: RddMeta, a: RddRef<A>, b: RddRef<B>, c: RddRef<C>, f: F) -> Self {
        ZippedPartitionsRdd3 { meta, a, b, c, f, _out: PhantomData }
    }
}

impl<A, B, C, O, I, F> RddBase for ZippedPartitionsRdd3<A, B, C, O, I, F>
where
    A: Data,
    B: Data,
    C: Data,
    O: Data,
    I: IntoIterator<Item = O> + 'static,
    I::IntoIter: Send + 'static,
    F: Fn3<BoxIter<A>, BoxIter<B>, BoxIter<C>, I>,
{
    common_rdd_base_methods!("ZippedPartitionsRdd3");
    fn num_partitions(&self) -> usize {
        self.a.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![
            Dependency::Narrow { rdd: self.a.base(), one_to_one: true },
            Dependency::Narrow { rdd: self.b.base(), one_to_one: true },
            Dependency::Narrow { rdd: self.c.base(), one_to_one: true },
        ]
    }
}

impl<A, B, C, O, I, F> RddNode<O> for ZippedPartitionsRdd3<A, B, C, O, I, F>
where
    A: Data,
    B: Data,
    C: Data,
    O: Data,
    I: IntoIterator<Item = O> + 'static,
    I::IntoIter: Send + 'static,
    F: Fn3<BoxIter<A>, BoxIter<B>, BoxIter<C>, I>,
{
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<O>, TaskError> {
        let (a, b, c) = (self.a.iterator(split, tc)?, self.b.iterator(split, tc)?, self.c.iterator(split, tc)?);
        Ok(Box::new(self.f.call(a, b, c).into_iter()))
    }
}

impl<A, B, C, O, I, F> ShippedNode for ZippedPartitionsRdd3<A, B, C, O, I, F>
where
    A: Data,
    B: Data,
    C: Data,
    O: Data,
    I: IntoIterator<Item = O> + 'static,
    I::IntoIter: Send + 'static,
    F: Fn3<BoxIter<A>, BoxIter<B>, BoxIter<C>, I>,
{
    type Item = O;
    fn write_fields(&self) -> Result<Vec<u8>, EmberError> {
        to_fields(&self.f)
    }
    fn rebuild(meta: RddMeta, fields: &[u8], parents: &Parents<'_>) -> Result<Self, TaskError> {
        Ok(Self::new(meta, parents.get(0)?, parents.get(1)?, parents.get(2)?, from_fields(fields)?))
    }
}
