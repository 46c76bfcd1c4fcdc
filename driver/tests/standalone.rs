//! `ember://` masters against real `ember-executor` daemons on 127.0.0.1.

use daemon_common::{Daemon, children, free_port, master};
use ember::prelude::*;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

mod daemon_common;
mod ui_common;

fn start_daemon(work: &Path, secret: &str, port: u16) -> Daemon {
    daemon_common::start_daemon(work, secret, port, &[])
}

fn secret_file(dir: &Path, secret: &str) -> String {
    let path = dir.join(format!("secret-{secret}"));
    std::fs::write(&path, secret).unwrap();
    path.display().to_string()
}

fn connect(daemons: &[&Daemon], secret_path: &str) -> Result<Context> {
    Context::new(Conf::new().master(&master(daemons)).set("ember.auth.secretFile", secret_path))
}

fn entries(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// The inode of each binary a daemon stores: a second upload would replace
/// the file (a new inode) even with the same contents.
fn stored_binaries(daemon: &Daemon) -> Vec<u64> {
    let dir = std::fs::read_dir(daemon.work.join("binaries")).unwrap();
    dir.map(|e| e.unwrap().metadata().unwrap().ino()).collect()
}

#[test]
fn jobs_run_on_daemon_executors_and_the_binary_is_uploaded_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (
        start_daemon(&tmp.path().join("a"), "s3cret", free_port()),
        start_daemon(&tmp.path().join("b"), "s3cret", free_port()),
    );
    let secret = secret_file(tmp.path(), "s3cret");
    let mut first_upload = None;
    for round in 0..2 {
        let ctx = connect(&[&a, &b], &secret).expect("context on the daemons");
        // Each executor takes all its daemon's cores (--cores 2), as a Spark
        // standalone executor takes its worker's; parallelism follows.
        assert_eq!(ctx.default_parallelism(), 4, "round {round}");
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
        let stored = (stored_binaries(&a), stored_binaries(&b));
        assert_eq!((stored.0.len(), stored.1.len()), (1, 1), "one stored binary per daemon");
        // The second application finds the binary stored and does not upload it.
        assert_eq!(first_upload.get_or_insert(stored.clone()), &stored, "round {round}");
        assert_eq!(entries(&a.work.join("uploads")) + entries(&b.work.join("uploads")), 0);
    }
}

#[test]
fn executor_cores_caps_what_is_asked_of_each_daemon() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) =
        (start_daemon(&tmp.path().join("a"), "c", free_port()), start_daemon(&tmp.path().join("b"), "c", free_port()));
    let conf = Conf::new().master(&master(&[&a, &b])).set("ember.auth.secretFile", secret_file(tmp.path(), "c"));
    let ctx = Context::new(conf.clone().set("ember.executor.cores", 1)).unwrap();
    assert_eq!(ctx.default_parallelism(), 2);
    drop(ctx);
    // More than a daemon offers gets what it offers (--cores 2).
    let ctx = Context::new(conf.set("ember.executor.cores", 8)).unwrap();
    assert_eq!(ctx.default_parallelism(), 4);
}

