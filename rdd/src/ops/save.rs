//! Saving an RDD as files: one part file per partition, committed only when
//! the job succeeds (see [`io::commit`](crate::io::commit) for the
//! protocol), into a directory on disk or a prefix on an object store.
//!
//! Every format writes through [`save_committed`](Rdd::save_committed) with
//! its own [`PartWriter`]: text lines here (optionally compressed), JSON
//! lines and Parquet beside it.

use crate::Data;
use crate::call_site::OperationScope;
use crate::error::{EmberError, Result};
use crate::func::With;
use crate::io::commit::OutputCommitter;
use crate::io::{AsLocation, Codec, Location};
use crate::job_future::run_blocking;
use crate::ops::block_on;
use crate::rdd::Rdd;
use crate::task::BoxIter;
use futures::future::BoxFuture;
use serde::{Serialize, de::DeserializeOwned};
use std::io::Write;

/// How one partition's records become the bytes of one part file; shipped
/// to the executors with the save job, so it is serializable.
pub trait PartWriter<T>: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// The part files' extension, with its dot (`""` for none).
    fn extension(&self) -> String;
    /// Writes `records` to `out`; the error says what went wrong (the
    /// file's name is added by the caller).
    fn write(&self, records: BoxIter<T>, out: &mut dyn Write) -> std::result::Result<(), String>;
}

/// Text lines, as [`TextRecord`](crate::TextRecord) formats each record,
/// optionally compressed.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub struct TextLines {
    pub codec: Option<Codec>,
}

impl<T: crate::TextRecord> PartWriter<T> for TextLines {
    fn extension(&self) -> String {
        self.codec.map_or("", Codec::extension).to_string()
    }
    fn write(&self, records: BoxIter<T>, out: &mut dyn Write) -> std::result::Result<(), String> {
        let err = |e: std::io::Error| e.to_string();
        match self.codec {
            None => write_lines(records, out).map_err(err),
            Some(codec) => {
                let mut encoder = codec.encoder(out).map_err(err)?;
                write_lines(records, &mut encoder).map_err(err)?;
                encoder.finish().map(drop).map_err(err)
            }
        }
    }
}

fn write_lines<T: crate::TextRecord>(records: BoxIter<T>, out: &mut dyn Write) -> std::io::Result<()> {
    let mut line = String::new();
    for record in records {
        line.clear();
        record.write_text(&mut line);
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

impl<T: Data> Rdd<T> {
    /// Writes each partition as a text file `part-NNNNN` (one record per line,
    /// formatted as [`TextRecord`](crate::TextRecord) says: `(word,3)` for a
    /// pair, as Spark writes records) into the directory `path` (a path or
    /// an `s3://` URL), then an empty `_SUCCESS`. Fails if `path` is a
    /// non-empty directory, unless `ember.output.overwrite` is set.
    #[track_caller]
    pub fn save_as_text_file(&self, path: impl AsLocation) -> Result<()>
    where
        T: crate::TextRecord,
    {
        let _op = OperationScope::enter("save_as_text_file");
        run_blocking!(self.save_as_text_file_async(path))
    }
    #[track_caller]
    pub fn save_as_text_file_async(&self, path: impl AsLocation) -> BoxFuture<'static, Result<()>>
    where
        T: crate::TextRecord,
    {
        let _op = OperationScope::enter("save_as_text_file");
        self.save_committed(path, TextLines { codec: None })
    }
    /// [`save_as_text_file`](Self::save_as_text_file) with compressed part
    /// files (`part-00000.gz` for [`Codec::Gzip`]), as Spark's
    /// `saveAsTextFile(path, codec)`.
    #[track_caller]
    pub fn save_as_text_file_with_codec(&self, path: impl AsLocation, codec: Codec) -> Result<()>
    where
        T: crate::TextRecord,
    {
        let _op = OperationScope::enter("save_as_text_file");
        block_on(self.save_committed(path, TextLines { codec: Some(codec) }))
    }

    /// Writes each partition through `writer` as a committed part file of
    /// the directory `path` (see the module docs): the building block of
    /// every save action.
    #[track_caller]
    pub fn save_committed<W: PartWriter<T>>(&self, path: impl AsLocation, writer: W) -> BoxFuture<'static, Result<()>> {
        let committer = match path.as_location().and_then(|dir| self.setup_output(dir)) {
            Ok(committer) => committer,
            Err(e) => return Box::pin(async move { Err(e) }),
        };
        let job = self.on_all(With::new((committer.clone(), writer), write_committed_part::<T, W>));
        Box::pin(async move {
            let written: Option<Vec<Location>> = match job.await {
                Ok(written) => written.into_iter().collect(),
                Err(e) => {
                    committer.abort();
                    return Err(e);
                }
            };
            let Some(written) = written else {
                committer.abort();
                return Err(EmberError::Io {
                    path: committer.dir().to_string(),
                    error: std::io::Error::other("a part file was not written"),
                });
            };
            committer.commit(&written).inspect_err(|_| committer.abort())
        })
    }

    fn setup_output(&self, dir: Location) -> Result<OutputCommitter> {
        OutputCommitter::setup(dir, &self.runner.io_settings())
    }
}

/// One save task: writes its partition; on failure the task fails (through
/// the deferred error, so it is retried) and returns no file.
fn write_committed_part<T: Data, W: PartWriter<T>>(
    state: &(OutputCommitter, W),
    index: usize,
    records: BoxIter<T>,
) -> Option<Location> {
    let (committer, writer) = state;
    match committer.write_part(index, &writer.extension(), |out| writer.write(records, out)) {
        Ok(file) => Some(file),
        Err(e) => {
            if let Some(tc) = crate::task::current_task() {
                tc.deferred_error().set(e);
            }
            None
        }
    }
}
