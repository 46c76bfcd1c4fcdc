//! End to end in a real browser: headless Chromium (Debian's `chromium`,
//! installed by `deploy/install-chromium.sh`, which `.ci/run` calls) loads the
//! jobs page and the DAG page of a finished job and finds the stage and RDD
//! names in the rendered DOM, then takes a screenshot of the DAG page. The
//! other tests drive one page over the DevTools protocol (`ui_common::devtools`):
//! a 20,000-task stage paged to its last task and a failed task's backtrace
//! unfolded; the task table sorted by duration; the timeline and the task
//! stream drawn; a skipped stage's row under its headers; and a jobs page
//! that follows a running job in place, its scroll position kept.
//!
//! Without Chromium the test says so and passes, unless `CI` is set: in CI it
//! must run. `EMBER_UPDATE_SCREENSHOT=1` copies the screenshot to
//! `docs/img/job-dag.png` (the README shows it).

mod ui_common;

use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use ui_common::devtools::Browser;
use ui_common::{get_json, slow_rdd, ui_context, word_counts};

/// How long one Chromium run may take.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let dirs: Vec<PathBuf> = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| dirs.iter().map(move |d| d.join(name)))
        .find(|p| p.is_file())
}

/// Runs headless Chromium with `args` then `url`, killing it after [`BROWSER_TIMEOUT`].
fn chromium(binary: &Path, args: &[&str], url: &str) -> Output {
    let profile = tempfile::tempdir().expect("a profile directory");
    let mut child = Command::new(binary)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let started = Instant::now();
    // Read stdout on another thread, so that a big DOM cannot fill the pipe.
    let stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut stdout = stdout;
        std::io::Read::read_to_end(&mut stdout, &mut out).map(|_| out)
    });
    loop {
        if child.try_wait().expect("chromium can be waited for").is_some() {
            break;
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish in {BROWSER_TIMEOUT:?} for {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let stdout = reader.join().expect("reader thread").expect("chromium's stdout");
    let mut output = child.wait_with_output().expect("chromium's output");
    output.stdout = stdout;
    output
}

/// Chromium, or `None` (the test then passes, saying so) outside CI.
fn chromium_or_skip(test: &str) -> Option<PathBuf> {
    let found = find_chromium();
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but Chromium is not installed: run deploy/install-chromium.sh (or set CHROMIUM)"
        );
        println!("SKIPPED {test}: no chromium on PATH (deploy/install-chromium.sh installs it)");
    }
    found
}

#[test]
fn chromium_renders_the_jobs_page_and_a_jobs_dag() {
    let Some(browser) = chromium_or_skip("chromium_renders_the_jobs_page_and_a_jobs_dag") else { return };
    let ctx = ui_context("local[2]", &[("ember.app.name", "wordcount-demo")]);
    let addr = ctx.ui_address().unwrap();
    let text: Vec<String> = ["the quick brown fox", "jumps over the lazy dog", "the end"].map(String::from).into();
    let counts = ctx
        .parallelize(text, 3)
        .flat_map(|line: String| line.split(' ').map(str::to_string).collect::<Vec<_>>())
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
        .cache();
    let lengths = ctx.parallelize(vec!["the".to_string(), "fox".to_string(), "dog".to_string()], 2).map(|w| {
        let n = w.len();
        (w, n)
    });
    let joined = counts.join(&lengths).collect().unwrap();
    assert_eq!(joined.len(), 3);
    ctx.flush_listeners();
    let jobs = get_json(addr, &format!("/api/v1/applications/{}/jobs", ctx.app_id()));
    let stage_ids: Vec<u64> = jobs[0]["stageIds"].as_array().unwrap().iter().map(|s| s.as_u64().unwrap()).collect();
    assert!(stage_ids.len() >= 2, "{jobs}");

    let base = format!("http://127.0.0.1:{}", addr.port());
    let jobs_page = chromium(&browser, &["--dump-dom"], &format!("{base}/jobs/"));
    let dom = String::from_utf8_lossy(&jobs_page.stdout);
    assert!(dom.contains("Completed Jobs (1)"), "jobs page DOM: {dom}\n{}", String::from_utf8_lossy(&jobs_page.stderr));
    assert!(dom.contains("wordcount-demo") && dom.contains("collect at driver/tests/ui_browser.rs:"), "{dom}");

    let dag_url = format!("{base}/jobs/job/?id=0");
    let dag_page = chromium(&browser, &["--dump-dom"], &dag_url);
    let dom = String::from_utf8_lossy(&dag_page.stdout);
    for stage in &stage_ids {
        assert!(dom.contains(&format!("Stage {stage} (complete)")), "stage {stage} not in the DAG: {dom}");
    }
    let here = "at driver/tests/ui_browser.rs:";
    for rdd in [&format!("parallelize {here}"), &format!("reduce_by_key {here}"), &format!("join {here}"), "(cached)"] {
        assert!(dom.contains(rdd), "{rdd} not in the DAG: {dom}");
    }
    assert!(dom.contains("<svg") && dom.contains("class=\"shuffle\""), "{dom}");

    let shots = tempfile::tempdir().unwrap();
    let png = shots.path().join("job-dag.png");
    let shot = chromium(&browser, &[&format!("--screenshot={}", png.display()), "--window-size=1280,900"], &dag_url);
    let bytes = std::fs::read(&png)
        .unwrap_or_else(|e| panic!("no screenshot ({e}): {}", String::from_utf8_lossy(&shot.stderr)));
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000, "{} bytes", bytes.len());
    if std::env::var_os("EMBER_UPDATE_SCREENSHOT").is_some() {
        let kept = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/img/job-dag.png");
        std::fs::create_dir_all(kept.parent().unwrap()).unwrap();
        std::fs::write(&kept, &bytes).unwrap();
        println!("kept the screenshot as {}", kept.display());
    }
}

