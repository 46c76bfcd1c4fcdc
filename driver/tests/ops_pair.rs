//! Property tests of the pair-RDD transformations (the shuffles) against
//! sequential models, in `local[2]` and `local-cluster[2]`.

mod common;

use common::*;
use ember::prelude::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

type Rec = (u16, i64);

/// The values of each key, sorted, by key.
fn groups(data: &[Rec]) -> BTreeMap<u16, Vec<i64>> {
    let mut map: BTreeMap<u16, Vec<i64>> = BTreeMap::new();
    for &(k, v) in data {
        map.entry(k).or_default().push(v);
    }
    map.values_mut().for_each(|vs| vs.sort());
    map
}

/// Sorts the values of grouped records, and the records by key.
fn normalize(mut grouped: Vec<(u16, Vec<i64>)>) -> BTreeMap<u16, Vec<i64>> {
    grouped.iter_mut().for_each(|(_, vs)| vs.sort());
    let keys = grouped.len();
    let map: BTreeMap<u16, Vec<i64>> = grouped.into_iter().collect();
    assert_eq!(map.len(), keys, "a key appears in two output records");
    map
}

fn sums(data: &[Rec]) -> BTreeMap<u16, i64> {
    groups(data).into_iter().map(|(k, vs)| (k, vs.iter().sum())).collect()
}