#[test]
fn a_driver_with_the_wrong_secret_is_refused_before_anything_is_stored_or_started() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = start_daemon(&tmp.path().join("d"), "right", free_port());
    let wrong = secret_file(tmp.path(), "wrong");
    let err = connect(&[&daemon], &wrong).err().expect("refused").to_string();
    assert!(err.contains("wrong secret"), "{err}");
    // A driver with no secret at all is told so, not that its secret is wrong.
    let none = Context::new(Conf::new().master(&master(&[&daemon]))).err().expect("refused").to_string();
    assert!(none.contains("no secret: this daemon requires one"), "{none}");
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
fn a_daemon_that_accepts_but_never_answers_is_a_clear_error_within_the_network_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    // Accept connections and hold them, answering nothing.
    std::thread::spawn(move || {
        let held: Vec<_> = silent.incoming().take(8).collect();
        std::thread::sleep(Duration::from_secs(60));
        drop(held);
    });
    let conf = Conf::new()
        .master(&format!("ember://127.0.0.1:{port}"))
        .set("ember.auth.secretFile", secret_file(tmp.path(), "x"))
        .set("ember.network.timeout", "2s")
        .set("ember.executor.heartbeatInterval", "500ms");
    let start = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(Context::new(conf).err().map(|e| e.to_string())));
    let err = rx.recv_timeout(Duration::from_secs(60)).expect("an error within 60 s, not a hang").expect("fails");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(err.contains("did not answer within") || err.contains("timed out"), "{err}");
    // 2 s per call; hashing this (debug) test binary first takes a while.
    assert!(start.elapsed() < Duration::from_secs(60), "{:?}", start.elapsed());
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
    // What a daemon killed mid-run may leave: a backend directory of an
    // application and a half-written upload.
    std::fs::create_dir_all(work.join("apps/app-1-0/spill")).unwrap();
    std::fs::write(work.join("apps/app-1-0/spill/block"), b"stale").unwrap();
    std::fs::write(work.join("uploads/ticket.part"), b"half a binary").unwrap();
    let daemon = start_daemon(&work, "k", port);
    assert_eq!(entries(&work.join("apps")), 0, "leftovers of the previous run are gone");
    assert_eq!(entries(&work.join("uploads")), 0, "unfinished uploads are gone");
    assert_eq!(entries(&work.join("binaries")), 1, "finished binaries are kept");
    let ctx = connect(&[&daemon], &secret).unwrap();
    assert_eq!(ctx.parallelize(vec![1, 2, 3], 2).count().unwrap(), 3);
}

/// Whether a job's tasks ran in a backend of `daemon`.
fn runs_tasks_on(ctx: &Context, daemon: &Daemon) -> bool {
    let pids = ctx
        .parallelize((0..32u32).collect(), 16)
        .map(|_| {
            // Long enough that every executor's threads take some tasks.
            std::thread::sleep(Duration::from_millis(20));
            std::process::id()
        })
        .collect()
        .unwrap();
    let backends = children(daemon.child.id());
    pids.iter().any(|p| backends.contains(p))
}

#[test]
fn daemons_that_appear_later_get_executors_of_a_running_application() {
    let tmp = tempfile::tempdir().unwrap();
    let a = start_daemon(&tmp.path().join("a"), "r", free_port());
    let later_port = free_port();
    let conf = Conf::new()
        .master(&format!("ember://127.0.0.1:{},127.0.0.1:{later_port}", a.port))
        .set("ember.auth.secretFile", secret_file(tmp.path(), "r"))
        .set("ember.master.rescanInterval", "200ms");
    // The second daemon is down at start: the application starts on the first.
    let ctx = Context::new(conf).expect("starts on the daemon that is up");
    assert_eq!(ctx.parallelize(vec![1, 2, 3], 3).count().unwrap(), 3);
    let wait_for_tasks_on = |daemon: &Daemon, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !runs_tasks_on(&ctx, daemon) {
            assert!(Instant::now() < deadline, "{what}: no task ran on it within 60 s");
        }
    };
    let b = start_daemon(&tmp.path().join("b"), "r", later_port);
    wait_for_tasks_on(&b, "a daemon started after the application");
    // That daemon dies with its executor; one started again on its address
    // gets a new executor of the same application.
    drop(b);
    let b = start_daemon(&tmp.path().join("b2"), "r", later_port);
    wait_for_tasks_on(&b, "a daemon back after its executor was lost");
    assert!(runs_tasks_on(&ctx, &a) || runs_tasks_on(&ctx, &a), "the first daemon's executor still works");
}

#[test]
fn a_daemon_reached_at_two_addresses_runs_one_executor() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = start_daemon(&tmp.path().join("d"), "two", free_port());
    // The same IPv4 daemon as itself and as an IPv4-mapped IPv6 address, as
    // a host name with both an A and an AAAA record would resolve.
    let master = format!("ember://127.0.0.1:{0},[::ffff:127.0.0.1]:{0}", daemon.port);
    let conf = Conf::new().master(&master).set("ember.auth.secretFile", secret_file(tmp.path(), "two"));
    let ctx = Context::new(conf).expect("starts");
    assert_eq!(ctx.parallelize(vec![1, 2, 3], 3).count().unwrap(), 3);
    assert_eq!(children(daemon.child.id()).len(), 1, "one backend on the one daemon");
    assert_eq!(ctx.default_parallelism(), 2, "one executor's 2 cores");
}

