//! Numeric actions (`mean`, `variance`, `stdev`, their sample forms,
//! histograms), tree aggregation with Spark's zero-value semantics, and RDDs
//! with no partitions, against sequential models in `local[2]` and
//! `local-cluster[2]`.

mod common;

use common::*;
use ember::prelude::*;
use futures::executor::block_on;
use proptest::prelude::*;

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

/// Spark's `RDD.treeAggregate(zero)(seq, comb, depth)` on a partition layout,
/// step by step as RDD.scala runs it: fold each partition from `zero`; while
/// `n > scale + ceil(n / scale)`: `n /= scale`, key partial `i` by `i % n` and
/// `foldByKey(zero, HashPartitioner(n))(comb)` (the map side starts each key
/// of each partition from `zero`, the reduce side merges with `comb`; an Int
/// key `k` lands in partition `k`); then `fold(zero)(comb)`: each partition
/// from `zero`, the partition results from `zero` in the driver.
fn spark_tree_aggregate(
    layout: &[Vec<i64>],
    zero: i64,
    seq: fn(i64, i64) -> i64,
    comb: fn(i64, i64) -> i64,
    depth: usize,
) -> i64 {
    if layout.is_empty() {
        return zero;
    }
    let mut partials: Vec<Vec<i64>> = layout.iter().map(|p| vec![p.iter().copied().fold(zero, seq)]).collect();
    let mut n = partials.len();
    let scale = ((n as f64).powf(1.0 / depth as f64).ceil() as usize).max(2);
    while n as f64 > scale as f64 + (n as f64 / scale as f64).ceil() {
        n /= scale;
        let mut combiners: Vec<Vec<i64>> = vec![Vec::new(); n];
        for (i, part) in partials.iter().enumerate() {
            // Map side of partition i: its records all have key i % n.
            if let Some((&first, rest)) = part.split_first() {
                combiners[i % n].push(rest.iter().copied().fold(comb(zero, first), comb));
            }
        }
        partials = combiners.into_iter().map(|c| c.into_iter().reduce(comb).into_iter().collect()).collect();
    }
    partials.iter().map(|p| p.iter().copied().fold(zero, comb)).fold(zero, comb)
}

#[test]
fn the_spark_model_counts_zeros_as_spark_does() {
    // 100 partitions of one record each, depth 2: scale 10, one level of 10.
    // zero = 1 is counted 100 (seq) + 100 (level) + 10 (final partitions) + 1.
    let layout: Vec<Vec<i64>> = (0..100).map(|_| vec![0]).collect();
    assert_eq!(spark_tree_aggregate(&layout, 1, |a, x| a + x, |a, b| a + b, 2), 211);
    // Depth 1: no level, but the partials are still folded from zero again:
    // 100 (seq) + 100 (final partitions) + 1, where aggregate gives 100 + 1.
    assert_eq!(spark_tree_aggregate(&layout, 1, |a, x| a + x, |a, b| a + b, 1), 201);
}

