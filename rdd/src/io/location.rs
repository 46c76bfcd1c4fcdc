//! [`Location`]: a parsed path or URL.

use crate::error::EmberError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// Where a file, a directory or an object prefix is: on a local (or
/// mounted) file system, or in an S3 bucket. Parsed from what the user
/// wrote: a bare path, `file:///abs/path`, or `s3://bucket/key` (`s3a://`,
/// Hadoop's spelling, is accepted too).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Location {
    Local(PathBuf),
    /// `key` has no leading `/`; empty for the bucket's root.
    S3 {
        bucket: String,
        key: String,
    },
}

impl Location {
    /// Parses a path or URL; an unknown scheme or an `s3://` URL without a
    /// bucket is an error naming it.
    pub fn parse(text: &str) -> Result<Location, EmberError> {
        let invalid = |why: &str| EmberError::InvalidArgument(format!("{text}: {why}"));
        let Some((scheme, rest)) = text.split_once("://") else {
            if text.is_empty() {
                return Err(invalid("an empty path"));
            }
            return Ok(Location::Local(PathBuf::from(text)));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "file" => {
                if !rest.starts_with('/') {
                    return Err(invalid("a file:// URL needs an absolute path (file:///data/x.txt)"));
                }
                Ok(Location::Local(PathBuf::from(rest)))
            }
            "s3" | "s3a" => {
                let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(invalid("an s3:// URL needs a bucket (s3://bucket/key)"));
                }
                Ok(Location::S3 { bucket: bucket.to_string(), key: key.trim_start_matches('/').to_string() })
            }
            other => Err(invalid(&format!(
                "unsupported scheme '{other}://' (Ember reads and writes bare paths, file:// and s3:// URLs)"
            ))),
        }
    }

    /// The location of `name` inside this directory or prefix.
    pub fn join(&self, name: &str) -> Location {
        match self {
            Location::Local(path) => Location::Local(path.join(name)),
            Location::S3 { bucket, key } => {
                let key = key.trim_end_matches('/');
                let key = if key.is_empty() { name.to_string() } else { format!("{key}/{name}") };
                Location::S3 { bucket: bucket.clone(), key }
            }
        }
    }

    /// The last component of the path or key ("" for a bucket's root).
    pub fn file_name(&self) -> String {
        match self {
            Location::Local(path) => path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            Location::S3 { key, .. } => key.trim_end_matches('/').rsplit('/').next().unwrap_or("").to_string(),
        }
    }

    /// Whether this is on the local file system.
    pub fn is_local(&self) -> bool {
        matches!(self, Location::Local(_))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(path) => write!(f, "{}", path.display()),
            Location::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
        }
    }
}

/// What an API that takes a place to read or write accepts: a `&str` or
/// `String` path or URL, a `Path`/`PathBuf`, or a [`Location`].
pub trait AsLocation {
    fn as_location(&self) -> Result<Location, EmberError>;
}

impl AsLocation for str {
    fn as_location(&self) -> Result<Location, EmberError> {
        Location::parse(self)
    }
}
impl AsLocation for String {
    fn as_location(&self) -> Result<Location, EmberError> {
        Location::parse(self)
    }
}
impl AsLocation for std::path::Path {
    /// A path is local, unless its text is a URL.
    fn as_location(&self) -> Result<Location, EmberError> {
        match self.to_str() {
            Some(text) => Location::parse(text),
            None => Ok(Location::Local(self.to_path_buf())),
        }
    }
}
impl AsLocation for PathBuf {
    fn as_location(&self) -> Result<Location, EmberError> {
        self.as_path().as_location()
    }
}
impl AsLocation for Location {
    fn as_location(&self) -> Result<Location, EmberError> {
        Ok(self.clone())
    }
}
impl<T: AsLocation + ?Sized> AsLocation for &T {
    fn as_location(&self) -> Result<Location, EmberError> {
        (**self).as_location()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths_and_urls() {
        assert_eq!(Location::parse("data/x.txt").unwrap(), Location::Local("data/x.txt".into()));
        assert_eq!(Location::parse("file:///tmp/x").unwrap(), Location::Local("/tmp/x".into()));
        let s3 = Location::parse("s3://bucket/dir/x.txt").unwrap();
        assert_eq!(s3, Location::S3 { bucket: "bucket".into(), key: "dir/x.txt".into() });
        assert_eq!(s3.to_string(), "s3://bucket/dir/x.txt");
        assert_eq!(s3.file_name(), "x.txt");
        assert_eq!(Location::parse("s3a://b").unwrap(), Location::S3 { bucket: "b".into(), key: String::new() });
        assert_eq!(Location::parse("s3://b/").unwrap().join("part-00000").to_string(), "s3://b/part-00000");
        assert_eq!(Location::parse("s3://b/out/").unwrap().join("_SUCCESS").to_string(), "s3://b/out/_SUCCESS");
    }

    #[test]
    fn refuses_what_it_cannot_reach_naming_it() {
        for bad in ["hdfs://nn/x", "s3:///key", "file://relative", ""] {
            let err = Location::parse(bad).unwrap_err().to_string();
            assert!(err.contains(bad), "{err}");
        }
    }
}
