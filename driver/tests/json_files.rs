//! JSON lines through jobs, in `local[2]` and `local-cluster[2]`: records
//! read from byte-range splits, blank lines skipped, a bad line failing the
//! job with `file:line`.

use ember::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

const MASTERS: [&str; 2] = ["local[2]", "local-cluster[2]"];

static CONTEXTS: OnceLock<Vec<(&'static str, Context)>> = OnceLock::new();

fn contexts() -> &'static [(&'static str, Context)] {
    CONTEXTS.get_or_init(|| {
        MASTERS
            .iter()
            .map(|&m| (m, Context::new(Conf::new().master(m).app_name("json-files")).expect("the context starts")))
            .collect()
    })
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Event {
    user: String,
    clicks: u32,
    tags: Vec<String>,
    referrer: Option<String>,
}

fn events(n: u32) -> Vec<Event> {
    (0..n)
        .map(|i| Event {
            user: format!("user \"{i}\" é"),
            clicks: i * 3,
            tags: (0..i % 3).map(|t| format!("t{t}")).collect(),
            referrer: (i % 2 == 0).then(|| "https://example.org/?q=a,b".to_string()),
        })
        .collect()
}

#[test]
fn json_lines_read_back_as_records_across_splits_skipping_blank_lines() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let mut text = String::new();
    for (i, e) in events(120).iter().enumerate() {
        text.push_str(&serde_json::to_string(e).unwrap());
        text.push_str(if i % 10 == 0 { "\r\n\n" } else { "\n" });
    }
    std::fs::write(&file, text).unwrap();
    let path = file.to_str().unwrap();
    for (master, ctx) in contexts() {
        let rdd: Rdd<Event> = ctx.json_file(path, 7).unwrap();
        assert!(rdd.num_partitions() >= 7, "{master}");
        assert_eq!(rdd.collect().unwrap(), events(120), "{master}");
    }
}

#[test]
fn a_line_that_is_not_a_record_fails_the_job_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let good = serde_json::to_string(&events(1)[0]).unwrap();
    let bad = r#"{"user":"x","clicks":-1,"tags":[],"referrer":null}"#;
    std::fs::write(&file, format!("{good}\n\n{good}\n{bad}\n{good}\n")).unwrap();
    let path = file.to_str().unwrap();
    for (master, ctx) in contexts() {
        let err = ctx.json_file::<Event>(path, 2).unwrap().collect().expect_err("clicks is unsigned").to_string();
        assert!(err.contains(&format!("{path}:4: not a JSON")), "{master}: {err}");
        assert!(err.contains("Event") && err.contains("invalid value: integer `-1`"), "{master}: {err}");
    }
}
