//! Property tests of the transformations of any RDD against sequential models,
//! in `local[2]` and `local-cluster[2]`.

mod common;

use common::*;
use ember::prelude::*;
use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap};

/// The records of `sample` are a sub-multiset of `data`.
fn is_sub_multiset<T: std::hash::Hash + Eq + Clone>(sample: &[T], data: &[T]) -> bool {
    let mut left: HashMap<T, i64> = HashMap::new();
    for x in data {
        *left.entry(x.clone()).or_default() += 1;
    }
    sample.iter().all(|x| {
        let n = left.entry(x.clone()).or_default();
        *n -= 1;
        *n >= 0
    })
}

/// `sub` is a subsequence of `seq`.
fn is_subsequence<T: PartialEq>(sub: &[T], seq: &[T]) -> bool {
    let mut it = seq.iter();
    sub.iter().all(|x| it.any(|y| y == x))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn map_filter_flat_map_work_within_each_partition(layout in layout(num())) {
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            let map = |x: i64| x * 3 + 1;
            let keep = |x: &i64| x.rem_euclid(3) != 2;
            let expand = |x: i64| std::iter::repeat_n(x, x.rem_euclid(3) as usize);
            let mapped: Vec<Vec<i64>> = layout.iter().map(|p| p.iter().copied().map(map).collect()).collect();
            let filtered: Vec<Vec<i64>> = layout.iter().map(|p| p.iter().copied().filter(keep).collect()).collect();
            let flat: Vec<Vec<i64>> = layout.iter().map(|p| p.iter().copied().flat_map(expand).collect()).collect();
            prop_assert_eq!(rdd.glom().collect().unwrap(), layout.clone(), "glom {}", m);
            prop_assert_eq!(rdd.map(map).glom().collect().unwrap(), mapped, "map {}", m);
            prop_assert_eq!(rdd.filter(keep).glom().collect().unwrap(), filtered, "filter {}", m);
            prop_assert_eq!(rdd.flat_map(expand).glom().collect().unwrap(), flat, "flat_map {}", m);
        }
    }

    #[test]
    fn map_partitions_and_with_index_see_whole_partitions(layout in layout(num())) {
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            let sums = rdd.map_partitions(|it| std::iter::once(it.sum::<i64>())).collect().unwrap();
            let expected: Vec<i64> = layout.iter().map(|p| p.iter().sum()).collect();
            prop_assert_eq!(sums, expected, "map_partitions {}", m);
            let indexed = rdd.map_partitions_with_index(|i, it| it.map(move |x| (i, x))).glom().collect().unwrap();
            let expected: Vec<Vec<(usize, i64)>> =
                layout.iter().enumerate().map(|(i, p)| p.iter().map(|&x| (i, x)).collect()).collect();
            prop_assert_eq!(indexed, expected, "map_partitions_with_index {}", m);
        }
    }

    #[test]
    fn with_forms_use_driver_state(
        layout in layout(num()),
        offset in -50i64..50,
        set in proptest::collection::btree_set(-20i64..20, 0..10),
    ) {
        let data = flatten(&layout);
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            let mapped = rdd.map_with(offset, |o, x| x + o).collect().unwrap();
            prop_assert_eq!(mapped, data.iter().map(|x| x + offset).collect::<Vec<_>>(), "map_with {}", m);
            let filtered = rdd.filter_with(set.clone(), |s, x| s.contains(x)).collect().unwrap();
            let expected: Vec<i64> = data.iter().copied().filter(|x| set.contains(x)).collect();
            prop_assert_eq!(filtered, expected, "filter_with {}", m);
            let reps = (offset.rem_euclid(3)) as usize;
            let flat = rdd.flat_map_with(reps, |&n, x| std::iter::repeat_n(x, n)).collect().unwrap();
            let expected: Vec<i64> = data.iter().flat_map(|&x| std::iter::repeat_n(x, reps)).collect();
            prop_assert_eq!(flat, expected, "flat_map_with {}", m);
            let parts = rdd
                .map_partitions_with(offset, |&o, i, it| std::iter::once((i, it.map(|x| x * o).sum::<i64>())))
                .collect()
                .unwrap();
            let expected: Vec<(usize, i64)> =
                layout.iter().enumerate().map(|(i, p)| (i, p.iter().map(|x| x * offset).sum())).collect();
            prop_assert_eq!(parts, expected, "map_partitions_with {}", m);
        }
    }

    #[test]
    fn broadcast_values_reach_every_task(layout in layout(num()), table in proptest::collection::vec(num(), 1..20)) {
        let data = flatten(&layout);
        let expected: Vec<i64> = data.iter().map(|&x| table[x.rem_euclid(table.len() as i64) as usize]).collect();
        for (m, ctx) in contexts() {
            let b = ctx.broadcast(table.clone()).unwrap();
            let out = from_layout(ctx, &layout)
                .map_with(b, |b, x| {
                    let t = b.value();
                    t[x.rem_euclid(t.len() as i64) as usize]
                })
                .collect()
                .unwrap();
            prop_assert_eq!(out, expected.clone(), "{}", m);
        }
    }

    #[test]
    fn persisted_rdds_are_computed_once_and_read_back_unchanged(layout in layout(num()), disk in any::<bool>()) {
        let data = flatten(&layout);
        let doubled: Vec<i64> = data.iter().map(|x| x * 2).collect();
        let level = if disk { StorageLevel::MemoryAndDisk } else { StorageLevel::MemoryOnly };
        for (m, ctx) in contexts() {
            let computed = ctx.accumulator::<u64>();
            let rdd = from_layout(ctx, &layout).map_with(computed.clone(), |c, x| {
                c.add(1);
                x * 2
            });
            let cached = rdd.persist(level);
            prop_assert_eq!(cached.storage_level(), level, "{}", m);
            prop_assert_eq!(cached.collect().unwrap(), doubled.clone(), "first use {}", m);
            let plus_one: Vec<i64> = doubled.iter().map(|x| x + 1).collect();
            prop_assert_eq!(cached.map(|x| x + 1).collect().unwrap(), plus_one, "{}", m);
            prop_assert_eq!(cached.glom().collect().unwrap().len(), layout.len(), "{}", m);
            let n = data.len() as u64;
            if m == "local[2]" {
                // One executor: every later use reads the cached blocks.
                prop_assert_eq!(computed.value(), n, "{}", m);
            } else {
                prop_assert!((n..=3 * n).contains(&computed.value()), "{}", m);
            }
            let before = computed.value();
            cached.unpersist();
            prop_assert_eq!(cached.storage_level(), StorageLevel::None, "{}", m);
            prop_assert_eq!(cached.collect().unwrap(), doubled.clone(), "after unpersist {}", m);
            prop_assert_eq!(computed.value(), before + n, "recomputed after unpersist {}", m);
        }
    }

    #[test]
    fn key_by_pairs_each_record_with_its_key(layout in layout(num())) {
        for (m, ctx) in contexts() {
            let keyed = from_layout(ctx, &layout).key_by(|x| x.rem_euclid(5)).glom().collect().unwrap();
            let expected: Vec<Vec<(i64, i64)>> =
                layout.iter().map(|p| p.iter().map(|&x| (x.rem_euclid(5), x)).collect()).collect();
            prop_assert_eq!(keyed, expected, "{}", m);
        }
    }

    #[test]
    fn union_concatenates_partitions_in_order(a in layout(num()), b in layout(num()), c in layout(num())) {
        for (m, ctx) in contexts() {
            let (ra, rb, rc) = (from_layout(ctx, &a), from_layout(ctx, &b), from_layout(ctx, &c));
            let ab: Vec<Vec<i64>> = a.iter().chain(&b).cloned().collect();
            prop_assert_eq!(ra.union(&rb).glom().collect().unwrap(), ab, "union {}", m);
            let abc: Vec<Vec<i64>> = a.iter().chain(&b).chain(&c).cloned().collect();
            let all = ctx.union(&[ra.clone(), rb.clone(), rc.clone()]).unwrap();
            prop_assert_eq!(all.num_partitions(), abc.len(), "{}", m);
            prop_assert_eq!(all.glom().collect().unwrap(), abc.clone(), "context union {}", m);
            prop_assert!(ctx.union::<i64>(&[]).is_err(), "union of no RDDs {}", m);
            prop_assert_eq!(ra.union(&rb).union(&rc).collect().unwrap(), flatten(&abc), "nested union {}", m);
        }
    }

    #[test]
    fn zip_pairs_records_of_equal_layouts(layout in layout(num())) {
        let data = flatten(&layout);
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            let zipped = rdd.zip(&rdd.map(|x| x * 2)).unwrap().collect().unwrap();
            prop_assert_eq!(zipped, data.iter().map(|&x| (x, x * 2)).collect::<Vec<_>>(), "{}", m);
            let more = ctx.parallelize(data.clone(), layout.len() + 1);
            prop_assert!(rdd.zip(&more).is_err(), "zip of different partition counts {}", m);
            // Same partition count, different sizes: an error when computed.
            let mut other = layout.clone();
            other[0].push(1);
            prop_assert!(rdd.zip(&from_layout(ctx, &other)).unwrap().collect().is_err(), "{}", m);
        }
    }

    #[test]
    fn zip_with_index_numbers_records_in_partition_order(layout in layout(num())) {
        let data = flatten(&layout);
        for (m, ctx) in contexts() {
            let indexed = from_layout(ctx, &layout).zip_with_index().unwrap().collect().unwrap();
            let expected: Vec<(i64, u64)> = data.iter().enumerate().map(|(i, &x)| (x, i as u64)).collect();
            prop_assert_eq!(indexed, expected, "{}", m);
        }
    }

    #[test]
    fn cartesian_pairs_every_record(a in small_layout(num()), b in small_layout(0u8..4)) {
        for (m, ctx) in contexts() {
            let product = from_layout(ctx, &a).cartesian(&from_layout(ctx, &b));
            prop_assert_eq!(product.num_partitions(), a.len() * b.len(), "{}", m);
            // Partition i * |b| + j pairs partition i of a with partition j of b.
            let mut expected = Vec::new();
            for pa in &a {
                for pb in &b {
                    expected.push(pa.iter().flat_map(|&x| pb.iter().map(move |&y| (x, y))).collect::<Vec<_>>());
                }
            }
            prop_assert_eq!(product.glom().collect().unwrap(), expected, "{}", m);
        }
    }

    #[test]
    fn coalesce_merges_contiguous_partitions_in_order(layout in layout(num()), k in 0usize..16) {
        let n = layout.len();
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            let coalesced = rdd.coalesce(k, false);
            let parts = k.clamp(1, n);
            prop_assert_eq!(coalesced.num_partitions(), parts, "{}", m);
            let expected: Vec<Vec<i64>> =
                (0..parts).map(|i| flatten(&layout[i * n / parts..(i + 1) * n / parts])).collect();
            prop_assert_eq!(coalesced.glom().collect().unwrap(), expected, "{}", m);
            let shuffled = rdd.coalesce(k, true);
            prop_assert_eq!(shuffled.num_partitions(), k.max(1), "{}", m);
            prop_assert_eq!(sorted(shuffled.collect().unwrap()), sorted(flatten(&layout)), "{}", m);
        }
    }

    #[test]
    fn repartition_keeps_records_and_balances_partitions(layout in layout(num()), k in 0usize..12) {
        let n = k.max(1);
        // Each input partition deals its records round-robin, so every output
        // partition gets floor or ceil of |input| / n from each input partition.
        let lo: usize = layout.iter().map(|p| p.len() / n).sum();
        let hi: usize = layout.iter().map(|p| p.len().div_ceil(n)).sum();
        for (m, ctx) in contexts() {
            let parts = from_layout(ctx, &layout).repartition(k).glom().collect().unwrap();
            prop_assert_eq!(parts.len(), n, "{}", m);
            for p in &parts {
                let balanced = (lo..=hi).contains(&p.len());
                prop_assert!(balanced, "{}: {} records not in {}..={}: {:?}", m, p.len(), lo, hi, parts);
            }
            prop_assert_eq!(sorted(parts.concat()), sorted(flatten(&layout)), "{}", m);
        }
    }

    #[test]
    fn sample_is_seeded_and_draws_from_the_records(
        layout in layout(num()),
        fraction in 0.0f64..=1.0,
        seed in any::<u64>(),
        wr_fraction in 0.0f64..3.0,
    ) {
        let data = flatten(&layout);
        let mut without = Vec::new();
        let mut with = Vec::new();
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            let a = rdd.sample(false, fraction, seed).unwrap().collect().unwrap();
            let b = rdd.sample(false, fraction, seed).unwrap().collect().unwrap();
            prop_assert_eq!(&a, &b, "same seed, same sample {}", m);
            prop_assert!(is_subsequence(&a, &data), "{}: {:?} not drawn from {:?}", m, a, data);
            without.push(a);
            let c = rdd.sample(true, wr_fraction, seed).unwrap().collect().unwrap();
            let d = rdd.sample(true, wr_fraction, seed).unwrap().collect().unwrap();
            prop_assert_eq!(&c, &d, "same seed, same sample with replacement {}", m);
            prop_assert!(c.iter().all(|x| data.contains(x)), "{}", m);
            with.push(c);
            prop_assert!(rdd.sample(false, 0.0, seed).unwrap().collect().unwrap().is_empty(), "{}", m);
            prop_assert_eq!(rdd.sample(false, 1.0, seed).unwrap().collect().unwrap(), data.clone(), "{}", m);
            prop_assert!(rdd.sample(false, 1.5, seed).is_err(), "{}", m);
            prop_assert!(rdd.sample(true, -0.1, seed).is_err(), "{}", m);
            prop_assert!(rdd.sample(true, f64::NAN, seed).is_err(), "{}", m);
        }
        // The choices depend on (seed, partition) only, not on where tasks ran.
        prop_assert_eq!(&without[0], &without[1]);
        prop_assert_eq!(&with[0], &with[1]);
        prop_assert!(is_sub_multiset(&without[0], &data));
    }

    #[test]
    fn distinct_keeps_one_copy_of_each_record(layout in layout(num())) {
        let expected: Vec<i64> = flatten(&layout).into_iter().collect::<BTreeSet<_>>().into_iter().collect();
        for (m, ctx) in contexts() {
            prop_assert_eq!(sorted(from_layout(ctx, &layout).distinct().collect().unwrap()), expected.clone(), "{}", m);
        }
    }

    #[test]
    fn sort_by_orders_records_by_their_key(layout in layout(num()), k in 0usize..8, ascending in any::<bool>()) {
        let data = flatten(&layout);
        let key = |x: &i64| x.rem_euclid(11);
        for (m, ctx) in contexts() {
            let out = from_layout(ctx, &layout).sort_by(key, ascending, k).unwrap().collect().unwrap();
            let keys: Vec<i64> = out.iter().map(key).collect();
            let ordered = keys.windows(2).all(|w| if ascending { w[0] <= w[1] } else { w[0] >= w[1] });
            prop_assert!(ordered, "{}: {:?}", m, out);
            prop_assert_eq!(sorted(out), sorted(data.clone()), "{}", m);
            let by_self = from_layout(ctx, &layout).sort_by(|x| *x, ascending, k).unwrap().collect().unwrap();
            let mut expected = sorted(data.clone());
            if !ascending {
                expected.reverse();
            }
            prop_assert_eq!(by_self, expected, "{}", m);
        }
    }

    #[test]
    fn subtract_and_intersection_match_set_models(a in layout(num()), b in layout(num())) {
        let (da, db) = (flatten(&a), flatten(&b));
        let in_b: BTreeSet<i64> = db.iter().copied().collect();
        let minus: Vec<i64> = da.iter().copied().filter(|x| !in_b.contains(x)).collect();
        let both: BTreeSet<i64> = da.iter().copied().filter(|x| in_b.contains(x)).collect();
        let both: Vec<i64> = both.into_iter().collect();
        for (m, ctx) in contexts() {
            let (ra, rb) = (from_layout(ctx, &a), from_layout(ctx, &b));
            prop_assert_eq!(sorted(ra.subtract(&rb).collect().unwrap()), sorted(minus.clone()), "subtract {}", m);
            prop_assert_eq!(sorted(ra.intersection(&rb).collect().unwrap()), both.clone(), "intersection {}", m);
        }
    }
}
