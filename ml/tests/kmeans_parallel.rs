//! k-means‖ recovers every true cluster of close gaussian blobs, seed after
//! seed: the generator of the `kmeans-init` benchmark (10 centers uniform in
//! [-10, 10]^10, unit-variance noise), at a size for CI.

use ember::prelude::*;
use ember_ml::data;
use ember_ml::kmeans::{self, Init, KMeansConfig};
use std::sync::OnceLock;

fn ctx() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(|| Context::new(Conf::new().master("local[2]")).expect("local context"))
}

#[test]
fn kmeans_parallel_recovers_all_ten_blobs_on_twenty_seeds_out_of_twenty() {
    let mut missed = Vec::new();
    for seed in 1..=20u64 {
        let (points, truth) = data::blobs_in_box(ctx(), 20_000, 10, 10, 10.0, 1000 + seed, 4).unwrap();
        let points = points.cache();
        let config = KMeansConfig { k: 10, init: Init::parallel(), max_iterations: 100, tolerance: 1e-6, seed };
        let model = kmeans::train(&points, &config).unwrap();
        // 2,000 points per blob: a recovered blob's mean is within ~0.1 of its center.
        let found = kmeans::recovered(&truth, &model.centers, 1.0);
        if found != 10 {
            let closest = truth
                .iter()
                .enumerate()
                .flat_map(|(i, a)| truth[i + 1..].iter().map(move |b| dist(a, b)))
                .fold(f64::INFINITY, f64::min);
            missed.push((seed, found, model.cost, closest));
        }
    }
    assert!(
        missed.is_empty(),
        "seeds where k-means‖ missed blobs (seed, recovered, cost, closest true centers): {missed:?}"
    );
}

fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt()
}

#[test]
fn kmeans_parallel_is_deterministic_per_seed() {
    let (points, _) = data::blobs_in_box(ctx(), 5_000, 10, 10, 10.0, 7, 4).unwrap();
    let points = points.cache();
    let a = kmeans::kmeans_parallel(&points, 10, 2.0, 5, 3).unwrap();
    let b = kmeans::kmeans_parallel(&points, 10, 2.0, 5, 3).unwrap();
    assert_eq!(a, b);
}

#[test]
fn recovered_counts_one_to_one_matches_within_the_tolerance() {
    let truth = vec![vec![0.0, 0.0], vec![5.0, 0.0], vec![10.0, 0.0]];
    let both_near_first = ndarray::array![[0.1, 0.0], [-0.1, 0.0], [10.0, 0.5]];
    assert_eq!(kmeans::recovered(&truth, &both_near_first, 1.0), 2);
    let all = ndarray::array![[10.0, 0.2], [0.0, 0.3], [5.2, 0.0]];
    assert_eq!(kmeans::recovered(&truth, &all, 1.0), 3);
    assert_eq!(kmeans::recovered(&truth, &all, 0.25), 2);
}
