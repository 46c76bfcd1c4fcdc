//! Stage and job names say where the driver program made each stage's last
//! RDD and where it called the action, as Spark's "map at Main.scala:20":
//! every transformation, source and action is `#[track_caller]` down to the
//! RDD's metadata, so the line is the user's, never one inside Ember.

use ember::listener::{ListenerEvent, RecordingListener};
use ember::prelude::*;
use std::sync::Arc;

const HERE: &str = file!();

/// The stage names of every job started so far, in order, and the jobs' names.
fn names(recorder: &RecordingListener) -> (Vec<String>, Vec<String>) {
    let (mut stages, mut jobs) = (Vec::new(), Vec::new());
    for event in recorder.events() {
        if let ListenerEvent::JobStart { stage_infos, name, .. } = event {
            stages.extend(stage_infos.into_iter().map(|s| s.name));
            jobs.push(name);
        }
    }
    (stages, jobs)
}

fn recorded(master: &str) -> (Context, Arc<RecordingListener>) {
    let ctx = Context::new(Conf::new().master(master).set("ember.ui.enabled", false)).expect("context");
    let recorder = Arc::new(RecordingListener::default());
    ctx.add_listener(recorder.clone());
    (ctx, recorder)
}

fn words_of(line: String) -> Vec<String> {
    line.split(' ').map(str::to_string).collect()
}

fn at(line: u32) -> String {
    format!(" at {HERE}:{line}")
}

#[test]
fn stages_are_named_by_the_lines_that_made_them() {
    for master in ["local[2]", "local-cluster[2]"] {
        let (ctx, recorder) = recorded(master);
        let (words_line, pairs_line) = (line!() + 1, line!() + 2);
        let words = ctx.parallelize(vec!["a b".to_string(), "b c".into(), "c a b".into()], 2).flat_map(words_of);
        let pairs = words.map(|w| (w, 1u32));
        let (reduced_line, collect_line) = (line!() + 1, line!() + 2);
        let counts = pairs.reduce_by_key(|a, b| a + b);
        let mut got = counts.collect().unwrap();
        got.sort();
        assert_eq!(got, vec![("a".to_string(), 2), ("b".into(), 3), ("c".into(), 2)]);
        let count_line = line!() + 1;
        assert_eq!(words.count().unwrap(), 7);
        let take_line = line!() + 1;
        assert_eq!(counts.map(|(_, n)| n).take(1).unwrap().len(), 1);
        ctx.stop();
        let (stages, jobs) = names(&recorder);
        assert!(!words_line.eq(&pairs_line));
        // As Spark: the map stage is named by the operation that made its
        // last RDD (`pairs`, by `map`), the result stage and the job by the
        // action, each with the user's line.
        assert_eq!(stages[0], format!("map{}", at(pairs_line)), "{master}: {stages:?}");
        assert_eq!(stages[1], format!("collect{}", at(collect_line)), "{master}: {stages:?}");
        assert_eq!(jobs[0], format!("collect{}", at(collect_line)), "{master}: {jobs:?}");
        assert_eq!(jobs[1], format!("count{}", at(count_line)), "{master}: {jobs:?}");
        assert_eq!(jobs[2], format!("take{}", at(take_line)), "take starts its jobs from a future: {master}: {jobs:?}");
        // No name points inside Ember.
        for name in stages.iter().chain(&jobs) {
            assert!(name.contains(&format!(" at {HERE}:")), "{master}: {name}");
        }
        let _ = reduced_line;
    }
}

#[test]
fn sources_and_shuffles_of_every_kind_carry_the_callers_line() {
    let (ctx, recorder) = recorded("local[2]");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.txt");
    std::fs::write(&file, "3\n1\n2\n").unwrap();
    let lines = [line!() + 1, line!() + 2, line!() + 3, line!() + 4, line!() + 5];
    let numbers = ctx.text_file(file.to_str().unwrap(), 2).unwrap().map(|l| l.parse::<u64>().unwrap());
    let sorted = numbers.map(|x| (x, ())).sort_by_key(true, 2).unwrap();
    let grouped = ctx.range(0, 10, 1, 3).unwrap().map(|x| (x % 3, x)).group_by_key();
    let joined = grouped.join(&ctx.parallelize(vec![(0i64, 'z')], 1));
    let distinct = ctx.parallelize(vec![1, 1, 2], 2).union(&ctx.parallelize(vec![2, 3], 1)).distinct();
    assert_eq!(sorted.keys().collect().unwrap(), vec![1, 2, 3]);
    assert_eq!(joined.count().unwrap(), 1);
    assert_eq!(distinct.count().unwrap(), 3);
    ctx.stop();
    let (stages, _) = names(&recorder);
    for (what, line) in ["sort_by_key", "group_by_key", "join", "distinct"].iter().zip(&lines[1..]) {
        assert!(stages.iter().any(|s| s.ends_with(&at(*line))), "{what} at line {line}: {stages:?}");
    }
    // The map stages of `sort_by_key` and `group_by_key` end with RDDs made
    // by `map`; `distinct`'s with its own inner steps, which carry its name;
    // `sort_by_key` samples its keys in a job of its own name.
    let expected = [
        format!("map{}", at(lines[1])),
        format!("map{}", at(lines[2])),
        format!("distinct{}", at(lines[4])),
        format!("sort_by_key{}", at(lines[1])),
    ];
    for expected in expected {
        assert!(stages.contains(&expected), "{expected}: {stages:?}");
    }
    for name in &stages {
        assert!(name.contains(&format!(" at {HERE}:")), "{name}");
    }
}
