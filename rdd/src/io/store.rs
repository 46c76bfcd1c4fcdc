//! The operations on a [`Location`], the same for local files and objects:
//! sizes, ranged and streamed reads, writes (multipart for large objects),
//! renames, recursive deletes and directory listings. All block the calling
//! thread; object-store requests run on the IO runtime.

use super::IoError;
use super::location::Location;
use super::options::StoreOptions;
use super::runtime::{block_on, describe, s3_store};
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::sync::Arc;

/// An object store, the path of an object in it, and how to describe its
/// errors.
struct Object {
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    url: Location,
    options: StoreOptions,
}

impl Object {
    fn of(url: &Location, options: &StoreOptions) -> Result<Option<Object>, IoError> {
        let Location::S3 { bucket, key } = url else { return Ok(None) };
        let store = s3_store(url, bucket, options)?;
        Ok(Some(Object { store, path: ObjectPath::from(key.as_str()), url: url.clone(), options: options.clone() }))
    }

    /// Runs one request built from the store and path, mapping its error.
    fn run<T: Send + 'static, F>(
        &self,
        request: impl FnOnce(Arc<dyn ObjectStore>, ObjectPath) -> F,
    ) -> Result<T, IoError>
    where
        F: std::future::Future<Output = object_store::Result<T>> + Send + 'static,
    {
        let future = request(self.store.clone(), self.path.clone());
        block_on(&self.url, future)?.map_err(|e| describe(&self.url, &self.options, e))
    }
}

/// The size of a file or object, or `None` if there is none at `url`.
pub fn head(url: &Location, options: &StoreOptions) -> Result<Option<u64>, IoError> {
    // A bucket's root or a key ending in `/` names a prefix, never an object.
    if let Location::S3 { key, .. } = url
        && (key.is_empty() || key.ends_with('/'))
    {
        return Ok(None);
    }
    match Object::of(url, options)? {
        Some(object) => match object.run(|store, path| async move { store.head(&path).await }) {
            Ok(meta) => Ok(Some(meta.size)),
            Err(e) if e.kind == std::io::ErrorKind::NotFound && !e.message.starts_with("no such bucket") => Ok(None),
            Err(e) => Err(e),
        },
        None => {
            let Location::Local(path) = url else { unreachable!("Object::of takes every remote location") };
            match std::fs::metadata(path) {
                Ok(meta) if meta.is_file() => Ok(Some(meta.len())),
                Ok(_) => Ok(None),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(IoError::from_io(url, &e)),
            }
        }
    }
}

/// Bytes `range` of a file or object.
pub fn read_range(url: &Location, options: &StoreOptions, range: Range<u64>) -> Result<Bytes, IoError> {
    if range.is_empty() {
        return Ok(Bytes::new());
    }
    match Object::of(url, options)? {
        Some(object) => object.run(move |store, path| async move { store.get_range(&path, range).await }),
        None => {
            let mut reader = open_reader(url, options, range.start)?;
            let mut buf = vec![0; (range.end - range.start) as usize];
            reader.read_exact(&mut buf).map_err(|e| IoError::from_io(url, &e))?;
            Ok(buf.into())
        }
    }
}

/// The whole file or object.
pub fn read_all(url: &Location, options: &StoreOptions) -> Result<Bytes, IoError> {
    match Object::of(url, options)? {
        Some(object) => object.run(|store, path| async move { store.get(&path).await?.bytes().await }),
        None => local_path(url).and_then(|p| std::fs::read(p).map(Bytes::from).map_err(|e| IoError::from_io(url, &e))),
    }
}

/// A reader of a file or object from byte `start` to its end. Objects are
/// fetched in ranged requests of [`WINDOW`] bytes, the next one in flight
/// while the current one is read; dropping the reader stops fetching.
pub fn open_reader(url: &Location, options: &StoreOptions, start: u64) -> Result<Box<dyn Read + Send>, IoError> {
    open_split_reader(url, options, start, u64::MAX)
}

