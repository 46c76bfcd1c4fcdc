//! Committed outputs, as Hadoop's `FileOutputCommitter` (algorithm 1) does
//! for Spark's `saveAsTextFile`:
//!
//! 1. The driver checks the output directory: an existing non-empty one is
//!    an error unless `ember.output.overwrite` is set (then its content is
//!    deleted first).
//! 2. Each task attempt writes its part file under
//!    `DIR/_temporary/JOB/PARTITION-ATTEMPT-NONCE/part-NNNNN<ext>` and
//!    returns where. A failed attempt's file is never looked at again.
//! 3. When the job succeeds, the driver moves the one accepted attempt file
//!    of each partition to `DIR/part-NNNNN<ext>`, writes an empty
//!    `_SUCCESS`, and deletes `_temporary`. When it fails, only
//!    `_temporary` is deleted: no part file of a failed job is ever in `DIR`.
//!
//! On an object store a move is a copy and a delete, so a commit costs a
//! copy of the output (as with Hadoop's committer on S3); it is still never
//! visible half-done, since readers skip `_temporary` and wait for
//! `_SUCCESS`.

use super::IoError;
use super::location::Location;
use super::options::{IoSettings, StoreOptions};
use super::store::{ObjectWriter, delete_all, list_dir, rename, write_all};
use crate::error::{EmberError, TaskError};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use std::io::Write;

/// One save job's output directory and where its attempts write.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OutputCommitter {
    dir: Location,
    options: StoreOptions,
    /// This job's directory under `_temporary`.
    job: String,
}

impl OutputCommitter {
    /// Step 1 (driver): checks `path` and prepares it (see the module docs).
    pub fn setup(dir: Location, settings: &IoSettings) -> Result<OutputCommitter, EmberError> {
        let options = settings.store.clone();
        if super::store::head(&dir, &options)?.is_some() {
            return Err(EmberError::InvalidArgument(format!("{dir}: the output path is an existing file")));
        }
        let existing = list_dir(&dir, &options)?;
        if existing.as_ref().is_some_and(|listing| !listing.is_empty()) {
            if !settings.overwrite_output {
                return Err(EmberError::InvalidArgument(format!(
                    "{dir}: the output directory already exists and is not empty \
                     (set ember.output.overwrite=true to replace its content)"
                )));
            }
            delete_all(&dir, &options)?;
        }
        if let Location::Local(path) = &dir {
            std::fs::create_dir_all(path).map_err(|e| IoError::from_io(&dir, &e))?;
        }
        let job = format!("{:016x}", rand::rng().random::<u64>());
        Ok(OutputCommitter { dir, options, job })
    }

    /// The output directory.
    pub fn dir(&self) -> &Location {
        &self.dir
    }

    fn temporary(&self) -> Location {
        self.dir.join("_temporary")
    }

    /// Step 2 (task): writes partition `index` as `part-NNNNN<extension>`
    /// through `write`, under this attempt's own temporary directory, and
    /// returns where it went.
    pub fn write_part(
        &self,
        index: usize,
        extension: &str,
        write: impl FnOnce(&mut dyn Write) -> Result<(), String>,
    ) -> Result<Location, TaskError> {
        let attempt = crate::task::current_task().map_or(0, |tc| tc.attempt);
        let nonce: u32 = rand::rng().random();
        let name = format!("part-{index:05}{extension}");
        let file = self.temporary().join(&self.job).join(&format!("{index:05}-{attempt}-{nonce:08x}")).join(&name);
        let mut out = ObjectWriter::create(&file, &self.options)?;
        write(&mut out).map_err(|why| TaskError::input(format!("{file}: {why}")))?;
        // Records cut short by an upstream error (which fails the task) are
        // not a whole partition: do not make the file visible.
        if crate::task::current_task().is_some_and(|tc| tc.deferred_error().is_set()) {
            return Err(TaskError::input(format!("{file}: not written: the partition could not be read whole")));
        }
        out.finish()?;
        Ok(file)
    }

    /// Step 3 (driver): moves each partition's accepted attempt file into
    /// the directory, writes `_SUCCESS`, and deletes `_temporary`.
    pub fn commit(&self, written: &[Location]) -> Result<(), EmberError> {
        for file in written {
            rename(file, &self.dir.join(&file.file_name()), &self.options)?;
        }
        write_all(&self.dir.join("_SUCCESS"), &self.options, Vec::new())?;
        delete_all(&self.temporary(), &self.options)?;
        Ok(())
    }

    /// The job failed: deletes what its attempts wrote. Errors are logged,
    /// not returned: the job's own error is the one to report.
    pub fn abort(&self) {
        if let Err(e) = delete_all(&self.temporary(), &self.options) {
            tracing::warn!("cannot clean up a failed save: {e}");
        }
    }
}
