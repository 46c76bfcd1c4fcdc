//! `ember-executor` daemons on 127.0.0.1 for the tests of `ember://` masters
//! (standalone.rs, tls.rs).
//!
//! The daemon is a binary of another package, and these tests never run cargo
//! themselves (a nested build in CI fought over the build directory and
//! needed a second set of artifacts): `cargo test --workspace` builds it,
//! because `ember-executor` has integration tests of its own, and cargo builds
//! a package's binaries before any test runs. `EMBER_EXECUTOR_BIN` points
//! elsewhere (e.g. a release build).

// Each test binary that includes this module uses a part of it.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The daemon binary beside this test's directory (`target/debug`), or
/// `EMBER_EXECUTOR_BIN`; a missing one is a failure that says what to run.
pub fn daemon_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("EMBER_EXECUTOR_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test's own path");
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps").to_path_buf();
    let bin = dir.join("ember-executor");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo test --workspace` (it builds the daemon), or `cargo build -p ember-executor` \
         before `cargo test -p ember`",
        bin.display()
    );
    bin
}

/// A running daemon, killed when dropped.
pub struct Daemon {
    pub child: Child,
    pub port: u16,
    pub work: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A daemon with `secret` on `port`, working in `work`, with `extra_args`
/// (e.g. `--tls-cert FILE --tls-key FILE`); returns once it listens.
pub fn start_daemon(work: &Path, secret: &str, port: u16, extra_args: &[&OsStr]) -> Daemon {
    start_daemon_logging_to(work, secret, port, extra_args, Stdio::inherit(), "warn")
}

/// As [`start_daemon`], with the daemon's (and its backends') log going to
/// `log` at the `EMBER_LOG` level `level`.
pub fn start_daemon_logging_to(
    work: &Path,
    secret: &str,
    port: u16,
    extra_args: &[&OsStr],
    log: Stdio,
    level: &str,
) -> Daemon {
    // 20 s for a driver to attach, unless the test says otherwise.
    let attach_timeout: &[&str] =
        if extra_args.iter().any(|a| *a == "--attach-timeout") { &[] } else { &["--attach-timeout", "20"] };
    let mut child = Command::new(daemon_binary())
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--cores", "2"])
        .args(attach_timeout)
        .arg("--work-dir")
        .arg(work)
        .args(extra_args)
        .env("EMBER_AUTH_SECRET", secret)
        .env("EMBER_LOG", level)
        .stdin(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("daemon starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "daemon did not listen");
        if let Ok(Some(status)) = child.try_wait() {
            panic!("daemon exited: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Daemon { child, port, work: work.to_path_buf() }
}

/// `ember://127.0.0.1:<port>,…` for `daemons`.
pub fn master(daemons: &[&Daemon]) -> String {
    format!("ember://{}", daemons.iter().map(|d| format!("127.0.0.1:{}", d.port)).collect::<Vec<_>>().join(","))
}

/// Child processes of `pid` (of any of its threads).
pub fn children(pid: u32) -> Vec<u32> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten();
    tasks
        .flat_map(|t| {
            std::fs::read_to_string(t.path().join("children"))
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter_map(|p| p.parse().ok())
        .collect()
}