/// [`open_reader`] for a reader that expects to stop near `end` (a split
/// that reads past its end only to finish its last line): beyond `end`,
/// objects are fetched in small requests, one at a time.
pub fn open_split_reader(
    url: &Location,
    options: &StoreOptions,
    start: u64,
    end: u64,
) -> Result<Box<dyn Read + Send>, IoError> {
    match Object::of(url, options)? {
        Some(object) => {
            let size =
                head(url, options)?.ok_or_else(|| IoError::new(url, std::io::ErrorKind::NotFound, "no such object"))?;
            Ok(Box::new(ObjectReader::new(object, start, size, end)))
        }
        None => {
            let path = local_path(url)?;
            let mut file = std::fs::File::open(path).map_err(|e| IoError::from_io(url, &e))?;
            if start > 0 {
                file.seek(SeekFrom::Start(start)).map_err(|e| IoError::from_io(url, &e))?;
            }
            Ok(Box::new(file))
        }
    }
}

/// Bytes fetched per ranged request when streaming an object.
pub const WINDOW: u64 = 8 << 20;
/// Bytes fetched per request past the end a split reader expects.
const TAIL_WINDOW: u64 = 64 << 10;

type Fetch = super::runtime::Pending<object_store::Result<Bytes>>;

struct ObjectReader {
    object: Object,
    /// Where the next window starts, and the object's size.
    next: u64,
    size: u64,
    /// Past here, small windows and no prefetching.
    expected_end: u64,
    current: Bytes,
    pending: Option<Fetch>,
    /// Why the next window could not be requested.
    failed: Option<IoError>,
}

impl ObjectReader {
    fn new(object: Object, start: u64, size: u64, expected_end: u64) -> Self {
        let next = start.min(size);
        let mut reader =
            ObjectReader { object, next, size, expected_end, current: Bytes::new(), pending: None, failed: None };
        reader.pending = reader.fetch_next();
        reader
    }

