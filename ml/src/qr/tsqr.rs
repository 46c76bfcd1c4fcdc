//! TSQR: the R factor of a tall-and-skinny matrix by a tree of small QRs.
//!
//! `A = [A₁; A₂; …; A_k]` by blocks. Each task folds its blocks into one R
//! factor, block after block: `R ← R([R; A_j])` (a *flat tree*, which only
//! ever holds one block and one `n × n` factor). The per-partition factors are
//! then merged pairwise, `R ← R([R_a; R_b])`, on a tree of executors
//! ([`Rdd::tree_aggregate`], depth [`TREE_DEPTH`]) and finally on the driver.
//! Every merge is a Householder QR, so the result is the R of a backward
//! stable QR of A whatever its condition number (Demmel et al. 2012; Benson,
//! Gleich & Demmel 2013, §3). R is unique up to the signs of its rows; they
//! are normalized so that `diag(R) ≥ 0`.
//!
//! The order of the merges is fixed by the partitioning (partition order,
//! shuffle blocks read in map order), so the same partitioning gives the
//! same bits on any master.
//!
//! A task cannot return a typed error, so a partial result is a
//! `Result<Option<R>, String>`: `None` for a partition with no rows, `Err`
//! when blocks disagree on their number of columns; the driver turns it into
//! an [`MlError`].

use super::kernels::{Small, all_finite, normalize_signs, pivot_range, solve_right_upper, stacked_r};
use crate::block::Block;
use crate::error::{MlError, Result};
use ember::prelude::*;
use ndarray::{ArrayBase, Ix2};

/// Levels of executor-side merging in `tree_aggregate` (Spark's default).
pub const TREE_DEPTH: usize = 2;

/// A partial R factor inside a task: see the module docs.
pub(crate) type Partial = std::result::Result<Option<Small>, String>;

/// The R factor of `a` (`n × n`, upper triangular, `diag(R) ≥ 0`) by TSQR.
///
/// `a` must have at least as many rows as columns, every block the same
/// number of columns, and only finite entries. One pass over `a`.
pub fn tsqr_r(a: &Rdd<Block>) -> Result<Small> {
    let mut r = reduce(a, absorb)?;
    check_tall(r.nrows(), r.ncols())?;
    normalize_signs(&mut r);
    Ok(r)
}

/// The TSQR reduction of any RDD whose records `absorb` folds into a
/// partial R factor: the R of the whole (`min(m, n) × n`, signs not
/// normalized), or why there is none.
pub(crate) fn reduce<T: Data>(rdd: &Rdd<T>, absorb: impl Fn(Partial, T) -> Partial + CapturesNothing) -> Result<Small> {
    finish(rdd.tree_aggregate(Ok(None), absorb, merge, TREE_DEPTH)?)
}

/// The driver's checks on a finished reduction: some rows, finite entries.
fn finish(partial: Partial) -> Result<Small> {
    let r = partial.map_err(MlError::InvalidInput)?;
    let r = r.ok_or_else(|| MlError::InvalidInput("the matrix has no rows".into()))?;
    check_finite(&r)?;
    Ok(r)
}

/// One step of the flat tree inside a task: folds block `b` (or an R
/// factor) into `acc`.
pub(crate) fn absorb<S: ndarray::Data<Elem = f64>>(acc: Partial, b: ArrayBase<S, Ix2>) -> Partial {
    let acc = acc?;
    if b.nrows() == 0 {
        return Ok(acc);
    }
    if let Some(r) = &acc {
        check_columns(r.ncols(), b.ncols())?;
    }
    Ok(Some(stacked_r(acc.as_ref(), &b)))
}

/// One merge of the reduction tree: the R of two stacked R factors.
fn merge(a: Partial, b: Partial) -> Partial {
    match (a?, b?) {
        (Some(top), Some(bottom)) => absorb(Ok(Some(top)), bottom),
        (r, None) | (None, r) => Ok(r),
    }
}

/// A task-side message for blocks of different widths.
pub(crate) fn check_columns(expected: usize, found: usize) -> std::result::Result<(), String> {
    if expected == found {
        Ok(())
    } else {
        Err(format!("the blocks of the matrix have different numbers of columns ({expected} and {found})"))
    }
}

