//! Reading the shared secret of drivers and daemons from a file, the same way
//! on both sides (the daemon's `--auth-secret-file`, the driver's
//! `ember.auth.secretFile`), so that one file works for both.
//!
//! The secret is the file's bytes, any bytes (e.g. `head -c 32 /dev/urandom`),
//! less one trailing line end (`\n` or `\r\n`) as editors and `echo` add.
//! Nothing else is trimmed: a secret that is not text stays as it is.

use std::path::Path;

/// Why a secret file gives no secret; the caller names the flag or key and
/// the path in front of it.
#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    #[error("{0}")]
    Read(#[from] std::io::Error),
    #[error("the file is empty (after its trailing line end): write the shared secret in it")]
    Empty,
}

/// The secret in the file at `path`.
pub fn read(path: &Path) -> Result<Vec<u8>, SecretFileError> {
    let mut bytes = std::fs::read(path)?;
    if bytes.ends_with(b"\n") {
        bytes.pop();
        if bytes.ends_with(b"\r") {
            bytes.pop();
        }
    }
    if bytes.is_empty() {
        return Err(SecretFileError::Empty);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret_of(contents: &[u8]) -> Result<Vec<u8>, SecretFileError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, contents).unwrap();
        read(&path)
    }

    #[test]
    fn any_bytes_less_one_line_end() {
        assert_eq!(secret_of(b"s3cret").unwrap(), b"s3cret");
        assert_eq!(secret_of(b"s3cret\n").unwrap(), b"s3cret");
        assert_eq!(secret_of(b"s3cret\r\n").unwrap(), b"s3cret");
        assert_eq!(secret_of(b"s3cret\n\n").unwrap(), b"s3cret\n");
        assert_eq!(secret_of(b" s3cret \r").unwrap(), b" s3cret \r");
        assert_eq!(secret_of(&[0xff, 0x00, 0x80, b'\n']).unwrap(), [0xff, 0x00, 0x80]);
    }

    #[test]
    fn an_empty_or_missing_file_is_an_error() {
        for empty in [&b""[..], b"\n", b"\r\n"] {
            assert!(matches!(secret_of(empty), Err(SecretFileError::Empty)), "{empty:?}");
        }
        let missing = read(Path::new("/no/such/secret")).unwrap_err();
        assert!(matches!(missing, SecretFileError::Read(_)), "{missing}");
    }
}
