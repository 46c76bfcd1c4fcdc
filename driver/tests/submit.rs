//! `ember-submit` runs a program with the master and settings it was given,
//! and its defaults file template parses.

use ember::prelude::*;
use std::process::Command;

/// Runs as the submitted program of `ember_submit_passes_master_and_settings`.
#[test]
fn submitted_program() {
    if std::env::var("EMBER_TEST_SUBMITTED").is_err() {
        return;
    }
    // The program's own setting wins over ember-submit's.
    let ctx = Context::new(Conf::new().set("ember.task.maxFailures", 2)).unwrap();
    let s = ctx.settings();
    println!(
        "SUBMITTED master={:?} name={} failures={} seed={} count={}",
        s.master,
        s.app_name,
        s.max_task_failures,
        s.seed,
        ctx.parallelize((0..10).collect::<Vec<u32>>(), 3).count().unwrap()
    );
}

/// Asserts that the submitted program printed `SUBMITTED <expected>`.
fn assert_submitted(out: &std::process::Output, expected: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find_map(|l| l.split_once("SUBMITTED ").map(|(_, r)| r.to_string()));
    assert_eq!(line.as_deref(), Some(expected), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn ember_submit_passes_master_and_settings() {
    let dir = tempfile::tempdir().unwrap();
    let props = dir.path().join("defaults.conf");
    std::fs::write(&props, "ember.app.name=from-file\nember.seed=11\nember.task.maxFailures=7\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ember-submit"))
        .args(["--master", "local-cluster[2]", "--name", "submitted", "--properties-file"])
        .arg(&props)
        .arg(std::env::current_exe().unwrap())
        .args(["--", "--exact", "submitted_program", "--nocapture", "--test-threads", "1"])
        .env("EMBER_TEST_SUBMITTED", "1")
        .output()
        .unwrap();
    assert_submitted(
        &out,
        "master=LocalCluster { executors: 2, cores: 1, memory_mb: None } name=submitted failures=2 seed=11 count=10",
    );
    let bad = Command::new(env!("CARGO_BIN_EXE_ember-submit")).args(["--master", "yarn", "x"]).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--master yarn: unknown master"));
}

#[test]
fn a_bare_app_name_is_the_file_here_and_flags_after_it_are_the_programs() {
    let dir = tempfile::tempdir().unwrap();
    // A bare name found only in the current directory, not on PATH.
    std::os::unix::fs::symlink(std::env::current_exe().unwrap(), dir.path().join("submitted-app")).unwrap();
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    std::fs::write(dir.path().join("conf/ember-defaults.conf"), "\u{feff}! defaults\nember.seed   13\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ember-submit"))
        .args(["--master", "local[1]", "--conf", "ember.ui.enabled=false", "submitted-app"])
        .args(["--exact", "submitted_program", "--nocapture", "--test-threads", "1"])
        .current_dir(dir.path())
        .env("PATH", "/usr/bin:/bin")
        .env_remove("EMBER_CONF_DIR")
        .env("EMBER_TEST_SUBMITTED", "1")
        .output()
        .unwrap();
    assert_submitted(&out, "master=Local { threads: 1 } name=ember failures=2 seed=13 count=10");
    let zero = Command::new(env!("CARGO_BIN_EXE_ember-submit")).args(["--executor-cores", "0", "x"]).output().unwrap();
    assert!(!zero.status.success());
    assert!(String::from_utf8_lossy(&zero.stderr).contains("--executor-cores 0: must be at least 1"));
}

#[test]
fn the_defaults_template_parses_and_names_only_known_keys() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf/ember-defaults.conf.template");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(Conf::parse_properties(&text, "template").unwrap().entries().count(), 0, "all commented out");
    let examples: String =
        text.lines().filter_map(|l| l.strip_prefix("# ember.")).map(|l| format!("ember.{l}\n")).collect();
    let conf = Conf::parse_properties(&examples, "template examples").unwrap();
    assert!(conf.entries().count() >= 10, "{examples}");
    for (key, value) in conf.entries() {
        assert!(ember::conf::KNOWN_KEYS.iter().any(|(k, _)| *k == key), "unknown key {key}");
        assert!(!value.is_empty(), "{key}");
    }
    assert_eq!(conf.get("ember.master"), Some("ember://10.0.0.5:7077,10.0.0.6:7077"));
}
