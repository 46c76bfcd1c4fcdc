//! QR factorizations of tall-and-skinny matrices (`m ≫ n`) stored as an
//! `Rdd<Block>` of row blocks, after Benson, Gleich & Demmel, "Direct QR
//! factorizations for tall-and-skinny matrices in MapReduce architectures"
//! (IEEE BigData 2013).
//!
//! | method | passes over A | R | Q | `‖QᵀQ − I‖` |
//! |---|---|---|---|---|
//! | [`tsqr_r`] | 1 | tree of local QRs | — | — |
//! | [`direct_tsqr`] | 2 | TSQR of the local R's on the driver | `Q₁ⱼ Q₂ⱼ` per block | O(ε) for any κ |
//! | [`cholesky_qr`] | 1 (+1 for Q) | Cholesky of AᵀA | `A R⁻¹` | O(κ² ε); refused past κ ≈ 1/√(nε) |
//! | [`cholesky_qr2`] | 2 (+1 for Q) | Cholesky QR twice, `R₂R₁` | `A R₁⁻¹ R₂⁻¹` | O(ε) for κ ≲ 1e7 |
//! | [`indirect_qr`] | 1 (+1 for Q; +1 refined) | TSQR | `A R⁻¹` (refined: TSQR of it again) | O(κ ε) (refined: O(ε)) |
//! | [`svd`] | 2 | — | `U = Q U_R` | O(ε) for any κ |
//!
//! [`least_squares`] solves `min ‖Ax − b‖` by one TSQR of `[A b]`;
//! [`metrics`] measures orthogonality and residuals distributed;
//! [`generate_matrix`] makes seeded test matrices of a given condition number.
//!
//! Conventions. R is `n × n` upper triangular with `diag(R) ≥ 0` (so it is
//! unique for a full-rank A, whichever method computed it). Q is an
//! `Rdd<Block>` with exactly A's partitioning and block heights, so it can be
//! zipped with A. Q from [`direct_tsqr`] and [`svd`] comes back cached and
//! computed; the `A R⁻¹` forms are lazy (a triangular solve per block when
//! used), and [`factor`] returns every Q cached and computed.
//!
//! Kernels run single-threaded inside tasks: Householder QR is this module's
//! own (the `householder` module says why not faer's), GEMM, triangular
//! solves, Cholesky and the small SVD are faer's. All reductions combine
//! partial results in an order fixed by the partitioning, so a given
//! partitioning gives bit-identical results on every master (kernels pick
//! their SIMD instructions per CPU: executors on different CPU models may
//! differ in the last bits).
//!
//! Errors: a matrix with fewer rows than columns, blocks of different widths,
//! NaN or infinite entries are [`MlError::InvalidInput`]; a matrix that is
//! numerically rank deficient for the chosen method (Cholesky QR past
//! κ ≈ 1/√(nε), 2e7 for n = 10; any method that inverts R past κ ≈ 1/(nε)) is [`MlError::RankDeficient`], with
//! a message that says which method to use instead. No method returns NaNs.

mod cholesky;
mod direct;
mod generate;
#[cfg(target_arch = "x86_64")]
mod gram;
mod householder;
mod indirect;
mod kernels;
pub mod metrics;
mod panel;
mod structured;
mod tsqr;

pub use cholesky::{cholesky_qr, cholesky_qr2, cholesky_r, gram};
pub use direct::{Svd, direct_tsqr, svd};
pub use generate::{generate_matrix, generate_matrix_in_blocks, random_orthogonal, singular_values};
pub use indirect::{LeastSquares, indirect_qr, least_squares};
pub use metrics::{gram_residual, orthogonality, residual};
pub use tsqr::{TREE_DEPTH, tsqr_r};

use crate::block::Block;
use crate::error::{MlError, Result};
use ember::prelude::*;
use ndarray::Array2;
use std::str::FromStr;

/// A way to factor a tall-and-skinny matrix (see the table above).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// R only, by TSQR.
    Tsqr,
    /// Q and R by Direct TSQR.
    DirectTsqr,
    /// Q and R by Cholesky QR.
    Cholesky,
    /// Q and R by Cholesky QR2.
    Cholesky2,
    /// Q = A R⁻¹ with R from TSQR, optionally refined once.
    Indirect { refine: bool },
    /// `A = U Σ Vᵀ` from the SVD of R.
    Svd,
}

impl Method {
    /// The name `FromStr` accepts (`indirect-refined` for the refined form).
    pub fn name(&self) -> &'static str {
        match self {
            Method::Tsqr => "tsqr",
            Method::DirectTsqr => "direct-tsqr",
            Method::Cholesky => "cholesky",
            Method::Cholesky2 => "cholesky2",
            Method::Indirect { refine: false } => "indirect",
            Method::Indirect { refine: true } => "indirect-refined",
            Method::Svd => "svd",
        }
    }

    /// Every method, in the order of the table.
    pub const ALL: [Method; 7] = [
        Method::Tsqr,
        Method::DirectTsqr,
        Method::Cholesky,
        Method::Cholesky2,
        Method::Indirect { refine: false },
        Method::Indirect { refine: true },
        Method::Svd,
    ];
}

impl FromStr for Method {
    type Err = MlError;
    fn from_str(s: &str) -> Result<Method> {
        Method::ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Method::ALL.iter().map(Method::name).collect();
            MlError::InvalidParameter(format!("unknown QR method '{s}'; use one of {}", names.join(", ")))
        })
    }
}

/// `A = Q · R`: for the QR methods R is upper triangular; for the SVD, Q is U
/// and R is `Σ Vᵀ`. `q` is `None` for [`Method::Tsqr`].
#[derive(Clone)]
pub struct Factorization {
    /// The method that computed it.
    pub method: Method,
    pub q: Option<Rdd<Block>>,
    pub r: Array2<f64>,
}

/// Factors `a` with `method`; Q, when computed, comes back cached and
/// computed (unpersist it when done).
pub fn factor(a: &Rdd<Block>, method: Method) -> Result<Factorization> {
    let (q, r) = match method {
        Method::Tsqr => return Ok(Factorization { method, q: None, r: tsqr_r(a)? }),
        Method::DirectTsqr => direct_tsqr(a)?,
        Method::Cholesky => cholesky_qr(a)?,
        Method::Cholesky2 => cholesky_qr2(a)?,
        Method::Indirect { refine } => indirect_qr(a, refine)?,
        Method::Svd => {
            let d = svd(a)?;
            let sigma_vt = Array2::from_shape_fn(d.v.dim(), |(i, j)| d.s[i] * d.v[(j, i)]);
            (d.u, sigma_vt)
        }
    };
    let q = q.cache();
    q.count()?;
    Ok(Factorization { method, q: Some(q), r })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names_round_trip() {
        for m in Method::ALL {
            assert_eq!(m.name().parse::<Method>().unwrap(), m);
        }
        let err = "householder".parse::<Method>().unwrap_err().to_string();
        assert!(err.contains("direct-tsqr") && err.contains("householder"));
    }
}
