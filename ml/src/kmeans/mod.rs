//! k-means clustering over an `Rdd<Block>` of points.
//!
//! - **Initialization** ([`init`]): greedy k-means++ (D² sampling) or k-means‖
//!   (Bahmani et al., VLDB 2012).
//! - **Lloyd iterations**: each point goes to its nearest center, centers move
//!   to the means, until no center moves more than the tolerance. One pass
//!   per iteration: every block yields per-cluster sums and counts (and its
//!   cost), combined with `tree_aggregate`; the new centers are computed on
//!   the driver and shipped with the next pass.
//! - **Nearest centers** ([`nearest`]): distances by ‖x−c‖² = ‖x‖² − 2x·c +
//!   ‖c‖², with a packed SIMD kernel for small k and a GEMM for large k.

mod init;
pub mod local;
mod nearest;

pub use init::{kmeans_parallel, kmeans_plus_plus};
pub use nearest::{assign, for_each_nearest, sum_by_nearest};

use crate::block::Block;
use crate::error::{MlError, Result};
use ember::prelude::*;
use ndarray::Array2;
use std::time::Instant;

/// How the initial centers are chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// k-means++: D² sampling, one center per two passes.
    KMeansPlusPlus,
    /// k-means‖ with oversampling factor ℓ (`oversampling × k`) and `rounds` passes.
    KMeansParallel { oversampling: f64, rounds: usize },
}

impl Init {
    /// k-means‖ with Spark's defaults' spirit: ℓ = 2k, 5 rounds.
    pub fn parallel() -> Init {
        Init::KMeansParallel { oversampling: 2.0, rounds: 5 }
    }
}

#[derive(Clone, Debug)]
pub struct KMeansConfig {
    pub k: usize,
    pub init: Init,
    pub max_iterations: usize,
    /// Stop when no center moves farther than this (a negative tolerance
    /// never stops early: every one of `max_iterations` runs).
    pub tolerance: f64,
    pub seed: u64,
}

impl KMeansConfig {
    pub fn new(k: usize) -> Self {
        KMeansConfig { k, init: Init::parallel(), max_iterations: 50, tolerance: 1e-4, seed: 42 }
    }
}

/// A trained model.
#[derive(Clone, Debug)]
pub struct KMeansModel {
    /// `k × d` centers.
    pub centers: Array2<f64>,
    /// Sum of squared distances of the points to their centers.
    pub cost: f64,
    /// Lloyd iterations run.
    pub iterations: usize,
    pub init_seconds: f64,
}

impl KMeansModel {
    /// The index of the center nearest to `point`.
    pub fn predict(&self, point: &[f64]) -> usize {
        nearest(&self.centers, point).0
    }
    /// The nearest center of every row of every block.
    pub fn predict_rdd(&self, points: &Rdd<Block>) -> Rdd<Vec<usize>> {
        points.map_with(self.centers.clone(), |c, b: Block| assign(&b, c).into_iter().map(|(j, _)| j).collect())
    }
}

fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// (index, squared distance) of the center nearest to `p`.
fn nearest(centers: &Array2<f64>, p: &[f64]) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (j, c) in centers.rows().into_iter().enumerate() {
        let d = dist2(c.as_slice().unwrap_or(&c.to_vec()), p);
        if d < best.1 {
            best = (j, d);
        }
    }
    best
}

fn to_array(centers: &[Vec<f64>]) -> Array2<f64> {
    let d = centers.first().map_or(0, Vec::len);
    Array2::from_shape_fn((centers.len(), d), |(i, j)| centers[i][j])
}

/// The total cost of `points` against `centers`.
pub fn cost(points: &Rdd<Block>, centers: &Array2<f64>) -> Result<f64> {
    Ok(points.map_with(centers.clone(), |c, b: Block| assign(&b, c).iter().map(|a| a.1).sum::<f64>()).sum()?)
}

/// Trains a model: initialization, then Lloyd iterations.
pub fn train(points: &Rdd<Block>, config: &KMeansConfig) -> Result<KMeansModel> {
    if config.k == 0 {
        return Err(MlError::InvalidParameter("k must be at least 1".into()));
    }
    let start = Instant::now();
    let mut centers = match config.init {
        Init::KMeansPlusPlus => kmeans_plus_plus(points, config.k, config.seed)?,
        Init::KMeansParallel { oversampling, rounds } => {
            kmeans_parallel(points, config.k, oversampling, rounds, config.seed)?
        }
    };
    let init_seconds = start.elapsed().as_secs_f64();
    if centers.nrows() == 0 {
        return Err(MlError::InvalidInput("no points to cluster".into()));
    }
    let mut iterations = 0;
    let mut cost;
    loop {
        let (new, c) = lloyd_step(points, &centers)?;
        cost = c;
        iterations += 1;
        let moved = centers
            .rows()
            .into_iter()
            .zip(new.rows())
            .map(|(a, b)| dist2(&a.to_vec(), &b.to_vec()).sqrt())
            .fold(0.0, f64::max);
        centers = new;
        if moved <= config.tolerance || iterations >= config.max_iterations {
            break;
        }
    }
    Ok(KMeansModel { centers, cost, iterations, init_seconds })
}

/// One block's part of a Lloyd iteration: per cluster the coordinate sums
/// and the count (`d + 1` values), then the block's cost.
pub fn lloyd_partial(b: &Block, centers: &Array2<f64>) -> Vec<f64> {
    let (k, d) = centers.dim();
    let mut acc = vec![0.0; k * (d + 1) + 1];
    acc[k * (d + 1)] = nearest::sum_by_nearest(b, centers, &mut acc[..k * (d + 1)]);
    acc
}

/// One Lloyd iteration: new centers (old ones kept for empty clusters) and
/// the cost of the assignment to the old centers.
pub fn lloyd_step(points: &Rdd<Block>, centers: &Array2<f64>) -> Result<(Array2<f64>, f64)> {
    let (k, d) = centers.dim();
    // Per cluster: d sums, then the count; then the total cost.
    let zero = vec![0.0; k * (d + 1) + 1];
    let partials = points.map_with(centers.clone(), |c, b: Block| lloyd_partial(&b, c));
    let sums = partials.tree_aggregate(zero, add_vectors, add_vectors, 2)?;
    let mut new = centers.clone();
    for j in 0..k {
        let slot = &sums[j * (d + 1)..(j + 1) * (d + 1)];
        if slot[d] > 0.0 {
            for (x, s) in new.row_mut(j).iter_mut().zip(&slot[..d]) {
                *x = s / slot[d];
            }
        }
    }
    Ok((new, sums[k * (d + 1)]))
}

/// How many of the `truth` centers are recovered by `found`: matched, one to
/// one, to a found center within `tolerance` (pairs taken closest first).
/// Equal to `truth.len()` when every true cluster has its own found center.
pub fn recovered(truth: &[Vec<f64>], found: &Array2<f64>, tolerance: f64) -> usize {
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (i, t) in truth.iter().enumerate() {
        for (j, c) in found.rows().into_iter().enumerate() {
            let d = c.iter().zip(t).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt();
            if d <= tolerance {
                pairs.push((d, i, j));
            }
        }
    }
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut truth_used, mut found_used) = (vec![false; truth.len()], vec![false; found.nrows()]);
    let mut matched = 0;
    for (_, i, j) in pairs {
        if !truth_used[i] && !found_used[j] {
            (truth_used[i], found_used[j]) = (true, true);
            matched += 1;
        }
    }
    matched
}

fn add_vectors(mut a: Vec<f64>, b: Vec<f64>) -> Vec<f64> {
    a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
    a
}