/// Partitions of the big stage: every task must stay reachable.
const BIG_STAGE: usize = 20_000;
/// Its last partition's first attempt panics (a retry succeeds).
static LAST_FAILED_ONCE: AtomicBool = AtomicBool::new(false);

#[test]
fn a_20000_task_stage_pages_to_its_last_task_and_a_failed_tasks_backtrace_unfolds() {
    let Some(binary) = chromium_or_skip("a_20000_task_stage_pages_to_its_last_task") else { return };
    let ctx = ui_context("local[2]", &[]);
    let addr = ctx.ui_address().unwrap();
    let panic_line = line!() + 3;
    let rdd = ctx.parallelize((0..BIG_STAGE as u32).collect(), BIG_STAGE).map_partitions_with_index(|i, it| {
        if i == BIG_STAGE - 1 && !LAST_FAILED_ONCE.swap(true, Ordering::SeqCst) {
            panic!("the last partition fails once");
        }
        it
    });
    assert_eq!(rdd.count().unwrap(), BIG_STAGE as u64);
    ctx.flush_listeners();

    let mut browser = Browser::start(&binary, 1280, 900);
    browser.open(&format!("http://127.0.0.1:{}/stages/stage/?id=0&attempt=1", addr.port()));
    let pager = browser.eval("document.querySelector('.pager').textContent");
    assert!(pager.as_str().unwrap().starts_with("Page 1 of 201 (20001 tasks)"), "{pager}");
    browser.click_link("a.page-last");
    let indices =
        browser.eval("[...document.querySelectorAll('table.tasks tbody tr')].map(r => r.cells[0].textContent)");
    let indices: Vec<&str> = indices.as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    assert_eq!(indices.last(), Some(&"19999"), "the last page ends with the last partition: {indices:?}");
    assert_eq!(browser.eval("document.querySelector('.pager').textContent.startsWith('Page 201 of 201')"), json!(true));
    // Sorted by status, the failed attempt comes first.
    let by_status = "[...document.querySelectorAll('th a.sort')].find(a => a.textContent.startsWith('Status')).href";
    let href = browser.eval(by_status);
    browser.open(href.as_str().unwrap());
    let first = browser.eval("[...document.querySelector('table.tasks tbody tr').cells].map(c => c.textContent)");
    assert_eq!((&first[0], &first[3]), (&json!("19999"), &json!("FAILED")), "{first}");

    // The backtrace is folded away, and one click unfolds it.
    let backtrace = "document.querySelector('table.tasks details.error pre.backtrace')";
    assert_eq!(browser.eval(&format!("{backtrace}.checkVisibility()")), json!(false), "folded");
    browser.eval("document.querySelector('table.tasks details.error summary').click()");
    assert_eq!(browser.eval(&format!("{backtrace}.checkVisibility()")), json!(true), "unfolded");
    assert!(browser.eval(&format!("{backtrace}.getBoundingClientRect().height")).as_f64().unwrap() > 0.0);
    let text = browser.eval(&format!("{backtrace}.textContent"));
    let text = text.as_str().unwrap();
    assert!(text.contains("the last partition fails once"), "{text}");
    assert!(text.contains(&format!("panicked at driver/tests/ui_browser.rs:{panic_line}:")), "{text}");
}