/// Nested-loop models of the joins.
fn matches(data: &[Rec], k: u16) -> Vec<i64> {
    data.iter().filter(|r| r.0 == k).map(|r| r.1).collect()
}
fn join_model(a: &[Rec], b: &[Rec]) -> Vec<(u16, (i64, i64))> {
    a.iter().flat_map(|&(k, v)| matches(b, k).into_iter().map(move |w| (k, (v, w)))).collect()
}
fn left_model(a: &[Rec], b: &[Rec]) -> Vec<(u16, (i64, Option<i64>))> {
    let mut out = Vec::new();
    for &(k, v) in a {
        let ws = matches(b, k);
        if ws.is_empty() {
            out.push((k, (v, None)));
        }
        out.extend(ws.into_iter().map(|w| (k, (v, Some(w)))));
    }
    out
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn keys_values_map_values_flat_map_values_are_narrow(layout in layout(pair())) {
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            let per_part = |f: &dyn Fn(&[Rec]) -> Vec<Rec>| layout.iter().map(|p| f(p)).collect::<Vec<_>>();
            let keys: Vec<Vec<u16>> = layout.iter().map(|p| p.iter().map(|r| r.0).collect()).collect();
            let values: Vec<Vec<i64>> = layout.iter().map(|p| p.iter().map(|r| r.1).collect()).collect();
            prop_assert_eq!(rdd.keys().glom().collect().unwrap(), keys, "keys {}", m);
            prop_assert_eq!(rdd.values().glom().collect().unwrap(), values, "values {}", m);
            let mapped = per_part(&|p| p.iter().map(|&(k, v)| (k, v - 1)).collect());
            prop_assert_eq!(rdd.map_values(|v| v - 1).glom().collect().unwrap(), mapped, "map_values {}", m);
            let flat = per_part(&|p| {
                p.iter().flat_map(|&(k, v)| (0..v.rem_euclid(3)).map(move |i| (k, v + i))).collect()
            });
            let out = rdd.flat_map_values(|v| (0..v.rem_euclid(3)).map(move |i| v + i)).glom().collect().unwrap();
            prop_assert_eq!(out, flat, "flat_map_values {}", m);
        }
    }

    #[test]
    fn group_by_key_gathers_every_value_of_a_key(layout in layout(pair()), k in 0usize..9) {
        let data = flatten(&layout);
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            let grouped = rdd.group_by_key();
            prop_assert_eq!(grouped.num_partitions(), layout.len(), "{}", m);
            prop_assert_eq!(normalize(grouped.collect().unwrap()), groups(&data), "{}", m);
            let into = rdd.group_by_key_into(k);
            prop_assert_eq!(into.num_partitions(), k.max(1), "{}", m);
            prop_assert_eq!(normalize(into.collect().unwrap()), groups(&data), "into {}", m);
        }
    }

    #[test]
    fn group_by_groups_records_by_a_function(layout in layout(num())) {
        let data = flatten(&layout);
        let mut expected: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for &x in &data {
            expected.entry(x.rem_euclid(4)).or_default().push(x);
        }
        expected.values_mut().for_each(|v| v.sort());
        for (m, ctx) in contexts() {
            let mut out = from_layout(ctx, &layout).group_by(|x| x.rem_euclid(4)).collect().unwrap();
            out.iter_mut().for_each(|(_, v)| v.sort());
            prop_assert_eq!(out.into_iter().collect::<BTreeMap<_, _>>(), expected.clone(), "{}", m);
        }
    }

    #[test]
    fn reduce_by_key_merges_the_values_of_each_key(layout in layout(pair()), k in 0usize..9) {
        let data = flatten(&layout);
        let maxes: BTreeMap<u16, i64> = groups(&data).into_iter().map(|(k, vs)| (k, *vs.last().unwrap())).collect();
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            let out = rdd.reduce_by_key(|a, b| a + b).collect().unwrap();
            prop_assert_eq!(out.len(), maxes.len(), "one record per key {}", m);
            prop_assert_eq!(out.into_iter().collect::<BTreeMap<_, _>>(), sums(&data), "{}", m);
            let into = rdd.reduce_by_key_into(|a, b| a.max(b), k);
            prop_assert_eq!(into.num_partitions(), k.max(1), "{}", m);
            prop_assert_eq!(into.collect().unwrap().into_iter().collect::<BTreeMap<_, _>>(), maxes.clone(), "{}", m);
        }
    }

    #[test]
    fn fold_by_key_starts_each_key_from_zero_in_each_partition(layout in layout(pair()), zero in -3i64..3) {
        let data = flatten(&layout);
        // The zero is folded in once per key per map partition holding the key.
        let mut expected = sums(&data);
        for part in &layout {
            for key in part.iter().map(|r| r.0).collect::<BTreeSet<_>>() {
                *expected.get_mut(&key).unwrap() += zero;
            }
        }
        for (m, ctx) in contexts() {
            let out = from_layout(ctx, &layout).fold_by_key(zero, |a, b| a + b).collect().unwrap();
            prop_assert_eq!(out.into_iter().collect::<BTreeMap<_, _>>(), expected.clone(), "{}", m);
        }
    }

    #[test]
    fn aggregate_by_key_folds_values_into_combiners(layout in layout(pair())) {
        let data = flatten(&layout);
        let expected: BTreeMap<u16, (u32, i64, i64)> = groups(&data)
            .into_iter()
            .map(|(k, vs)| (k, (vs.len() as u32, vs.iter().sum(), *vs.iter().max().unwrap())))
            .collect();
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            let out = rdd
                .aggregate_by_key(
                    (0u32, 0i64, i64::MIN),
                    |(n, s, mx), v| (n + 1, s + v, mx.max(v)),
                    |a, b| (a.0 + b.0, a.1 + b.1, a.2.max(b.2)),
                )
                .collect()
                .unwrap();
            prop_assert_eq!(out.into_iter().collect::<BTreeMap<_, _>>(), expected.clone(), "{}", m);
            let lists = rdd.aggregate_by_key(Vec::new(), push, extend).collect().unwrap();
            prop_assert_eq!(normalize(lists), groups(&data), "lists {}", m);
        }
    }

    #[test]
    fn combine_by_key_builds_and_merges_combiners(layout in layout(pair()), k in 0usize..9) {
        let data = flatten(&layout);
        let expected: BTreeMap<u16, (i64, u64)> =
            groups(&data).into_iter().map(|(k, vs)| (k, (vs.iter().sum(), vs.len() as u64))).collect();
        for (m, ctx) in contexts() {
            let out = from_layout(ctx, &layout).combine_by_key(
                |v| (v, 1u64),
                |(s, n), v| (s + v, n + 1),
                |a, b| (a.0 + b.0, a.1 + b.1),
                k,
            );
            prop_assert_eq!(out.num_partitions(), k.max(1), "{}", m);
            prop_assert_eq!(out.collect().unwrap().into_iter().collect::<BTreeMap<_, _>>(), expected.clone(), "{}", m);
        }
    }

    #[test]
    fn joins_match_nested_loop_models(a in small_layout(pair()), b in small_layout(pair())) {
        let (da, db) = (flatten(&a), flatten(&b));
        let swap = |(k, (w, v)): (u16, (i64, Option<i64>))| (k, (v, w));
        let inner = sorted(join_model(&da, &db));
        let left = sorted(left_model(&da, &db));
        let right = sorted(left_model(&db, &da).into_iter().map(swap).collect());
        let mut full: Vec<(u16, (Option<i64>, Option<i64>))> =
            left.iter().map(|&(k, (v, w))| (k, (Some(v), w))).collect();
        full.extend(right.iter().filter(|r| r.1.0.is_none()).map(|&(k, (v, w))| (k, (v, Some(w)))));
        let full = sorted(full);
        for (m, ctx) in contexts() {
            let (ra, rb) = (from_layout(ctx, &a), from_layout(ctx, &b));
            prop_assert_eq!(sorted(ra.join(&rb).collect().unwrap()), inner.clone(), "join {}", m);
            prop_assert_eq!(sorted(ra.left_outer_join(&rb).collect().unwrap()), left.clone(), "left {}", m);
            prop_assert_eq!(sorted(ra.right_outer_join(&rb).collect().unwrap()), right.clone(), "right {}", m);
            prop_assert_eq!(sorted(ra.full_outer_join(&rb).collect().unwrap()), full.clone(), "full {}", m);
        }
    }

    #[test]
    fn cogroup_lists_the_values_of_both_sides(a in layout(pair()), b in layout((key(), any::<bool>()))) {
        let (da, db) = (flatten(&a), flatten(&b));
        let mut expected: BTreeMap<u16, (Vec<i64>, Vec<bool>)> = BTreeMap::new();
        for &(k, v) in &da {
            expected.entry(k).or_default().0.push(v);
        }
        for &(k, w) in &db {
            expected.entry(k).or_default().1.push(w);
        }
        expected.values_mut().for_each(|(vs, ws)| { vs.sort(); ws.sort(); });
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &a).cogroup(&from_layout(ctx, &b));
            prop_assert_eq!(rdd.num_partitions(), a.len().max(b.len()), "{}", m);
            let mut out = rdd.collect().unwrap();
            out.iter_mut().for_each(|(_, (vs, ws))| { vs.sort(); ws.sort(); });
            prop_assert_eq!(out.len(), expected.len(), "one record per key {}", m);
            prop_assert_eq!(out.into_iter().collect::<BTreeMap<_, _>>(), expected.clone(), "{}", m);
        }
    }

    #[test]
    fn partition_by_places_records_where_the_partitioner_says(
        layout in layout(pair()),
        n in 1usize..9,
        ascending in any::<bool>(),
    ) {
        let data = flatten(&layout);
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            let hash = HashPartitioner::new(n);
            let parts = rdd.partition_by(hash).glom().collect().unwrap();
            prop_assert_eq!(parts.len(), n, "{}", m);
            for (i, p) in parts.iter().enumerate() {
                prop_assert!(p.iter().all(|r| hash.partition(&r.0) == i), "hash {}: partition {} has {:?}", m, i, p);
            }
            prop_assert_eq!(sorted(parts.concat()), sorted(data.clone()), "hash {}", m);

            let range = RangePartitioner::from_sample(data.iter().map(|r| r.0).collect(), n, ascending);
            let parts = rdd.partition_by(range.clone()).glom().collect().unwrap();
            prop_assert_eq!(parts.len(), range.num_partitions(), "{}", m);
            prop_assert!(parts.len() <= n, "{}", m);
            for (i, p) in parts.iter().enumerate() {
                prop_assert!(p.iter().all(|r| range.partition(&r.0) == i), "range {}: partition {} has {:?}", m, i, p);
            }
            // Every key of a partition is before every key of the next one.
            let bounds: Vec<(u16, u16)> = parts
                .iter()
                .filter(|p| !p.is_empty())
                .map(|p| (p.iter().map(|r| r.0).min().unwrap(), p.iter().map(|r| r.0).max().unwrap()))
                .collect();
            let ordered = bounds.windows(2).all(|w| if ascending { w[0].1 < w[1].0 } else { w[0].0 > w[1].1 });
            prop_assert!(ordered, "range {}: {:?}", m, bounds);
            prop_assert_eq!(sorted(parts.concat()), sorted(data.clone()), "range {}", m);

            let parts = rdd.partition_by_fn(n, |k| *k as usize * 7 + 1).glom().collect().unwrap();
            prop_assert_eq!(parts.len(), n, "{}", m);
            for (i, p) in parts.iter().enumerate() {
                let placed = p.iter().all(|r| (r.0 as usize * 7 + 1) % n == i);
                prop_assert!(placed, "fn {}: partition {} has {:?}", m, i, p);
            }
            prop_assert_eq!(sorted(parts.concat()), sorted(data.clone()), "fn {}", m);

            // A function giving negative numbers partitions them as Spark's nonNegativeMod.
            let parts = rdd.partition_by_fn(n, |k| -(*k as i64) - 3).glom().collect().unwrap();
            for (i, p) in parts.iter().enumerate() {
                let placed = p.iter().all(|r| (-(r.0 as i64) - 3).rem_euclid(n as i64) as usize == i);
                prop_assert!(placed, "negative fn {}: partition {} has {:?}", m, i, p);
            }
        }
    }

    #[test]
    fn sort_by_key_is_a_stable_sort_by_key(layout in layout(pair()), k in 0usize..9, ascending in any::<bool>()) {
        let mut expected = flatten(&layout);
        if ascending {
            expected.sort_by_key(|r| r.0);
        } else {
            expected.sort_by_key(|r| std::cmp::Reverse(r.0));
        }
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout).sort_by_key(ascending, k).unwrap();
            prop_assert!(rdd.num_partitions() <= k.max(1), "{}", m);
            prop_assert_eq!(rdd.collect().unwrap(), expected.clone(), "{}", m);
        }
    }
}
