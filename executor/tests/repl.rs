//! Ember in the evcxr REPL, driving a `local-cluster[2]` (issue 18, ADR 0009).
//!
//! The REPL is driven non-interactively: cells go to `evcxr`'s stdin, one per
//! line, and print `RESULT <name> <value>` lines that the test reads. The
//! cells define a function, use it in a `map` on the executors (their pids
//! are not the REPL's), cache the RDD and count it twice (an accumulator
//! updated by the map shows that the second count computed nothing; the
//! REST API lists the RDD's cached partitions), redefine the function and get
//! the new result, and cancel a long job from another thread, then run
//! another job. Cells ending in an Rdd, a JobFuture and `show(3)` check
//! that their displays reach the REPL (`ember::display`).
//!
//! A second session drives two executor daemons (`ember://`): the cell
//! objects and Rust's runtime library go to them by hash, later cells'
//! objects on the control stream, and the backends load only those copies.
//!
//! evcxr comes from `deploy/install-notebook.sh` (`cargo install evcxr_repl`).
//! Without it the test is skipped, except in CI (`CI` set), where it fails.
//! evcxr compiles Ember and its dependencies for the REPL once, in
//! `/var/tmp/ember-evcxr-<uid>` (minutes the first time, kept for later runs;
//! the notebook kernel that deploy/install-notebook.sh registers compiles
//! there too; see that script for why not under $HOME).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn find_evcxr() -> Option<PathBuf> {
    let home_bin = std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo/bin"));
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(home_bin)
        .map(|d| d.join("evcxr"))
        .find(|c| c.is_file())
}

fn dep_cell() -> String {
    let driver_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../driver").canonicalize().unwrap();
    format!(r#":dep ember = {{ path = "{}" }}"#, driver_dir.display())
}

fn local_cluster_cells() -> String {
    let dep = dep_cell();
    [
        dep.as_str(),
        "use ember::{Context, Conf, EmberError};",
        r#"let ctx = Context::new(Conf::new().master("local-cluster[2]").set("ember.ui.port", "0")).unwrap();"#,
        "fn f(x: u64) -> u64 { x * 2 }",
        "let calls = ctx.accumulator::<u64>();",
        "let nums = ctx.parallelize((1..=100u64).collect::<Vec<_>>(), 4).map_with(calls.clone(), |c, x| { c.add(1); f(x) }).cache();",
        r#"println!("RESULT count1 {}", nums.count().unwrap());"#,
        r#"println!("RESULT count2 {}", nums.count().unwrap());"#,
        r#"println!("RESULT calls {}", calls.value());"#,
        r#"println!("RESULT sum1 {}", nums.reduce(|a, b| a + b).unwrap().unwrap());"#,
        // Rich display: a final expression that is an Rdd, a JobFuture or
        // a table shows its text/plain form in the REPL.
        "nums",
        "let done = { let f = nums.count_async(); while !f.is_done() { std::thread::sleep(std::time::Duration::from_millis(20)); } f };",
        "done",
        "nums.show(3).unwrap()",
        r#"let pids = ctx.parallelize((0..8u64).collect::<Vec<_>>(), 4).map(|_| std::process::id()).collect().unwrap();"#,
        r#"println!("RESULT remote {}", pids.iter().all(|p| *p != std::process::id()));"#,
        r#"let storage = { use std::io::{Read, Write}; let port = ctx.ui_address().unwrap().port(); let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap(); write!(s, "GET /api/v1/applications/{}/storage/rdd HTTP/1.0\r\n\r\n", ctx.app_id()).unwrap(); let mut body = String::new(); s.read_to_string(&mut body).unwrap(); body };"#,
        r#"println!("RESULT cached_partitions {}", storage.contains("\"numCachedPartitions\":4"));"#,
        "fn f(x: u64) -> u64 { x * 3 }",
        r#"println!("RESULT sum2 {}", ctx.parallelize((1..=100u64).collect::<Vec<_>>(), 4).map(|x| f(x)).reduce(|a, b| a + b).unwrap().unwrap());"#,
        // A job group set in one cell holds for the jobs of the next (each
        // cell is a separate object with its own copy of Ember).
        r#"ctx.set_job_group("explore");"#,
        // One cell: evcxr compiles each cell for seconds, so a killer thread
        // started in an earlier cell could fire before the job starts.
        "let (long, took) = { let c = ctx.clone(); let killer = std::thread::spawn(move || { std::thread::sleep(std::time::Duration::from_secs(2)); c.cancel_job_group(\"explore\"); }); let started = std::time::Instant::now(); let long = ctx.parallelize((0..400_000u64).collect::<Vec<_>>(), 4).map(|x| { std::thread::sleep(std::time::Duration::from_micros(200)); x }).count(); killer.join().unwrap(); (long, started.elapsed()) };",
        r#"println!("RESULT long {:?} {:?}", long, took);"#,
        r#"println!("RESULT cancelled {} {}", matches!(long, Err(EmberError::Cancelled { .. })), took.as_secs() < 15);"#,
        r#"println!("RESULT after {}", ctx.parallelize((1..=10u64).collect::<Vec<_>>(), 2).map(|x| f(x)).collect().unwrap().iter().sum::<u64>());"#,
        r#"println!("RESULT done");"#,
    ]
    .join("\n")
        + "\n"
}

/// What a REPL session printed.
struct Session {
    stdout: String,
    stderr: String,
}

impl Session {
    /// The value of the `RESULT <name> ...` line.
    fn result(&self, name: &str) -> String {
        let Session { stdout, stderr } = self;
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("RESULT {name} ")).map(str::to_string))
            .unwrap_or_else(|| panic!("no result '{name}'\n--- stdout\n{stdout}\n--- stderr\n{stderr}"))
    }
}

