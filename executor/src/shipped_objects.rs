//! Code objects a driver ships to its backend (ADR 0009).
//!
//! A REPL's closures live in the shared object of the cell that defined
//! them. A backend on the driver's host loads that object from the driver's
//! path; a backend a daemon started may be on another host, so its driver
//! sends each object it needs once, in `PutCodeObject` pieces on the control
//! stream, before the first stage plan that names it. The pieces go to
//! `<dir>/<sha256>.so.part`, hashed as they arrive; after the last one the
//! file is renamed to `<sha256>.so` only if its SHA-256 is the announced one.
//! A refused or broken object is simply absent: the stage naming it then
//! fails to decode with an error saying no copy was shipped.

use ember_proto::v1 as pb;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

/// Objects being received, by SHA-256.
pub struct ShippedObjects {
    dir: PathBuf,
    pending: Mutex<HashMap<String, Pending>>,
}

struct Pending {
    file: std::fs::File,
    path: PathBuf,
    hasher: Sha256,
}

impl ShippedObjects {
    pub fn new(dir: PathBuf) -> Self {
        ShippedObjects { dir, pending: Mutex::new(HashMap::new()) }
    }

    /// Takes one piece; the object is in place once `Ok(Some(path))` is returned.
    pub fn put(&self, piece: pb::PutCodeObject) -> Result<Option<PathBuf>, String> {
        let sha = piece.sha256;
        if sha.len() != 64 || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!("'{sha}' is not a SHA-256"));
        }
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if !pending.contains_key(&sha) {
            std::fs::create_dir_all(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
            let path = self.dir.join(format!("{sha}.so.part"));
            let file = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            pending.insert(sha.clone(), Pending { file, path, hasher: Sha256::new() });
        }
        let Some(entry) = pending.get_mut(&sha) else { return Err("lost an object being received".into()) };
        entry.hasher.update(&piece.data);
        let written = entry.file.write_all(&piece.data).map_err(|e| format!("{}: {e}", entry.path.display()));
        if written.is_err() || piece.last {
            let Some(done) = pending.remove(&sha) else { return Err("lost an object being received".into()) };
            return written.and_then(|()| self.finish(done, &sha)).map(Some).inspect_err(|_| {
                let _ = std::fs::remove_file(self.dir.join(format!("{sha}.so.part")));
            });
        }
        Ok(None)
    }

    fn finish(&self, done: Pending, sha: &str) -> Result<PathBuf, String> {
        let Pending { mut file, path, hasher } = done;
        file.flush().map_err(|e| format!("{}: {e}", path.display()))?;
        let actual = format!("{:x}", hasher.finalize());
        if actual != sha {
            return Err(format!("the shipped code object's SHA-256 is {actual}, not the announced {sha}"));
        }
        let target = self.dir.join(format!("{sha}.so"));
        std::fs::rename(&path, &target).map_err(|e| format!("{}: {e}", target.display()))?;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(data: &[u8]) -> String {
        format!("{:x}", Sha256::digest(data))
    }

    fn piece(sha256: &str, data: &[u8], last: bool) -> pb::PutCodeObject {
        pb::PutCodeObject { sha256: sha256.to_string(), data: data.to_vec(), last }
    }

    #[test]
    fn an_object_shipped_in_pieces_is_kept_by_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        let objects = ShippedObjects::new(dir.path().join("objects"));
        let id = sha(b"hello, object");
        assert_eq!(objects.put(piece(&id, b"hello, ", false)).unwrap(), None);
        let kept = objects.put(piece(&id, b"object", true)).unwrap().unwrap();
        assert_eq!(kept, dir.path().join("objects").join(format!("{id}.so")));
        assert_eq!(std::fs::read(kept).unwrap(), b"hello, object");
    }

    #[test]
    fn an_object_whose_hash_differs_is_refused_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let objects = ShippedObjects::new(dir.path().to_path_buf());
        let id = sha(b"what was announced");
        let err = objects.put(piece(&id, b"something else", true)).unwrap_err();
        assert!(err.contains("not the announced"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing left behind");
        assert!(objects.put(piece("../etc", b"x", true)).unwrap_err().contains("not a SHA-256"));
    }
}