#[test]
fn a_job_fails_once_every_executor_is_lost_and_none_joins() {
    let tmp = tempfile::tempdir().unwrap();
    let secret = secret_file(tmp.path(), "gone");
    for rescan in ["0", "200ms"] {
        let mut daemon = start_daemon(&tmp.path().join(format!("d{rescan}")), "gone", free_port());
        let conf = Conf::new()
            .master(&master(&[&daemon]))
            .set("ember.auth.secretFile", &secret)
            .set("ember.master.rescanInterval", rescan)
            .set("ember.executor.registrationTimeout", "5s");
        let ctx = Context::new(conf).unwrap();
        let slow = ctx.parallelize((0..4u32).collect(), 4).map(|x| {
            std::thread::sleep(Duration::from_secs(60));
            x
        });
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(slow.count().map_err(|e| e.to_string())));
        std::thread::sleep(Duration::from_millis(500));
        daemon.child.kill().unwrap();
        let err = rx.recv_timeout(Duration::from_secs(30)).expect("the job ends, not hangs").unwrap_err();
        assert!(err.contains("all executors are lost"), "rescan {rescan}: {err}");
        if rescan == "0" {
            let err = ctx.parallelize(vec![1], 1).count().unwrap_err().to_string();
            assert!(err.contains("no executors are alive"), "nothing can replace it: {err}");
            continue;
        }
        assert!(err.contains("none joined within 5.2s"), "registration timeout + rescan interval: {err}");
        // A job submitted with no executor waits for one, as a running job
        // does: a daemon back on the address (and work directory, so with
        // the binary stored) gives it one.
        let port = daemon.port;
        let (tx, rx) = std::sync::mpsc::channel();
        let next = ctx.parallelize((0..6u32).collect(), 3);
        std::thread::spawn(move || tx.send(next.count().map_err(|e| e.to_string())));
        std::thread::sleep(Duration::from_millis(300));
        let _back = start_daemon(&tmp.path().join(format!("d{rescan}")), "gone", port);
        assert_eq!(rx.recv_timeout(Duration::from_secs(60)).expect("the job ends").unwrap(), 6);
    }
}

#[test]
fn a_daemons_memory_cap_bounds_what_the_driver_asks_and_the_ui_shows_it() {
    let tmp = tempfile::tempdir().unwrap();
    let args: Vec<&std::ffi::OsStr> = ["--memory", "64m"].iter().map(std::ffi::OsStr::new).collect();
    let capped = daemon_common::start_daemon(&tmp.path().join("capped"), "cap", free_port(), &args);
    let free = start_daemon(&tmp.path().join("free"), "cap", free_port());
    let conf = Conf::new()
        .master(&master(&[&capped, &free]))
        .set("ember.auth.secretFile", secret_file(tmp.path(), "cap"))
        .set("ember.executor.memory", "1g")
        .set("ember.ui.port", 0);
    let ctx = Context::new(conf).unwrap();
    assert_eq!(ctx.parallelize(vec![1, 2, 3], 2).count().unwrap(), 3);
    let addr = ctx.ui_address().expect("the UI is on");
    let path = format!("/api/v1/applications/{}/executors", ctx.app_id());
    let executors = ui_common::wait_for(Duration::from_secs(30), "two executors in the UI", || {
        let executors = ui_common::get_json(addr, &path);
        (executors.as_array().map_or(0, Vec::len) == 2).then_some(executors)
    });
    let mut memory: Vec<u64> = executors.as_array().unwrap().iter().map(|e| e["maxMemory"].as_u64().unwrap()).collect();
    memory.sort();
    assert_eq!(memory, vec![64 << 20, 1 << 30], "the capped daemon's executor caches at most 64 MiB: {executors}");
}

#[test]
fn a_master_entry_that_does_not_resolve_hides_no_other() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = start_daemon(&tmp.path().join("d"), "dns", free_port());
    let master = format!("ember://no-such-host.invalid:7077,127.0.0.1:{}", daemon.port);
    let conf = Conf::new().master(&master).set("ember.auth.secretFile", secret_file(tmp.path(), "dns"));
    let ctx = Context::new(conf).expect("starts on the entry that resolves");
    assert_eq!(ctx.parallelize(vec![1, 2, 3], 3).count().unwrap(), 3);
    assert_eq!(children(daemon.child.id()).len(), 1);
}
