//! Input listing: what a path, a directory or a glob names, on disk or on
//! an object store, as Hadoop's `FileInputFormat.listStatus` does.
//!
//! - a file or object: itself;
//! - a directory or prefix: the files directly in it whose names do not
//!   start with `.` or `_` (so `_SUCCESS` and `.crc` files are skipped); an
//!   existing directory without such files is an empty input;
//! - a glob (`*`, `?`, `[..]` in the path): the files it matches (`*` does
//!   not cross `/`);
//! - anything else is an error naming what was asked for.

use super::IoError;
use super::location::Location;
use super::options::StoreOptions;
use super::store::{head, list_dir};
use crate::error::EmberError;
use serde::{Deserialize, Serialize};

/// One input file and its size in bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    pub location: Location,
    pub size: u64,
}

/// The files `pattern` names (see the module docs), sorted.
pub fn list_input_files(pattern: &str, options: &StoreOptions) -> Result<Vec<InputFile>, EmberError> {
    let location = Location::parse(pattern)?;
    // What exists by this name comes first: `out/local[2]` may be a
    // directory, not a glob.
    let mut files = match head(&location, options)? {
        Some(size) => vec![InputFile { location, size }],
        None => match list_dir(&location, options)? {
            Some(listing) => visible(listing.files),
            None if glob_start(&location).is_some() => glob_files(&location, options)?,
            None => return Err(missing(pattern)),
        },
    };
    files.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(files)
}

fn missing(pattern: &str) -> EmberError {
    IoError::new(pattern, std::io::ErrorKind::NotFound, "input path does not exist or matches no file").into()
}

/// The listed files whose names are not hidden.
fn visible(files: Vec<(Location, u64)>) -> Vec<InputFile> {
    files
        .into_iter()
        .filter(|(location, _)| !location.file_name().starts_with(['.', '_']))
        .map(|(location, size)| InputFile { location, size })
        .collect()
}

/// Where the first glob character of the path or key is, if any.
fn glob_start(location: &Location) -> Option<usize> {
    let text = match location {
        Location::Local(path) => path.to_string_lossy().into_owned(),
        Location::S3 { key, .. } => key.clone(),
    };
    text.find(['*', '?', '['])
}

fn glob_files(location: &Location, options: &StoreOptions) -> Result<Vec<InputFile>, EmberError> {
    let shown = location.to_string();
    let bad = |e: &dyn std::fmt::Display| EmberError::InvalidArgument(format!("{shown}: {e}"));
    let files = match location {
        Location::Local(path) => {
            let mut files = Vec::new();
            for m in glob::glob(&path.to_string_lossy()).map_err(|e| bad(&e))? {
                let m = m.map_err(|e| bad(&e))?;
                if let Ok(meta) = std::fs::metadata(&m)
                    && meta.is_file()
                {
                    files.push(InputFile { location: Location::Local(m), size: meta.len() });
                }
            }
            files
        }
        Location::S3 { bucket, key } => {
            let pattern = glob::Pattern::new(key).map_err(|e| bad(&e))?;
            let matching = glob::MatchOptions { require_literal_separator: true, ..Default::default() };
            // Walk down from the deepest directory without a glob character.
            let fixed = &key[..glob_start(location).unwrap_or(key.len())];
            let base = fixed.rfind('/').map(|i| &key[..i]).unwrap_or("");
            let mut files = Vec::new();
            let mut dirs = vec![Location::S3 { bucket: bucket.clone(), key: base.to_string() }];
            let depth = key.matches('/').count();
            while let Some(dir) = dirs.pop() {
                let Some(listing) = list_dir(&dir, options)? else { continue };
                for (file, size) in listing.files {
                    if let Location::S3 { key, .. } = &file
                        && pattern.matches_with(key, matching)
                    {
                        files.push(InputFile { location: file, size });
                    }
                }
                for sub in listing.dirs {
                    let within = matches!(&sub, Location::S3 { key, .. } if key.trim_end_matches('/').matches('/').count() < depth);
                    if within {
                        dirs.push(sub);
                    }
                }
            }
            files
        }
    };
    if files.is_empty() {
        return Err(missing(&shown));
    }
    Ok(files)
}
