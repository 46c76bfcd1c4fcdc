//! Random sampling: `take_sample`, `random_split`, `sample_by_key`, in
//! `local[2]` and `local-cluster[2]`: sizes and membership against the
//! records of a `Vec` model, determinism (the same seed gives the same
//! result in both masters and on every recompute) and rough distributions.

mod common;

use common::*;
use ember::prelude::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A layout whose records are distinct: `(index in the flattened data, value)`.
fn indexed(layout: &[Vec<i64>]) -> Vec<Vec<(usize, i64)>> {
    let mut next = 0;
    layout
        .iter()
        .map(|p| {
            p.iter()
                .map(|&v| {
                    next += 1;
                    (next - 1, v)
                })
                .collect()
        })
        .collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn take_sample_without_replacement_gives_distinct_records(
        layout in layout(num()),
        num in 0usize..40,
        seed in any::<u64>(),
    ) {
        let layout = indexed(&layout);
        let data = flatten(&layout);
        let mut per_master = Vec::new();
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            let got = rdd.take_sample(false, num, seed).unwrap();
            prop_assert_eq!(got.len(), num.min(data.len()), "size {}", m);
            let indices: BTreeSet<usize> = got.iter().map(|r| r.0).collect();
            prop_assert_eq!(indices.len(), got.len(), "distinct records {}", m);
            prop_assert!(got.iter().all(|r| data[r.0] == *r), "records of the RDD {}", m);
            if num >= data.len() {
                prop_assert_eq!(sorted(got.clone()), data.clone(), "all records {}", m);
            }
            prop_assert_eq!(rdd.take_sample(false, num, seed).unwrap(), got.clone(), "recomputed {}", m);
            per_master.push(got);
        }
        prop_assert_eq!(&per_master[0], &per_master[1], "the same in both masters");
    }

    #[test]
    fn take_sample_with_replacement_may_exceed_the_count(
        layout in layout(num()),
        num in 0usize..80,
        seed in any::<u64>(),
    ) {
        let layout = indexed(&layout);
        let data = flatten(&layout);
        let mut per_master = Vec::new();
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            let got = block_on(rdd.take_sample_async(true, num, seed)).unwrap();
            let expected_len = if data.is_empty() { 0 } else { num };
            prop_assert_eq!(got.len(), expected_len, "size {}", m);
            prop_assert!(got.iter().all(|r| data[r.0] == *r), "records of the RDD {}", m);
            per_master.push(got);
        }
        prop_assert_eq!(&per_master[0], &per_master[1], "the same in both masters");
    }

    #[test]
    fn random_split_parts_are_disjoint_and_cover_the_rdd(
        layout in layout(num()),
        weights in proptest::collection::vec(0.0f64..4.0, 1..5),
        seed in any::<u64>(),
    ) {
        prop_assume!(weights.iter().sum::<f64>() > 0.0);
        let layout = indexed(&layout);
        let data = flatten(&layout);
        let mut per_master = Vec::new();
        for (m, ctx) in contexts() {
            let splits = from_layout(ctx, &layout).random_split(&weights, seed).unwrap();
            prop_assert_eq!(splits.len(), weights.len(), "{}", m);
            let parts: Vec<Vec<(usize, i64)>> = splits.iter().map(|s| s.collect().unwrap()).collect();
            for (part, w) in parts.iter().zip(&weights) {
                // Each split keeps the records' order, and a zero weight gets nothing.
                prop_assert!(part.windows(2).all(|p| p[0].0 < p[1].0), "order {}", m);
                if *w == 0.0 {
                    prop_assert!(part.is_empty(), "zero weight {}", m);
                }
            }
            prop_assert_eq!(sorted(parts.concat()), data.clone(), "disjoint and complete {}", m);
            per_master.push(parts);
        }
        prop_assert_eq!(&per_master[0], &per_master[1], "the same in both masters");
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

#[test]
fn take_sample_edge_cases() {
    for (m, ctx) in contexts() {
        let empty = ctx.parallelize(Vec::<i64>::new(), 3);
        assert_eq!(empty.take_sample(false, 5, 1).unwrap(), Vec::<i64>::new(), "{m}");
        assert_eq!(empty.take_sample(true, 5, 1).unwrap(), Vec::<i64>::new(), "{m}");
        // Empty partitions around the records.
        let sparse = from_layout(ctx, &[vec![], vec![4i64], vec![], vec![], vec![9]]);
        assert_eq!(sparse.take_sample(false, 0, 1).unwrap(), Vec::<i64>::new(), "{m}");
        assert_eq!(sorted(sparse.take_sample(false, 2, 1).unwrap()), vec![4, 9], "{m}");
        assert_eq!(sparse.take_sample(false, 1, 1).unwrap().len(), 1, "{m}");
        let many = sparse.take_sample(true, 500, 3).unwrap();
        assert_eq!(many.len(), 500, "{m}");
        assert!(many.contains(&4) && many.contains(&9), "{m}");
        // Different seeds give different samples.
        let rdd = ctx.parallelize((0..1000i64).collect(), 4);
        assert_ne!(rdd.take_sample(false, 20, 1).unwrap(), rdd.take_sample(false, 20, 2).unwrap(), "{m}");
    }
}

#[test]
fn take_sample_chooses_records_uniformly() {
    for (m, ctx) in contexts() {
        // Without replacement: 10 of 50 records, 100 seeds: each record is
        // expected 20 times (binomial, sd about 4).
        let rdd = ctx.parallelize((0..50i64).collect(), 3).cache();
        let mut times = vec![0u32; 50];
        let mut first = vec![0u32; 50];
        for seed in 0..100 {
            let got = rdd.take_sample(false, 10, seed).unwrap();
            assert_eq!(got.iter().collect::<BTreeSet<_>>().len(), 10, "{m}");
            got.iter().for_each(|&x| times[x as usize] += 1);
            first[got[0] as usize] += 1;
        }
        assert!(times.iter().all(|&t| (4..=40).contains(&t)), "{m}: {times:?}");
        // The order is random too: the first record is not always a small one.
        assert!(first[25..].iter().sum::<u32>() >= 20, "{m}: {first:?}");

        // With replacement: 2000 draws of 10 records, each expected 200 times.
        let small = ctx.parallelize((0..10i64).collect(), 4);
        let got = small.take_sample(true, 2000, 7).unwrap();
        let mut counts = [0u32; 10];
        got.iter().for_each(|&x| counts[x as usize] += 1);
        assert!(counts.iter().all(|&c| (130..=270).contains(&c)), "{m}: {counts:?}");
    }
}

#[test]
fn random_split_sizes_follow_the_weights() {
    for (m, ctx) in contexts() {
        let rdd = ctx.parallelize((0..10_000i64).collect(), 4);
        let splits = rdd.random_split(&[1.0, 3.0], 11).unwrap();
        let counts: Vec<u64> = splits.iter().map(|s| s.count().unwrap()).collect();
        assert_eq!(counts.iter().sum::<u64>(), 10_000, "{m}");
        assert!((2250..=2750).contains(&counts[0]), "{m}: {counts:?}");
        // Bad weights are refused when the split is defined.
        for bad in [&[][..], &[0.0, 0.0], &[1.0, -1.0], &[f64::NAN]] {
            let e = rdd.random_split(bad, 1).err().expect("refused");
            assert!(matches!(e, EmberError::InvalidArgument(_)), "{m}: {e}");
        }
        let empty = ctx.parallelize(Vec::<i64>::new(), 2).random_split(&[0.5, 0.5], 1).unwrap();
        assert!(empty.iter().all(|s| s.collect().unwrap().is_empty()), "{m}");
    }
}

#[test]
fn sample_by_key_samples_each_key_at_its_fraction() {
    let fractions: HashMap<u16, f64> = [(0, 0.0), (1, 1.0), (2, 0.5), (3, 2.0)].into_iter().collect();
    let mut per_master = Vec::new();
    for (m, ctx) in contexts() {
        let rdd = ctx.parallelize((0..8000i64).map(|i| ((i % 5) as u16, i)).collect(), 4);
        let without =
            rdd.sample_by_key(false, fractions.iter().filter(|f| *f.1 <= 1.0).map(|(k, f)| (*k, *f)).collect(), 5);
        let sample = without.unwrap().collect().unwrap();
        let by_key: BTreeMap<u16, usize> = sample.iter().fold(BTreeMap::new(), |mut acc, r| {
            *acc.entry(r.0).or_default() += 1;
            acc
        });
        assert_eq!(by_key.get(&0), None, "{m}: fraction 0");
        assert_eq!(by_key[&1], 1600, "{m}: fraction 1");
        assert!((700..=900).contains(&by_key[&2]), "{m}: {by_key:?}");
        // Keys without a fraction (3 and 4 here) are not sampled.
        assert!(!by_key.contains_key(&3) && !by_key.contains_key(&4), "{m}");
        assert!(sample.iter().all(|r| r.1 % 5 == r.0 as i64), "records of the RDD {m}");
        // With replacement, fractions above 1 repeat records.
        let with = rdd.sample_by_key(true, fractions.clone(), 5).unwrap().filter(|r| r.0 == 3).count().unwrap();
        assert!((2800..=3600).contains(&with), "{m}: {with}");
        // Refused when defined: a fraction above 1 without replacement, or negative.
        assert!(rdd.sample_by_key(false, fractions.clone(), 5).is_err(), "{m}");
        assert!(rdd.sample_by_key(true, [(1u16, -0.1)].into_iter().collect(), 5).is_err(), "{m}");
        let empty = ctx.parallelize(Vec::<(u16, i64)>::new(), 3).sample_by_key(true, fractions.clone(), 1);
        assert_eq!(empty.unwrap().count().unwrap(), 0, "{m}");
        per_master.push(sample);
    }
    assert_eq!(per_master[0], per_master[1], "the same in both masters");
}

#[test]
fn take_sample_jobs_are_named_by_the_callers_line() {
    use ember::listener::{ListenerEvent, RecordingListener};
    let ctx = Context::new(Conf::new().master("local[2]").set("ember.ui.enabled", false)).expect("context");
    let recorder = std::sync::Arc::new(RecordingListener::default());
    ctx.add_listener(recorder.clone());
    let rdd = ctx.parallelize((0..100i64).collect(), 3);
    let line = line!() + 1;
    assert_eq!(rdd.take_sample(false, 5, 1).unwrap().len(), 5);
    assert_eq!(rdd.take_sample(false, 500, 1).unwrap().len(), 100);
    ctx.stop();
    let jobs: Vec<String> = recorder
        .events()
        .into_iter()
        .filter_map(|e| if let ListenerEvent::JobStart { name, .. } = e { Some(name) } else { None })
        .collect();
    assert_eq!(jobs.len(), 4, "a count and a sample, twice: {jobs:?}");
    assert!(jobs[..2].iter().all(|j| j.ends_with(&format!(" at {}:{line}", file!()))), "{jobs:?}");
    assert!(jobs[2..].iter().all(|j| j.ends_with(&format!(" at {}:{}", file!(), line + 1))), "{jobs:?}");
}

#[test]
fn a_task_retried_midway_samples_the_same_records() {
    for (m, ctx) in contexts() {
        let clean = ctx.parallelize((0..600i64).collect(), 4);
        let expected = clean.take_sample(false, 25, 42).unwrap();
        let expected_split = clean.random_split(&[1.0, 1.0], 42).unwrap()[0].collect().unwrap();
        // The same records, but partition 2 panics once, in the middle, on
        // its `fail_on`-th computation (1: the first; 2: take_sample's
        // sampling job, after its counting job); the retry must draw the
        // same random numbers.
        let marker = tempfile::tempdir().unwrap();
        let flaky = |name: &str, fail_on: u32| {
            let dir = marker.path().join(name);
            std::fs::create_dir(&dir).unwrap();
            let state = (dir.display().to_string(), fail_on);
            ctx.parallelize((0..600i64).collect(), 4).map_partitions_with(state, |(dir, fail_on), index, it| {
                let (dir, fail_on) = (dir.clone(), *fail_on);
                it.enumerate().map(move |(i, x)| {
                    if index == 2 && i == 40 {
                        // Marks this computation; panics the first time this is the `fail_on`-th.
                        let nth = (1..=fail_on).find(|n| {
                            std::fs::OpenOptions::new().write(true).create_new(true).open(format!("{dir}/{n}")).is_ok()
                        });
                        if nth == Some(fail_on) {
                            panic!("transient failure in the middle of a partition");
                        }
                    }
                    x
                })
            })
        };
        assert_eq!(flaky("sample", 2).take_sample(false, 25, 42).unwrap(), expected, "{m}");
        assert_eq!(
            flaky("split", 1).random_split(&[1.0, 1.0], 42).unwrap()[0].collect().unwrap(),
            expected_split,
            "{m}"
        );
    }
}
