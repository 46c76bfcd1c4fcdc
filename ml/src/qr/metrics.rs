//! How good a factorization is, measured distributed (one pass each).
//!
//! - [`orthogonality`]: `‖QᵀQ − I‖_F`, from the Gram matrix of Q (one
//!   aggregate of the blocks' `Q_jᵀQ_j`);
//! - [`residual`]: `‖A − QR‖_F / ‖A‖_F`, with A and Q zipped block by block
//!   (they share partitioning and block heights);
//! - [`gram_residual`]: `‖RᵀR − AᵀA‖_F / ‖AᵀA‖_F`, for the methods that only
//!   compute R.
//!
//! They measure the factorization as computed in floating point: the sums
//! add their own rounding errors of order `ε` per entry, far below what they
//! are used to tell apart.

use super::cholesky::gram;
use super::kernels::{Small, diff_norms2, frobenius, mul, standard};
use super::tsqr::TREE_DEPTH;
use crate::block::Block;
use crate::error::{MlError, Result};
use ember::prelude::*;
use ndarray::{Array2, ArrayBase, Ix2};

/// `‖QᵀQ − I‖_F`.
pub fn orthogonality(q: &Rdd<Block>) -> Result<f64> {
    let g = gram(q)?;
    let n = g.ncols();
    Ok(frobenius(&(g - Array2::<f64>::eye(n))))
}

/// Squared norms `(‖A_j − Q_j R‖², ‖A_j‖²)`, summed, or why a pair of blocks
/// does not fit.
type Sums = std::result::Result<(f64, f64), String>;

/// `‖A − QR‖_F / ‖A‖_F` (`R` may be any `k × n` matrix: `ΣVᵀ` for the SVD).
pub fn residual(a: &Rdd<Block>, q: &Rdd<Block>, r: &Small) -> Result<f64> {
    let sums = a.zip(q)?.map_with(r.clone(), |r, (a, q): (Block, Block)| block_residual(&a, &q, r)).tree_aggregate(
        Ok((0.0, 0.0)),
        add,
        add,
        TREE_DEPTH,
    )?;
    let (diff, norm) = sums.map_err(MlError::InvalidInput)?;
    Ok(if diff == 0.0 { 0.0 } else { (diff / norm).sqrt() })
}

fn block_residual<S: ndarray::Data<Elem = f64>, T: ndarray::Data<Elem = f64>>(
    a: &ArrayBase<S, Ix2>,
    q: &ArrayBase<T, Ix2>,
    r: &Small,
) -> Sums {
    if q.ncols() != r.nrows() || a.dim() != (q.nrows(), r.ncols()) {
        return Err(format!(
            "residual: a {}×{} block of A does not match a {}×{} block of Q times a {}×{} R",
            a.nrows(),
            a.ncols(),
            q.nrows(),
            q.ncols(),
            r.nrows(),
            r.ncols()
        ));
    }
    Ok(diff_norms2(&standard(a), &mul(q, r)))
}

fn add(x: Sums, y: Sums) -> Sums {
    let ((a, b), (c, d)) = (x?, y?);
    Ok((a + c, b + d))
}

/// `‖RᵀR − AᵀA‖_F / ‖AᵀA‖_F` (one pass over A for AᵀA).
pub fn gram_residual(a: &Rdd<Block>, r: &Small) -> Result<f64> {
    let g = gram(a)?;
    if g.dim() != (r.ncols(), r.ncols()) {
        return Err(MlError::InvalidInput(format!(
            "gram residual: R is {}×{} but A has {} columns",
            r.nrows(),
            r.ncols(),
            g.ncols()
        )));
    }
    let diff = frobenius(&(r.t().dot(r) - &g));
    Ok(if diff == 0.0 { 0.0 } else { diff / frobenius(&g) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn block_residuals_sum_and_check_shapes() {
        let a = array![[1.0, 2.0], [3.0, 4.0]];
        let q = Array2::eye(2);
        assert_eq!(block_residual(&a, &q, &a), Ok((0.0, 30.0)));
        assert_eq!(add(Ok((1.0, 2.0)), Ok((3.0, 4.0))), Ok((4.0, 6.0)));
        assert!(block_residual(&a, &Array2::eye(3), &a).is_err());
        assert!(add(Ok((1.0, 2.0)), Err("bad".into())).is_err());
    }
}