#[test]
fn empty_rdd_every_action_and_shuffle() {
    for (m, ctx) in contexts() {
        let e = ctx.empty_rdd::<i64>();
        assert_eq!(e.num_partitions(), 0, "{m}");
        assert_eq!(e.collect().unwrap(), Vec::<i64>::new(), "{m}");
        assert_eq!(e.count().unwrap(), 0, "{m}");
        assert!(e.is_empty().unwrap(), "{m}");
        assert!(e.first().is_err(), "{m}");
        assert_eq!(e.take(3).unwrap(), Vec::<i64>::new(), "{m}");
        assert_eq!(e.reduce(|a, b| a + b).unwrap(), None, "{m}");
        assert_eq!(e.fold(5, |a, b| a + b).unwrap(), 5, "{m}");
        assert_eq!(e.aggregate(7, |a, x| a + x, |a, b| a * b).unwrap(), 7, "{m}");
        assert_eq!(e.tree_aggregate(5, |a, x| a + x, |a, b| a + b, 2).unwrap(), 5, "{m}");
        assert_eq!(e.tree_reduce(|a, b| a + b, 2).unwrap(), None, "{m}");
        assert_eq!(e.sum().unwrap(), 0, "{m}");
        let s = e.stats().unwrap();
        assert_eq!((s.count, s.mean, s.min, s.max), (0, 0.0, f64::INFINITY, f64::NEG_INFINITY), "{m}");
        assert_eq!(e.mean().unwrap(), 0.0, "{m}");
        assert!(e.variance().unwrap().is_nan() && e.stdev().unwrap().is_nan(), "{m}");
        assert!(e.sample_variance().unwrap().is_nan() && e.sample_stdev().unwrap().is_nan(), "{m}");
        assert!(matches!(e.histogram(3), Err(EmberError::Histogram(HistogramError::Empty))), "{m}");
        assert_eq!(e.histogram_by_edges(vec![0.0, 1.0, 2.0]).unwrap(), vec![0, 0], "{m}");
        assert_eq!((e.max().unwrap(), e.min().unwrap()), (None, None), "{m}");
        assert_eq!(e.max_by(|x| -x).unwrap(), None, "{m}");
        assert_eq!(e.top_by(2, |&x| x).unwrap(), Vec::<i64>::new(), "{m}");
        assert_eq!(e.take_ordered(2).unwrap(), Vec::<i64>::new(), "{m}");
        assert!(e.count_by_value().unwrap().is_empty(), "{m}");
        assert_eq!(e.map(|x| x * 2).filter(|x| *x > 0).collect().unwrap(), Vec::<i64>::new(), "{m}");
        let pairs = e.map(|x| (x, x));
        assert_eq!(pairs.reduce_by_key(|a, b| a + b).collect().unwrap(), vec![], "{m}");
        assert_eq!(pairs.group_by_key().collect().unwrap(), vec![], "{m}");
        assert_eq!(pairs.sort_by_key(true, 3).unwrap().collect().unwrap(), vec![], "{m}");
        assert_eq!(pairs.join(&ctx.empty_rdd::<(i64, u8)>()).collect().unwrap(), vec![], "{m}");
        assert_eq!(pairs.join(&ctx.parallelize(vec![(1i64, 2u8)], 2)).collect().unwrap(), vec![], "{m}");
        assert!(pairs.count_by_key().unwrap().is_empty(), "{m}");
        assert_eq!(e.distinct().collect().unwrap(), Vec::<i64>::new(), "{m}");
        assert_eq!(e.repartition(3).collect().unwrap(), Vec::<i64>::new(), "{m}");
        assert_eq!(e.zip(&ctx.empty_rdd::<u8>()).unwrap().collect().unwrap(), vec![], "{m}");
        // A union with data has the data's partitions only.
        let u = e.union(&ctx.parallelize(vec![1, 2, 3], 2));
        assert_eq!((u.num_partitions(), u.collect().unwrap()), (2, vec![1, 2, 3]), "{m}");
        assert_eq!(e.union(&ctx.empty_rdd()).count().unwrap(), 0, "{m}");
        assert_eq!(e.coalesce(2, false).collect().unwrap(), Vec::<i64>::new(), "{m}");
        assert_eq!(e.glom().collect().unwrap(), Vec::<Vec<i64>>::new(), "{m}");
        assert_eq!(e.cartesian(&ctx.parallelize(vec![1u8, 2], 2)).count().unwrap(), 0, "{m}");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("empty");
        e.save_as_text_file(&out).unwrap();
        assert!(out.join("_SUCCESS").exists(), "{m}");
        assert_eq!(ctx.text_file(out.to_str().unwrap(), 2).unwrap().count().unwrap(), 0, "{m}");
        let cached = e.map(|x| x + 1);
        cached.cache();
        assert_eq!(cached.count().unwrap(), 0, "{m}");
    }
}

#[test]
fn statistics_of_one_record_and_of_constant_data() {
    for (m, ctx) in contexts() {
        let one = ctx.parallelize(vec![4.5f64], 3);
        assert_eq!((one.mean().unwrap(), one.variance().unwrap(), one.stdev().unwrap()), (4.5, 0.0, 0.0), "{m}");
        assert!(one.sample_variance().unwrap().is_nan() && one.sample_stdev().unwrap().is_nan(), "{m}");
        assert!(one.stats().unwrap().sample_stdev().is_nan(), "{m}");
        let same = ctx.parallelize(vec![2u32; 10], 4);
        assert_eq!((same.variance().unwrap(), same.sample_stdev().unwrap()), (0.0, 0.0), "{m}");
        // All records in empty partitions: mean is stats().mean, 0.
        let hollow = from_layout(ctx, &[Vec::<f64>::new(), vec![]]);
        assert_eq!(hollow.mean().unwrap(), 0.0, "{m}");
        // Infinite and NaN values propagate as in Spark's StatCounter.
        let inf = ctx.parallelize(vec![1.0, f64::INFINITY], 2);
        assert_eq!(inf.mean().unwrap(), f64::INFINITY, "{m}");
        let nan = ctx.parallelize(vec![1.0, f64::NAN, 3.0], 2);
        assert!(nan.mean().unwrap().is_nan() && nan.variance().unwrap().is_nan(), "{m}");
    }
}

