//! Seeded test matrices with a chosen condition number.
//!
//! `A = Q Σ Vᵀ` (`m × n`): Q has orthonormal columns, Σ holds singular values
//! log-spaced from 1 down to `1/cond` (so `κ₂(A) = cond`), V is a random
//! orthogonal `n × n` matrix. Q comes from a gaussian matrix G orthonormalized
//! with its own TSQR: `Q = G R_G⁻¹` (G is so well conditioned, κ(G) ≈
//! (√m + √n)/(√m − √n), that this Q is orthonormal to machine precision), and
//! each block is formed as `A_j = (G_j R_G⁻¹)(Σ Vᵀ)`.
//!
//! Partition `p` draws its entries of G from an RNG seeded by
//! `(seed, p)` only ([`partition_rng`]), and everything else is computed on
//! the driver from `seed`, so a recomputed partition is bit-identical and the
//! matrix depends only on `(rows, cols, cond, seed, partitions, block rows)`.

use super::kernels::{Small, mul_in_place, normalize_signs, solve_right_upper, thin_qr};
use super::tsqr::{require_invertible, tsqr_r};
use crate::block::Block;
use crate::data::{rows_per_block, standard_normal};
use crate::error::{MlError, Result};
use ember::extend::ops::sample::partition_rng;
use ember::prelude::*;
use ndarray::Array2;
use rand::SeedableRng;
use rand::rngs::SmallRng;

/// Seeds V's RNG apart from the partitions' RNGs.
const V_STREAM: u64 = 0x5152_5f56_5354_524d;

/// The singular values of a generated matrix: `cond^(−i/(n−1))`, i = 0..n.
pub fn singular_values(cols: usize, cond: f64) -> Vec<f64> {
    if cols <= 1 {
        return vec![1.0; cols];
    }
    (0..cols).map(|i| cond.powf(-(i as f64) / (cols - 1) as f64)).collect()
}

/// A seeded `rows × cols` matrix of condition number `cond`, in `partitions`
/// partitions of blocks of [`rows_per_block`] rows (see the module docs).
pub fn generate_matrix(
    ctx: &Context,
    rows: usize,
    cols: usize,
    cond: f64,
    seed: u64,
    partitions: usize,
) -> Result<Rdd<Block>> {
    generate_matrix_in_blocks(ctx, rows, cols, cond, seed, partitions, rows_per_block(cols))
}

/// [`generate_matrix`] with blocks of at most `block_rows` rows (each
/// partition's last block may be shorter).
pub fn generate_matrix_in_blocks(
    ctx: &Context,
    rows: usize,
    cols: usize,
    cond: f64,
    seed: u64,
    partitions: usize,
    block_rows: usize,
) -> Result<Rdd<Block>> {
    validate(rows, cols, cond, partitions, block_rows)?;
    let g = gaussian(ctx, rows, cols, seed, partitions, block_rows);
    let r = tsqr_r(&g)?;
    require_invertible(&r, "generate_matrix", "the gaussian matrix is singular; use more rows")?;
    let sigma = singular_values(cols, cond);
    let v = random_orthogonal(cols, seed);
    let sigma_vt = Array2::from_shape_fn((cols, cols), |(i, j)| sigma[i] * v[(j, i)]);
    Ok(g.map_with((r, sigma_vt), |(r, sigma_vt), g: Block| mul_in_place(solve_right_upper(g, r), sigma_vt)))
}

fn validate(rows: usize, cols: usize, cond: f64, partitions: usize, block_rows: usize) -> Result<()> {
    let bad = |msg: String| Err(MlError::InvalidParameter(msg));
    if cols == 0 || rows < cols {
        return bad(format!("generate_matrix: need rows ≥ cols ≥ 1, got {rows}×{cols}"));
    }
    if !(cond.is_finite() && cond >= 1.0) {
        return bad(format!("generate_matrix: the condition number must be finite and ≥ 1, got {cond}"));
    }
    if partitions == 0 || block_rows == 0 {
        return bad("generate_matrix: partitions and block rows must be at least 1".into());
    }
    Ok(())
}

/// A standard gaussian `rows × cols` matrix: partition `p` holds rows
/// `p·rows/P .. (p+1)·rows/P` in blocks of `block_rows`.
fn gaussian(ctx: &Context, rows: usize, cols: usize, seed: u64, partitions: usize, block_rows: usize) -> Rdd<Block> {
    let spec = (rows, cols, seed, partitions, block_rows);
    ctx.parallelize(vec![(); partitions], partitions).map_partitions_with(
        spec,
        |&(rows, cols, seed, parts, h), p, _| {
            let mut rng = partition_rng(seed, p);
            let mine = (p + 1) * rows / parts - p * rows / parts;
            (0..mine.div_ceil(h))
                .map(|k| {
                    Array2::from_shape_simple_fn((h.min(mine - k * h), cols), || standard_normal(&mut rng))
                        .into_shared()
                })
                .collect::<Vec<Block>>()
        },
    )
}

/// A random orthogonal `n × n` matrix (Haar distributed: Q of a gaussian
/// matrix with the signs of R's diagonal taken out).
pub fn random_orthogonal(n: usize, seed: u64) -> Small {
    let mut rng = SmallRng::seed_from_u64(seed ^ V_STREAM);
    let g = Array2::from_shape_simple_fn((n, n), || standard_normal(&mut rng));
    let (mut q, mut r) = thin_qr(&g);
    for (mut col, sign) in q.columns_mut().into_iter().zip(normalize_signs(&mut r)) {
        col *= sign;
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singular_values_span_the_condition_number() {
        let s = singular_values(5, 1e4);
        assert_eq!(s[0], 1.0);
        assert!((s[4] - 1e-4).abs() < 1e-18 && (s[2] - 1e-2).abs() < 1e-16);
        assert_eq!(singular_values(1, 1e9), vec![1.0]);
    }

    #[test]
    fn v_is_orthogonal_and_seeded() {
        let v = random_orthogonal(6, 7);
        let err = &v.t().dot(&v) - &Array2::<f64>::eye(6);
        assert!(err.iter().all(|x| x.abs() < 1e-14));
        assert_eq!(v, random_orthogonal(6, 7));
        assert_ne!(v, random_orthogonal(6, 8));
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(validate(5, 10, 1.0, 1, 1).is_err());
        assert!(validate(10, 5, 0.5, 1, 1).is_err());
        assert!(validate(10, 5, f64::INFINITY, 1, 1).is_err());
        assert!(validate(10, 5, 1.0, 0, 1).is_err());
        assert!(validate(10, 5, 1e15, 3, 4).is_ok());
    }
}
