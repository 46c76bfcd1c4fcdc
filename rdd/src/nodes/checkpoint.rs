//! Checkpointing: `rdd.checkpoint()` writes every partition to the context's
//! checkpoint directory and returns an RDD that reads them back, with no
//! parents: its lineage is truncated, so a long iterative job does not carry
//! (or recompute) an ever-growing lineage.
//!
//! Like Spark's eager `Dataset.checkpoint()`, it runs a job at once. The
//! partitions are a committed output (`io::commit`), so a retried task
//! never leaves a half-written partition. The directory must be visible to
//! every executor: a local path in `local` and `local-cluster`, a shared
//! volume or an `s3://` URL on a cluster.

use crate::error::{EmberError, TaskError};
use crate::io::{Location, StoreOptions};
use crate::ops::save::PartWriter;
use crate::rdd::{Dependency, Rdd, RddBase, RddMeta, RddNode};
use crate::shipping::{Parents, ShippedNode, from_fields, to_fields};
use crate::task::{BoxIter, TaskContext};
use crate::{Data, Result};
use std::marker::PhantomData;
use std::sync::Arc;

pub struct CheckpointRdd<T> {
    meta: RddMeta,
    fields: CheckpointFields,
    _t: PhantomData<fn() -> T>,
}

#[derive(serde::Serialize, serde::Deserialize, Clone)]
struct CheckpointFields {
    dir: Location,
    partitions: usize,
    options: StoreOptions,
}

fn part_file(dir: &Location, index: usize) -> Location {
    dir.join(&format!("part-{index:05}"))
}

/// A checkpoint's part file: the partition's records, serialized whole.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy)]
struct CheckpointPart;

impl<T: Data> PartWriter<T> for CheckpointPart {
    fn extension(&self) -> String {
        String::new()
    }
    fn write(&self, records: BoxIter<T>, out: &mut dyn std::io::Write) -> std::result::Result<(), String> {
        let records: Vec<T> = records.collect();
        let bytes = postcard::to_allocvec(&records).map_err(|e| e.to_string())?;
        out.write_all(&bytes).map_err(|e| e.to_string())
    }
}

impl<T: Data> Rdd<T> {
    /// Writes this RDD to the checkpoint directory (`Context::set_checkpoint_dir`)
    /// and returns an RDD with the same records whose lineage starts there.
    #[track_caller]
    pub fn checkpoint(&self) -> Result<Rdd<T>> {
        let base = self.runner.checkpoint_dir().ok_or_else(|| {
            EmberError::InvalidArgument(
                "checkpoint: set a checkpoint directory first (Context::set_checkpoint_dir)".into(),
            )
        })?;
        let dir = base.join(&format!("rdd-{}", self.id().0));
        futures::executor::block_on(self.save_committed(&dir, CheckpointPart))?;
        let options = self.runner.io_settings().store;
        let fields = CheckpointFields { dir, partitions: self.num_partitions(), options };
        Ok(self.derive(Arc::new(CheckpointRdd::<T> { meta: self.new_meta(), fields, _t: PhantomData })))
    }
}

impl<T: Data> RddBase for CheckpointRdd<T> {
    common_rdd_base_methods!("CheckpointRdd");
    fn num_partitions(&self) -> usize {
        self.fields.partitions
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl<T: Data> RddNode<T> for CheckpointRdd<T> {
    fn compute(&self, split: usize, tc: &TaskContext) -> std::result::Result<BoxIter<T>, TaskError> {
        let file = part_file(&self.fields.dir, split);
        let bytes = crate::io::read_all(&file, &self.fields.options)?;
        let records: Vec<T> = postcard::from_bytes(&bytes)
            .map_err(|e| TaskError::deterministic(format!("{file}: corrupt checkpoint: {e}")))?;
        let (count, size) = (records.len() as u64, bytes.len() as u64);
        tc.add_metrics(|m| {
            m.records_read += count;
            m.bytes_read += size;
        });
        Ok(Box::new(records.into_iter()))
    }
}

impl<T: Data> ShippedNode for CheckpointRdd<T> {
    type Item = T;
    fn write_fields(&self) -> Result<Vec<u8>> {
        to_fields(&self.fields)
    }
    fn rebuild(meta: RddMeta, fields: &[u8], _: &Parents<'_>) -> std::result::Result<Self, TaskError> {
        Ok(CheckpointRdd { meta, fields: from_fields(fields)?, _t: PhantomData })
    }
}
