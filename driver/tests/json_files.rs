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

#[test]
fn saved_json_lines_read_back_equal_plain_and_gzipped() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (master, ctx)) in contexts().iter().enumerate() {
        let rdd = ctx.parallelize(events(300), 4);
        let plain = dir.path().join(format!("plain-{i}"));
        rdd.save_as_json_file(&plain).unwrap();
        let first = std::fs::read_to_string(plain.join("part-00000.json")).unwrap();
        let line = first.lines().next().unwrap();
        assert_eq!(line, serde_json::to_string(&events(1)[0]).unwrap(), "{master}: one object per line");
        let back: Rdd<Event> = ctx.json_file(plain.to_str().unwrap(), 2).unwrap();
        assert_eq!(back.collect().unwrap(), events(300), "{master}");

        let gz = dir.path().join(format!("gz-{i}"));
        rdd.save_as_json_file_with_codec(&gz, ember::extend::io::Codec::Gzip).unwrap();
        assert!(gz.join("part-00003.json.gz").is_file(), "{master}");
        let back: Rdd<Event> = ctx.json_file(gz.to_str().unwrap(), 2).unwrap();
        assert_eq!(back.collect().unwrap(), events(300), "{master}");
    }
}

#[test]
fn a_record_json_cannot_write_fails_the_save_naming_the_type_and_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (master, ctx) = &contexts()[0];
    let keyed: Vec<std::collections::HashMap<(u8, u8), u8>> = vec![[((1, 2), 3)].into_iter().collect()];
    let err = ctx.parallelize(keyed, 1).save_as_json_file(&out).expect_err("tuple keys").to_string();
    assert!(err.contains("cannot be written as JSON") && err.contains("HashMap"), "{master}: {err}");
    assert!(!out.join("part-00000.json").exists(), "{master}");
}
