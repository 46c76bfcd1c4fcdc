//! The event log and the history server: a replayed log answers the JSON API
//! exactly as the live UI did, and `ember-history` serves it.

mod ui_common;

use ember::ui::history::HistoryIndex;
use ember::ui::server::{self, AppCatalog};
use ember::ui::state::Retention;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use ui_common::{get_json, get_page, slow_rdd, ui_context, word_counts};

/// Runs a few jobs (a shuffle, a cached RDD, a failed job) with the UI and
/// the event log on; returns the live API's answers and the log's directory.
fn run_and_record(log_dir: &std::path::Path, paths: &[&str]) -> (String, Vec<(String, serde_json::Value)>) {
    let dir = log_dir.to_str().unwrap();
    let ctx = ui_context(
        "local-cluster[2]",
        &[("ember.eventLog.enabled", "true"), ("ember.eventLog.dir", dir), ("ember.task.maxFailures", "2")],
    );
    let addr = ctx.ui_address().unwrap();
    let app = ctx.app_id().to_string();
    let counts = word_counts(&ctx).cache();
    assert_eq!(counts.count().unwrap(), 3);
    assert_eq!(counts.collect().unwrap().len(), 3);
    assert_eq!(slow_rdd(&ctx, 3, 5).count().unwrap(), 3);
    assert!(ctx.parallelize(vec![1u8, 2], 2).map(|x| if x == 2 { panic!("no twos") } else { x }).count().is_err());
    ctx.flush_listeners();
    let answers = paths
        .iter()
        .map(|p| {
            let path = format!("/api/v1/applications/{app}{p}");
            (p.to_string(), get_json(addr, &path))
        })
        .collect();
    let log = ctx.event_log_path().expect("the event log is on");
    assert!(!log.exists(), "the log gets its final name only at the end");
    drop(ctx);
    assert!(log.exists(), "{} exists once the context stopped", log.display());
    (app, answers)
}

const PATHS: [&str; 9] = [
    "/jobs",
    "/jobs/0",
    "/stages",
    "/stages/0",
    "/stages/1/1",
    "/executors",
    "/allexecutors",
    "/storage/rdd",
    "/environment",
];

#[test]
fn a_replayed_event_log_answers_like_the_live_ui() {
    let logs = tempfile::tempdir().unwrap();
    let (app, live) = run_and_record(logs.path(), &PATHS);
    assert_eq!(live[0].1.as_array().unwrap().len(), 4, "four jobs: {}", live[0].1);
    assert!(!live[7].1.as_array().unwrap().is_empty(), "a cached RDD: {}", live[7].1);

    let index = Arc::new(HistoryIndex::load(logs.path(), Retention::default()).unwrap());
    assert_eq!(index.apps().len(), 1);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = server::bind("127.0.0.1".parse().unwrap(), 0).unwrap();
    let history = server::spawn(runtime.handle(), listener, index).unwrap();
    for (path, live_answer) in &live {
        let replayed = get_json(history.local_addr, &format!("/api/v1/applications/{app}{path}"));
        match path.as_str() {
            // Asked before the end, the live UI had one live executor; the
            // ended application's has none, and lists it as dead.
            "/executors" => assert_eq!(replayed, serde_json::json!([]), "{path}"),
            "/allexecutors" => {
                let mut ended = live_answer.clone();
                let count = replayed.as_array().map_or(0, Vec::len);
                assert_eq!(ended.as_array().map(Vec::len), Some(count), "{replayed}");
                for i in 0..count {
                    let (live_exec, replayed_exec) = (&mut ended[i], &replayed[i]);
                    assert_eq!(replayed_exec["isActive"], false, "{replayed}");
                    assert_eq!(replayed_exec["removeReason"], "the application ended", "{replayed}");
                    for key in ["isActive", "removeTime", "removeReason"] {
                        live_exec[key] = replayed_exec[key].clone();
                    }
                }
                assert_eq!(replayed, ended, "{path}");
            }
            _ => assert_eq!(&replayed, live_answer, "{path}"),
        }
    }
    let apps = get_json(history.local_addr, "/api/v1/applications");
    assert_eq!(apps[0]["id"], app.as_str());
    assert_eq!(apps[0]["attempts"][0]["completed"], true);
    let index_page = get_page(history.local_addr, "/");
    assert!(index_page.contains(&format!("/history/{app}/jobs/")), "{index_page}");
    assert!(index_page.contains("<p>1 application</p>") && index_page.contains("<style>"), "{index_page}");
    let executors = get_page(history.local_addr, &format!("/history/{app}/executors/"));
    assert!(executors.contains("Dead: the application ended"), "{executors}");
    let dag = get_page(history.local_addr, &format!("/history/{app}/jobs/job/?id=0"));
    assert!(dag.contains("reduce_by_key at ") && dag.contains(&format!("href=\"/history/{app}/stages/")), "{dag}");
}

#[test]
fn ember_history_serves_a_directory_of_logs() {
    let logs = tempfile::tempdir().unwrap();
    let (app, _) = run_and_record(logs.path(), &[]);
    std::fs::write(logs.path().join("notes.txt"), "not an event log\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ember-history"))
        .args(["--dir", logs.path().to_str().unwrap(), "--port", "0", "--bind", "127.0.0.1"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("ember-history starts");
    let mut first_line = String::new();
    BufReader::new(child.stderr.take().unwrap()).read_line(&mut first_line).unwrap();
    let kill = |mut child: std::process::Child| {
        let _ = child.kill();
        let _ = child.wait();
    };
    let Some(port) = first_line.trim().rsplit(':').next().and_then(|p| p.parse::<u16>().ok()) else {
        kill(child);
        panic!("no address in {first_line:?}");
    };
    assert!(first_line.starts_with("ember-history: 1 application from"), "{first_line}");
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let apps = get_json(addr, "/api/v1/applications");
    let jobs = get_json(addr, &format!("/api/v1/applications/{app}/jobs?status=succeeded"));
    let page = get_page(addr, &format!("/history/{app}/jobs/"));
    kill(child);
    assert_eq!(apps.as_array().unwrap().len(), 1);
    assert_eq!(jobs.as_array().unwrap().len(), 3, "{jobs}");
    assert!(page.contains("Completed Jobs (3)") && page.contains("Failed Jobs (1)"), "{page}");
}
