//! The Spark-parity operations added beside the pair operations, against
//! `Vec` models in `local[2]` and `local-cluster[2]`: `subtract_by_key`,
//! `reduce_by_key_locally`, the `_into(partitions)` variants, zipping by
//! partition (`zip_partitions`, `zip_partitions3`, `zip_with_unique_id`),
//! `to_local_iterator` and RDD names; with their `rdd.with(state)` forms.

mod common;

use common::*;
use ember::prelude::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};

type Rec = (u16, i64);

fn sums(data: &[Rec]) -> BTreeMap<u16, i64> {
    data.iter().fold(BTreeMap::new(), |mut acc, &(k, v)| {
        *acc.entry(k).or_default() += v;
        acc
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn subtract_by_key_keeps_the_records_whose_key_other_lacks(
        a in layout(pair()),
        b in layout((key(), any::<bool>())),
        k in 0usize..9,
    ) {
        let theirs: BTreeSet<u16> = flatten(&b).into_iter().map(|r| r.0).collect();
        let expected = sorted(flatten(&a).into_iter().filter(|r| !theirs.contains(&r.0)).collect());
        for (m, ctx) in contexts() {
            let (ra, rb) = (from_layout(ctx, &a), from_layout(ctx, &b));
            let out = ra.subtract_by_key(&rb);
            prop_assert_eq!(out.num_partitions(), a.len(), "{}", m);
            prop_assert_eq!(sorted(out.collect().unwrap()), expected.clone(), "{}", m);
            let into = ra.subtract_by_key_into(&rb, k);
            prop_assert_eq!(into.num_partitions(), k.max(1), "{}", m);
            prop_assert_eq!(sorted(into.collect().unwrap()), expected.clone(), "into {}", m);
        }
    }

    #[test]
    fn cogroup3_lists_the_values_of_the_three_sides(
        a in small_layout(pair()),
        b in small_layout((key(), any::<bool>())),
        c in small_layout((key(), 0u8..4)),
        k in 0usize..9,
    ) {
        type Groups = BTreeMap<u16, (Vec<i64>, Vec<bool>, Vec<u8>)>;
        let mut expected: Groups = BTreeMap::new();
        flatten(&a).into_iter().for_each(|(key, v)| expected.entry(key).or_default().0.push(v));
        flatten(&b).into_iter().for_each(|(key, w)| expected.entry(key).or_default().1.push(w));
        flatten(&c).into_iter().for_each(|(key, x)| expected.entry(key).or_default().2.push(x));
        let norm = |v: Vec<(u16, (Vec<i64>, Vec<bool>, Vec<u8>))>| -> Groups {
            v.into_iter().map(|(key, (x, y, z))| (key, (sorted(x), sorted(y), sorted(z)))).collect()
        };
        let expected = norm(expected.into_iter().collect());
        for (m, ctx) in contexts() {
            let (ra, rb, rc) = (from_layout(ctx, &a), from_layout(ctx, &b), from_layout(ctx, &c));
            let out = ra.cogroup3(&rb, &rc);
            prop_assert_eq!(out.num_partitions(), a.len().max(b.len()).max(c.len()), "{}", m);
            let out = out.collect().unwrap();
            prop_assert_eq!(out.len(), expected.len(), "one record per key {}", m);
            prop_assert_eq!(norm(out), expected.clone(), "{}", m);
            let into = ra.cogroup3_into(&rb, &rc, k);
            prop_assert_eq!(into.num_partitions(), k.max(1), "{}", m);
            prop_assert_eq!(norm(into.collect().unwrap()), expected.clone(), "into {}", m);
        }
    }

    #[test]
    fn repartition_and_sort_within_partitions_sorts_each_partition_by_key(layout in layout(pair()), n in 1usize..7) {
        let data = flatten(&layout);
        for (m, ctx) in contexts() {
            let hash = HashPartitioner::new(n);
            let parts = from_layout(ctx, &layout).repartition_and_sort_within_partitions(hash).glom().collect().unwrap();
            prop_assert_eq!(parts.len(), n, "{}", m);
            for (i, p) in parts.iter().enumerate() {
                prop_assert!(p.iter().all(|r| hash.partition(&r.0) == i), "{}: partition {} has {:?}", m, i, p);
                prop_assert!(p.windows(2).all(|w| w[0].0 <= w[1].0), "{}: partition {} unsorted: {:?}", m, i, p);
            }
            prop_assert_eq!(sorted(parts.concat()), sorted(data.clone()), "{}", m);
        }
    }

    #[test]
    fn filter_by_range_keeps_the_keys_in_the_range(layout in layout(pair()), lower in 0u16..16, width in 0u16..8) {
        let upper = lower + width;
        let expected: Vec<Rec> = flatten(&layout).into_iter().filter(|r| (lower..=upper).contains(&r.0)).collect();
        for (m, ctx) in contexts() {
            let out = from_layout(ctx, &layout).filter_by_range(lower, upper).collect().unwrap();
            prop_assert_eq!(out, expected.clone(), "{}", m);
        }
    }

    #[test]
    fn reduce_by_key_locally_merges_each_key_in_the_driver(layout in layout(pair())) {
        let expected = sums(&flatten(&layout));
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            let out = rdd.reduce_by_key_locally(|a, b| a + b).unwrap();
            prop_assert_eq!(out.into_iter().collect::<BTreeMap<_, _>>(), expected.clone(), "{}", m);
            let data = flatten(&layout);
            let maxes: BTreeMap<u16, i64> = data.iter().fold(BTreeMap::new(), |mut acc, &(k, v)| {
                acc.entry(k).and_modify(|m: &mut i64| *m = (*m).max(v)).or_insert(v);
                acc
            });
            let largest = rdd.with(true).reduce_by_key_locally(|max, a, b| if *max { a.max(b) } else { a.min(b) });
            prop_assert_eq!(largest.unwrap().into_iter().collect::<BTreeMap<_, _>>(), maxes, "with state {}", m);
        }
    }

    #[test]
    fn into_variants_give_the_same_records_in_the_partitions_asked_for(
        a in small_layout(pair()),
        b in small_layout(pair()),
        k in 0usize..9,
    ) {
        let n = k.max(1);
        for (m, ctx) in contexts() {
            let (ra, rb) = (from_layout(ctx, &a), from_layout(ctx, &b));
            macro_rules! same {
                ($into:expr, $base:expr, $what:expr) => {{
                    let into = $into;
                    prop_assert_eq!(into.num_partitions(), n, "{} {}", $what, m);
                    prop_assert_eq!(sorted(into.collect().unwrap()), sorted($base.collect().unwrap()), "{} {}", $what, m);
                }};
            }
            same!(ra.fold_by_key_into(0, |x, y| x + y, k), ra.fold_by_key(0, |x, y| x + y), "fold_by_key");
            same!(
                ra.aggregate_by_key_into(0u32, |c, _| c + 1, |x, y| x + y, k),
                ra.aggregate_by_key(0u32, |c, _| c + 1, |x, y| x + y),
                "aggregate_by_key"
            );
            same!(ra.join_into(&rb, k), ra.join(&rb), "join");
            same!(ra.left_outer_join_into(&rb, k), ra.left_outer_join(&rb), "left_outer_join");
            same!(ra.right_outer_join_into(&rb, k), ra.right_outer_join(&rb), "right_outer_join");
            same!(ra.full_outer_join_into(&rb, k), ra.full_outer_join(&rb), "full_outer_join");
            same!(ra.distinct_into(k), ra.distinct(), "distinct");
            same!(ra.subtract_into(&rb, k), ra.subtract(&rb), "subtract");
            same!(ra.intersection_into(&rb, k), ra.intersection(&rb), "intersection");
            let cogrouped = ra.cogroup_into(&rb, k);
            prop_assert_eq!(cogrouped.num_partitions(), n, "cogroup {}", m);
            let norm = |v: Vec<(u16, (Vec<i64>, Vec<i64>))>| -> BTreeMap<u16, (Vec<i64>, Vec<i64>)> {
                v.into_iter().map(|(key, (x, y))| (key, (sorted(x), sorted(y)))).collect()
            };
            prop_assert_eq!(norm(cogrouped.collect().unwrap()), norm(ra.cogroup(&rb).collect().unwrap()), "cogroup {}", m);
            let grouped = ra.group_by_into(|r| r.1.rem_euclid(3), k);
            prop_assert_eq!(grouped.num_partitions(), n, "group_by {}", m);
            let by_fn = |v: Vec<(i64, Vec<Rec>)>| -> BTreeMap<i64, Vec<Rec>> {
                v.into_iter().map(|(key, rs)| (key, sorted(rs))).collect()
            };
            prop_assert_eq!(by_fn(grouped.collect().unwrap()), by_fn(ra.group_by(|r| r.1.rem_euclid(3)).collect().unwrap()));

            // The same with state.
            same!(ra.with(2i64).fold_by_key_into(0, |s, x, y| x + y * s, k), ra.fold_by_key(0, |x, y| x + y * 2), "with fold");
            same!(
                ra.with(1u32).aggregate_by_key_into(0u32, |s, c, _| c + s, |_, x, y| x + y, k),
                ra.aggregate_by_key(0u32, |c, _| c + 1, |x, y| x + y),
                "with aggregate"
            );
            let grouped = ra.with(3i64).group_by_into(|s, r| r.1.rem_euclid(*s), k);
            prop_assert_eq!(grouped.num_partitions(), n, "with group_by {}", m);
            prop_assert_eq!(by_fn(grouped.collect().unwrap()), by_fn(ra.group_by(|r| r.1.rem_euclid(3)).collect().unwrap()));
        }
    }

    #[test]
    fn zip_partitions_sees_the_partitions_side_by_side(a in layout(num()), seed in any::<u64>()) {
        // A second layout with the same partition count and other sizes.
        let b: Vec<Vec<u16>> = a.iter().enumerate().map(|(i, p)| (0..(p.len() + i + seed as usize) % 5).map(|x| x as u16).collect()).collect();
        let c: Vec<Vec<bool>> = a.iter().map(|p| vec![true; p.len() % 3]).collect();
        let expected: Vec<Vec<(usize, usize)>> = a.iter().zip(&b).map(|(x, y)| vec![(x.len(), y.len())]).collect();
        let concat: Vec<String> = a
            .iter()
            .zip(&b)
            .zip(&c)
            .flat_map(|((x, y), z)| {
                x.iter().map(|v| v.to_string()).chain(y.iter().map(|v| format!("u{v}"))).chain(z.iter().map(|v| v.to_string()))
            })
            .collect();
        for (m, ctx) in contexts() {
            let (ra, rb, rc) = (from_layout(ctx, &a), from_layout(ctx, &b), from_layout(ctx, &c));
            let sizes = ra.zip_partitions(&rb, |x, y| std::iter::once((x.count(), y.count()))).unwrap();
            prop_assert_eq!(sizes.num_partitions(), a.len(), "{}", m);
            prop_assert_eq!(sizes.glom().collect().unwrap(), expected.clone(), "{}", m);
            let three = ra
                .zip_partitions3(&rb, &rc, |x, y, z| {
                    x.map(|v| v.to_string()).chain(y.map(|v| format!("u{v}"))).chain(z.map(|v| v.to_string())).collect::<Vec<_>>()
                })
                .unwrap();
            prop_assert_eq!(three.collect().unwrap(), concat.clone(), "{}", m);
            let with = ra.with(10usize).zip_partitions(&rb, |s, x, y| std::iter::once((x.count() + s, y.count()))).unwrap();
            let shifted: Vec<(usize, usize)> = expected.iter().map(|p| (p[0].0 + 10, p[0].1)).collect();
            prop_assert_eq!(with.collect().unwrap(), shifted, "{}", m);
            let with3 = ra
                .with("u".to_string())
                .zip_partitions3(&rb, &rc, |s, x, y, z| {
                    let s = s.clone();
                    x.map(|v| v.to_string()).chain(y.map(move |v| format!("{s}{v}"))).chain(z.map(|v| v.to_string())).collect::<Vec<_>>()
                })
                .unwrap();
            prop_assert_eq!(with3.collect().unwrap(), concat.clone(), "{}", m);
        }
    }

    #[test]
    fn zip_with_unique_id_numbers_partition_k_of_n_with_k_plus_multiples_of_n(layout in layout(num())) {
        let n = layout.len() as u64;
        let expected: Vec<(i64, u64)> = layout
            .iter()
            .enumerate()
            .flat_map(|(k, p)| p.iter().enumerate().map(move |(i, &x)| (x, i as u64 * n + k as u64)))
            .collect();
        for (m, ctx) in contexts() {
            let out = from_layout(ctx, &layout).zip_with_unique_id().collect().unwrap();
            prop_assert_eq!(out.iter().map(|r| r.1).collect::<BTreeSet<_>>().len(), out.len(), "unique {}", m);
            prop_assert_eq!(out, expected.clone(), "{}", m);
        }
    }

    #[test]
    fn to_local_iterator_yields_every_record_in_order(layout in layout(num())) {
        let data = flatten(&layout);
        for (m, ctx) in contexts() {
            let got: Result<Vec<i64>> = from_layout(ctx, &layout).to_local_iterator().collect();
            prop_assert_eq!(got.unwrap(), data.clone(), "{}", m);
        }
    }
}

#[test]
fn zip_partitions_refuses_different_partition_counts_when_defined() {
    for (m, ctx) in contexts() {
        let (a, b) = (ctx.parallelize(vec![1i64, 2], 2), ctx.parallelize(vec![1i64, 2, 3], 3));
        let e = a.zip_partitions(&b, |x, _| x).err().expect("refused");
        assert!(
            matches!(&e, EmberError::PartitionCountMismatch { operation: "zip_partitions", counts } if counts == &[2, 3]),
            "{m}: {e}"
        );
        assert!(e.to_string().contains("same number of partitions"), "{m}: {e}");
        let e = a.zip_partitions3(&a, &b, |x, _, _| x).err().expect("refused");
        assert!(matches!(e, EmberError::PartitionCountMismatch { .. }), "{m}: {e}");
        let e = a.with(1i64).zip_partitions(&b, |_, x, _| x).err().expect("refused");
        assert!(matches!(e, EmberError::PartitionCountMismatch { .. }), "{m}: {e}");
        assert!(matches!(a.zip(&b), Err(EmberError::PartitionCountMismatch { operation: "zip", .. })), "{m}");
        // Empty RDDs with the same partition count zip.
        let empty = ctx.parallelize(Vec::<i64>::new(), 3);
        let e2 = ctx.parallelize(Vec::<u8>::new(), 3);
        assert_eq!(
            empty
                .zip_partitions(&e2, |x, y| {
                    let n = y.count() as i64;
                    x.map(move |v| v + n)
                })
                .unwrap()
                .count()
                .unwrap(),
            0,
            "{m}"
        );
    }
}

#[test]
fn empty_rdds_and_empty_partitions() {
    for (m, ctx) in contexts() {
        let empty = ctx.parallelize(Vec::<Rec>::new(), 3);
        let some = from_layout(ctx, &[vec![], vec![(1u16, 5i64)], vec![]]);
        assert!(empty.subtract_by_key(&some).collect().unwrap().is_empty(), "{m}");
        assert_eq!(some.subtract_by_key(&empty).collect().unwrap(), vec![(1, 5)], "{m}");
        assert_eq!(empty.reduce_by_key_locally(|a, b| a + b).unwrap(), HashMap::new(), "{m}");
        assert!(empty.zip_with_unique_id().collect().unwrap().is_empty(), "{m}");
        assert_eq!(some.zip_with_unique_id().collect().unwrap(), vec![((1, 5), 1)], "{m}");
        assert_eq!(empty.to_local_iterator().count(), 0, "{m}");
        assert_eq!(empty.join_into(&some, 4).count().unwrap(), 0, "{m}");
        assert_eq!(some.left_outer_join_into(&empty, 2).collect().unwrap(), vec![(1, (5, None))], "{m}");
    }
}

#[test]
fn a_failing_partition_ends_the_local_iterator_with_its_error() {
    let ctx = ctx("local[2]");
    let rdd = ctx.parallelize((0..6i64).collect(), 3).map(|x| if x == 3 { panic!("boom at 3") } else { x });
    let mut it = rdd.to_local_iterator();
    assert_eq!(it.next().unwrap().unwrap(), 0);
    assert_eq!(it.next().unwrap().unwrap(), 1);
    let e = it.next().expect("the error").expect_err("an error");
    assert!(e.to_string().contains("boom at 3"), "{e}");
    assert!(it.next().is_none());
}

#[test]
fn named_rdds_show_their_name_in_the_lineage() {
    for (m, ctx) in contexts() {
        let rdd = ctx.parallelize((0..4i64).collect(), 2).map(|x| x + 1);
        assert_eq!(rdd.name(), None, "{m}");
        let named = rdd.set_name("plus one");
        assert_eq!(rdd.name().as_deref(), Some("plus one"), "{m}");
        assert!(named.to_debug_string().contains("plus one MapPartitionsRdd"), "{m}: {}", named.to_debug_string());
        // A named RDD still computes in backends (names are not shipped).
        let summed = named.map(|x| (0u8, x)).reduce_by_key(|a, b| a + b).values().collect().unwrap();
        assert_eq!(summed, vec![10], "{m}");
    }
}
