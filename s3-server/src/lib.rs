//! `ember-s3-server`: a small, real S3-compatible server for Ember's tests,
//! benchmarks and clusters.
//!
//! Ember reads and writes `s3://bucket/key` through the `object_store`
//! crate. To test that path end to end, and to give the compose and
//! Kubernetes clusters a place to keep their data that every container can
//! reach, this crate runs an S3 server over plain HTTP, built from two
//! parts of the `s3s` project:
//!
//! - `s3s` parses S3's REST protocol (path-style and, with a domain,
//!   virtual-hosted-style requests), verifies AWS Signature Version 4 and
//!   answers in S3's XML. Authentication is always on: the one access key
//!   and secret key of [`Credentials`] are accepted, and a request signed
//!   with anything else, or not signed at all, is refused (`403`), as a
//!   real S3 would.
//! - `s3s-fs` stores the objects as plain files: bucket `b` is the
//!   directory `ROOT/b`, and object `b/dir/part-00000` is the file
//!   `ROOT/b/dir/part-00000`. Its bookkeeping (ETags, checksums, metadata,
//!   multipart parts) lives in dot files directly under `ROOT`. So a file
//!   put into `ROOT/b/` by hand, or through a mounted volume, is served as
//!   an object of bucket `b` with no import step; the cluster test relies
//!   on that.
//!
//! Where a directory on disk would show through as a broken object (a
//! prefix probed as a key), `store::ObjectFiles` answers as S3 does.
//!
//! An object that was not written through S3 has no stored ETag, which
//! s3s-fs would compute on every `GET` and `HEAD`; the server hashes such a
//! file once per version instead (`etag`): the first read of a large file
//! put in by hand costs one pass over it.
//!
//! Shutdown ([`S3Server::serve`]'s `shutdown` future): the listener closes
//! at once, requests in flight get [`SHUTDOWN_GRACE`] to finish, and then
//! the connections are dropped.

mod config;
mod etag;
mod server;
mod store;

pub use config::{ConfigError, Credentials, ServerConfig};
pub use server::{S3Server, SHUTDOWN_GRACE, ServerError};
