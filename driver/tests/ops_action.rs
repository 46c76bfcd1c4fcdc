//! Property tests of the actions (and their async forms) against sequential
//! models, in `local[2]` and `local-cluster[2]`.

mod common;

use common::*;
use ember::prelude::*;
use futures::executor::block_on;
use proptest::prelude::*;
use std::collections::HashMap;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn collect_count_first_take_follow_partition_order(layout in layout(num()), extra in 0usize..4) {
        let data = flatten(&layout);
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            prop_assert_eq!(rdd.collect().unwrap(), data.clone(), "collect {}", m);
            prop_assert_eq!(rdd.count().unwrap(), data.len() as u64, "count {}", m);
            prop_assert_eq!(rdd.is_empty().unwrap(), data.is_empty(), "is_empty {}", m);
            match data.first() {
                Some(x) => prop_assert_eq!(rdd.first().unwrap(), *x, "first {}", m),
                None => prop_assert!(rdd.first().is_err(), "first of nothing {}", m),
            }
            // Every prefix length around the partition boundaries, and past the end.
            let mut lengths = vec![0, 1, data.len(), data.len() + extra];
            let mut end = 0;
            for p in &layout {
                end += p.len();
                lengths.extend([end, end + 1]);
            }
            for n in lengths {
                let taken = rdd.take(n).unwrap();
                prop_assert_eq!(&taken[..], &data[..n.min(data.len())], "take({}) {}", n, m);
            }
        }
    }

    #[test]
    fn take_ordered_and_top_return_the_extremes(layout in layout(num()), n in 0usize..40) {
        let asc = sorted(flatten(&layout));
        let mut desc = asc.clone();
        desc.reverse();
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            prop_assert_eq!(rdd.take_ordered(n).unwrap(), asc[..n.min(asc.len())].to_vec(), "take_ordered {}", m);
            prop_assert_eq!(rdd.top(n).unwrap(), desc[..n.min(desc.len())].to_vec(), "top {}", m);
        }
    }

    #[test]
    fn reduce_fold_aggregate_match_sequential_folds(layout in layout(num()), zero in -3i64..3) {
        let data = flatten(&layout);
        let sum: i64 = data.iter().sum();
        let parts = layout.len() as i64;
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            let reduced = data.iter().copied().reduce(|a, b| a + b);
            prop_assert_eq!(rdd.reduce(|a, b| a + b).unwrap(), reduced, "reduce {}", m);
            prop_assert_eq!(rdd.reduce(|a, b| a.min(b)).unwrap(), data.iter().copied().min(), "reduce min {}", m);
            prop_assert_eq!(rdd.fold(0, |a, b| a + b).unwrap(), sum, "fold {}", m);
            // The zero starts every partition's fold, and the final merge.
            let folded = rdd.fold(zero, |a, b| a + b).unwrap();
            prop_assert_eq!(folded, sum + zero * (parts + 1), "fold from {} {}", zero, m);
            let (n, s) =
                rdd.aggregate((0u64, 0i64), |(n, s), x| (n + 1, s + x), |a, b| (a.0 + b.0, a.1 + b.1)).unwrap();
            prop_assert_eq!((n, s), (data.len() as u64, sum), "aggregate {}", m);
            let all = rdd.aggregate(Vec::new(), push, extend).unwrap();
            prop_assert_eq!(sorted(all), sorted(data.clone()), "aggregate into lists {}", m);
        }
    }

    #[test]
    fn tree_aggregate_and_tree_reduce_match_a_flat_fold(
        layout in layout(num()),
        depth in 1usize..5,
        wide in 16usize..80,
    ) {
        let data = flatten(&layout);
        let sum: i64 = data.iter().sum();
        for (m, ctx) in contexts() {
            // Many partitions (most of them empty) make several tree levels.
            for rdd in [from_layout(ctx, &layout), ctx.parallelize(data.clone(), wide)] {
                let parts = rdd.num_partitions() as i64;
                // Non-neutral zeros: see ops_numeric (Spark's algorithm, simulated).
                let got = rdd.tree_aggregate(0, |a, x| a + x, |a, b| a + b, depth).unwrap();
                prop_assert_eq!(got, sum, "tree_aggregate {} parts depth {} {}", parts, depth, m);
                let lists = rdd.tree_aggregate(Vec::new(), push, extend, depth).unwrap();
                prop_assert_eq!(sorted(lists), sorted(data.clone()), "lists {} parts depth {} {}", parts, depth, m);
                let total = rdd.tree_reduce(|a, b| a + b, depth).unwrap();
                let expected = data.iter().copied().reduce(|a, b| a + b);
                prop_assert_eq!(total, expected, "tree_reduce {} parts depth {} {}", parts, depth, m);
            }
        }
    }

    #[test]
    fn count_by_key_count_by_value_lookup_collect_as_map(layout in layout(pair()), probe in 0u16..20) {
        let data = flatten(&layout);
        let mut by_key: HashMap<u16, u64> = HashMap::new();
        let mut by_value: HashMap<(u16, i64), u64> = HashMap::new();
        for &r in &data {
            *by_key.entry(r.0).or_default() += 1;
            *by_value.entry(r).or_default() += 1;
        }
        let looked_up: Vec<i64> = data.iter().filter(|r| r.0 == probe).map(|r| r.1).collect();
        let last_wins: HashMap<u16, i64> = data.iter().copied().collect();
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            prop_assert_eq!(rdd.count_by_key().unwrap(), by_key.clone(), "count_by_key {}", m);
            prop_assert_eq!(rdd.count_by_value().unwrap(), by_value.clone(), "count_by_value {}", m);
            prop_assert_eq!(rdd.lookup(probe).unwrap(), looked_up.clone(), "lookup {}", m);
            prop_assert_eq!(rdd.collect_as_map().unwrap(), last_wins.clone(), "collect_as_map {}", m);
        }
    }

    #[test]
    fn foreach_and_foreach_partition_are_seen_by_accumulators(layout in layout(num())) {
        let data = flatten(&layout);
        let sum: i64 = data.iter().sum();
        let non_empty = layout.iter().filter(|p| !p.is_empty()).count() as u64;
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            let acc = ctx.accumulator::<i64>();
            rdd.foreach_with(acc.clone(), |acc, x| acc.add(x)).unwrap();
            prop_assert_eq!(acc.value(), sum, "foreach_with {}", m);

            // A plain closure captures nothing: the records carry the accumulator.
            let acc = ctx.accumulator::<u64>();
            rdd.map_with(acc.clone(), |acc, x| (acc.clone(), x)).foreach(|(acc, _)| acc.add(1)).unwrap();
            prop_assert_eq!(acc.value(), data.len() as u64, "foreach {}", m);

            let (records, partitions) = (ctx.accumulator::<u64>(), ctx.accumulator::<u64>());
            rdd.map_with((records.clone(), partitions.clone()), |accs, x| (accs.clone(), x))
                .foreach_partition(|it| {
                    let mut last = None;
                    for ((records, partitions), _) in it {
                        records.add(1);
                        last = Some(partitions);
                    }
                    if let Some(partitions) = last {
                        partitions.add(1);
                    }
                })
                .unwrap();
            prop_assert_eq!(records.value(), data.len() as u64, "foreach_partition records {}", m);
            prop_assert_eq!(partitions.value(), non_empty, "foreach_partition calls {}", m);
        }
    }

    #[test]
    fn sum_mean_stats_match_sequential_statistics(layout in layout(num())) {
        let data = flatten(&layout);
        let xs: Vec<f64> = data.iter().map(|&x| x as f64).collect();
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        let sample_var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            prop_assert_eq!(rdd.sum().unwrap(), data.iter().sum::<i64>(), "sum {}", m);
            let s = rdd.stats().unwrap();
            prop_assert_eq!(s.count, data.len() as u64, "count {}", m);
            if data.is_empty() {
                // Spark's mean() is stats().mean, which starts at 0.
                prop_assert_eq!(rdd.mean().unwrap(), 0.0, "mean of nothing {}", m);
                prop_assert!(s.variance().is_nan(), "{}", m);
                prop_assert_eq!(s.sum(), 0.0, "{}", m);
                continue;
            }
            prop_assert!(close(rdd.mean().unwrap(), mean), "mean {} vs {} {}", rdd.mean().unwrap(), mean, m);
            prop_assert!(close(s.mean, mean), "{}", m);
            prop_assert!(close(s.sum(), xs.iter().sum()), "{}", m);
            prop_assert!(close(s.variance(), var), "variance {} vs {} {}", s.variance(), var, m);
            prop_assert!(close(s.stdev(), var.sqrt()), "{}", m);
            if data.len() > 1 {
                prop_assert!(close(s.sample_variance(), sample_var), "{}", m);
            } else {
                prop_assert!(s.sample_variance().is_nan(), "{}", m);
            }
            prop_assert_eq!(s.min, xs.iter().copied().fold(f64::INFINITY, f64::min), "{}", m);
            prop_assert_eq!(s.max, xs.iter().copied().fold(f64::NEG_INFINITY, f64::max), "{}", m);
            let floats = rdd.map(|x| x as f64 / 4.0);
            prop_assert!(close(floats.sum().unwrap(), xs.iter().sum::<f64>() / 4.0), "float sum {}", m);
        }
    }

    #[test]
    fn async_actions_run_concurrently_and_agree(
        a in layout(num()),
        b in layout(num()),
        n in 0usize..30,
        k in 0usize..6,
    ) {
        let (da, db) = (flatten(&a), flatten(&b));
        for (m, ctx) in contexts() {
            let (ra, rb) = (from_layout(ctx, &a), from_layout(ctx, &b));
            let jobs = vec![
                ra.collect_async(),
                rb.collect_async(),
                ra.map(|x| x * 2).collect_async(),
                rb.filter(|x| *x > 0).collect_async(),
                ra.union(&rb).collect_async(),
            ];
            let results: Vec<Vec<i64>> =
                block_on(futures::future::join_all(jobs)).into_iter().map(Result::unwrap).collect();
            prop_assert_eq!(&results[0], &da, "{}", m);
            prop_assert_eq!(&results[1], &db, "{}", m);
            prop_assert_eq!(results[2].clone(), da.iter().map(|x| x * 2).collect::<Vec<_>>(), "{}", m);
            prop_assert_eq!(results[3].clone(), db.iter().copied().filter(|x| *x > 0).collect::<Vec<_>>(), "{}", m);
            prop_assert_eq!(results[4].clone(), [da.clone(), db.clone()].concat(), "{}", m);

            let (count, taken, reduced, aggregated, sampled) = block_on(async {
                futures::join!(
                    ra.count_async(),
                    rb.take_async(n),
                    ra.reduce_async(|x, y| x + y),
                    rb.aggregate_async(0u64, |c, _| c + 1, |x, y| x + y),
                    ra.sample_per_partition_async(k),
                )
            });
            prop_assert_eq!(count.unwrap(), da.len() as u64, "count_async {}", m);
            prop_assert_eq!(taken.unwrap(), db[..n.min(db.len())].to_vec(), "take_async {}", m);
            prop_assert_eq!(reduced.unwrap(), da.iter().copied().reduce(|x, y| x + y), "reduce_async {}", m);
            prop_assert_eq!(aggregated.unwrap(), db.len() as u64, "aggregate_async {}", m);
            let sampled = sampled.unwrap();
            prop_assert_eq!(sampled.len(), a.iter().map(|p| p.len().min(k)).sum::<usize>(), "{}", m);
            let mut left = sorted(da.clone());
            for x in &sampled {
                let at = left.binary_search(x);
                prop_assert!(at.is_ok(), "{}: sampled {} is not a record", m, x);
                left.remove(at.unwrap());
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_async_action_matches_its_model_when_run_at_once(
        layout in layout(num()),
        pairs in layout(pair()),
        n in 0usize..30,
        depth in 1usize..4,
        probe in 0u16..20,
    ) {
        let data = flatten(&layout);
        let kv = flatten(&pairs);
        let sum: i64 = data.iter().sum();
        let dir = tempfile::tempdir().unwrap();
        let asc = sorted(data.clone());
        let desc: Vec<i64> = asc.iter().rev().copied().collect();
        let mut by_value: HashMap<i64, u64> = HashMap::new();
        data.iter().for_each(|&x| *by_value.entry(x).or_default() += 1);
        let mut by_key: HashMap<u16, u64> = HashMap::new();
        kv.iter().for_each(|r| *by_key.entry(r.0).or_default() += 1);
        for (m, ctx) in contexts() {
            let (rdd, prdd) = (from_layout(ctx, &layout), from_layout(ctx, &pairs));
            let (each, with, parts) = (ctx.accumulator::<u64>(), ctx.accumulator::<i64>(), ctx.accumulator::<u64>());
            let out = dir.path().join(m);
            let (first, empty, fold, tree, tree_reduced, ordered, top, counted) = block_on(async {
                futures::join!(
                    rdd.first_async(),
                    rdd.is_empty_async(),
                    rdd.fold_async(0, |a, b| a + b),
                    rdd.tree_aggregate_async(0i64, |a, x| a + x, |a, b| a + b, depth),
                    rdd.tree_reduce_async(|a, b| a.max(b), depth),
                    rdd.take_ordered_async(n),
                    rdd.top_async(n),
                    rdd.count_by_value_async(),
                )
            });
            let (foreach, foreach_with, foreach_partition, saved, total, mean, stats) = block_on(async {
                futures::join!(
                    rdd.map_with(each.clone(), |a, x| (a.clone(), x)).foreach_async(|(a, _)| a.add(1)),
                    rdd.foreach_with_async(with.clone(), |a, x| a.add(x)),
                    rdd.map_with(parts.clone(), |a, x| (a.clone(), x)).foreach_partition_async(|it| {
                        if let Some((a, _)) = it.last() {
                            a.add(1);
                        }
                    }),
                    rdd.save_as_text_file_async(&out),
                    rdd.sum_async(),
                    rdd.mean_async(),
                    rdd.stats_async(),
                )
            });
            let (keys, looked_up, map) = block_on(async {
                futures::join!(prdd.count_by_key_async(), prdd.lookup_async(probe), prdd.collect_as_map_async())
            });
            match data.first() {
                Some(x) => prop_assert_eq!(first.unwrap(), *x, "first_async {}", m),
                None => prop_assert!(first.is_err(), "first_async of nothing {}", m),
            }
            prop_assert_eq!(empty.unwrap(), data.is_empty(), "is_empty_async {}", m);
            prop_assert_eq!(fold.unwrap(), sum, "fold_async {}", m);
            prop_assert_eq!(tree.unwrap(), sum, "tree_aggregate_async {}", m);
            prop_assert_eq!(tree_reduced.unwrap(), data.iter().copied().max(), "tree_reduce_async {}", m);
            prop_assert_eq!(ordered.unwrap(), asc[..n.min(asc.len())].to_vec(), "take_ordered_async {}", m);
            prop_assert_eq!(top.unwrap(), desc[..n.min(desc.len())].to_vec(), "top_async {}", m);
            prop_assert_eq!(counted.unwrap(), by_value.clone(), "count_by_value_async {}", m);
            foreach.unwrap();
            foreach_with.unwrap();
            foreach_partition.unwrap();
            prop_assert_eq!(each.value(), data.len() as u64, "foreach_async {}", m);
            prop_assert_eq!(with.value(), sum, "foreach_with_async {}", m);
            let non_empty = layout.iter().filter(|p| !p.is_empty()).count() as u64;
            prop_assert_eq!(parts.value(), non_empty, "foreach_partition_async {}", m);
            saved.unwrap();
            let back = ctx.text_file(out.to_str().unwrap(), 2).unwrap().collect().unwrap();
            let lines: Vec<String> = data.iter().map(|x| x.to_string()).collect();
            prop_assert_eq!(back, lines, "save_as_text_file_async {}", m);
            prop_assert!(block_on(rdd.save_as_text_file_async(&out)).is_err(), "the directory exists {}", m);
            prop_assert_eq!(total.unwrap(), sum, "sum_async {}", m);
            let (mean, stats) = (mean.unwrap(), stats.unwrap());
            prop_assert_eq!(stats.count, data.len() as u64, "stats_async {}", m);
            if data.is_empty() {
                prop_assert_eq!(mean, 0.0, "mean_async of nothing {}", m);
            } else {
                prop_assert!(close(mean, sum as f64 / data.len() as f64), "mean_async {}", m);
                prop_assert_eq!(stats.max, *desc.first().unwrap() as f64, "stats_async {}", m);
            }
            prop_assert_eq!(keys.unwrap(), by_key.clone(), "count_by_key_async {}", m);
            let expected: Vec<i64> = kv.iter().filter(|r| r.0 == probe).map(|r| r.1).collect();
            prop_assert_eq!(looked_up.unwrap(), expected, "lookup_async {}", m);
            prop_assert_eq!(map.unwrap(), kv.iter().copied().collect::<HashMap<_, _>>(), "collect_as_map_async {}", m);
        }
    }
}
