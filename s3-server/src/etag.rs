//! Stored ETags for objects that came in as files.
//!
//! s3s-fs 0.14.1 keeps an object's ETag in
//! `ROOT/.bucket-B.object-K.internal.json` (B and K in URL-safe base64
//! without padding) as `{"e_tag": "<md5 hex>", ...checksums}`, written
//! when the object is put through S3. A file put in by hand has none, and
//! s3s-fs then hashes the whole file on every `GET` and `HEAD`: once per
//! split of a large input.
//!
//! So [`StoredETags`] stamps an object's info with its file's size and
//! modification time (`ember_stamp`) when the object is written through
//! S3, and before a `GET` or `HEAD` checks the stamp. When the info is
//! missing or its stamp is not the file's (a file put in or replaced by
//! hand), it hashes the file once, off the async threads, and stores a
//! fresh info: the ETag and the stamp, without the old checksums, which
//! would describe the old bytes. One file is hashed at a time, and whoever
//! waited looks again before hashing, so the splits of a new file that are
//! read at once hash it once.
//!
//! Everything here is best effort: if it fails, s3s-fs computes the ETag
//! itself as before, and the failure is logged.

use s3s::crypto::{Checksum, Md5};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;

type Info = serde_json::Map<String, serde_json::Value>;

const E_TAG: &str = "e_tag";
const STAMP: &str = "ember_stamp";

pub struct StoredETags {
    root: PathBuf,
    /// Held while a file is hashed.
    hashing: tokio::sync::Mutex<()>,
    /// Names this server's temporary files (s3s-fs removes `.tmp.*.internal.part` at start).
    temporary_files: AtomicU64,
}

/// The size and modification time of a file, as stored in its info.
fn stamp(metadata: &std::fs::Metadata) -> Option<String> {
    let modified = metadata.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some(format!("{}-{}", metadata.len(), modified.as_nanos()))
}

async fn read_info(path: &Path) -> Option<Info> {
    let bytes = tokio::fs::read(path).await.ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn md5_hex(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut buffer = vec![0u8; 1 << 20];
    let mut md5 = Md5::new();
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            return Ok(hex::encode(md5.finalize()));
        }
        md5.update(&buffer[..n]);
    }
}

impl StoredETags {
    pub fn new(root: PathBuf) -> Self {
        StoredETags { root, hashing: tokio::sync::Mutex::new(()), temporary_files: AtomicU64::new(0) }
    }

    fn info_path(&self, bucket: &str, key: &str) -> PathBuf {
        let encode = |s: &str| base64_simd::URL_SAFE_NO_PAD.encode_to_string(s);
        self.root.join(format!(".bucket-{}.object-{}.internal.json", encode(bucket), encode(key)))
    }

    /// The info of `object` if it holds an ETag stamped for the file as it is.
    async fn current_info(&self, info_path: &Path, object: &Path) -> Option<(Info, String)> {
        let stamp = stamp(&tokio::fs::metadata(object).await.ok().filter(|m| m.is_file())?)?;
        let info = read_info(info_path).await?;
        let current = info.contains_key(E_TAG) && info.get(STAMP).and_then(|s| s.as_str()) == Some(stamp.as_str());
        current.then_some((info, stamp))
    }

    async fn write_info(&self, info_path: &Path, info: &Info) -> std::io::Result<()> {
        let n = self.temporary_files.fetch_add(1, Ordering::Relaxed);
        let temporary = self.root.join(format!(".tmp.ember-etag-{n}.internal.part"));
        tokio::fs::write(&temporary, serde_json::to_vec(info)?).await?;
        let renamed = tokio::fs::rename(&temporary, info_path).await;
        if renamed.is_err() {
            let _ = tokio::fs::remove_file(&temporary).await;
        }
        renamed
    }

    /// After `bucket/key` was written through S3: stamps the info s3s-fs
    /// stored with it, so that its ETag is trusted until the file changes.
    pub async fn stamp_written(&self, bucket: &str, key: &str, object: &Path) {
        let info_path = self.info_path(bucket, key);
        let Some(mut info) = read_info(&info_path).await.filter(|info| info.contains_key(E_TAG)) else { return };
        let Some(stamp) = tokio::fs::metadata(object).await.ok().as_ref().and_then(stamp) else { return };
        info.insert(STAMP.into(), stamp.into());
        if let Err(e) = self.write_info(&info_path, &info).await {
            tracing::warn!(bucket, key, error = %e, "cannot stamp the object's ETag");
        }
    }

    /// Before a read of `bucket/key` (the file `object`): makes sure its
    /// stored ETag is the file's, hashing the file if it is not.
    pub async fn ensure(&self, bucket: &str, key: &str, object: &Path) {
        let info_path = self.info_path(bucket, key);
        if self.current_info(&info_path, object).await.is_some() {
            return;
        }
        let _hashing = self.hashing.lock().await;
        if self.current_info(&info_path, object).await.is_some() {
            return;
        }
        let Some(stamp) = tokio::fs::metadata(object).await.ok().filter(|m| m.is_file()).as_ref().and_then(stamp)
        else {
            return;
        };
        let file = object.to_path_buf();
        let e_tag = match tokio::task::spawn_blocking(move || md5_hex(&file)).await {
            Ok(Ok(e_tag)) => e_tag,
            Ok(Err(e)) => return tracing::warn!(bucket, key, error = %e, "cannot hash the object's file"),
            Err(e) => return tracing::warn!(bucket, key, error = %e, "hashing the object's file failed"),
        };
        let mut info = Info::new();
        info.insert(E_TAG.into(), e_tag.into());
        info.insert(STAMP.into(), stamp.into());
        match self.write_info(&info_path, &info).await {
            Ok(()) => tracing::debug!(bucket, key, "stored the ETag of a file put in by hand"),
            Err(e) => tracing::warn!(bucket, key, error = %e, "cannot store the object's ETag"),
        }
    }
}
