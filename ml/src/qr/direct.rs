//! Direct TSQR (Benson, Gleich & Demmel 2013, §4): a numerically stable Q
//! in three steps, and the SVD built on it.
//!
//! 1. Each block is factored locally, `A_j = Q₁ⱼ R_j` (thin Householder QR);
//!    the `Q₁ⱼ` stay cached on the executors.
//! 2. The small `R_j` (`k_j × n`, `k_j = min(rows_j, n)`) are gathered on the
//!    driver in block order and stacked: `[R₁; …; R_k] = Q₂ R`. R is the R of
//!    A; `Q₂` is cut into one `k_j × n` slice per block, `Q₂ⱼ`.
//! 3. Each task multiplies its blocks by their slices: `Q_j = Q₁ⱼ Q₂ⱼ`. Q has
//!    exactly the partitioning and block shapes of A.
//!
//! Every factor is a product of Householder reflections, so `‖QᵀQ − I‖` and
//! `‖A − QR‖/‖A‖` are O(ε) for any condition number (unlike `Q = A R⁻¹`).
//!
//! For the SVD, `R = U_R Σ Vᵀ` on the driver, and step 3 multiplies by
//! `Q₂ⱼ U_R` instead: `U = Q U_R` costs no extra pass.
//!
//! The slices of `Q₂` travel as the state of the step-3 stage, so each
//! backend receives all of them once: `(#blocks · n² · 8)` bytes, small next
//! to A for the shapes this is meant for (blocks of many more rows than `n`).
//! The returned Q (or U) is cached and already computed (one job), so that
//! the cached `Q₁` can be dropped; unpersist it when done.

use super::kernels::{Small, mul_in_place, normalize_signs, thin_qr, to_array, view};
use super::tsqr::{check_finite, check_tall};
use crate::block::Block;
use crate::error::{MlError, Result};
use ember::prelude::*;
use ndarray::{Array1, Array2, s};
use serde::{Deserialize, Serialize};

/// One block's local factorization (step 1).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct LocalQr {
    q: Block,
    r: Small,
}

/// Steps 1 and 2 done: the cached local factors, R, and the slices of Q₂
/// (one list per partition, one slice per block).
struct Factored {
    local: Rdd<LocalQr>,
    r: Small,
    slices: Vec<Vec<Small>>,
}

/// The singular value decomposition `A = U diag(s) Vᵀ` of a tall matrix.
#[derive(Clone)]
pub struct Svd {
    /// `m × n`, orthonormal columns, partitioned and blocked like A (cached).
    pub u: Rdd<Block>,
    /// The singular values, nonincreasing.
    pub s: Array1<f64>,
    /// `n × n` orthogonal: the right singular vectors are its columns.
    pub v: Array2<f64>,
}

/// `(Q, R)` with `A = QR`: Q as an RDD with A's partitioning and block
/// shapes (cached, computed), R `n × n` upper triangular with `diag(R) ≥ 0`.
pub fn direct_tsqr(a: &Rdd<Block>) -> Result<(Rdd<Block>, Small)> {
    let f = factor(a)?;
    let q = multiply(&f.local, f.slices)?;
    Ok((q, f.r))
}

/// The SVD of `a` from the SVD of its R factor (see the module docs).
pub fn svd(a: &Rdd<Block>) -> Result<Svd> {
    let f = factor(a)?;
    let small = match view(&f.r).thin_svd() {
        Ok(svd) => svd,
        Err(e) => {
            f.local.unpersist();
            return Err(MlError::InvalidInput(format!("the SVD of R did not converge ({e:?})")));
        }
    };
    let u_r = to_array(small.U());
    let s = Array1::from_iter((0..f.r.ncols()).map(|i| small.S()[i]));
    let slices = f.slices.iter().map(|part| part.iter().map(|q2| q2.dot(&u_r)).collect()).collect();
    let u = multiply(&f.local, slices)?;
    Ok(Svd { u, s, v: to_array(small.V()) })
}

/// Steps 1 and 2. On error, nothing stays cached.
fn factor(a: &Rdd<Block>) -> Result<Factored> {
    let local = a
        .map(|b: Block| {
            let (q, r) = thin_qr(&b);
            LocalQr { q: q.into_shared(), r }
        })
        .cache();
    let gathered = local
        .map_partitions(|it| std::iter::once(it.map(|l: LocalQr| l.r).collect::<Vec<Small>>()))
        .collect()
        .map_err(MlError::from)
        .and_then(|rs| factor_stack(&rs));
    match gathered {
        Ok((r, slices)) => Ok(Factored { local, r, slices }),
        Err(e) => {
            local.unpersist();
            Err(e)
        }
    }
}

