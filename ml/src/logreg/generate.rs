//! Generated data with a known answer.
//!
//! Features are independent standard normals; labels are drawn from a true
//! logistic model, `y ~ Bernoulli(σ(w*·x + b*))`. The weights are
//! `w*ⱼ ~ N(0, s²/d)` with `s = 3`, so the true margin has a standard deviation
//! of about 3 whatever `d` is: the classes overlap (the Bayes accuracy is
//! typically 0.75 to 0.9, far from both ½ and 1) and the model is identifiable.
//!
//! No classifier can beat the Bayes rule `ŷ = [w*·x + b* > 0]` in expectation,
//! so the true model's accuracy on the data ([`bayes_accuracy`]) is the target
//! a fitted model should reach.
//!
//! Every partition draws its rows from the RNG of `(seed, partition index)`
//! only (`partition_rng`), so the data does not depend on the master, and a
//! partition recomputed after a failure is bit-identical.

use super::LogisticModel;
use crate::block::LabeledBlock;
use crate::error::{MlError, Result};
use ember::extend::ops::sample::partition_rng;
use ember::prelude::*;
use ndarray::{Array1, Array2};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

/// The standard deviation of the true margin (before the intercept).
const SIGNAL: f64 = 3.0;
/// Elements per generated block (8 MiB): partitions hold one or a few blocks.
const BLOCK_ELEMENTS: usize = 1 << 20;
/// Mixed into the seed of the true model, so it differs from every partition's RNG.
const MODEL_SALT: u64 = 0x6c6f_6772_6567;

/// A standard normal (Box–Muller; `1 − u` keeps the logarithm finite).
fn normal(rng: &mut SmallRng) -> f64 {
    let (u1, u2): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random());
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// The true model of `cols` features for `seed`.
pub fn true_model(cols: usize, seed: u64) -> LogisticModel {
    let mut rng = SmallRng::seed_from_u64(seed ^ MODEL_SALT);
    let scale = SIGNAL / (cols.max(1) as f64).sqrt();
    let weights = (0..cols).map(|_| scale * normal(&mut rng)).collect();
    LogisticModel::new(weights, rng.random::<f64>() - 0.5)
}

/// `rows` rows drawn from `model` into `partitions` partitions (partition `i`
/// holds rows `i·rows/p .. (i+1)·rows/p`), cached.
pub fn generate_from(
    ctx: &Context,
    model: &LogisticModel,
    rows: usize,
    seed: u64,
    partitions: usize,
) -> Result<Rdd<LabeledBlock>> {
    if rows == 0 || model.num_features() == 0 || partitions == 0 {
        return Err(MlError::InvalidParameter(format!(
            "generated data needs at least one row, column and partition, got {rows} x {} in {partitions}",
            model.num_features()
        )));
    }
    let state = (model.params(), rows, partitions, seed);
    let rdd = ctx.range(0, partitions as i64, 1, partitions)?.map_partitions_with(state, |state, index, _| {
        let (params, rows, partitions, seed) = state;
        let (start, end) = (index * rows / partitions, (index + 1) * rows / partitions);
        partition_blocks(params, end - start, partition_rng(*seed, index))
    });
    Ok(rdd.cache())
}

/// A partition of `rows` rows drawn from the model `params` with `rng`.
fn partition_blocks(params: &[f64], rows: usize, mut rng: SmallRng) -> Vec<LabeledBlock> {
    let model = LogisticModel::from_params(params);
    let cols = model.num_features();
    let per_block = (BLOCK_ELEMENTS / cols).max(1);
    let mut blocks = Vec::with_capacity(rows.div_ceil(per_block));
    let mut left = rows;
    while left > 0 {
        let n = left.min(per_block);
        let x = Array2::from_shape_simple_fn((n, cols), || normal(&mut rng));
        let z = x.dot(&Array1::from(model.weights.clone())) + model.intercept;
        let y = z.mapv(|z| if rng.random::<f64>() < 1.0 / (1.0 + (-z).exp()) { 1.0 } else { 0.0 });
        blocks.push(LabeledBlock { x: x.into_shared(), y: y.into_shared() });
        left -= n;
    }
    blocks
}

/// `rows × cols` generated rows in `partitions` partitions (cached), with
/// the true weights and intercept they were drawn from.
pub fn generate(
    ctx: &Context,
    rows: usize,
    cols: usize,
    seed: u64,
    partitions: usize,
) -> Result<(Rdd<LabeledBlock>, Vec<f64>, f64)> {
    let model = true_model(cols, seed);
    let data = generate_from(ctx, &model, rows, seed, partitions)?;
    Ok((data, model.weights, model.intercept))
}

/// The accuracy of the Bayes classifier (the true model, threshold ½) on
/// `data`: what a fitted model should reach on the same rows, up to the
/// estimation error of its weights.
pub fn bayes_accuracy(data: &Rdd<LabeledBlock>, true_weights: &[f64], true_intercept: f64) -> Result<f64> {
    LogisticModel::new(true_weights.to_vec(), true_intercept).accuracy(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_depend_on_the_seed_and_index_only() {
        let params = true_model(3, 7).params();
        let a = partition_blocks(&params, 10, partition_rng(7, 2));
        let b = partition_blocks(&params, 10, partition_rng(7, 2));
        let c = partition_blocks(&params, 10, partition_rng(7, 3));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a[0].y.iter().all(|&y| y == 0.0 || y == 1.0));
    }

    #[test]
    fn big_partitions_are_cut_into_blocks() {
        let params = true_model(BLOCK_ELEMENTS / 4, 1).params();
        let blocks = partition_blocks(&params, 9, partition_rng(1, 0));
        assert_eq!(blocks.iter().map(LabeledBlock::rows).collect::<Vec<_>>(), vec![4, 4, 1]);
    }

    #[test]
    fn the_true_margin_has_the_intended_scale() {
        let model = true_model(400, 3);
        let norm2: f64 = model.weights.iter().map(|w| w * w).sum();
        assert!((norm2.sqrt() - SIGNAL).abs() < 0.5, "‖w*‖ = {}", norm2.sqrt());
        assert!(model.intercept.abs() <= 0.5);
    }
}