/// Feeds `cells` to a fresh evcxr with `env`; `None` when evcxr is missing
/// (outside CI). Sessions run one at a time: they share evcxr's build
/// directory.
fn run_session(cells: &str, env: &[(&str, &str)]) -> Option<Session> {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let Some(evcxr) = find_evcxr() else {
        assert!(std::env::var_os("CI").is_none(), "evcxr is not installed: run deploy/install-notebook.sh");
        eprintln!("skipped: evcxr is not installed (deploy/install-notebook.sh)");
        return None;
    };
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    // Outside the workspace (cargo would take evcxr's crate for a member of
    // ours), kept between runs and shared with the notebook kernel: Ember
    // is compiled there once. The workspace's lock file pins the dependencies
    // to the versions the other tests ran with.
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let tmp = std::env::var_os("EVCXR_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(format!("/var/tmp/ember-evcxr-{uid}")));
    std::fs::create_dir_all(&tmp).unwrap();
    if !tmp.join("Cargo.lock").exists() {
        std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock"), tmp.join("Cargo.lock")).unwrap();
    }
    let mut child = Command::new(&evcxr)
        .env("EVCXR_TMPDIR", &tmp)
        .env("EMBER_EXECUTOR_BIN", env!("CARGO_BIN_EXE_ember-executor"))
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start evcxr");
    child.stdin.take().unwrap().write_all(cells.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    Some(Session { stdout, stderr })
}

#[test]
fn a_repl_session_drives_a_local_cluster() {
    let Some(session) = run_session(&local_cluster_cells(), &[]) else { return };
    let (stdout, stderr) = (&session.stdout, &session.stderr);
    let result = |name: &str| session.result(name);
    assert_eq!(result("count1"), "100");
    assert_eq!(result("count2"), "100");
    // The map ran once per record: the second count read the cache.
    assert_eq!(result("calls"), "100");
    assert_eq!(result("sum1"), "10100");
    // The displays' text/plain blocks, printed by evcxr without their markers.
    let shown = |text: &str| assert!(stdout.contains(text), "no '{text}' in stdout\n{stdout}\n--- stderr\n{stderr}");
    shown(": 4 partitions, persisted MemoryOnly\n(4) MapPartitionsRdd[");
    shown("Rdd<u64> [");
    shown(": finished>");
    shown("|value|\n+-----+\n|2    |\n|4    |\n|6    |\n+-----+\nonly showing the first 3 rows");
    assert!(!stdout.contains("EVCXR_BEGIN_CONTENT"), "a display block was not taken by evcxr\n{stdout}");
    assert_eq!(result("remote"), "true", "tasks ran in the REPL's own process");
    assert_eq!(result("cached_partitions"), "true");
    // The redefined function runs on the executors.
    assert_eq!(result("sum2"), "15150");
    assert_eq!(result("cancelled"), "true true");
    assert_eq!(result("after"), "165");
    assert!(stdout.contains("RESULT done"), "{stdout}\n{stderr}");
}

const SECRET: &str = "the-repl-test-secret";

/// An executor daemon on 127.0.0.1, stopped when dropped.
struct Daemon {
    child: std::process::Child,
    port: u16,
}

impl Daemon {
    fn start(work: &Path) -> Daemon {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ember-executor"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--cores", "1", "--work-dir"])
            .arg(work)
            .env("EMBER_AUTH_SECRET", SECRET)
            .env("EMBER_LOG", "warn")
            .stdin(Stdio::null())
            .spawn()
            .expect("start a daemon");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "the daemon did not listen");
            assert!(child.try_wait().unwrap().is_none(), "the daemon exited");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Daemon { child, port }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn daemon_cells(master: &str) -> String {
    let dep = dep_cell();
    let context =
        format!(r#"let ctx = Context::new(Conf::new().master("{master}").set("ember.ui.enabled", "false")).unwrap();"#);
    [
        dep.as_str(),
        "use ember::{Context, Conf};",
        context.as_str(),
        "fn g(x: u64) -> u64 { x + 1 }",
        "let nums = ctx.parallelize((1..=100u64).collect::<Vec<_>>(), 4).map(|x| g(x)).cache();",
        r#"println!("RESULT sum1 {}", nums.reduce(|a, b| a + b).unwrap().unwrap());"#,
        r#"println!("RESULT count {}", nums.count().unwrap());"#,
        // Each task says which process ran it and whether that process
        // mapped a code object from its shipped copies (`objects/`).
        r#"let seen = ctx.parallelize((0..4u64).collect::<Vec<_>>(), 4).map(|_| (std::process::id(), std::fs::read_to_string("/proc/self/maps").unwrap_or_default().contains("/objects/"))).collect().unwrap();"#,
        r#"println!("RESULT remote {}", seen.iter().all(|(pid, _)| *pid != std::process::id()));"#,
        r#"println!("RESULT shipped {}", seen.iter().all(|(_, shipped)| *shipped));"#,
        "fn g(x: u64) -> u64 { x + 2 }",
        r#"println!("RESULT sum2 {}", ctx.parallelize((1..=100u64).collect::<Vec<_>>(), 4).map(|x| g(x)).reduce(|a, b| a + b).unwrap().unwrap());"#,
        r#"println!("RESULT done");"#,
    ]
    .join("\n")
        + "\n"
}

#[test]
fn a_repl_session_drives_executor_daemons_that_get_its_code_by_hash() {
    let work = tempfile::tempdir().unwrap();
    let daemons = [Daemon::start(&work.path().join("a")), Daemon::start(&work.path().join("b"))];
    let master = format!("ember://127.0.0.1:{},127.0.0.1:{}", daemons[0].port, daemons[1].port);
    let Some(session) = run_session(&daemon_cells(&master), &[("EMBER_AUTH_SECRET", SECRET)]) else { return };
    let (stdout, stderr) = (&session.stdout, &session.stderr);
    assert!(stdout.contains("RESULT done"), "{stdout}\n{stderr}");
    assert_eq!(session.result("sum1"), "5150");
    assert_eq!(session.result("count"), "100");
    assert_eq!(session.result("remote"), "true", "tasks ran in the REPL's own process");
    assert_eq!(session.result("shipped"), "true", "a later cell's object was not loaded from a shipped copy");
    // The redefined function runs on the daemons' backends.
    assert_eq!(session.result("sum2"), "5250");
    // Each daemon started a backend and keeps the first cell's object and
    // Rust's runtime library by hash.
    for name in ["a", "b"] {
        let dir = work.path().join(name);
        assert_eq!(std::fs::read_dir(dir.join("binaries")).unwrap().count(), 1, "{stdout}");
        let runtimes: Vec<_> = std::fs::read_dir(dir.join("runtimes")).unwrap().flatten().collect();
        assert_eq!(runtimes.len(), 1);
        let libs: Vec<String> = std::fs::read_dir(runtimes[0].path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(libs.len() == 1 && libs[0].starts_with("libstd-"), "{libs:?}");
    }
}