/// Step 2 on the driver: QR of the stacked R factors; returns R and the
/// slices of Q₂, with signs normalized so that `diag(R) ≥ 0`.
fn factor_stack(rs: &[Vec<Small>]) -> Result<(Small, Vec<Vec<Small>>)> {
    let all = || rs.iter().flatten();
    let n = all().map(|r| r.ncols()).max().unwrap_or(0);
    if let Some(bad) = all().find(|r| r.ncols() != n && r.nrows() > 0) {
        return Err(MlError::InvalidInput(format!(
            "the blocks of the matrix have different numbers of columns ({n} and {})",
            bad.ncols()
        )));
    }
    let total: usize = all().map(|r| r.nrows()).sum();
    if total == 0 && n == 0 {
        return Err(MlError::InvalidInput("the matrix has no rows".into()));
    }
    check_tall(total, n)?;
    let mut stack = Array2::zeros((total, n));
    let mut at = 0;
    for r in all().filter(|r| r.nrows() > 0) {
        stack.slice_mut(s![at..at + r.nrows(), ..]).assign(r);
        at += r.nrows();
    }
    let (mut q2, mut r) = thin_qr(&stack);
    check_finite(&r)?;
    for (mut col, sign) in q2.columns_mut().into_iter().zip(normalize_signs(&mut r)) {
        col *= sign;
    }
    Ok((r, cut(&q2, rs)))
}

/// Cuts Q₂ into the slices that match the stacked factors `rs`.
fn cut(q2: &Small, rs: &[Vec<Small>]) -> Vec<Vec<Small>> {
    let mut at = 0;
    rs.iter()
        .map(|part| {
            part.iter()
                .map(|r| {
                    let slice = q2.slice(s![at..at + r.nrows(), ..]).to_owned();
                    at += r.nrows();
                    slice
                })
                .collect()
        })
        .collect()
}

/// Step 3: `Q₁ⱼ · slice_j` for every block; the result is cached and
/// computed, then the local factors are dropped.
fn multiply(local: &Rdd<LocalQr>, slices: Vec<Vec<Small>>) -> Result<Rdd<Block>> {
    let q = local
        .map_partitions_with(slices, |slices, p, it| {
            let mine = slices.get(p).cloned().unwrap_or_default();
            it.zip(mine).map(|(l, slice)| mul_in_place(l.q, &slice))
        })
        .cache();
    let computed = q.count();
    local.unpersist();
    if let Err(e) = computed {
        q.unpersist();
        return Err(e.into());
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn stacked_factors_are_cut_back_per_block() {
        let rs = vec![vec![array![[2.0, 1.0], [0.0, 1.0]]], vec![], vec![array![[1.0, 3.0]], array![[0.0, 1.0]]]];
        let (r, slices) = factor_stack(&rs).unwrap();
        assert!(r[(0, 0)] >= 0.0 && r[(1, 1)] >= 0.0);
        let shapes: Vec<Vec<(usize, usize)>> = slices.iter().map(|p| p.iter().map(|s| s.dim()).collect()).collect();
        assert_eq!(shapes, vec![vec![(2, 2)], vec![], vec![(1, 2), (1, 2)]]);
        // Q₂ R reproduces the stack.
        let q2 =
            ndarray::concatenate(ndarray::Axis(0), &[slices[0][0].view(), slices[2][0].view(), slices[2][1].view()])
                .unwrap();
        let stack = array![[2.0, 1.0], [0.0, 1.0], [1.0, 3.0], [0.0, 1.0]];
        assert!(q2.dot(&r).iter().zip(stack.iter()).all(|(x, y)| (x - y).abs() < 1e-12));
    }

    #[test]
    fn too_few_rows_or_mixed_widths_are_input_errors() {
        assert!(matches!(factor_stack(&[vec![array![[1.0, 2.0, 3.0]]]]), Err(MlError::InvalidInput(_))));
        let mixed = vec![vec![array![[1.0, 2.0], [0.0, 1.0]], array![[1.0]]]];
        assert!(matches!(factor_stack(&mixed), Err(MlError::InvalidInput(m)) if m.contains("columns")));
        assert!(matches!(factor_stack(&[vec![]]), Err(MlError::InvalidInput(m)) if m.contains("no rows")));
    }
}
