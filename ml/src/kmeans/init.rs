//! Choosing the initial centers.
//!
//! - **k-means++** (Arthur & Vassilvitskii 2007), greedy: centers chosen one
//!   at a time, candidates drawn with probability ∝ D²(x), the squared
//!   distance to the nearest center so far, and the best of `2 + ln k`
//!   candidates kept: three passes per center (per-partition weight totals,
//!   the draws inside the chosen partitions, the candidates' costs).
//! - **k-means‖** (Bahmani et al., VLDB 2012): a few rounds in which every
//!   point is kept independently with probability min(1, ℓ·D²(x)/φ) (φ the
//!   current cost), giving O(ℓ·rounds) candidates in O(rounds) passes; the
//!   candidates, weighted by how many points they are nearest to, are then
//!   reclustered to k centers on the driver by [`super::local`]: greedy
//!   weighted k-means++, then weighted Lloyd (Spark's `LocalKMeans`).
//!
//! Every random draw comes from an RNG seeded by (seed, round, partition), so
//! a recomputed partition makes the same choices.

use super::{add_vectors, assign, local, to_array};
use crate::block::Block;
use crate::error::Result;
use ember::extend::ops::sample::partition_rng;
use ember::prelude::*;
use ndarray::Array2;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

/// Squared distance of every row of `b` to the nearest of `centers` (1 for
/// every row when there are no centers yet: a uniform draw).
fn d2_weights(centers: &Array2<f64>, b: &Block) -> Vec<f64> {
    if centers.nrows() == 0 { vec![1.0; b.nrows()] } else { assign(b, centers).into_iter().map(|a| a.1).collect() }
}

/// Draws `count` points, each with probability ∝ its squared distance to
/// `centers` (uniformly when there are none): one pass for the per-partition
/// totals, one to pick the points. Fewer when every point sits on a center.
fn d2_draw(points: &Rdd<Block>, centers: &Array2<f64>, count: usize, rng: &mut SmallRng) -> Result<Vec<Vec<f64>>> {
    let totals: Vec<f64> = points
        .map_partitions_with(centers.clone(), |c, _, it| {
            std::iter::once(it.map(|b| d2_weights(c, &b).iter().sum::<f64>()).sum::<f64>())
        })
        .collect()?;
    let total: f64 = totals.iter().sum();
    if total <= 0.0 {
        return Ok(Vec::new());
    }
    // (partition, residual weight within it) of each draw.
    let draws: Vec<(usize, f64)> = (0..count)
        .map(|_| {
            let mut r = rng.random::<f64>() * total;
            for (i, t) in totals.iter().enumerate() {
                if r < *t {
                    return (i, r);
                }
                r -= t;
            }
            (totals.len() - 1, r)
        })
        .collect();
    let picked = points
        .map_partitions_with((centers.clone(), draws), |(c, draws), index, it| {
            let mut mine: Vec<f64> = draws.iter().filter(|d| d.0 == index).map(|d| d.1).collect();
            mine.sort_by(f64::total_cmp);
            let mut out = Vec::with_capacity(mine.len());
            let (mut acc, mut next) = (0.0, 0);
            let mut last: Option<Vec<f64>> = None;
            for b in it {
                if next == mine.len() {
                    break;
                }
                let weights = d2_weights(c, &b);
                let mut last_positive = None;
                for (i, &w) in weights.iter().enumerate() {
                    if w > 0.0 {
                        last_positive = Some(i);
                    }
                    acc += w;
                    while next < mine.len() && acc > mine[next] && w > 0.0 {
                        out.push(b.row(i).to_vec());
                        next += 1;
                    }
                }
                if let Some(i) = last_positive {
                    last = Some(b.row(i).to_vec());
                }
            }
            // Rounding can leave the last draws just past the end.
            out.extend(std::iter::repeat_n(last, mine.len() - next).flatten());
            out
        })
        .collect()?;
    Ok(picked)
}

/// For each candidate, the cost of `points` against `centers` plus that candidate.
fn costs_with_each(points: &Rdd<Block>, centers: &Array2<f64>, candidates: &[Vec<f64>]) -> Result<Vec<f64>> {
    let zero = vec![0.0; candidates.len()];
    let partials = points.map_with((centers.clone(), candidates.to_vec()), |(c, cands), b: Block| {
        let d2 = d2_weights(c, &b);
        let mut sums = vec![0.0; cands.len()];
        for (row, base) in b.rows().into_iter().zip(d2) {
            for (s, cand) in sums.iter_mut().zip(cands) {
                let d: f64 = row.iter().zip(cand).map(|(x, y)| (x - y) * (x - y)).sum();
                *s += if c.nrows() == 0 { d } else { base.min(d) };
            }
        }
        sums
    });
    Ok(partials.tree_aggregate(zero, add_vectors, add_vectors, 2)?)
}