    /// Starts fetching the next window, if any is left.
    fn fetch_next(&mut self) -> Option<Fetch> {
        if self.next >= self.size {
            return None;
        }
        let window =
            if self.next < self.expected_end { WINDOW.min(self.expected_end - self.next) } else { TAIL_WINDOW };
        let range = self.next..(self.next + window).min(self.size);
        self.next = range.end;
        let (store, path) = (self.object.store.clone(), self.object.path.clone());
        let fetch = async move { store.get_range(&path, range).await };
        super::runtime::spawn(&self.object.url, fetch).map_err(|e| self.failed = Some(e)).ok()
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.current.is_empty() {
            if self.pending.is_none() && self.failed.is_none() {
                self.pending = self.fetch_next();
            }
            let Some(fetch) = self.pending.take() else {
                return match self.failed.take() {
                    Some(e) => Err(std::io::Error::new(e.kind, e.to_string())),
                    None => Ok(0),
                };
            };
            let url = &self.object.url;
            let bytes =
                super::runtime::wait(url, fetch).map_err(|e| std::io::Error::other(e.to_string()))?.map_err(|e| {
                    let e = describe(url, &self.object.options, e);
                    std::io::Error::new(e.kind, e.to_string())
                })?;
            self.current = bytes;
            // Read ahead while the caller is expected to go on.
            if self.next < self.expected_end {
                self.pending = self.fetch_next();
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

fn local_path(url: &Location) -> Result<&std::path::Path, IoError> {
    match url {
        Location::Local(path) => Ok(path),
        _ => Err(IoError::new(url, std::io::ErrorKind::Unsupported, "not a local path")),
    }
}

/// Writes a new file or object; nothing is visible at its location until
/// [`finish`](ObjectWriter::finish) (objects) or as it is written (files).
pub struct ObjectWriter {
    url: Location,
    sink: Sink,
}

enum Sink {
    File(std::io::BufWriter<std::fs::File>),
    Object(Box<ObjectSink>),
}

/// An object being uploaded.
struct ObjectSink {
    object: Object,
    buffer: Vec<u8>,
    /// `None` once an upload request failed.
    upload: Option<object_store::buffered::BufWriter>,
}

/// Bytes gathered before they are handed to the uploader (which sends
/// parts of a multipart upload once it has more than one part's worth).
const UPLOAD_CHUNK: usize = 8 << 20;

impl ObjectWriter {
    /// A writer of a new file (its directory made) or object at `url`.
    pub fn create(url: &Location, options: &StoreOptions) -> Result<ObjectWriter, IoError> {
        let sink = match Object::of(url, options)? {
            Some(object) => {
                let upload = object_store::buffered::BufWriter::with_capacity(
                    object.store.clone(),
                    object.path.clone(),
                    UPLOAD_CHUNK,
                );
                Sink::Object(Box::new(ObjectSink { object, buffer: Vec::new(), upload: Some(upload) }))
            }
            None => {
                let path = local_path(url)?;
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|e| IoError::from_io(url, &e))?;
                }
                let file = std::fs::File::create(path).map_err(|e| IoError::from_io(url, &e))?;
                Sink::File(std::io::BufWriter::with_capacity(1 << 20, file))
            }
        };
        Ok(ObjectWriter { url: url.clone(), sink })
    }

    /// Flushes everything and makes the object visible.
    pub fn finish(mut self) -> Result<(), IoError> {
        match &mut self.sink {
            Sink::File(file) => {
                file.flush().map_err(|e| IoError::from_io(&self.url, &e))?;
                Ok(())
            }
            Sink::Object(sink) => {
                sink.send_buffer().map_err(|e| IoError::from_io(&self.url, &e))?;
                let ObjectSink { object, upload, .. } = &mut **sink;
                let mut upload = upload
                    .take()
                    .ok_or_else(|| IoError::new(&self.url, std::io::ErrorKind::Other, "the upload already failed"))?;
                object.run(move |_, _| async move {
                    use tokio::io::AsyncWriteExt;
                    upload
                        .shutdown()
                        .await
                        .map_err(|e| object_store::Error::Generic { store: "S3", source: Box::new(e) })
                })
            }
        }
    }
}

impl ObjectSink {
    /// Hands the gathered bytes to the uploader.
    fn send_buffer(&mut self) -> std::io::Result<()> {
        let ObjectSink { object, buffer, upload } = self;
        if buffer.is_empty() {
            return Ok(());
        }
        let bytes = Bytes::from(std::mem::take(buffer));
        let mut writer = upload.take().ok_or_else(|| std::io::Error::other("the upload already failed"))?;
        let (writer, result) = object
            .run(move |_, _| async move {
                let result = writer.put(bytes).await;
                Ok((writer, result))
            })
            .map_err(|e| std::io::Error::new(e.kind, e.to_string()))?;
        result.map_err(|e| {
            let e = describe(&object.url, &object.options, e);
            std::io::Error::new(e.kind, e.to_string())
        })?;
        *upload = Some(writer);
        Ok(())
    }
}

impl Write for ObjectWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        match &mut self.sink {
            Sink::File(file) => file.write(data),
            Sink::Object(sink) => {
                sink.buffer.extend_from_slice(data);
                if sink.buffer.len() >= UPLOAD_CHUNK {
                    sink.send_buffer()?;
                }
                Ok(data.len())
            }
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.sink {
            Sink::File(file) => file.flush(),
            // Objects become visible only when finished.
            Sink::Object(_) => Ok(()),
        }
    }
}

/// Writes `bytes` as the whole new content of `url`.
pub fn write_all(url: &Location, options: &StoreOptions, bytes: impl Into<Bytes>) -> Result<(), IoError> {
    let bytes = bytes.into();
    match Object::of(url, options)? {
        Some(object) => object.run(move |store, path| async move { store.put(&path, bytes.into()).await }).map(drop),
        None => {
            let mut writer = ObjectWriter::create(url, options)?;
            writer.write_all(&bytes).map_err(|e| IoError::from_io(url, &e))?;
            writer.finish()
        }
    }
}

/// Moves a file or object (objects: copy, then delete).
pub fn rename(from: &Location, to: &Location, options: &StoreOptions) -> Result<(), IoError> {
    match (Object::of(from, options)?, to) {
        (Some(object), Location::S3 { key, .. }) => {
            let target = ObjectPath::from(key.as_str());
            object.run(move |store, path| async move { store.rename(&path, &target).await })
        }
        (None, Location::Local(target)) => {
            let source = local_path(from)?;
            if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| IoError::from_io(to, &e))?;
            }
            std::fs::rename(source, target).map_err(|e| IoError::from_io(from, &e))
        }
        _ => Err(IoError::new(from, std::io::ErrorKind::Unsupported, format!("cannot move it to {to}"))),
    }
}

