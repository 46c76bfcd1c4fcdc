//! k-means on generated gaussian blobs, in `local[1]` and `local-cluster[2]`.

use ember::prelude::*;
use ember_ml::data;
use ember_ml::kmeans::{self, Init, KMeansConfig};
use ndarray::Array2;
use std::sync::OnceLock;

fn local() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(|| Context::new(Conf::new().master("local[1]")).expect("local context"))
}

fn cluster() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(|| Context::new(Conf::new().master("local-cluster[2]")).expect("local-cluster context"))
}

/// The largest distance from a true center to the nearest found one.
fn center_error(truth: &[Vec<f64>], found: &Array2<f64>) -> f64 {
    truth
        .iter()
        .map(|t| {
            found
                .rows()
                .into_iter()
                .map(|c| c.iter().zip(t).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt())
                .fold(f64::INFINITY, f64::min)
        })
        .fold(0.0, f64::max)
}

fn config(init: Init, seed: u64) -> KMeansConfig {
    KMeansConfig { k: 10, init, max_iterations: 50, tolerance: 1e-6, seed }
}

#[test]
fn both_initializations_find_the_ten_true_centers_for_ten_seeds_out_of_ten() {
    for init in [Init::KMeansPlusPlus, Init::parallel()] {
        for seed in 0..10 {
            let (points, truth) = data::blobs(cluster(), 3000, 8, 10, 100 + seed, 4).unwrap();
            let points = points.cache();
            let model = kmeans::train(&points, &config(init, seed)).unwrap();
            let error = center_error(&truth, &model.centers);
            // 300 points per blob, unit variance: the mean is within ~0.2 of the truth.
            assert!(error < 0.5, "{init:?} seed {seed}: center error {error}");
            assert!(model.cost < 3000.0 * 8.0 * 1.2, "{init:?} seed {seed}: cost {}", model.cost);
        }
    }
}

#[test]
fn local_cluster_gives_the_same_answer_as_local() {
    let run = |ctx: &Context| {
        let (points, _) = data::blobs(ctx, 2000, 5, 4, 7, 3).unwrap();
        kmeans::train(&points.cache(), &config(Init::parallel(), 3)).unwrap()
    };
    let (a, b) = (run(local()), run(cluster()));
    assert_eq!(a.iterations, b.iterations);
    // Same blocks, same arithmetic in the same order: bit-identical.
    assert_eq!(a.centers, b.centers);
    assert_eq!(a.cost, b.cost);
}

#[test]
fn a_negative_tolerance_runs_every_iteration() {
    let (points, _) = data::blobs(local(), 2000, 5, 4, 7, 3).unwrap();
    let points = points.cache();
    let converged = kmeans::train(&points, &config(Init::parallel(), 3)).unwrap();
    assert!(converged.iterations < 50, "well-separated blobs converge early: {}", converged.iterations);
    let every = KMeansConfig { tolerance: -1.0, max_iterations: 60, ..config(Init::parallel(), 3) };
    let all = kmeans::train(&points, &every).unwrap();
    assert_eq!(all.iterations, 60);
    assert_eq!(all.centers, converged.centers, "iterations past convergence move nothing");
}

#[test]
fn cost_and_predictions_match_a_sequential_computation() {
    let (points, _) = data::blobs(local(), 500, 3, 3, 11, 2).unwrap();
    let model = kmeans::train(&points, &config(Init::KMeansPlusPlus, 5)).unwrap();
    let rows: Vec<Vec<f64>> = points
        .collect()
        .unwrap()
        .iter()
        .flat_map(|b| b.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>())
        .collect();
    let mut expected_cost = 0.0;
    let mut expected_labels = Vec::new();
    for r in &rows {
        let (j, d) = model
            .centers
            .rows()
            .into_iter()
            .map(|c| c.iter().zip(r).map(|(a, b)| (a - b) * (a - b)).sum::<f64>())
            .enumerate()
            .fold((0, f64::INFINITY), |a, (j, d)| if d < a.1 { (j, d) } else { a });
        expected_cost += d;
        expected_labels.push(j);
        assert_eq!(model.predict(r), j);
    }
    let cost = kmeans::cost(&points, &model.centers).unwrap();
    assert!((cost - expected_cost).abs() <= 1e-9 * expected_cost, "{cost} vs {expected_cost}");
    let labels: Vec<usize> = model.predict_rdd(&points).collect().unwrap().into_iter().flatten().collect();
    assert_eq!(labels, expected_labels);
}

#[test]
fn bad_parameters_are_clear_errors() {
    let (points, _) = data::blobs(local(), 10, 2, 1, 1, 1).unwrap();
    let e = kmeans::train(&points, &KMeansConfig::new(0)).unwrap_err().to_string();
    assert!(e.contains("k must be at least 1"), "{e}");
    let e = data::blobs(local(), usize::MAX, 2, 1, 1, 4).err().expect("overflow").to_string();
    assert!(e.contains("too large"), "{e}");
    // More clusters than distinct points: as many centers as points.
    let few = local().parallelize(vec![Array2::from_shape_vec((2, 1), vec![1.0, 2.0]).unwrap().into_shared()], 1);
    let model = kmeans::train(&few, &config(Init::KMeansPlusPlus, 1)).unwrap();
    assert_eq!(model.centers.nrows(), 2);
    assert_eq!(model.cost, 0.0);
}
