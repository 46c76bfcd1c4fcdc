//! The ordering actions (`max`, `min`, `max_by`, `min_by`, `top_by`,
//! `take_ordered_by`, their async and `with(state)` forms) and `OrderedF64`,
//! against sequential models in `local[2]` and `local-cluster[2]`: ties are
//! taken in RDD order, the first of them kept.

mod common;

use common::*;
use ember::prelude::*;
use futures::executor::block_on;
use proptest::prelude::*;
use std::cmp::Reverse;

/// The first record with the largest key (Scala's `Ordering.max` keeps the
/// left one of equals).
fn first_max<T: Clone, K: Ord>(data: &[T], key: impl Fn(&T) -> K) -> Option<T> {
    let mut best: Option<&T> = None;
    for x in data {
        if best.is_none_or(|b| key(x) > key(b)) {
            best = Some(x);
        }
    }
    best.cloned()
}

fn first_min<T: Clone, K: Ord>(data: &[T], key: impl Fn(&T) -> K) -> Option<T> {
    first_max(data, |x| Reverse(key(x)))
}

/// The first `n` records after a stable sort by key: ties in RDD order.
fn stable_first_n<T: Clone, K: Ord>(data: &[T], n: usize, key: impl Fn(&T) -> K) -> Vec<T> {
    let mut v = data.to_vec();
    v.sort_by_key(|x| key(x));
    v.truncate(n);
    v
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn max_and_min_are_the_models(layout in layout(num())) {
        let data = flatten(&layout);
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            prop_assert_eq!(rdd.max().unwrap(), data.iter().copied().max(), "max {}", m);
            prop_assert_eq!(rdd.min().unwrap(), data.iter().copied().min(), "min {}", m);
            let (max, min) = block_on(async { futures::join!(rdd.max_async(), rdd.min_async()) });
            prop_assert_eq!((max.unwrap(), min.unwrap()), (data.iter().copied().max(), data.iter().copied().min()));
        }
    }

    #[test]
    fn max_by_and_min_by_keep_the_first_of_ties(layout in layout(pair())) {
        let data = flatten(&layout);
        let key = |r: &(u16, i64)| r.0;
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            prop_assert_eq!(rdd.max_by(|r| r.0).unwrap(), first_max(&data, key), "max_by {}", m);
            prop_assert_eq!(rdd.min_by(|r| r.0).unwrap(), first_min(&data, key), "min_by {}", m);
            let (max, min) = block_on(async { futures::join!(rdd.max_by_async(|r| r.0), rdd.min_by_async(|r| r.0)) });
            prop_assert_eq!(max.unwrap(), first_max(&data, key), "max_by_async {}", m);
            prop_assert_eq!(min.unwrap(), first_min(&data, key), "min_by_async {}", m);
            // With state: the key is the value modulo the state, so ties are many.
            let modulo = |r: &(u16, i64)| r.1.rem_euclid(3);
            prop_assert_eq!(rdd.with(3i64).max_by(|k, r| r.1.rem_euclid(*k)).unwrap(), first_max(&data, modulo));
            prop_assert_eq!(rdd.with(3i64).min_by(|k, r| r.1.rem_euclid(*k)).unwrap(), first_min(&data, modulo));
            let with_async = block_on(rdd.with(3i64).max_by_async(|k, r| r.1.rem_euclid(*k))).unwrap();
            prop_assert_eq!(with_async, first_max(&data, modulo), "with max_by_async {}", m);
            let with_async = block_on(rdd.with(3i64).min_by_async(|k, r| r.1.rem_euclid(*k))).unwrap();
            prop_assert_eq!(with_async, first_min(&data, modulo), "with min_by_async {}", m);
        }
    }

    #[test]
    fn top_by_and_take_ordered_by_are_stable(layout in layout(pair()), n in 0usize..40) {
        let data = flatten(&layout);
        let top = stable_first_n(&data, n, |r| Reverse(r.0));
        let low = stable_first_n(&data, n, |r| r.0);
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            prop_assert_eq!(rdd.top_by(n, |r| r.0).unwrap(), top.clone(), "top_by({}) {}", n, m);
            prop_assert_eq!(rdd.take_ordered_by(n, |r| r.0).unwrap(), low.clone(), "take_ordered_by({}) {}", n, m);
            let (t, l) = block_on(async {
                futures::join!(rdd.top_by_async(n, |r| r.0), rdd.take_ordered_by_async(n, |r| r.0))
            });
            prop_assert_eq!((t.unwrap(), l.unwrap()), (top.clone(), low.clone()), "async {}", m);
            let s = 4i64;
            let with_top = rdd.with(s).top_by(n, |s, r| r.1.rem_euclid(*s)).unwrap();
            prop_assert_eq!(with_top, stable_first_n(&data, n, |r| Reverse(r.1.rem_euclid(s))), "with top_by {}", m);
            let with_low = rdd.with(s).take_ordered_by(n, |s, r| r.1.rem_euclid(*s)).unwrap();
            prop_assert_eq!(with_low, stable_first_n(&data, n, |r| r.1.rem_euclid(s)), "with take_ordered_by {}", m);
            let with_async = block_on(async {
                futures::join!(
                    rdd.with(s).top_by_async(n, |s, r| r.1.rem_euclid(*s)),
                    rdd.with(s).take_ordered_by_async(n, |s, r| r.1.rem_euclid(*s)),
                )
            });
            prop_assert_eq!(with_async.0.unwrap(), stable_first_n(&data, n, |r| Reverse(r.1.rem_euclid(s))));
            prop_assert_eq!(with_async.1.unwrap(), stable_first_n(&data, n, |r| r.1.rem_euclid(s)));
        }
    }

    #[test]
    fn float_keys_order_totally(layout in layout(prop_oneof![
        4 => -100.0f64..100.0,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(-0.0),
        1 => Just(0.0),
    ]), n in 0usize..20) {
        let data = flatten(&layout);
        let bits = |v: Option<f64>| v.map(f64::to_bits);
        let key = |x: &f64| OrderedF64(*x);
        for (m, ctx) in contexts() {
            let rdd = from_layout(ctx, &layout);
            prop_assert_eq!(bits(rdd.max_by(|&x| OrderedF64(x)).unwrap()), bits(first_max(&data, key)), "{}", m);
            prop_assert_eq!(bits(rdd.min_by(|&x| OrderedF64(x)).unwrap()), bits(first_min(&data, key)), "{}", m);
            let top: Vec<u64> = rdd.top_by(n, |&x| OrderedF64(x)).unwrap().into_iter().map(f64::to_bits).collect();
            let model: Vec<u64> =
                stable_first_n(&data, n, |x| Reverse(key(x))).into_iter().map(f64::to_bits).collect();
            prop_assert_eq!(top, model, "top_by {}", m);
            let low: Vec<u64> = rdd.take_ordered_by(n, |&x| OrderedF64(x)).unwrap().into_iter().map(f64::to_bits).collect();
            let model: Vec<u64> = stable_first_n(&data, n, key).into_iter().map(f64::to_bits).collect();
            prop_assert_eq!(low, model, "take_ordered_by {}", m);
        }
    }
}

