//! Checkpointing: `rdd.checkpoint()` writes every partition to the context's
//! checkpoint directory and returns an RDD that reads them back, with no
//! parents: its lineage is truncated, so a long iterative job does not carry
//! (or recompute) an ever-growing lineage.
//!
//! Like Spark's eager `Dataset.checkpoint()`, it runs a job at once. Each
//! partition is written to a temporary file and renamed into place, so a
//! retried task never leaves a half-written partition. The directory must be
//! visible to every executor (a local path in `local` and `local-cluster`,
//! a shared volume on a cluster).

use crate::call_site::OperationScope;
use crate::error::{EmberError, TaskError};
use crate::func::With;
use crate::rdd::{Dependency, Rdd, RddBase, RddMeta, RddNode};
use crate::shipping::{Parents, ShippedNode, from_fields, to_fields};
use crate::task::{BoxIter, TaskContext};
use crate::{Data, Result};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct CheckpointRdd<T> {
    meta: RddMeta,
    fields: CheckpointFields,
    _t: PhantomData<fn() -> T>,
}

#[derive(serde::Serialize, serde::Deserialize, Clone)]
struct CheckpointFields {
    dir: PathBuf,
    partitions: usize,
}

fn part_path(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("part-{index:05}"))
}

/// Writes one partition; returns an error message naming the file.
fn write_partition<T: Data>(dir: &str, index: usize, it: BoxIter<T>) -> Option<String> {
    let records: Vec<T> = it.collect();
    let path = part_path(Path::new(dir), index);
    // Records cut short by an error (which fails the task) are not a partition.
    if crate::task::current_task().is_some_and(|tc| tc.deferred_error().is_set()) {
        return Some(format!("{}: not written: the partition could not be read whole", path.display()));
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let bytes = match postcard::to_allocvec(&records) {
        Ok(b) => b,
        Err(e) => return Some(format!("{}: {e}", path.display())),
    };
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, &path))
        .err()
        .map(|e| format!("{}: {e}", path.display()))
}

impl<T: Data> Rdd<T> {
    /// Writes this RDD to the checkpoint directory (`Context::set_checkpoint_dir`)
    /// and returns an RDD with the same records whose lineage starts there.
    #[track_caller]
    pub fn checkpoint(&self) -> Result<Rdd<T>> {
        let _op = OperationScope::enter("checkpoint");
        let base = self.runner.checkpoint_dir().ok_or_else(|| {
            EmberError::InvalidArgument(
                "checkpoint: set a checkpoint directory first (Context::set_checkpoint_dir)".into(),
            )
        })?;
        let dir = base.join(format!("rdd-{}", self.id().0));
        std::fs::create_dir_all(&dir)
            .map_err(|source| EmberError::Io { path: dir.display().to_string(), error: source })?;
        let dir_str = dir.to_string_lossy().into_owned();
        let job = self.run_job_fn(
            With::new(dir_str, |dir: &String, index, it: BoxIter<T>| write_partition(dir, index, it)),
            (0..self.num_partitions()).collect(),
        );
        if let Some(err) = futures::executor::block_on(job)?.into_iter().flatten().next() {
            return Err(EmberError::Io { path: dir.display().to_string(), error: std::io::Error::other(err) });
        }
        let fields = CheckpointFields { dir, partitions: self.num_partitions() };
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
        let path = part_path(&self.fields.dir, split);
        let bytes = std::fs::read(&path).map_err(|e| TaskError::input(format!("{}: {e}", path.display())))?;
        let records: Vec<T> = postcard::from_bytes(&bytes)
            .map_err(|e| TaskError::deterministic(format!("{}: corrupt checkpoint: {e}", path.display())))?;
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