#[test]
fn histogram_follows_sparks_rules() {
    for (m, ctx) in contexts() {
        let rdd = ctx.parallelize((0..=10).map(|x| x as f64).collect::<Vec<_>>(), 3);
        let (edges, counts) = rdd.histogram(5).unwrap();
        assert_eq!(edges, vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0], "{m}");
        // [0,2) [2,4) [4,6) [6,8) [8,10]: the last bucket is closed.
        assert_eq!(counts, vec![2, 2, 2, 2, 3], "{m}");
        assert_eq!(rdd.histogram(1).unwrap(), (vec![0.0, 10.0], vec![11]), "{m}");
        // min == max: one bucket [min, min], whatever was asked.
        let flat = ctx.parallelize(vec![3i64, 3, 3], 2);
        assert_eq!(flat.histogram(4).unwrap(), (vec![3.0, 3.0], vec![3]), "{m}");
        assert_eq!(ctx.parallelize(vec![7u8], 1).histogram(9).unwrap(), (vec![7.0, 7.0], vec![1]), "{m}");
        let refused = |r: Result<(Vec<f64>, Vec<u64>)>| match r {
            Err(EmberError::Histogram(e)) => e,
            other => panic!("{m}: expected a histogram error, got {other:?}"),
        };
        assert_eq!(refused(rdd.histogram(0)), HistogramError::NoBuckets { bucket_count: 0 }, "{m}");
        let nan = ctx.parallelize(vec![1.0, f64::NAN, 2.0], 2);
        assert!(matches!(refused(nan.histogram(2)), HistogramError::NotFinite { .. }), "{m}");
        let inf = ctx.parallelize(vec![1.0, f64::INFINITY], 2);
        assert!(matches!(refused(inf.histogram(2)), HistogramError::NotFinite { .. }), "{m}");
        let neg_inf = ctx.parallelize(vec![f64::NEG_INFINITY, 1.0], 2);
        let message = EmberError::from(refused(neg_inf.histogram(2))).to_string();
        assert!(message.contains("+/-infinity or NaN") && message.contains("histogram_by_edges"), "{m}: {message}");
        let nothing = from_layout(ctx, &[Vec::<f64>::new(), vec![]]);
        assert_eq!(refused(nothing.histogram(2)), HistogramError::Empty, "{m}");
        assert!(EmberError::from(HistogramError::Empty).to_string().contains("empty RDD"), "{m}");
    }
}

#[test]
fn histogram_by_edges_follows_sparks_rules() {
    for (m, ctx) in contexts() {
        let data = vec![-1.0, 0.0, 1.0, 5.0, 10.0, 19.99, 20.0, 50.0, 50.5, f64::NAN, f64::INFINITY];
        let rdd = ctx.parallelize(data, 4);
        // [0,10) [10,20) [20,50]: NaN and values outside are not counted.
        assert_eq!(rdd.histogram_by_edges(vec![0.0, 10.0, 20.0, 50.0]).unwrap(), vec![3, 2, 2], "{m}");
        let open = vec![f64::NEG_INFINITY, 0.0, f64::INFINITY];
        assert_eq!(rdd.histogram_by_edges(open).unwrap(), vec![1, 9], "{m}");
        let refused = |edges: Vec<f64>| match rdd.histogram_by_edges(edges) {
            Err(EmberError::Histogram(e)) => e,
            other => panic!("{m}: expected a histogram error, got {other:?}"),
        };
        assert_eq!(refused(vec![]), HistogramError::TooFewEdges { count: 0 }, "{m}");
        assert_eq!(refused(vec![1.0]), HistogramError::TooFewEdges { count: 1 }, "{m}");
        assert_eq!(refused(vec![0.0, f64::NAN]), HistogramError::NanEdge { index: 1 }, "{m}");
        assert!(matches!(refused(vec![0.0, 2.0, 1.0]), HistogramError::UnsortedEdges { index: 2, .. }), "{m}");
        assert!(matches!(refused(vec![0.0, 1.0, 1.0]), HistogramError::UnsortedEdges { index: 2, .. }), "{m}");
    }
}