/// `rows` is the number of rows of A, or of an R factor (`min(m, n)`).
pub(crate) fn check_tall(rows: usize, cols: usize) -> Result<()> {
    if cols == 0 {
        return Err(MlError::InvalidInput("the matrix has no columns".into()));
    }
    if rows < cols {
        return Err(MlError::InvalidInput(format!(
            "a tall-and-skinny QR needs at least as many rows as columns; this matrix has {rows} rows and {cols} \
             columns"
        )));
    }
    Ok(())
}

/// NaN or infinite entries of A show up in every factor computed from it.
pub(crate) fn check_finite(m: &Small) -> Result<()> {
    if all_finite(m) { Ok(()) } else { Err(MlError::InvalidInput("the matrix contains NaN or infinite values".into())) }
}

/// Refuses an R whose smallest pivot is at most `n·ε` times its largest:
/// such an A is numerically rank deficient and `R⁻¹` would be dominated by
/// rounding errors (or be infinite). `what` names the method, `advice` says
/// what to use instead.
pub(crate) fn require_invertible(r: &Small, what: &str, advice: &str) -> Result<()> {
    let (i, smallest, largest) = pivot_range(r);
    let threshold = r.ncols() as f64 * f64::EPSILON * largest;
    if smallest > threshold && largest > 0.0 {
        return Ok(());
    }
    Err(MlError::RankDeficient(format!(
        "{what}: the matrix is numerically rank deficient (|R[{i},{i}]| = {smallest:.3e} is at most \
         n·ε·max|R[j,j]| = {threshold:.3e}), so R cannot be inverted; {advice}"
    )))
}

/// `A R⁻¹` by one triangular solve per block (lazy: computed when used).
pub(crate) fn solve_right(a: &Rdd<Block>, r: &Small) -> Rdd<Block> {
    a.map_with(r.clone(), |r, b: Block| solve_right_upper(b, r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, array};

    #[test]
    fn partials_merge_in_any_grouping() {
        let a = Array2::from_shape_fn((12, 3), |(i, j)| ((i * 5 + j * 3) % 7) as f64 + (i == j) as u8 as f64);
        let blocks: Vec<Block> = (0..4).map(|k| a.slice(ndarray::s![3 * k..3 * k + 3, ..]).to_shared()).collect();
        let left = blocks[..2].iter().cloned().fold(Ok(None), absorb);
        let right = blocks[2..].iter().cloned().fold(Ok(None), absorb);
        let mut merged = merge(merge(left, Ok(None)), right).unwrap().unwrap();
        let mut whole = stacked_r(None, &a);
        normalize_signs(&mut merged);
        normalize_signs(&mut whole);
        assert!(merged.iter().zip(whole.iter()).all(|(x, y)| (x - y).abs() < 1e-12));
    }

    #[test]
    fn bad_shapes_and_values_are_reported() {
        let wide = absorb(Ok(None), Array2::zeros((2, 3)));
        let wide = finish(wide).unwrap();
        assert!(
            matches!(check_tall(wide.nrows(), 3), Err(MlError::InvalidInput(m)) if m.contains("2 rows and 3 columns"))
        );
        let mixed = absorb(absorb(Ok(None), Array2::ones((4, 2))), Array2::ones((4, 3)));
        assert!(matches!(finish(mixed), Err(MlError::InvalidInput(m)) if m.contains("(2 and 3)")));
        assert!(matches!(finish(Ok(None)), Err(MlError::InvalidInput(m)) if m.contains("no rows")));
        let nan = absorb(Ok(None), array![[1.0, f64::NAN], [0.0, 1.0]]);
        assert!(matches!(finish(nan), Err(MlError::InvalidInput(m)) if m.contains("NaN")));
    }

    #[test]
    fn singular_r_is_refused() {
        let r = array![[1.0, 2.0], [0.0, 1e-17]];
        let err = require_invertible(&r, "indirect QR", "use Direct TSQR").unwrap_err();
        assert!(matches!(err, MlError::RankDeficient(m) if m.contains("Direct TSQR")));
        assert!(require_invertible(&array![[1.0, 2.0], [0.0, 1e-10]], "x", "y").is_ok());
        assert!(require_invertible(&Array2::zeros((2, 2)), "x", "y").is_err());
    }
}
