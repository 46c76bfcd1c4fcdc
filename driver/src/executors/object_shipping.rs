//! Shipping a REPL's code objects to a backend on another host (ADR 0009).
//!
//! A backend on the driver's host loads a cell's object from the driver's
//! path. A backend an executor daemon started cannot count on that path, so
//! before a stage plan goes down its control stream, every code object the
//! plan names that this backend has not been sent goes first, as
//! `PutCodeObject` pieces; the backend keeps it by hash (`ember_executor::
//! shipped_objects`). Objects are read from the driver's file when needed
//! and checked against the hash the plan names, so a file changed since it
//! was loaded is refused here, not shipped.
//!
//! The file is read on the scheduler's thread, once per object and backend:
//! a cell object is some tens of MB, in the page cache (the compiler just
//! wrote it and the driver hashed it), and a REPL runs one job at a time.

use ember_proto::v1 as pb;
use ember_rdd::EmberError;
use ember_rdd::code_objects::CodeObject;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::Mutex;

/// The size of one `PutCodeObject` piece.
const PIECE_BYTES: usize = 4 << 20;

/// The code objects one backend has been sent.
#[derive(Default)]
pub struct ShippedObjects {
    sent: Mutex<HashSet<String>>,
}

impl ShippedObjects {
    /// The pieces of the objects in `needed` not sent yet (marked sent).
    pub fn pieces_to_send(&self, needed: &[CodeObject]) -> Result<Vec<pb::PutCodeObject>, EmberError> {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        let mut pieces = Vec::new();
        for object in needed {
            if sent.contains(&object.sha256) {
                continue;
            }
            pieces.extend(pieces_of(object)?);
            sent.insert(object.sha256.clone());
        }
        Ok(pieces)
    }
}

/// `object`'s file in pieces, after checking it still has its hash.
fn pieces_of(object: &CodeObject) -> Result<Vec<pb::PutCodeObject>, EmberError> {
    let bytes = std::fs::read(&object.path)
        .map_err(|error| EmberError::Io { path: object.path.display().to_string(), error })?;
    let actual = format!("{:x}", Sha256::digest(&bytes));
    if actual != object.sha256 {
        return Err(EmberError::Executor(format!(
            "code object {} changed since it was loaded (SHA-256 {actual}, loaded {}): it cannot be shipped",
            object.path.display(),
            object.sha256
        )));
    }
    let count = bytes.len().div_ceil(PIECE_BYTES).max(1);
    let pieces = (0..count).map(|i| pb::PutCodeObject {
        sha256: object.sha256.clone(),
        data: bytes[(i * PIECE_BYTES).min(bytes.len())..((i + 1) * PIECE_BYTES).min(bytes.len())].to_vec(),
        last: i + 1 == count,
    });
    Ok(pieces.collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object_of(bytes: &[u8]) -> (tempfile::TempDir, CodeObject) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("code_7.so");
        std::fs::write(&path, bytes).unwrap();
        let sha256 = format!("{:x}", Sha256::digest(bytes));
        (dir, CodeObject { sha256, path })
    }

    #[test]
    fn each_object_goes_once_per_backend_in_pieces_that_end_with_the_last() {
        let content: Vec<u8> = (0..PIECE_BYTES * 2 + 5).map(|i| i as u8).collect();
        let (_dir, object) = object_of(&content);
        let shipped = ShippedObjects::default();
        let pieces = shipped.pieces_to_send(std::slice::from_ref(&object)).unwrap();
        assert_eq!(pieces.len(), 3);
        assert_eq!(pieces.iter().map(|p| p.last).collect::<Vec<_>>(), [false, false, true]);
        assert_eq!(pieces.iter().flat_map(|p| p.data.clone()).collect::<Vec<_>>(), content);
        assert!(shipped.pieces_to_send(&[object.clone(), object]).unwrap().is_empty(), "sent already");
    }

    #[test]
    fn an_empty_object_is_one_last_piece_and_a_changed_one_is_refused() {
        let (_dir, object) = object_of(b"");
        let pieces = ShippedObjects::default().pieces_to_send(std::slice::from_ref(&object)).unwrap();
        assert_eq!(pieces.len(), 1);
        assert!(pieces[0].last && pieces[0].data.is_empty());
        let (_dir, object) = object_of(b"the cell as loaded");
        std::fs::write(&object.path, b"rebuilt since").unwrap();
        let shipped = ShippedObjects::default();
        let err = shipped.pieces_to_send(std::slice::from_ref(&object)).unwrap_err().to_string();
        assert!(err.contains("changed since it was loaded") && err.contains("code_7.so"), "{err}");
        assert!(shipped.sent.lock().unwrap().is_empty(), "a refused object is not marked sent");
    }
}
