//! The `ember-executor` command line: what it refuses at start, with the flag
//! named, and that it serves once it is given what it needs.
//!
//! Being an integration test of this package also makes `cargo test
//! --workspace` build the daemon binary before any test runs, which the
//! driver's `ember://` tests start.

use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const DAEMON: &str = env!("CARGO_BIN_EXE_ember-executor");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs the daemon with `args` and `secret` (as EMBER_AUTH_SECRET) and
/// returns what it printed, expecting it to refuse to start.
fn refused(args: &[&str], secret: Option<&str>) -> String {
    let work = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(DAEMON);
    cmd.args(["--host", "127.0.0.1", "--port", &free_port().to_string()])
        .arg("--work-dir")
        .arg(work.path())
        .args(args)
        .env_remove("EMBER_AUTH_SECRET")
        .stdin(Stdio::null());
    if let Some(secret) = secret {
        cmd.env("EMBER_AUTH_SECRET", secret);
    }
    let Output { status, stderr, .. } = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&stderr).into_owned();
    assert!(!status.success(), "the daemon started with {args:?}: {stderr}");
    stderr
}

#[test]
fn no_secret_is_refused_unless_insecure_is_asked_for() {
    let err = refused(&[], None);
    assert!(err.contains("no auth secret: set EMBER_AUTH_SECRET or --auth-secret-file FILE"), "{err}");
    assert!(err.contains("--insecure"), "{err}");
    let err = refused(&["--insecure"], Some("s3cret"));
    assert!(err.contains("--insecure conflicts with a secret"), "{err}");
    let err = refused(&[], Some("   "));
    assert!(err.contains("the auth secret is empty"), "{err}");
}

#[test]
fn a_secret_file_may_hold_any_bytes_but_not_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("binary");
    std::fs::write(&binary, [0xff, 0x00, 0x80, b'\n']).unwrap();
    // The secret is read, so the next check is the one that refuses.
    let err = refused(&["--auth-secret-file", binary.to_str().unwrap(), "--cores", "0"], None);
    assert!(err.contains("--cores must be at least 1"), "{err}");
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let err = refused(&["--auth-secret-file", empty.to_str().unwrap()], None);
    assert!(err.contains(&format!("--auth-secret-file {}: the file is empty", empty.display())), "{err}");
}

#[test]
fn bad_flags_are_named() {
    let err = refused(&["--memory", "2x"], Some("k"));
    assert!(err.contains("--memory 2x: not a size like 512m or 2g"), "{err}");
    let err = refused(&["--cores", "0"], Some("k"));
    assert!(err.contains("--cores must be at least 1"), "{err}");
    let err = refused(&["--auth-secret-file", "/no/such/secret"], None);
    assert!(err.contains("--auth-secret-file /no/such/secret"), "{err}");
    let err = refused(&["--port", "seventy"], Some("k"));
    assert!(err.contains("--port"), "{err}");
}

#[test]
fn a_daemon_with_a_secret_from_the_environment_listens_and_keeps_it_off_its_command_line() {
    let work = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(DAEMON)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .arg("--work-dir")
        .arg(work.path())
        .env("EMBER_AUTH_SECRET", "do-not-leak")
        .env("EMBER_LOG", "warn")
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the daemon exited: {status}");
        }
        assert!(Instant::now() < deadline, "the daemon did not listen within 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    assert!(!cmdline.is_empty(), "read /proc/PID/cmdline of a live daemon");
    assert!(!cmdline.windows(b"do-not-leak".len()).any(|w| w == b"do-not-leak"), "the secret is in the command line");
}