/// Deletes a file, or a directory (prefix) and everything under it; nothing
/// there is not an error.
pub fn delete_all(url: &Location, options: &StoreOptions) -> Result<(), IoError> {
    match Object::of(url, options)? {
        Some(object) => {
            let Location::S3 { key, .. } = url else { unreachable!("an object is on S3") };
            let prefix = ObjectPath::from(key.trim_end_matches('/'));
            object.run(move |store, path| async move {
                let mut under: Vec<ObjectPath> =
                    store.list(Some(&prefix)).map_ok(|meta| meta.location).try_collect().await?;
                under.push(path);
                for p in under {
                    match store.delete(&p).await {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            })
        }
        None => {
            let path = local_path(url)?;
            let result = match std::fs::symlink_metadata(path) {
                Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
                Ok(_) => std::fs::remove_file(path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e),
            };
            result.map_err(|e| IoError::from_io(url, &e))
        }
    }
}

/// What is directly inside a directory or prefix.
#[derive(Debug, Default)]
pub struct DirListing {
    /// Files (objects) and their sizes, sorted.
    pub files: Vec<(Location, u64)>,
    /// Subdirectories (common prefixes).
    pub dirs: Vec<Location>,
}

impl DirListing {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.dirs.is_empty()
    }
}

/// The entries directly under `url`, or `None` if it is no directory (on
/// an object store: no object has it as a prefix).
pub fn list_dir(url: &Location, options: &StoreOptions) -> Result<Option<DirListing>, IoError> {
    match Object::of(url, options)? {
        Some(object) => {
            let Location::S3 { bucket, key } = url else { unreachable!("an object is on S3") };
            let prefix = key.trim_end_matches('/').to_string();
            let listing = object.run(move |store, _| async move {
                let prefix = (!prefix.is_empty()).then(|| ObjectPath::from(prefix.as_str()));
                store.list_with_delimiter(prefix.as_ref()).await
            })?;
            let at = |p: &ObjectPath| Location::S3 { bucket: bucket.clone(), key: p.to_string() };
            let mut out = DirListing {
                files: listing.objects.iter().map(|m| (at(&m.location), m.size)).collect(),
                dirs: listing.common_prefixes.iter().map(at).collect(),
            };
            out.files.sort();
            Ok((!out.is_empty() || key.is_empty()).then_some(out))
        }
        None => {
            let path = local_path(url)?;
            if !path.is_dir() {
                return Ok(None);
            }
            let io = |e: std::io::Error| IoError::from_io(url, &e);
            let mut out = DirListing::default();
            for entry in std::fs::read_dir(path).map_err(io)? {
                let entry = entry.map_err(io)?;
                let meta = entry.metadata().map_err(io)?;
                let location = Location::Local(entry.path());
                if meta.is_dir() {
                    out.dirs.push(location);
                } else if meta.is_file() {
                    out.files.push((location, meta.len()));
                }
            }
            out.files.sort();
            out.dirs.sort();
            Ok(Some(out))
        }
    }
}
