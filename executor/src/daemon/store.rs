//! The daemon's store of application binaries, by SHA-256.
//!
//! An upload goes to `uploads/<ticket>.part` while it is hashed; only when
//! its SHA-256 matches the one the driver announced is it renamed into
//! `binaries/<sha256>` (executable). A binary is uploaded once per daemon and
//! reused by every later application that runs it.
//!
//! The runtime library a hosted cell object needs (`libstd-<hash>.so`, ADR
//! 0009) is kept the same way, as `runtimes/<sha256>/<its name>`: a
//! directory per library, put on the hosting backend's library path so that
//! the object's dependency on that name is found.

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct BinaryStore {
    binaries: PathBuf,
    runtimes: PathBuf,
    uploads: PathBuf,
}

/// An upload in progress.
pub struct PendingUpload {
    file: std::fs::File,
    path: PathBuf,
    hasher: Sha256,
    bytes: u64,
}

impl BinaryStore {
    /// Opens the store under `work_dir`, dropping unfinished uploads.
    pub fn open(work_dir: &Path) -> std::io::Result<Self> {
        let (binaries, uploads) = (work_dir.join("binaries"), work_dir.join("uploads"));
        let runtimes = work_dir.join("runtimes");
        let _ = std::fs::remove_dir_all(&uploads);
        std::fs::create_dir_all(&binaries)?;
        std::fs::create_dir_all(&runtimes)?;
        std::fs::create_dir_all(&uploads)?;
        Ok(BinaryStore { binaries, runtimes, uploads })
    }

    fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        is_sha256(sha256).then(|| self.binaries.join(sha256))
    }

    /// Where the runtime library `name` with this SHA-256 is (or would be).
    pub fn runtime_path(&self, sha256: &str, name: &str) -> Result<PathBuf, String> {
        if !is_sha256(sha256) {
            return Err(format!("'{sha256}' is not a SHA-256"));
        }
        let plain = name.starts_with("lib")
            && name.ends_with(".so")
            && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !plain {
            return Err(format!("'{name}' is not the file name of a shared library"));
        }
        Ok(self.runtimes.join(sha256).join(name))
    }

    /// The directory holding the stored runtime library `name` with this
    /// SHA-256, if it is stored.
    pub fn runtime_dir(&self, sha256: &str, name: &str) -> Option<PathBuf> {
        let path = self.runtime_path(sha256, name).ok().filter(|p| p.is_file())?;
        path.parent().map(Path::to_path_buf)
    }

    /// The stored binary with this SHA-256, if any.
    pub fn get(&self, sha256: &str) -> Option<PathBuf> {
        self.path_of(sha256).filter(|p| p.is_file())
    }

    pub fn begin(&self, ticket: &str) -> std::io::Result<PendingUpload> {
        let path = self.uploads.join(format!("{ticket}.part"));
        Ok(PendingUpload { file: std::fs::File::create(&path)?, path, hasher: Sha256::new(), bytes: 0 })
    }

    /// Completes an upload: keeps it only if its hash is `sha256`.
    pub fn finish(&self, upload: PendingUpload, sha256: &str) -> Result<(PathBuf, u64), String> {
        let target = self.path_of(sha256).ok_or_else(|| format!("'{sha256}' is not a SHA-256"))?;
        keep(upload, sha256, &target, "binary")
    }

    /// Completes the upload of a hosted object's runtime library `name`.
    pub fn finish_runtime(&self, upload: PendingUpload, sha256: &str, name: &str) -> Result<(PathBuf, u64), String> {
        let target = self.runtime_path(sha256, name)?;
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        keep(upload, sha256, &target, "runtime library")
    }
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// Moves a finished upload to `target` if its hash is `sha256`; removes it otherwise.
fn keep(mut upload: PendingUpload, sha256: &str, target: &Path, what: &str) -> Result<(PathBuf, u64), String> {
    let actual = format!("{:x}", upload.hasher.finalize_reset());
    let kept = (|| {
        upload.file.flush().map_err(|e| e.to_string())?;
        if actual != sha256 {
            return Err(format!("the uploaded {what}'s SHA-256 is {actual}, not the announced {sha256}"));
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&upload.path, std::fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
        std::fs::rename(&upload.path, target).map_err(|e| e.to_string())
    })();
    if kept.is_err() {
        let _ = std::fs::remove_file(&upload.path);
    }
    kept.map(|_| (target.to_path_buf(), upload.bytes))
}

impl PendingUpload {
    pub fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.hasher.update(data);
        self.bytes += data.len() as u64;
        self.file.write_all(data)
    }
}

/// Abandons an upload (its file is removed).
impl Drop for PendingUpload {
    fn drop(&mut self) {
        if self.path.exists() && self.path.extension().is_some_and(|e| e == "part") {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