/// Bucket `i` of `edges` holds `edges[i] <= x < edges[i+1]`; the last is closed.
fn model_counts(data: &[f64], edges: &[f64]) -> Vec<u64> {
    let last = edges.len() - 2;
    (0..=last)
        .map(|i| {
            let inside = |x: f64| edges[i] <= x && (x < edges[i + 1] || (i == last && x == edges[i + 1]));
            data.iter().filter(|&&x| inside(x)).count() as u64
        })
        .collect()
}

fn float() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![
        6 => (-50i32..50).prop_map(|x| x as f64 / 2.0),
        2 => -1000.0f64..1000.0,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn variances_and_stdevs_match_the_model(layout in layout(num())) {
        let xs: Vec<f64> = flatten(&layout).iter().map(|&x| x as f64).collect();
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let m2 = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>();
        let (var, sample_var) = (m2 / n, if xs.len() > 1 { m2 / (n - 1.0) } else { f64::NAN });
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            let stats = rdd.stats().unwrap();
            // mean() is stats().mean exactly, 0.0 when there is no record.
            prop_assert_eq!(rdd.mean().unwrap().to_bits(), stats.mean.to_bits(), "mean {}", m);
            if xs.is_empty() {
                prop_assert_eq!(stats.mean, 0.0, "{}", m);
            } else {
                prop_assert!(close(stats.mean, mean), "{}", m);
            }
            let got = (rdd.variance().unwrap(), rdd.stdev().unwrap());
            prop_assert!(close(got.0, var) && close(got.1, var.sqrt()), "{:?} vs {} {}", got, var, m);
            let got = (rdd.sample_variance().unwrap(), rdd.sample_stdev().unwrap());
            prop_assert!(close(got.0, sample_var) && close(got.1, sample_var.sqrt()), "{:?} {}", got, m);
            prop_assert!(close(stats.sample_stdev(), sample_var.sqrt()), "{}", m);
            let all = block_on(async {
                futures::join!(
                    rdd.mean_async(),
                    rdd.variance_async(),
                    rdd.stdev_async(),
                    rdd.sample_variance_async(),
                    rdd.sample_stdev_async(),
                )
            });
            prop_assert_eq!(all.0.unwrap().to_bits(), stats.mean.to_bits(), "mean_async {}", m);
            prop_assert!(close(all.1.unwrap(), var) && close(all.2.unwrap(), var.sqrt()), "{}", m);
            prop_assert!(close(all.3.unwrap(), sample_var) && close(all.4.unwrap(), sample_var.sqrt()), "{}", m);
        }
    }

    #[test]
    fn histogram_matches_sparks_even_buckets(layout in layout(num()), buckets in 1usize..12) {
        let xs: Vec<f64> = flatten(&layout).iter().map(|&x| x as f64).collect();
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            if xs.is_empty() {
                prop_assert!(matches!(rdd.histogram(buckets), Err(EmberError::Histogram(HistogramError::Empty))));
                continue;
            }
            let (min, max) = xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)));
            let (edges, counts) = rdd.histogram(buckets).unwrap();
            let expected_edges: Vec<f64> = if min == max {
                vec![min, min]
            } else {
                (0..buckets).map(|i| min + (i as f64 * (max - min)) / buckets as f64).chain([max]).collect()
            };
            prop_assert_eq!(&edges, &expected_edges, "edges {}", m);
            let k = edges.len() - 1;
            let mut expected = vec![0u64; k];
            for &x in &xs {
                expected[(((x - min) / (max - min) * k as f64) as usize).min(k - 1)] += 1;
            }
            prop_assert_eq!(&counts, &expected, "counts {}", m);
            prop_assert_eq!(counts.iter().sum::<u64>(), xs.len() as u64, "every record counted {}", m);
            let (edges_async, counts_async) = block_on(rdd.histogram_async(buckets)).unwrap();
            prop_assert_eq!((edges_async, counts_async), (edges, counts), "histogram_async {}", m);
        }
    }

    #[test]
    fn histogram_by_edges_matches_a_scan(
        layout in layout(float()),
        mut edges in proptest::collection::vec(-60i32..60, 2..8),
    ) {
        edges.sort();
        edges.dedup();
        prop_assume!(edges.len() >= 2);
        let edges: Vec<f64> = edges.into_iter().map(|e| e as f64 / 2.0).collect();
        let xs = flatten(&layout);
        let expected = model_counts(&xs, &edges);
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            prop_assert_eq!(rdd.histogram_by_edges(edges.clone()).unwrap(), expected.clone(), "{}", m);
            let counted = block_on(rdd.histogram_by_edges_async(edges.clone())).unwrap();
            prop_assert_eq!(counted, expected.clone(), "async {}", m);
        }
    }

    #[test]
    fn tree_aggregate_applies_zero_as_spark_does(
        layout in layout(num()),
        zero in -3i64..4,
        depth in 1usize..5,
        wide in 1usize..90,
    ) {
        let data = flatten(&layout);
        for (m, ctx) in contexts() {
            for (rdd, parts) in [(from_layout(ctx, &layout), layout.clone()), (ctx.parallelize(data.clone(), wide), slices(&data, wide))] {
                let expected = spark_tree_aggregate(&parts, zero, |a, x| a + x, |a, b| a + b, depth);
                let got = rdd.tree_aggregate(zero, |a, x| a + x, |a, b| a + b, depth).unwrap();
                prop_assert_eq!(got, expected, "sum from {} in {} parts, depth {} {}", zero, parts.len(), depth, m);
                let with = rdd.with(zero).tree_aggregate(zero, |_, a, x| a + x, |_, a, b| a + b, depth).unwrap();
                prop_assert_eq!(with, expected, "with state {}", m);
                // The zero taken as a count: how often Spark applies it.
                let ones = rdd.tree_aggregate(1i64, |a, _| a, |a, b| a + b, depth).unwrap();
                let model = spark_tree_aggregate(&parts, 1, |a, _| a, |a, b| a + b, depth);
                prop_assert_eq!(ones, model, "zero applications {}", m);
                let async_got = block_on(rdd.tree_aggregate_async(zero, |a, x| a + x, |a, b| a + b, depth)).unwrap();
                prop_assert_eq!(async_got, expected, "async {}", m);
                // aggregate and fold: zero once per partition and once in the driver.
                let flat = data.iter().sum::<i64>() + zero * (parts.len() as i64 + 1);
                prop_assert_eq!(rdd.aggregate(zero, |a, x| a + x, |a, b| a + b).unwrap(), flat, "aggregate {}", m);
                prop_assert_eq!(rdd.fold(zero, |a, b| a + b).unwrap(), flat, "fold {}", m);
                let reduced = rdd.with(()).tree_reduce(|_, a, b| a + b, depth).unwrap();
                prop_assert_eq!(reduced, data.iter().copied().reduce(|a, b| a + b), "tree_reduce with state {}", m);
            }
        }
    }
}

