//! [`ObjectFiles`]: what the server serves. It is s3s-fs's `FileSystem`
//! (objects as files, see the crate docs) with two corrections where a
//! directory on disk would otherwise leak through as a broken object:
//!
//! - A key whose path is a directory (`dir` when `dir/a.txt` exists) is no
//!   object: `HEAD` and `GET` answer `NoSuchKey`, as S3 does, where s3s-fs
//!   answers `500` (it opens the directory as a file). Clients ask exactly
//!   this when they probe whether a name is a file or a prefix (Ember's
//!   input listing and output committer do), and an S3 client retries a
//!   `500` for seconds before giving up. Deleting such a key (alone or in
//!   a `DeleteObjects` batch) deletes nothing and succeeds, as S3 does for
//!   a missing key.
//! - Deleting an object removes the directories it leaves empty, up to the
//!   bucket, so that the files on disk stay what a listing shows (no empty
//!   `out/_temporary/...` after a committed save).
//!
//! And one economy: an object's ETag is hashed once per version of its
//! file, not on every read (`etag`).
//!
//! Every other request goes to s3s-fs unchanged.

use crate::etag::StoredETags;
use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};
use s3s_fs::FileSystem;
use std::path::{Component, Path, PathBuf};

/// s3s-fs's store of objects as files, with the corrections above.
pub struct ObjectFiles {
    files: FileSystem,
    /// The canonical root (buckets are its subdirectories).
    root: PathBuf,
    etags: StoredETags,
}

impl ObjectFiles {
    pub fn new(files: FileSystem, root: PathBuf) -> Self {
        let etags = StoredETags::new(root.clone());
        ObjectFiles { files, root, etags }
    }

    /// `ROOT/bucket/key`, if the key is a plain relative path (s3s-fs
    /// itself refuses the others).
    fn object_path(&self, bucket: &str, key: &str) -> Option<PathBuf> {
        let relative = Path::new(key);
        let plain = relative.components().all(|c| matches!(c, Component::Normal(_)));
        (plain && !bucket.contains('/')).then(|| self.root.join(bucket).join(relative))
    }

    /// Whether `bucket/key` is a directory on disk, so no object.
    async fn is_directory(&self, bucket: &str, key: &str) -> bool {
        match self.object_path(bucket, key) {
            Some(path) => tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_dir()),
            None => false,
        }
    }

    /// Before a read: the stored ETag of `bucket/key` is its file's (see `etag`).
    async fn ensure_e_tag(&self, bucket: &str, key: &str) {
        if let Some(path) = self.object_path(bucket, key) {
            self.etags.ensure(bucket, key, &path).await;
        }
    }

    /// After a write through S3: its stored ETag is stamped (see `etag`).
    async fn stamp_written(&self, bucket: &str, key: &str) {
        if let Some(path) = self.object_path(bucket, key) {
            self.etags.stamp_written(bucket, key, &path).await;
        }
    }

    /// Removes the now empty directories above `bucket/key`, up to the
    /// bucket's own. A directory that is not empty (or any other failure)
    /// ends the walk: that directory is still in use.
    async fn remove_empty_parents(&self, bucket: &str, key: &str) {
        let Some(path) = self.object_path(bucket, key) else { return };
        let bucket_dir = self.root.join(bucket);
        let mut dir = path.parent();
        while let Some(d) = dir.filter(|d| d.starts_with(&bucket_dir) && *d != bucket_dir) {
            if tokio::fs::remove_dir(d).await.is_err() {
                break;
            }
            dir = d.parent();
        }
    }
}

#[async_trait::async_trait]
impl S3 for ObjectFiles {
    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        if self.is_directory(&req.input.bucket, &req.input.key).await {
            return Err(s3_error!(NoSuchKey));
        }
        self.ensure_e_tag(&req.input.bucket, &req.input.key).await;
        self.files.head_object(req).await
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        if self.is_directory(&req.input.bucket, &req.input.key).await {
            return Err(s3_error!(NoSuchKey));
        }
        self.ensure_e_tag(&req.input.bucket, &req.input.key).await;
        self.files.get_object(req).await
    }

    async fn delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        if !key.ends_with('/') && self.is_directory(&bucket, &key).await {
            return Ok(S3Response::new(DeleteObjectOutput::default()));
        }
        let response = self.files.delete_object(req).await?;
        self.remove_empty_parents(&bucket, &key).await;
        Ok(response)
    }

    async fn delete_objects(
        &self,
        mut req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let bucket = req.input.bucket.clone();
        let mut prefixes = Vec::new();
        let mut objects = Vec::new();
        for object in std::mem::take(&mut req.input.delete.objects) {
            if !object.key.ends_with('/') && self.is_directory(&bucket, &object.key).await {
                prefixes.push(object);
            } else {
                objects.push(object);
            }
        }
        let keys: Vec<String> = objects.iter().map(|o| o.key.clone()).collect();
        let mut response = if objects.is_empty() {
            S3Response::new(DeleteObjectsOutput::default())
        } else {
            req.input.delete.objects = objects;
            self.files.delete_objects(req).await?
        };
        for key in &keys {
            self.remove_empty_parents(&bucket, key).await;
        }
        let deleted = response.output.deleted.get_or_insert_with(Vec::new);
        deleted.extend(prefixes.into_iter().map(|o| DeletedObject {
            key: Some(o.key),
            version_id: o.version_id,
            ..Default::default()
        }));
        Ok(response)
    }

    async fn copy_object(&self, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let response = self.files.copy_object(req).await?;
        self.stamp_written(&bucket, &key).await;
        Ok(response)
    }

    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let response = self.files.put_object(req).await?;
        self.stamp_written(&bucket, &key).await;
        Ok(response)
    }

    async fn list_objects(&self, req: S3Request<ListObjectsInput>) -> S3Result<S3Response<ListObjectsOutput>> {
        self.files.list_objects(req).await
    }

    async fn list_objects_v2(&self, req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.files.list_objects_v2(req).await
    }

    async fn create_bucket(&self, req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> {
        self.files.create_bucket(req).await
    }

    async fn delete_bucket(&self, req: S3Request<DeleteBucketInput>) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.files.delete_bucket(req).await
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        self.files.head_bucket(req).await
    }

    async fn list_buckets(&self, req: S3Request<ListBucketsInput>) -> S3Result<S3Response<ListBucketsOutput>> {
        self.files.list_buckets(req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.files.get_bucket_location(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.files.create_multipart_upload(req).await
    }

    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        self.files.upload_part(req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        self.files.upload_part_copy(req).await
    }

    async fn list_parts(&self, req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
        self.files.list_parts(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let response = self.files.complete_multipart_upload(req).await?;
        self.stamp_written(&bucket, &key).await;
        Ok(response)
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.files.abort_multipart_upload(req).await
    }
}
