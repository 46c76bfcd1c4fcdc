//! `rdd.with(state)`: every function-taking operation receives state, in
//! `local[2]` and `local-cluster[2]`, and gives what the same function with
//! the state inlined gives on a plain `Vec`.

mod common;

use common::{contexts, sorted};
use ember::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A function picked at run time: one closure over the choice, not one
/// closure per choice.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
enum Op {
    Add(i64),
    Mul(i64),
}

impl Op {
    fn apply(self, x: i64) -> i64 {
        match self {
            Op::Add(n) => x + n,
            Op::Mul(n) => x * n,
        }
    }
}

fn numbers(ctx: &Context) -> Rdd<i64> {
    ctx.parallelize((0..100i64).collect(), 4)
}

#[test]
fn transformations_receive_the_state() {
    for (m, ctx) in contexts() {
        for op in [Op::Add(3), Op::Mul(-2)] {
            let got = numbers(ctx).with(op).map(|op, x| op.apply(x)).collect().unwrap();
            assert_eq!(got, (0..100).map(|x| op.apply(x)).collect::<Vec<_>>(), "{m} {op:?}");
        }
        let keep = vec![3i64, 5, 7];
        let kept = numbers(ctx).with(keep.clone()).filter(|keep, x| keep.contains(x)).collect().unwrap();
        assert_eq!(kept, keep, "{m}");
        let repeated = numbers(ctx).with(2usize).flat_map(|n, x| std::iter::repeat_n(x, *n)).count().unwrap();
        assert_eq!(repeated, 200, "{m}");
        let sums = numbers(ctx).with(10i64).map_partitions(|base, it| std::iter::once(base + it.sum::<i64>()));
        assert_eq!(sums.collect().unwrap().iter().sum::<i64>(), 4950 + 40, "{m}");
        let tagged = numbers(ctx).with(100usize).map_partitions_with_index(|base, i, it| {
            let tag = base + i;
            it.map(move |x| (tag, x))
        });
        assert_eq!(tagged.keys().distinct().count().unwrap(), 4, "{m}");
        let keyed = numbers(ctx).with(7i64).key_by(|n, x| x % n).collect().unwrap();
        assert!(keyed.iter().all(|(k, x)| *k == x % 7), "{m}");
        let groups = numbers(ctx).with(10i64).group_by(|n, x| x / n).map_values(|v| v.len()).collect().unwrap();
        assert_eq!(sorted(groups), (0..10i64).map(|k| (k, 10usize)).collect::<Vec<_>>(), "{m}");
        let by_distance = numbers(ctx).with(50i64).sort_by(|c, x| (x - c).abs(), true, 3).unwrap().take(3).unwrap();
        assert_eq!(by_distance[0], 50, "{m}");
        assert_eq!(sorted(by_distance[1..].to_vec()), vec![49, 51], "{m}");
    }
}

#[test]
fn actions_receive_the_state() {
    for (m, ctx) in contexts() {
        let modulus = 1_000_003i64;
        let product = numbers(ctx).filter(|x| *x > 0).with(modulus).reduce(|p, a, b| a * b % p).unwrap();
        let expected = (1..100i64).fold(1, |a, b| a * b % modulus);
        assert_eq!(product, Some(expected), "{m}");
        assert_eq!(ctx.parallelize(Vec::<i64>::new(), 2).with(modulus).reduce(|p, a, b| a * b % p).unwrap(), None);
        // fold starts every partition and the final merge from zero, as Spark.
        let folded = numbers(ctx).with(2i64).fold(1, |w, a, b| a + w * b).unwrap();
        let partitions: Vec<i64> = (0..4).map(|i| (i * 25..(i + 1) * 25).fold(1, |a, b| a + 2 * b)).collect();
        assert_eq!(folded, partitions.iter().fold(1, |a, b| a + 2 * b), "{m}");
        let weights = vec![1.0f64, 0.5];
        let weighted = numbers(ctx)
            .with(weights.clone())
            .aggregate(0.0, |w, acc, x| acc + w[(x % 2) as usize] * x as f64, |_, a, b| a + b)
            .unwrap();
        let expected: f64 = (0..100i64).map(|x| weights[(x % 2) as usize] * x as f64).sum();
        assert_eq!(weighted, expected, "{m}");
        let total = ctx.accumulator::<i64>();
        numbers(ctx).with((total.clone(), 2i64)).foreach(|(total, k), x| total.add(x * k)).unwrap();
        assert_eq!(total.value(), 9900, "{m}");
        let partitions = ctx.accumulator::<i64>();
        numbers(ctx).with(partitions.clone()).foreach_partition(|seen, it| seen.add(it.count() as i64)).unwrap();
        assert_eq!(partitions.value(), 100, "{m}");
    }
}

#[test]
fn pair_operations_receive_the_state() {
    for (m, ctx) in contexts() {
        let pairs = numbers(ctx).map(|x| (x % 5, x));
        let mut model: HashMap<i64, Vec<i64>> = HashMap::new();
        (0..100i64).for_each(|x| model.entry(x % 5).or_default().push(x));
        let reduce = |f: &dyn Fn(i64, i64) -> i64| -> Vec<(i64, i64)> {
            sorted(model.iter().map(|(k, v)| (*k, v.iter().copied().reduce(f).unwrap())).collect())
        };

        let op = Op::Mul(3);
        let mapped = pairs.with(op).map_values(|op, v| op.apply(v)).values().sum().unwrap();
        assert_eq!(mapped, 3 * 4950, "{m}");
        let spread = pairs.with(2usize).flat_map_values(|n, v| std::iter::repeat_n(v, *n)).count().unwrap();
        assert_eq!(spread, 200, "{m}");
        let placed = pairs.with(-1i64).partition_by_fn(3, |sign, k| sign * k).glom().collect().unwrap();
        for (i, part) in placed.iter().enumerate() {
            assert!(part.iter().all(|(k, _)| (-k).rem_euclid(3) as usize == i), "{m}: {i} {part:?}");
        }
        let capped = pairs.with(1000i64).reduce_by_key(|cap, a, b| (a + b).min(*cap)).collect().unwrap();
        assert_eq!(sorted(capped), reduce(&|a, b| (a + b).min(1000)), "{m}");
        let into = pairs.with(1000i64).reduce_by_key_into(|cap, a, b| (a + b).min(*cap), 2);
        assert_eq!(into.num_partitions(), 2, "{m}");
        assert_eq!(sorted(into.collect().unwrap()), reduce(&|a, b| (a + b).min(1000)), "{m}");
        let folded = pairs.with(1i64).fold_by_key(0, |one, a, b| a + b + one).collect().unwrap();
        assert!(folded.iter().all(|(k, v)| *v >= model[k].iter().sum::<i64>()), "{m}");
        let counted = pairs
            .with(10i64)
            .aggregate_by_key((0i64, 0usize), |d, (s, n), v| (s + v / d, n + 1), |_, a, b| (a.0 + b.0, a.1 + b.1))
            .collect()
            .unwrap();
        assert!(counted.iter().all(|(_, (_, n))| *n == 20), "{m}");
        let lists = pairs
            .with(2i64)
            .combine_by_key(
                |d, v| vec![v / d],
                |d, mut c, v| {
                    c.push(v / d);
                    c
                },
                |_, mut a, b| {
                    a.extend(b);
                    a
                },
                3,
            )
            .map_values(|v| v.len())
            .collect()
            .unwrap();
        assert_eq!(sorted(lists), (0..5i64).map(|k| (k, 20usize)).collect::<Vec<_>>(), "{m}");
    }
}
