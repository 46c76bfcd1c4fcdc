//! Failures no retry can fix (a zip of partitions of different lengths, text
//! that is not UTF-8, a line a parser refuses) fail the job on their first
//! attempt with a typed error that says so, in `local[2]` and
//! `local-cluster[2]`; a failure that may be transient is still retried.

use ember::listener::TaskEndInfo;
use ember::listener::{ListenerEvent, RecordingListener};
use ember::prelude::*;
use std::sync::Arc;

const MASTERS: [&str; 2] = ["local[2]", "local-cluster[2]"];

fn recorded(master: &str) -> (Context, Arc<RecordingListener>) {
    let ctx = Context::new(Conf::new().master(master).set("ember.task.maxFailures", "4")).expect("context starts");
    let recorder = Arc::new(RecordingListener::default());
    ctx.add_listener(recorder.clone());
    (ctx, recorder)
}

/// Failed task attempts per partition, as the listener saw them.
fn failed_attempts(ctx: &Context, recorder: &RecordingListener) -> Vec<usize> {
    ctx.flush_listeners();
    let mut partitions: Vec<usize> = recorder
        .events()
        .iter()
        .filter_map(|e| match e {
            ListenerEvent::TaskEnd(TaskEndInfo { partition, succeeded: false, .. }) => Some(*partition),
            _ => None,
        })
        .collect();
    partitions.sort_unstable();
    partitions
}

fn assert_failed_once(master: &str, err: &EmberError, wanted: &str) {
    match err {
        EmberError::DeterministicFailure { cause, .. } => {
            assert!(cause.is_deterministic(), "{master}: {cause:?}");
            assert!(err.to_string().contains(wanted), "{master}: {err}");
            assert!(err.to_string().contains("cannot succeed on retry"), "{master}: {err}");
        }
        other => panic!("{master}: expected a deterministic failure, got {other:?}"),
    }
}

#[test]
fn a_zip_of_partitions_of_different_lengths_fails_at_once() {
    for master in MASTERS {
        let (ctx, recorder) = recorded(master);
        let left = ctx.parallelize((0..10u32).collect(), 2);
        let right = ctx.parallelize((0..10u32).collect(), 2).filter(|x| x % 5 != 4);
        let err = left.zip(&right).expect("same partition counts").collect().unwrap_err();
        assert_failed_once(master, &err, "can only zip RDDs with the same number of records");
        let failed = failed_attempts(&ctx, &recorder);
        assert!(!failed.is_empty(), "{master}: the failure was seen");
        let mut distinct = failed.clone();
        distinct.dedup();
        assert_eq!(failed, distinct, "{master}: no partition was attempted twice");
        // The context survives, and a good zip works.
        let ok = left.zip(&left.map(|x| x * 2)).expect("same partitions").collect().unwrap();
        assert_eq!(ok.len(), 10, "{master}");
    }
}

#[test]
fn text_that_is_not_utf8_fails_at_once_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.txt");
    std::fs::write(&path, b"fine\nalso fine\ncaf\xe9\n").unwrap();
    for master in MASTERS {
        let (ctx, recorder) = recorded(master);
        let err = ctx.text_file(path.to_str().unwrap(), 1).unwrap().count().unwrap_err();
        assert_failed_once(master, &err, "latin1.txt:line 3: not valid UTF-8");
        assert_eq!(failed_attempts(&ctx, &recorder), vec![0], "{master}: one attempt");
    }
}

#[test]
fn a_line_the_parser_refuses_fails_at_once_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("numbers.csv");
    std::fs::write(&path, "1\n2\nabc\n4\n").unwrap();
    for master in MASTERS {
        let (ctx, recorder) = recorded(master);
        let parsed = ctx
            .text_file_parsed(path.to_str().unwrap(), 1, |line| {
                line.trim().parse::<u64>().map(Some).map_err(|_| format!("'{line}' is not a number"))
            })
            .unwrap();
        let err = parsed.sum().unwrap_err();
        assert_failed_once(master, &err, "numbers.csv:3: 'abc' is not a number");
        assert_eq!(failed_attempts(&ctx, &recorder), vec![0], "{master}: one attempt");
    }
}

#[test]
fn a_panic_is_still_retried() {
    for master in MASTERS {
        let (ctx, recorder) = recorded(master);
        let err = ctx.parallelize(vec![1u32, 2, 3], 1).map(|x| if x == 2 { panic!("two") } else { x }).count();
        assert!(matches!(err, Err(EmberError::JobAborted { attempts: 4, .. })), "{master}: {err:?}");
        assert_eq!(failed_attempts(&ctx, &recorder), vec![0, 0, 0, 0], "{master}");
    }
}

/// Every file named `part-*` below `dir`.
fn part_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(part_files(&path));
        } else if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("part-")) {
            found.push(path);
        }
    }
    found
}

#[test]
fn a_corrupt_checkpoint_fails_at_once_naming_its_file() {
    for master in MASTERS {
        let (ctx, recorder) = recorded(master);
        let dir = tempfile::tempdir().unwrap();
        ctx.set_checkpoint_dir(dir.path()).unwrap();
        let checkpointed = ctx.parallelize((0..100u64).collect(), 1).map(|x| x + 1).checkpoint().unwrap();
        let parts = part_files(dir.path());
        assert_eq!(parts.len(), 1, "{master}: one partition written");
        std::fs::write(&parts[0], [0xff, 0xff, 0xff]).unwrap();
        let err = checkpointed.count().unwrap_err();
        assert_failed_once(master, &err, "corrupt checkpoint");
        assert!(err.to_string().contains("part-00000"), "{master}: {err}");
        assert_eq!(failed_attempts(&ctx, &recorder), vec![0], "{master}: one attempt");
    }
}
