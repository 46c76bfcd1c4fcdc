//! Cholesky QR and Cholesky QR2 (Benson, Gleich & Demmel 2013, §3.1;
//! Fukaya et al. 2014).
//!
//! Cholesky QR: the Gram matrix `AᵀA = Σ_j A_jᵀA_j` by ONE aggregate (each
//! task sums its blocks' products, [`Rdd::tree_aggregate`] sums the tasks'),
//! `AᵀA = LLᵀ` on the driver, `R = Lᵀ`, and `Q = A R⁻¹` by one triangular
//! solve per block. It reads A once for R (twice for Q) at GEMM speed, but it
//! squares the condition number: `‖QᵀQ − I‖ = O(κ(A)² ε)`, and for
//! `κ(A) ≳ 1/√ε` the Gram matrix is numerically singular.
//!
//! Cholesky QR2 repeats the method on the Q it produced: that Q has
//! `κ(Q) ≈ 1 + O(κ(A)² ε)`, so the second pass yields an orthogonal Q to
//! machine precision whenever the first did not fail (`κ(A) ≲ 10⁷`), and
//! `R = R₂ R₁`.
//!
//! The Gram matrix is refused, with [`MlError::RankDeficient`] and a message
//! that points to TSQR, when its Cholesky factorization breaks down or one of
//! its pivots `L_ii²` is at most `n·ε` times the largest: then Cholesky QR
//! would return garbage (or NaNs), while TSQR still works.

use super::kernels::{Small, add_gram, all_finite, mirror_lower, pivot_range, to_array, view};
use super::tsqr::{TREE_DEPTH, check_columns, check_finite, solve_right};
use crate::block::Block;
use crate::error::{MlError, Result};
use ember::prelude::*;
use ndarray::{Array2, ArrayBase, Ix2};

/// A partial Gram matrix inside a task (`None`: no rows yet; `Err`: blocks
/// of different widths).
type Partial = std::result::Result<Option<Small>, String>;

/// `AᵀA` (`n × n`) by one `tree_aggregate` of the blocks' `A_jᵀA_j` (lower
/// triangles; the upper one is filled in on the driver).
pub fn gram(a: &Rdd<Block>) -> Result<Small> {
    let g = a.tree_aggregate(Ok(None), absorb, merge, TREE_DEPTH)?;
    let mut g =
        g.map_err(MlError::InvalidInput)?.ok_or_else(|| MlError::InvalidInput("the matrix has no rows".into()))?;
    mirror_lower(&mut g);
    Ok(g)
}

fn absorb<S: ndarray::Data<Elem = f64>>(acc: Partial, b: ArrayBase<S, Ix2>) -> Partial {
    let mut acc = acc?;
    if b.nrows() == 0 {
        return Ok(acc);
    }
    let g = acc.get_or_insert_with(|| Array2::zeros((b.ncols(), b.ncols())));
    check_columns(g.ncols(), b.ncols())?;
    add_gram(g, &b);
    Ok(acc)
}

fn merge(a: Partial, b: Partial) -> Partial {
    match (a?, b?) {
        (Some(mut x), Some(y)) => {
            check_columns(x.ncols(), y.ncols())?;
            x += &y;
            Ok(Some(x))
        }
        (g, None) | (None, g) => Ok(g),
    }
}

/// R by Cholesky QR (one pass over `a`); see the module docs for when it
/// refuses.
pub fn cholesky_r(a: &Rdd<Block>) -> Result<Small> {
    r_from_gram(&gram(a)?)
}

/// `(Q, R)` by Cholesky QR. Q is lazy (`A R⁻¹`, computed when used; cache it
/// if it is used more than once).
pub fn cholesky_qr(a: &Rdd<Block>) -> Result<(Rdd<Block>, Small)> {
    let r = cholesky_r(a)?;
    Ok((solve_right(a, &r), r))
}

/// `(Q, R)` by Cholesky QR2: Cholesky QR of the Q of Cholesky QR. Q is lazy
/// (two triangular solves per block). Two passes over `a` for R.
pub fn cholesky_qr2(a: &Rdd<Block>) -> Result<(Rdd<Block>, Small)> {
    let (q1, r1) = cholesky_qr(a)?;
    let (q, r2) = cholesky_qr(&q1)?;
    Ok((q, r2.dot(&r1)))
}

/// `R = Lᵀ` from `AᵀA = LLᵀ`, or the reason Cholesky QR cannot be used.
pub fn r_from_gram(g: &Small) -> Result<Small> {
    if g.ncols() == 0 {
        return Err(MlError::InvalidInput("the matrix has no columns".into()));
    }
    check_finite(g)?;
    let l = view(g).llt(faer::Side::Lower).map_err(|e| {
        let faer::linalg::cholesky::llt::factor::LltError::NonPositivePivot { index } = e;
        not_positive_definite(format!("its Cholesky factorization broke down at pivot {index}"))
    })?;
    let r = to_array(l.L().transpose());
    let (i, smallest, largest) = pivot_range(&r);
    let (pivot, largest_pivot) = (smallest * smallest, largest * largest);
    let threshold = g.ncols() as f64 * f64::EPSILON * largest_pivot;
    if pivot <= threshold || !all_finite(&r) {
        return Err(not_positive_definite(format!(
            "pivot {i} is {pivot:.3e}, at most n·ε times the largest pivot ({largest_pivot:.3e})"
        )));
    }
    Ok(r)
}

fn not_positive_definite(why: String) -> MlError {
    MlError::RankDeficient(format!(
        "Cholesky QR: AᵀA is not numerically positive definite ({why}): the matrix is rank deficient or too \
         ill-conditioned for Cholesky QR, which squares its condition number (it needs roughly κ(A) < 1e7). \
         Use TSQR (--method tsqr) for R, or Direct TSQR (--method direct-tsqr) for Q and R: both are stable \
         for any condition number"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn gram_partials_add_up() {
        let b1 = array![[1.0, 2.0], [3.0, 4.0]];
        let b2 = array![[5.0, 6.0]];
        let left = absorb(Ok(None), b1.clone());
        let right = absorb(absorb(Ok(None), Array2::zeros((0, 2))), b2.clone());
        let mut g = merge(left, merge(right, Ok(None))).unwrap().unwrap();
        mirror_lower(&mut g);
        assert_eq!(g, b1.t().dot(&b1) + b2.t().dot(&b2));
        assert!(merge(Ok(Some(g)), absorb(Ok(None), Array2::ones((1, 3)))).is_err());
    }

    #[test]
    fn r_is_the_transposed_cholesky_factor() {
        let a = array![[2.0, 1.0], [0.0, 3.0], [1.0, 1.0]];
        let r = r_from_gram(&a.t().dot(&a)).unwrap();
        assert_eq!(r[(1, 0)], 0.0);
        let rtr = r.t().dot(&r) - a.t().dot(&a);
        assert!(rtr.iter().all(|x| x.abs() < 1e-12));
    }

    #[test]
    fn singular_or_nan_gram_matrices_are_refused() {
        let singular = array![[1.0, 1.0], [1.0, 1.0]];
        assert!(matches!(r_from_gram(&singular), Err(MlError::RankDeficient(m)) if m.contains("TSQR")));
        let nearly = array![[1.0, 1.0], [1.0, 1.0 + 1e-17]];
        assert!(matches!(r_from_gram(&nearly), Err(MlError::RankDeficient(_))));
        let nan = array![[1.0, f64::NAN], [f64::NAN, 1.0]];
        assert!(matches!(r_from_gram(&nan), Err(MlError::InvalidInput(_))));
    }
}
