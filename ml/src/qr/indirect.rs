//! Indirect TSQR (`Q = A R⁻¹`, Benson, Gleich & Demmel 2013, §3.2) and
//! least squares by TSQR.
//!
//! Indirect TSQR takes R from TSQR (stable) and forms `Q = A R⁻¹` by one
//! triangular solve per block. The solve amplifies rounding errors by κ(A):
//! `‖QᵀQ − I‖ = O(κ(A) ε)`. One step of iterative refinement, a TSQR of that
//! Q (`Q = Q₁ R₂⁻¹`, `R = R₂ R₁`), brings it back to O(ε) as long as
//! `κ(A) ε ≪ 1`, at the price of a second pass.
//!
//! Least squares, `min ‖Ax − b‖`, needs no Q at all: the TSQR of the
//! augmented matrix `[A b]` gives `R̃ = [R z; 0 ρ]`, then `x = R⁻¹ z` and
//! `‖Ax − b‖ = |ρ|`. One pass over A and b, and backward stable like TSQR.

use super::kernels::{Small, normalize_signs, view};
use super::tsqr::{Partial, absorb, check_tall, reduce, require_invertible, solve_right, tsqr_r};
use crate::block::Block;
use crate::error::Result;
use ember::prelude::*;
use faer::Mat;
use ndarray::{Array1, concatenate, s};

const INDIRECT_ADVICE: &str = "use Direct TSQR (--method direct-tsqr), which forms Q without inverting R";
const LSTSQ_ADVICE: &str =
    "the least-squares solution is not unique; remove linearly dependent columns or add regularization";

/// `(Q, R)` with `Q = A R⁻¹`, R from TSQR; with `refine`, one refinement
/// step (see the module docs). Q is lazy (one, or two, triangular solves per
/// block, computed when used). Refuses a numerically rank-deficient A
/// ([`MlError::RankDeficient`](crate::MlError::RankDeficient)).
pub fn indirect_qr(a: &Rdd<Block>, refine: bool) -> Result<(Rdd<Block>, Small)> {
    let r = tsqr_r(a)?;
    require_invertible(&r, "indirect QR", INDIRECT_ADVICE)?;
    let q = solve_right(a, &r);
    if !refine {
        return Ok((q, r));
    }
    let r2 = tsqr_r(&q)?;
    require_invertible(&r2, "indirect QR (refinement step)", INDIRECT_ADVICE)?;
    Ok((solve_right(&q, &r2), r2.dot(&r)))
}

/// The solution of `min ‖Ax − b‖₂`, and its residual norm.
#[derive(Clone, Debug, PartialEq)]
pub struct LeastSquares {
    /// The minimizer (`n` entries).
    pub x: Array1<f64>,
    /// `‖Ax − b‖₂`.
    pub residual_norm: f64,
}

/// Least squares by TSQR of `[A b]`. `b` is an RDD of one-column blocks with
/// the same partitioning and block heights as `a` (they are zipped).
pub fn least_squares(a: &Rdd<Block>, b: &Rdd<Block>) -> Result<LeastSquares> {
    let mut r = reduce(&a.zip(b)?, absorb_pair)?;
    let n = r.ncols() - 1;
    check_tall(r.nrows(), n)?;
    normalize_signs(&mut r);
    let head = r.slice(s![..n, ..n]).to_owned();
    require_invertible(&head, "least squares", LSTSQ_ADVICE)?;
    let mut x = Mat::from_fn(n, 1, |i, _| r[(i, n)]);
    view(&head).solve_upper_triangular_in_place(x.as_mut());
    let residual_norm = if r.nrows() > n { r[(n, n)].abs() } else { 0.0 };
    Ok(LeastSquares { x: Array1::from_iter((0..n).map(|i| x[(i, 0)])), residual_norm })
}

/// Folds a block of `[A b]` into a partial R, checking the pair's shapes.
fn absorb_pair(acc: Partial, (a, b): (Block, Block)) -> Partial {
    if b.ncols() != 1 || a.nrows() != b.nrows() {
        return Err(format!(
            "least squares: b must be one column with the same block heights as A; found a {}×{} block of A \
             beside a {}×{} block of b",
            a.nrows(),
            a.ncols(),
            b.nrows(),
            b.ncols()
        ));
    }
    let augmented = concatenate(ndarray::Axis(1), &[a.view(), b.view()]).map_err(|e| e.to_string())?;
    absorb(acc, augmented)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_of_the_wrong_shape_are_reported() {
        let err = absorb_pair(Ok(None), (Block::ones((3, 2)), Block::ones((3, 2)))).unwrap_err();
        assert!(err.contains("3×2 block of b"));
        assert!(absorb_pair(Ok(None), (Block::ones((3, 2)), Block::ones((2, 1)))).is_err());
        let ok = absorb_pair(Ok(None), (Block::eye(3), Block::ones((3, 1)))).unwrap().unwrap();
        assert_eq!(ok.dim(), (3, 4));
    }
}