#[test]
fn a_running_job_updates_its_page_in_place_and_tables_sort_and_timelines_draw() {
    let Some(binary) = chromium_or_skip("a_running_job_updates_its_page_in_place") else { return };
    let ctx = ui_context("local[2]", &[("ember.executor.heartbeatInterval", "200ms")]);
    let addr = ctx.ui_address().unwrap();
    let base = format!("http://127.0.0.1:{}", addr.port());
    // Enough finished jobs for the jobs page to scroll.
    for _ in 0..30 {
        assert_eq!(ctx.parallelize(vec![1u8, 2], 2).count().unwrap(), 2);
    }
    // Task i sleeps 40·i ms: sorted by duration, descending, index 7 comes first.
    let staggered = ctx.parallelize((0..8u64).collect(), 8).map_partitions_with_index(|i, it| {
        std::thread::sleep(std::time::Duration::from_millis(40 * i as u64));
        it
    });
    assert_eq!(staggered.count().unwrap(), 8);
    ctx.flush_listeners();
    let stages = get_json(addr, &format!("/api/v1/applications/{}/stages", ctx.app_id()));
    let stage = stages[0]["stageId"].as_u64().unwrap();

    let mut browser = Browser::start(&binary, 1000, 400);
    browser.open(&format!("{base}/stages/stage/?id={stage}&attempt=1"));
    let sort_by_duration =
        "[...document.querySelectorAll('th a.sort')].find(a => a.textContent.startsWith('Duration')).href";
    for (descending, first) in [(false, "0"), (true, "7")] {
        let href = browser.eval(sort_by_duration);
        browser.open(href.as_str().unwrap());
        assert!(browser.eval("location.search").as_str().unwrap().contains(&format!("task.desc={descending}")));
        let firsts = browser.eval("document.querySelector('table.tasks tbody tr').cells[0].textContent");
        assert_eq!(firsts, json!(first), "descending: {descending}");
    }
    let drawn =
        "[...document.querySelectorAll('svg.timeline rect.phase-run')].filter(r => r.getBBox().width > 0).length";
    assert!(browser.eval(drawn).as_u64().unwrap() >= 8, "a bar per task in the stage's timeline");
    browser.open(&format!("{base}/executors/"));
    let stream =
        "[...document.querySelectorAll('svg.task-stream rect.stream-task')].filter(r => r.getBBox().width > 0).length";
    assert!(browser.eval(stream).as_u64().unwrap() >= 8, "the task stream draws the latest tasks");
    browser.wait_for(
        "a memory sample",
        std::time::Duration::from_secs(10),
        "document.querySelector('svg.memory polyline.mem-storage')",
    );

    // A job runs while the jobs page is open, scrolled: the page follows it
    // in place (no reload: the marker survives) and stays where it was.
    let job = slow_rdd(&ctx, 4, 1500).count_async();
    let runner = std::thread::spawn(move || futures::executor::block_on(job));
    browser.open(&format!("{base}/jobs/"));
    browser.wait_for(
        "the running job",
        std::time::Duration::from_secs(20),
        "document.getElementById('jobs-active').textContent.includes('Active Jobs (1)')",
    );
    browser.eval("window.scrollTo(0, 200); window.__marker = 'no reload'");
    assert_eq!(browser.eval("window.scrollY"), json!(200), "the page is long enough to scroll");
    assert_eq!(runner.join().unwrap().unwrap(), 4);
    browser.wait_for(
        "the finished job",
        std::time::Duration::from_secs(20),
        "document.getElementById('jobs-completed').textContent.includes('Completed Jobs (32)')",
    );
    assert_eq!(browser.eval("window.__marker"), json!("no reload"));
    assert_eq!(browser.eval("window.scrollY"), json!(200), "scroll position kept");
    assert!(browser.eval("+document.documentElement.dataset.liveUpdates").as_u64().unwrap() >= 1);
    assert_eq!(browser.eval("!!document.querySelector('meta[http-equiv]')"), json!(false));

    // A rerun skips the map stage: its row has a cell under every header.
    let counts = word_counts(&ctx);
    assert_eq!(counts.count().unwrap(), 3);
    assert_eq!(counts.collect().unwrap().len(), 3);
    ctx.flush_listeners();
    let jobs = get_json(addr, &format!("/api/v1/applications/{}/jobs", ctx.app_id()));
    browser.open(&format!("{base}/jobs/job/?id={}", jobs[0]["jobId"]));
    let cells = browser.eval(
        "(() => { const t = document.querySelector('#job-stages table'); \
         const status = [...t.tHead.rows[0].cells].findIndex(c => c.textContent === 'Status'); \
         return [...t.tBodies[0].rows].map(r => [r.cells.length, t.tHead.rows[0].cells.length, r.cells[status].textContent]); })()",
    );
    let rows = cells.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{cells}");
    for row in rows {
        assert_eq!(row[0], row[1], "cells under headers: {cells}");
    }
    assert!(rows.iter().any(|r| r[2] == "skipped"), "{cells}");
}