#[test]
fn ties_empty_partitions_and_single_records() {
    for (m, ctx) in contexts() {
        // Equal keys across partitions: the first in RDD order wins.
        let layout = vec![vec![], vec![(1, 'a'), (5, 'b')], vec![], vec![(5, 'c'), (0, 'd')], vec![(0, 'e')]];
        let rdd = from_layout(ctx, &layout);
        assert_eq!(rdd.max_by(|r| r.0).unwrap(), Some((5, 'b')), "{m}");
        assert_eq!(rdd.min_by(|r| r.0).unwrap(), Some((0, 'd')), "{m}");
        assert_eq!(rdd.top_by(2, |r| r.0).unwrap(), vec![(5, 'b'), (5, 'c')], "{m}");
        assert_eq!(rdd.top_by(1, |r| r.0).unwrap(), vec![(5, 'b')], "{m}");
        assert_eq!(rdd.take_ordered_by(1, |r| r.0).unwrap(), vec![(0, 'd')], "{m}");
        assert_eq!(rdd.take_ordered_by(9, |r| r.0).unwrap().len(), 5, "{m}");
        assert_eq!(rdd.top_by(0, |r| r.0).unwrap(), vec![], "{m}");
        // One record.
        let one = ctx.parallelize(vec![42u8], 3);
        assert_eq!((one.max().unwrap(), one.min().unwrap()), (Some(42), Some(42)), "{m}");
        assert_eq!(one.top_by(5, |&x| Reverse(x)).unwrap(), vec![42], "{m}");
        // Only empty partitions, and no partitions at all.
        for empty in [from_layout(ctx, &[Vec::<u8>::new(), vec![]]), ctx.empty_rdd::<u8>()] {
            assert_eq!((empty.max().unwrap(), empty.min().unwrap()), (None, None), "{m}");
            assert_eq!((empty.max_by(|&x| x).unwrap(), empty.min_by(|&x| x).unwrap()), (None, None), "{m}");
            assert_eq!(empty.top_by(3, |&x| x).unwrap(), Vec::<u8>::new(), "{m}");
            assert_eq!(empty.with(1u8).take_ordered_by(3, |s, &x| x + s).unwrap(), Vec::<u8>::new(), "{m}");
        }
        // NaN is the largest OrderedF64, -inf the smallest.
        let floats = ctx.parallelize(vec![1.0, f64::NAN, f64::NEG_INFINITY, f64::INFINITY, -0.0, 0.0], 4);
        assert!(floats.max_by(|&x| OrderedF64(x)).unwrap().unwrap().is_nan(), "{m}");
        assert_eq!(floats.min_by(|&x| OrderedF64(x)).unwrap(), Some(f64::NEG_INFINITY), "{m}");
        let ordered: Vec<u64> =
            floats.take_ordered_by(6, |&x| OrderedF64(x)).unwrap().into_iter().map(f64::to_bits).collect();
        let expected: Vec<u64> =
            [f64::NEG_INFINITY, -0.0, 0.0, 1.0, f64::INFINITY, f64::NAN].iter().map(|x| x.to_bits()).collect();
        assert_eq!(ordered, expected, "{m}");
        // OrderedF64 is a sort key too.
        let sorted = floats.filter(|x| !x.is_nan()).sort_by(|&x| OrderedF64(x), false, 2).unwrap().collect().unwrap();
        assert_eq!(sorted[0], f64::INFINITY, "{m}");
    }
}
