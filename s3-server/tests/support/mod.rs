//! A real `ember-s3-server` for tests: the crate's own binary, started on
//! 127.0.0.1 with a fresh temporary root, a free port and random keys, and
//! stopped (SIGTERM, then SIGKILL if it hangs) when dropped.
//!
//! The server prints `listening on http://HOST:PORT` as its first stdout
//! line; [`S3TestServer::start`] reads that line (with a time limit), so a
//! test never guesses a port or sleeps while the server starts. Its log
//! goes to a file in the temporary directory and is printed if it fails
//! to start.
//!
//! Objects are set up either through S3 ([`S3TestServer::client`], the
//! `object_store` client Ember itself uses) or by writing files into the
//! root ([`S3TestServer::write_object_file`]), which s3s-fs serves as
//! objects as they are.

// Each test binary that includes this module uses a part of it.
#![allow(dead_code)]

use object_store::aws::{AmazonS3, AmazonS3Builder};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a server may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a server may take to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// The region clients sign for (s3s-fs accepts any).
pub const REGION: &str = "us-east-1";

/// A running server; stopped when dropped.
pub struct S3TestServer {
    child: Option<Child>,
    dir: tempfile::TempDir,
    endpoint: String,
    access_key: String,
    secret_key: String,
}

/// Random keys, different for every server.
fn random_key(prefix: &str) -> String {
    format!("{prefix}{:016x}{:016x}", rand::random::<u64>(), rand::random::<u64>())
}

impl S3TestServer {
    /// A server with `buckets` created at start.
    pub fn start(buckets: &[&str]) -> S3TestServer {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let access_key = random_key("AK");
        let secret_key = random_key("");
        let log_path = dir.path().join("server.log");
        let log = std::fs::File::create(&log_path).expect("the server's log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_ember-s3-server"));
        command
            .arg("--root")
            .arg(dir.path().join("root"))
            .args(["--host", "127.0.0.1", "--port", "0", "--access-key", &access_key])
            .env("EMBER_S3_SECRET_KEY", &secret_key)
            .env("EMBER_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        for bucket in buckets {
            command.args(["--bucket", bucket]);
        }
        let mut child = command.spawn().expect("ember-s3-server starts");
        let stdout = child.stdout.take().expect("the server's stdout is piped");
        let endpoint = match first_line_within(stdout, START_TIMEOUT) {
            Some(line) => match line.strip_prefix("listening on ") {
                Some(url) => url.trim().to_string(),
                None => fail_start(&mut child, &log_path, &format!("its first line was {line:?}")),
            },
            None => fail_start(&mut child, &log_path, "it printed no address"),
        };
        S3TestServer { child: Some(child), dir, endpoint, access_key, secret_key }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// The `ember.s3.*` settings that reach this server (path-style and
    /// plain HTTP follow from the `http://` endpoint).
    pub fn ember_settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ember.s3.endpoint", self.endpoint.clone()),
            ("ember.s3.region", REGION.to_string()),
            ("ember.s3.accessKeyId", self.access_key.clone()),
            ("ember.s3.secretAccessKey", self.secret_key.clone()),
        ]
    }

    /// The directory that holds the buckets.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// A scratch directory beside the root, removed with the server.
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }

    /// An `object_store` client of `bucket` with the server's keys.
    pub fn client(&self, bucket: &str) -> AmazonS3 {
        self.client_with_keys(bucket, &self.access_key, &self.secret_key)
    }

    /// An `object_store` client of `bucket` signing with the given keys.
    pub fn client_with_keys(&self, bucket: &str, access_key: &str, secret_key: &str) -> AmazonS3 {
        install_crypto_provider();
        AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region(REGION)
            .with_bucket_name(bucket)
            .with_access_key_id(access_key)
            .with_secret_access_key(secret_key)
            .build()
            .expect("an S3 client of the test server")
    }

    /// Writes `bytes` as object `bucket/key` straight into the root (the
    /// way a mounted volume is filled), creating the bucket if needed.
    pub fn write_object_file(&self, bucket: &str, key: &str, bytes: &[u8]) -> PathBuf {
        let path = self.root().join(bucket).join(key);
        let dir = path.parent().expect("an object's file has a directory");
        std::fs::create_dir_all(dir).expect("the object's directory");
        std::fs::write(&path, bytes).expect("the object's file");
        path
    }

    /// Stops the server with SIGTERM and returns how it exited.
    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("the server runs until stopped once");
        let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
        // SAFETY: kill(2) on our own child, which is not reaped before the
        // waiting thread below reaps it.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let (status_tx, status_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = status_tx.send(child.wait());
        });
        match status_rx.recv_timeout(STOP_TIMEOUT) {
            Ok(status) => status.expect("waiting for the server"),
            Err(_) => {
                // SAFETY: as above; the waiting thread still has not reaped it.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                panic!("ember-s3-server did not exit within {STOP_TIMEOUT:?} of SIGTERM");
            }
        }
    }
}

impl Drop for S3TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// reqwest's rustls has no crypto provider of its own in this workspace
/// (ring is the process's, as Ember installs it); installing it twice is
/// harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The first line `stdout` gives within `timeout` (read on a thread of its
/// own, so a silent server cannot block the test).
fn first_line_within(stdout: std::process::ChildStdout, timeout: Duration) -> Option<String> {
    let (line_tx, line_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let _ = line_tx.send(read.ok().filter(|n| *n > 0).map(|_| line));
    });
    line_rx.recv_timeout(timeout).ok().flatten()
}

fn fail_start(child: &mut Child, log_path: &Path, why: &str) -> ! {
    let _ = child.kill();
    let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
    let log = std::fs::read_to_string(log_path).unwrap_or_default();
    panic!("ember-s3-server did not start ({why}; {status}); its log:\n{log}");
}
