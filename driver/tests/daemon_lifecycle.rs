//! How long the processes of an `ember://` cluster live: a backend ends with
//! its application, with its driver's death, and when its driver stops
//! answering; a daemon stops on SIGTERM and owns its work directory alone.
//!
//! A driver that must die or freeze is a second process: this test binary
//! run as `--exact driver_process --ignored`, which attaches, runs a job,
//! prints `DRIVER READY` and waits.

use daemon_common::{Daemon, children, free_port, master};
use ember::prelude::*;
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod daemon_common;

const MASTER_VAR: &str = "EMBER_TEST_DRIVER_MASTER";
const SECRET_VAR: &str = "EMBER_TEST_DRIVER_SECRET_FILE";

fn start_daemon(work: &Path, port: u16) -> Daemon {
    daemon_common::start_daemon(work, "lifecycle", port, &[])
}

fn secret_file(dir: &Path) -> String {
    let path = dir.join("secret");
    std::fs::write(&path, "lifecycle").unwrap();
    path.display().to_string()
}

fn conf(daemon: &Daemon, secret_file: &str) -> Conf {
    Conf::new().master(&master(&[daemon])).set("ember.auth.secretFile", secret_file).set("ember.ui.enabled", false)
}

fn entries(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// Waits until the daemon has no backend process and no backend directory.
fn wait_for_no_backends(daemon: &Daemon, within: Duration, what: &str) {
    let deadline = Instant::now() + within;
    while !children(daemon.child.id()).is_empty() || entries(&daemon.work.join("apps")) > 0 {
        assert!(Instant::now() < deadline, "{what}: a backend or its directory is still there after {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Not a test on its own: the driver process of the tests below.
#[test]
#[ignore = "started by the other tests of this file as a driver process"]
fn driver_process() {
    let (Ok(master), Ok(secret)) = (std::env::var(MASTER_VAR), std::env::var(SECRET_VAR)) else {
        return;
    };
    let ctx =
        Context::new(Conf::new().master(&master).set("ember.auth.secretFile", secret).set("ember.ui.enabled", false))
            .expect("the driver process attaches");
    assert_eq!(ctx.parallelize((0..100u32).collect(), 4).count().unwrap(), 100);
    println!("DRIVER READY");
    std::thread::sleep(Duration::from_secs(600));
}

/// A driver process attached to `daemon` with a job run; killed when dropped.
struct DriverProcess(Child);

impl DriverProcess {
    fn start(daemon: &Daemon, secret_file: &str) -> DriverProcess {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "driver_process", "--ignored", "--nocapture", "--test-threads", "1"])
            .env(MASTER_VAR, master(&[daemon]))
            .env(SECRET_VAR, secret_file)
            .stdout(Stdio::piped())
            .spawn()
            .expect("driver process starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("DRIVER READY") {
                    let _ = tx.send(());
                }
            }
        });
        let driver = DriverProcess(child);
        rx.recv_timeout(Duration::from_secs(120)).expect("the driver process attached and ran a job");
        driver
    }

    fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on a process this test started and has not reaped.
        unsafe { libc::kill(self.0.id() as i32, signal) };
    }
}

impl Drop for DriverProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_backend_ends_with_its_application() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = start_daemon(&tmp.path().join("d"), free_port());
    let ctx = Context::new(conf(&daemon, &secret_file(tmp.path()))).unwrap();
    assert_eq!(ctx.parallelize(vec![1, 2, 3], 2).count().unwrap(), 3);
    assert_eq!(children(daemon.child.id()).len(), 1, "one backend while the application runs");
    assert_eq!(entries(&daemon.work.join("apps")), 1);
    ctx.stop();
    wait_for_no_backends(&daemon, Duration::from_secs(20), "after the application stopped");
}

#[test]
fn a_backend_ends_when_its_driver_is_killed() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = start_daemon(&tmp.path().join("d"), free_port());
    let driver = DriverProcess::start(&daemon, &secret_file(tmp.path()));
    assert_eq!(children(daemon.child.id()).len(), 1);
    driver.signal(libc::SIGKILL);
    wait_for_no_backends(&daemon, Duration::from_secs(20), "after the driver was killed");
}

#[test]
fn a_backend_ends_when_its_driver_stops_answering() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = start_daemon(&tmp.path().join("d"), free_port());
    let driver = DriverProcess::start(&daemon, &secret_file(tmp.path()));
    assert_eq!(children(daemon.child.id()).len(), 1);
    // A frozen driver keeps its connection open but answers no ping, as a
    // driver behind a network partition would.
    driver.signal(libc::SIGSTOP);
    // Pings every 15 s, each answered within 45 s, or the driver is gone.
    wait_for_no_backends(&daemon, Duration::from_secs(150), "after the driver froze");
}

#[test]
fn sigterm_stops_a_daemon_and_its_backends_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let mut daemon = start_daemon(&tmp.path().join("d"), free_port());
    let ctx = Context::new(conf(&daemon, &secret_file(tmp.path()))).unwrap();
    assert_eq!(ctx.parallelize(vec![1, 2, 3], 2).count().unwrap(), 3);
    let backends = children(daemon.child.id());
    assert_eq!(backends.len(), 1);
    // SAFETY: kill(2) on a process this test started and has not reaped.
    unsafe { libc::kill(daemon.child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = daemon.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the daemon ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "a daemon stopped by SIGTERM exits cleanly: {status}");
    while backends.iter().any(|p| Path::new(&format!("/proc/{p}/exe")).exists()) {
        assert!(Instant::now() < deadline, "the backend outlived its daemon");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_second_daemon_on_the_same_work_directory_refuses_to_start() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("d");
    let first = start_daemon(&work, free_port());
    let mut second = Command::new(daemon_common::daemon_binary())
        .args(["--host", "127.0.0.1", "--port", &free_port().to_string(), "--work-dir"])
        .arg(&work)
        .env("EMBER_AUTH_SECRET", "lifecycle")
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = second.kill();
            panic!("a second daemon started on the first one's work directory");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success());
    assert!(stderr.contains("is in use by another ember-executor daemon"), "{stderr}");
    assert!(stderr.contains("--work-dir"), "{stderr}");
    assert!(work.join("binaries").is_dir() && work.join("apps").is_dir(), "the first daemon's files are kept");
    drop(first);
}