/// Greedy k-means++ initialization (as scikit-learn's): at each step
/// `2 + ln k` candidates are drawn by D² sampling and the one that lowers the
/// cost most is kept, which makes missing a cluster much less likely than
/// with a single draw.
pub fn kmeans_plus_plus(points: &Rdd<Block>, k: usize, seed: u64) -> Result<Array2<f64>> {
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x6b6d_6561_6e73);
    let trials = 2 + (k as f64).ln().floor() as usize;
    let mut centers: Vec<Vec<f64>> = Vec::with_capacity(k);
    while centers.len() < k {
        let current = to_array(&centers);
        let candidates = d2_draw(points, &current, trials, &mut rng)?;
        if candidates.is_empty() {
            break; // fewer distinct points than k
        }
        let costs = costs_with_each(points, &current, &candidates)?;
        let best = costs.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(i, _)| i);
        centers.push(candidates[best].clone());
    }
    Ok(to_array(&centers))
}

/// The most centers one call of the nearest-center kernel gets: its packed
/// SIMD kernel takes up to 16; beyond that it switches to a GEMM, which for
/// d ≈ 10 spends its time packing. k-means‖ has O(ℓ·rounds) candidates, so
/// it asks in chunks of this many and keeps the nearest.
const CENTER_CHUNK: usize = 16;

/// (index, squared distance) of the nearest of `centers` for each row of `b`,
/// over chunks of [`CENTER_CHUNK`] centers (ties to the lowest index).
fn nearest_chunked(b: &Block, centers: &Array2<f64>) -> Vec<(usize, f64)> {
    let mut best = vec![(0, f64::INFINITY); b.nrows()];
    for start in (0..centers.nrows()).step_by(CENTER_CHUNK) {
        let end = (start + CENTER_CHUNK).min(centers.nrows());
        let chunk = centers.slice(ndarray::s![start..end, ..]).to_owned();
        for (bst, (j, d)) in best.iter_mut().zip(assign(b, &chunk)) {
            if d < bst.1 {
                *bst = (start + j, d);
            }
        }
    }
    best
}

/// k-means‖ initialization. As Spark's, each point's squared distance to the
/// nearest candidate so far is kept in a cached RDD beside the points and
/// updated with the new candidates only, so a round costs a pass against
/// O(ℓ) new candidates rather than against all of them.
pub fn kmeans_parallel(
    points: &Rdd<Block>,
    k: usize,
    oversampling: f64,
    rounds: usize,
    seed: u64,
) -> Result<Array2<f64>> {
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x6b6d_7061_7261);
    let Some(first) = d2_draw(points, &Array2::zeros((0, 0)), 1, &mut rng)?.pop() else {
        return Ok(Array2::zeros((0, 0)));
    };
    let mut candidates = vec![first.clone()];
    let ell = oversampling * k as f64;
    // Per block: each row's squared distance to the nearest candidate so far.
    let mut costs: Rdd<Vec<f64>> = points
        .map_with(to_array(&[first]), |c, b: Block| nearest_chunked(&b, c).into_iter().map(|a| a.1).collect())
        .cache();
    // The previous round's costs, dropped once the new ones are computed.
    let mut stale: Option<Rdd<Vec<f64>>> = None;
    for round in 0..rounds {
        let phi: f64 = costs.map(|c: Vec<f64>| c.iter().sum::<f64>()).sum()?;
        if let Some(old) = stale.take() {
            old.unpersist();
        }
        if phi <= 0.0 {
            break;
        }
        let state = (ell / phi, seed, round as u64);
        let picked: Vec<Vec<f64>> = points
            .zip(&costs)?
            .map_partitions_with(state, |(scale, seed, round), index, it| {
                let mut rng = partition_rng(seed.wrapping_add(round.wrapping_mul(0x9E37_79B9)), index);
                let mut out = Vec::new();
                for (b, d2) in it {
                    for (row, d2) in b.rows().into_iter().zip(d2) {
                        if rng.random::<f64>() < (scale * d2).min(1.0) {
                            out.push(row.to_vec());
                        }
                    }
                }
                out
            })
            .collect()?;
        if picked.is_empty() {
            continue;
        }
        candidates.extend(picked.iter().cloned());
        if round + 1 < rounds {
            let next = points
                .zip(&costs)?
                .map_with(to_array(&picked), |c, (b, prev): (Block, Vec<f64>)| {
                    prev.into_iter().zip(nearest_chunked(&b, c)).map(|(p, (_, d))| p.min(d)).collect::<Vec<f64>>()
                })
                .cache();
            stale = Some(std::mem::replace(&mut costs, next));
        }
    }
    let c = to_array(&candidates);
    // Weight each candidate by the number of points nearest to it.
    let weights = points
        .map_with(c.clone(), |c, b: Block| {
            let mut w = vec![0.0; c.nrows()];
            nearest_chunked(&b, c).into_iter().for_each(|(j, _)| w[j] += 1.0);
            w
        })
        .tree_aggregate(vec![0.0; c.nrows()], add_vectors, add_vectors, 2)?;
    costs.unpersist();
    if let Some(old) = stale {
        old.unpersist();
    }
    Ok(to_array(&local::weighted_kmeans(&candidates, &weights, k, &mut rng)))
}
