//! End to end in a real browser: headless Chromium (Debian's `chromium`,
//! installed by `deploy/install-chromium.sh`, which `.ci/run` calls) loads the
//! jobs page and the DAG page of a finished job and finds the stage and RDD
//! names in the rendered DOM, then takes a screenshot of the DAG page.
//!
//! Without Chromium the test says so and passes, unless `CI` is set: in CI it
//! must run. `EMBER_UPDATE_SCREENSHOT=1` copies the screenshot to
//! `docs/img/job-dag.png` (the README shows it).

mod ui_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use ui_common::{get_json, ui_context};

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

#[test]
fn chromium_renders_the_jobs_page_and_a_jobs_dag() {
    let Some(browser) = find_chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but Chromium is not installed: run deploy/install-chromium.sh (or set CHROMIUM)"
        );
        println!(
            "SKIPPED chromium_renders_the_jobs_page_and_a_jobs_dag: no chromium on PATH (deploy/install-chromium.sh installs it)"
        );
        return;
    };
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
    assert!(dom.contains("wordcount-demo") && dom.contains("→ result"), "{dom}");

    let dag_url = format!("{base}/jobs/job/?id=0");
    let dag_page = chromium(&browser, &["--dump-dom"], &dag_url);
    let dom = String::from_utf8_lossy(&dag_page.stdout);
    for stage in &stage_ids {
        assert!(dom.contains(&format!("Stage {stage} (complete)")), "stage {stage} not in the DAG: {dom}");
    }
    for rdd in ["ParallelCollectionRdd [0]", "MapPartitionsRdd [", "ShuffledRdd [", "(cached)"] {
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