#[test]
fn tree_depth_zero_is_refused_as_spark_does() {
    for (m, ctx) in contexts() {
        let rdd = ctx.parallelize(vec![1, 2, 3], 2);
        let depth_error = |e: EmberError| match e {
            EmberError::TreeDepth { operation, depth: 0 } => operation,
            other => panic!("{m}: expected TreeDepth, got {other}"),
        };
        assert_eq!(depth_error(rdd.tree_aggregate(0, |a, x| a + x, |a, b| a + b, 0).unwrap_err()), "tree_aggregate");
        assert_eq!(depth_error(rdd.tree_reduce(|a, b| a + b, 0).unwrap_err()), "tree_reduce");
        let with = rdd.with(1).tree_aggregate(0, |s, a, x| a + x * s, |_, a, b| a + b, 0);
        assert_eq!(depth_error(with.unwrap_err()), "tree_aggregate");
        assert_eq!(depth_error(block_on(rdd.tree_reduce_async(|a, b| a + b, 0)).unwrap_err()), "tree_reduce");
        let message = rdd.tree_reduce(|a, b| a + b, 0).unwrap_err().to_string();
        assert!(message.contains("depth must be at least 1"), "{m}: {message}");
        // Even an RDD without partitions checks the depth first, as Spark.
        assert!(ctx.empty_rdd::<i64>().tree_aggregate(0, |a, x| a + x, |a, b| a + b, 0).is_err(), "{m}");
    }
}
