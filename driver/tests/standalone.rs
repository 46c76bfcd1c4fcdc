//! `ember://` masters against real `ember-executor` daemons on 127.0.0.1.

use ember::prelude::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The daemon binary, built by `cargo test --workspace` (built here if not).
fn daemon_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    // Always ask cargo (a no-op when it is fresh): `cargo test` does not
    // build another package's binaries, and a stale daemon fails strangely.
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "ember-executor", "--bin", "ember-executor"])
        .status();
    assert!(status.is_ok_and(|s| s.success()), "cannot build ember-executor");
    dir.join("ember-executor")
}

struct Daemon {
    child: Child,
    port: u16,
    work: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start_daemon(work: &Path, secret: &str, port: u16) -> Daemon {
    let mut child = Command::new(daemon_binary())
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--cores", "2", "--attach-timeout", "20"])
        .arg("--work-dir")
        .arg(work)
        .env("EMBER_AUTH_SECRET", secret)
        .env("EMBER_LOG", "warn")
        .stdin(Stdio::null())
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

fn secret_file(dir: &Path, secret: &str) -> String {
    let path = dir.join(format!("secret-{secret}"));
    std::fs::write(&path, secret).unwrap();
    path.display().to_string()
}

fn connect(daemons: &[&Daemon], secret_path: &str) -> Result<Context> {
    let master =
        format!("ember://{}", daemons.iter().map(|d| format!("127.0.0.1:{}", d.port)).collect::<Vec<_>>().join(","));
    Context::new(Conf::new().master(&master).set("ember.auth.secretFile", secret_path))
}

/// Child processes of `pid` (of any of its threads).
fn children(pid: u32) -> Vec<u32> {
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

fn entries(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn jobs_run_on_daemon_executors_and_the_binary_is_uploaded_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (
        start_daemon(&tmp.path().join("a"), "s3cret", free_port()),
        start_daemon(&tmp.path().join("b"), "s3cret", free_port()),
    );
    let secret = secret_file(tmp.path(), "s3cret");
    for round in 0..2 {
        let ctx = connect(&[&a, &b], &secret).expect("context on the daemons");
        let v = vec![3u64, 4];
        let sums = ctx
            .parallelize((0..1000u64).collect(), 8)
            .map_with(v, |v, x| (x % 10, x * v[0] + v[1]))
            .reduce_by_key(|x, y| x + y)
            .collect()
            .unwrap();
        assert_eq!(
            sums.iter().map(|s| s.1).sum::<u64>(),
            (0..1000u64).map(|x| 3 * x + 4).sum::<u64>(),
            "round {round}"
        );
        let pids: Vec<u32> = ctx.parallelize((0..8u32).collect(), 8).map(|_| std::process::id()).collect().unwrap();
        assert!(pids.iter().all(|p| children(a.child.id()).contains(p) || children(b.child.id()).contains(p)));
    }
    // One stored binary per daemon, though two applications ran.
    assert_eq!(entries(&a.work.join("binaries")), 1);
    assert_eq!(entries(&b.work.join("binaries")), 1);
}

#[test]
fn a_driver_with_the_wrong_secret_is_refused_before_anything_is_stored_or_started() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = start_daemon(&tmp.path().join("d"), "right", free_port());
    let wrong = secret_file(tmp.path(), "wrong");
    let err = connect(&[&daemon], &wrong).err().expect("refused").to_string();
    assert!(err.contains("wrong secret"), "{err}");
    assert_eq!(entries(&daemon.work.join("binaries")), 0, "no binary written");
    assert_eq!(entries(&daemon.work.join("apps")), 0);
    assert!(children(daemon.child.id()).is_empty(), "no process started");
}

#[test]
fn an_unreachable_master_is_a_clear_error_within_seconds() {
    let start = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let secret = secret_file(tmp.path(), "x");
    let err = Context::new(
        Conf::new().master(&format!("ember://127.0.0.1:{}", free_port())).set("ember.auth.secretFile", secret),
    )
    .err()
    .expect("fails")
    .to_string();
    assert!(err.contains("cannot reach executor daemon at 127.0.0.1:"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(10));
    let err = Context::new(Conf::new().master("ember://no-such-host.invalid:7077")).err().expect("fails").to_string();
    assert!(err.contains("cannot resolve executor daemon address no-such-host.invalid:7077"), "{err}");
}

#[test]
fn a_restarted_daemon_starts_from_a_clean_state() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("d");
    let port = free_port();
    let secret = secret_file(tmp.path(), "k");
    let mut daemon = start_daemon(&work, "k", port);
    let ctx = connect(&[&daemon], &secret).unwrap();
    assert_eq!(ctx.parallelize(vec![1, 2, 3], 2).count().unwrap(), 3);
    let backends = children(daemon.child.id());
    assert_eq!(backends.len(), 1);
    // SAFETY: kill(2) on a process this test started.
    unsafe { libc::kill(daemon.child.id() as i32, libc::SIGKILL) };
    let _ = daemon.child.wait();
    let deadline = Instant::now() + Duration::from_secs(30);
    while backends.iter().any(|p| Path::new(&format!("/proc/{p}/exe")).exists()) {
        assert!(Instant::now() < deadline, "the backend outlived its daemon");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(ctx);
    let daemon = start_daemon(&work, "k", port);
    assert_eq!(entries(&work.join("apps")), 0, "leftovers of the previous run are gone");
    let ctx = connect(&[&daemon], &secret).unwrap();
    assert_eq!(ctx.parallelize(vec![1, 2, 3], 2).count().unwrap(), 3);
}
