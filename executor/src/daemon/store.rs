//! The daemon's store of application binaries, by SHA-256.
//!
//! An upload goes to `uploads/<ticket>.part` while it is hashed; only when
//! its SHA-256 matches the one the driver announced is it renamed into
//! `binaries/<sha256>` (executable). A binary is uploaded once per daemon and
//! reused by every later application that runs it.

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct BinaryStore {
    binaries: PathBuf,
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
        let _ = std::fs::remove_dir_all(&uploads);
        std::fs::create_dir_all(&binaries)?;
        std::fs::create_dir_all(&uploads)?;
        Ok(BinaryStore { binaries, uploads })
    }

    fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        let valid = sha256.len() == 64 && sha256.chars().all(|c| c.is_ascii_hexdigit());
        valid.then(|| self.binaries.join(sha256))
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
    pub fn finish(&self, mut upload: PendingUpload, sha256: &str) -> Result<(PathBuf, u64), String> {
        let actual = format!("{:x}", upload.hasher.finalize_reset());
        let target = self.path_of(sha256).ok_or_else(|| format!("'{sha256}' is not a SHA-256"))?;
        let kept = (|| {
            upload.file.flush().map_err(|e| e.to_string())?;
            if actual != sha256 {
                return Err(format!("the uploaded binary's SHA-256 is {actual}, not the announced {sha256}"));
            }
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&upload.path, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| e.to_string())?;
            std::fs::rename(&upload.path, &target).map_err(|e| e.to_string())
        })();
        if kept.is_err() {
            let _ = std::fs::remove_file(&upload.path);
        }
        kept.map(|_| (target, upload.bytes))
    }
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
