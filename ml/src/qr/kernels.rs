//! Dense kernels on one block or one small matrix, run single-threaded inside
//! a task (faer with `Par::Seq`; parallelism comes from partitions).
//!
//! Blocks are row-major (`ndarray`). GEMM, triangular solves and Cholesky are
//! faer's, on zero-copy views; QR is this crate's own Householder code (see
//! [`householder`](super::householder) for why), which copies its input into
//! column-major chunks. Small `n × n` factors travel as `Array2<f64>` (serde).
//!
//! Kernels that only read a matrix take any 2-D array (a shared [`Block`], a
//! [`Small`], a view); kernels that change a block take it by value and
//! return a new [`Block`]: a cached block is shared, so it is copied first
//! (explicitly, with `into_owned`), while a block nobody else holds is
//! changed in place.
//!
//! No kernel panics on a shape it can be given by user data: empty blocks are
//! handled explicitly, and a block whose column count disagrees is reported
//! by the callers before these run.

use super::householder;
use crate::block::Block;
use faer::linalg::triangular_solve::solve_lower_triangular_in_place;
use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Accum, MatMut, MatRef, Par};
use ndarray::{Array2, ArrayBase, CowArray, Data, Ix2};

/// A small dense matrix (an R factor, a Gram matrix, a slice of Q₂).
pub type Small = Array2<f64>;

/// `b` in standard (row-major, contiguous) layout, copied only when it is not.
pub fn standard<S: Data<Elem = f64>>(b: &ArrayBase<S, Ix2>) -> CowArray<'_, f64, Ix2> {
    b.as_standard_layout()
}

/// A faer view of a matrix in standard layout (see [`standard`]).
pub fn view<S: Data<Elem = f64>>(b: &ArrayBase<S, Ix2>) -> MatRef<'_, f64> {
    let (rows, cols) = b.dim();
    MatRef::from_row_major_slice(b.as_slice().unwrap_or(&[]), rows, cols)
}

/// A mutable faer view of an owned matrix in standard layout (a shared
/// [`Block`] is taken back with `into_owned` first, so it is never copied
/// behind the caller's back).
pub fn view_mut(b: &mut Array2<f64>) -> MatMut<'_, f64> {
    let (rows, cols) = b.dim();
    MatMut::from_row_major_slice_mut(b.as_slice_mut().unwrap_or(&mut []), rows, cols)
}

/// A row-major copy of a faer matrix.
pub fn to_array(m: MatRef<'_, f64>) -> Small {
    let mut out = Array2::zeros((m.nrows(), m.ncols()));
    view_mut(&mut out).copy_from(m);
    out
}

/// The R factor of `[top; b]`: one step of the TSQR reduction. `top` is an
/// earlier R factor (or nothing), `b` a block or another R factor with the
/// same number of columns. See [`householder`](super::householder).
pub fn stacked_r<S: Data<Elem = f64>>(top: Option<&Small>, b: &ArrayBase<S, Ix2>) -> Small {
    householder::stacked_r(top, &standard(b))
}

/// The thin QR of one block: `Q` (`m × k`, orthonormal columns) and `R`
/// (`k × n`, upper trapezoidal), `k = min(m, n)`.
pub fn thin_qr<S: Data<Elem = f64>>(b: &ArrayBase<S, Ix2>) -> (Array2<f64>, Small) {
    householder::thin_qr(&standard(b))
}

/// Makes `diag(R) ≥ 0` by negating rows of `r`; returns the signs used
/// (`Q·diag(signs)` is then the matching Q).
pub fn normalize_signs(r: &mut Small) -> Vec<f64> {
    let k = r.nrows().min(r.ncols());
    let signs: Vec<f64> = (0..r.nrows()).map(|i| if i < k && r[(i, i)] < 0.0 { -1.0 } else { 1.0 }).collect();
    for (mut row, &s) in r.rows_mut().into_iter().zip(&signs) {
        if s < 0.0 {
            row.mapv_inplace(|x| -x);
        }
    }
    signs
}

/// Narrower blocks are bound by memory, where the kernel's packing costs
/// more than it saves (2,000,000 × 10 on two cores: 1.2–1.3× the floor with
/// faer, 1.5–1.7× with the kernel; at 100 columns 2.6–2.8× → 1.7–2.2×).
const GRAM_KERNEL_MIN_COLS: usize = 16;

/// `acc += bᵀ b` on the lower triangle only (the block's contribution to
/// the Gram matrix AᵀA, half the flops of a full product); see
/// [`mirror_lower`]. This crate's AVX-512 kernel where the CPU has it and
/// the block has at least [`GRAM_KERNEL_MIN_COLS`] columns (see
/// [`gram`](super::gram)), faer's triangular product otherwise.
pub fn add_gram<S: Data<Elem = f64>>(acc: &mut Small, b: &ArrayBase<S, Ix2>) {
    use faer::linalg::matmul::triangular::{BlockStructure, matmul};
    let b = standard(b);
    let n = b.ncols();
    #[cfg(target_arch = "x86_64")]
    if let (Some(g), Some(rows)) = (acc.as_slice_mut(), b.as_slice())
        && n >= GRAM_KERNEL_MIN_COLS
        && super::gram::add_lower_gram(g, rows, n)
    {
        return;
    }
    let x = view(&b);
    let full = BlockStructure::Rectangular;
    matmul(view_mut(acc), BlockStructure::TriangularLower, Accum::Add, x.transpose(), full, x, full, 1.0, Par::Seq);
}

/// Copies the lower triangle onto the upper one.
pub fn mirror_lower(g: &mut Small) {
    for i in 0..g.nrows() {
        for j in i + 1..g.ncols() {
            g[(i, j)] = g[(j, i)];
        }
    }
}

/// `b · m` for a block `b` and a small matrix `m`.
pub fn mul<S: Data<Elem = f64>>(b: &ArrayBase<S, Ix2>, m: &Small) -> Block {
    let b = standard(b);
    let mut out = Array2::zeros((b.nrows(), m.ncols()));
    faer::linalg::matmul::matmul(view_mut(&mut out), Accum::Replace, view(&b), view(m), 1.0, Par::Seq);
    out.into_shared()
}

/// `b · m`, in place when `m` is square: rows go through a small buffer
/// ([`ROWS_IN_PLACE`] at a time), so no second block is allocated (unless
/// `b` is shared, e.g. cached: then it is copied once, see [`owned_standard`]).
pub fn mul_in_place(b: Block, m: &Small) -> Block {
    if m.nrows() != b.ncols() || m.ncols() != b.ncols() {
        return mul(&b, m);
    }
    let mut b = owned_standard(b);
    let (rows, cols) = b.dim();
    let mut buffer = Array2::zeros((ROWS_IN_PLACE.min(rows), cols));
    for start in (0..rows).step_by(ROWS_IN_PLACE) {
        let n = ROWS_IN_PLACE.min(rows - start);
        let mut chunk = view_mut(&mut b).subrows_mut(start, n);
        let mut tmp = view_mut(&mut buffer).subrows_mut(0, n);
        tmp.copy_from(chunk.rb());
        faer::linalg::matmul::matmul(chunk.rb_mut(), Accum::Replace, tmp.rb(), view(m), 1.0, Par::Seq);
    }
    b.into_shared()
}

/// Rows per step of [`mul_in_place`].
const ROWS_IN_PLACE: usize = 256;

/// `b` itself, owned and in standard layout, to be changed in place: free
/// when nobody else holds `b` and it is in standard layout, one copy when it
/// is shared (a cached block) or in another layout.
fn owned_standard(b: Block) -> Array2<f64> {
    if b.is_standard_layout() { b.into_owned() } else { b.as_standard_layout().into_owned() }
}

/// `b · R⁻¹` for upper triangular `r`, by one triangular solve in place:
/// `X R = B` is `Rᵀ Xᵀ = Bᵀ`, and the transpose of a row-major block is a
/// column-major view of the same memory.
pub fn solve_right_upper(b: Block, r: &Small) -> Block {
    let mut x = owned_standard(b);
    let rhs = view_mut(&mut x).transpose_mut();
    solve_lower_triangular_in_place(view(r).transpose(), rhs, Par::Seq);
    x.into_shared()
}

/// `a − b` squared Frobenius norm and `a`'s, for blocks of the same shape.
pub fn diff_norms2<S: Data<Elem = f64>, T: Data<Elem = f64>>(
    a: &ArrayBase<S, Ix2>,
    b: &ArrayBase<T, Ix2>,
) -> (f64, f64) {
    let diff: f64 = a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum();
    (diff, a.iter().map(|x| x * x).sum())
}

/// The Frobenius norm.
pub fn frobenius(m: &Small) -> f64 {
    m.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Whether every entry is finite.
pub fn all_finite(m: &Small) -> bool {
    m.iter().all(|x| x.is_finite())
}

/// The smallest and largest `|r_ii|` of an upper triangular matrix, with the
/// index of the smallest.
pub fn pivot_range(r: &Small) -> (usize, f64, f64) {
    let k = r.nrows().min(r.ncols());
    let mut smallest = (0, f64::INFINITY);
    let mut largest: f64 = 0.0;
    for i in 0..k {
        let p = r[(i, i)].abs();
        if p < smallest.1 {
            smallest = (i, p);
        }
        largest = largest.max(p);
    }
    (smallest.0, smallest.1, largest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, ShapeBuilder, s};

    fn sample(rows: usize, cols: usize) -> Block {
        Array2::from_shape_fn((rows, cols), |(i, j)| ((i * 7 + j * 13) % 11) as f64 - 5.0 + (i == j) as u8 as f64)
            .into_shared()
    }

    fn close<S: Data<Elem = f64>, T: Data<Elem = f64>>(a: &ArrayBase<S, Ix2>, b: &ArrayBase<T, Ix2>, tol: f64) -> bool {
        a.shape() == b.shape() && a.iter().zip(b.iter()).all(|(x, y)| (x - y).abs() <= tol)
    }

    #[test]
    fn thin_qr_reproduces_the_block() {
        let b = sample(9, 4);
        let (q, r) = thin_qr(&b);
        assert_eq!((q.dim(), r.dim()), ((9, 4), (4, 4)));
        assert!(close(&q.dot(&r), &b, 1e-12));
        assert!(close(&q.t().dot(&q), &Array2::eye(4), 1e-13));
    }

    #[test]
    fn short_blocks_give_trapezoidal_factors() {
        let b = sample(2, 5);
        let (q, r) = thin_qr(&b);
        assert_eq!((q.dim(), r.dim()), ((2, 2), (2, 5)));
        assert!(close(&q.dot(&r), &b, 1e-12));
        assert_eq!(stacked_r(None, &b).dim(), (2, 5));
    }

    #[test]
    fn empty_blocks_are_harmless() {
        let b = Array2::<f64>::zeros((0, 3));
        let (q, r) = thin_qr(&b);
        assert_eq!((q.dim(), r.dim()), ((0, 0), (0, 3)));
        assert_eq!(stacked_r(None, &b).dim(), (0, 3));
        assert_eq!(mul(&q, &Array2::zeros((0, 3))).dim(), (0, 3));
    }

    #[test]
    fn stacking_r_factors_gives_the_r_of_the_whole() {
        let a = sample(20, 3);
        let r1 = stacked_r(None, &a.slice(s![..10, ..]).to_owned());
        let r2 = stacked_r(Some(&r1), &a.slice(s![10.., ..]).to_owned());
        let mut whole = stacked_r(None, &a);
        let mut merged = r2;
        normalize_signs(&mut whole);
        normalize_signs(&mut merged);
        assert!(close(&whole, &merged, 1e-12));
    }

    #[test]
    fn gram_solve_and_product_agree_with_ndarray() {
        let b = sample(7, 3);
        let mut g = Array2::zeros((3, 3));
        add_gram(&mut g, &b);
        assert_eq!(g[(0, 2)], 0.0);
        mirror_lower(&mut g);
        assert!(close(&g, &b.t().dot(&b), 1e-12));
        let mut r = stacked_r(None, &b);
        normalize_signs(&mut r);
        assert!(close(&solve_right_upper(b.clone(), &r).dot(&r), &b, 1e-12));
        assert!(close(&mul(&b, &r), &b.dot(&r), 1e-12));
        let tall = sample(600, 3);
        assert!(close(&mul_in_place(tall.clone(), &r), &tall.dot(&r), 1e-12));
        let wide = Array2::ones((3, 2));
        assert!(close(&mul_in_place(tall.clone(), &wide), &tall.dot(&wide), 1e-12));
        assert!(close(&mul_in_place(tall.t().to_shared().reversed_axes(), &r), &tall.dot(&r), 1e-12));
    }

    #[test]
    fn gram_of_wide_blocks_in_any_layout_matches_ndarray() {
        // Widths on both sides of GRAM_KERNEL_MIN_COLS, and a column-major
        // (non-standard) block, which is copied first.
        for cols in [GRAM_KERNEL_MIN_COLS - 1, GRAM_KERNEL_MIN_COLS, 37] {
            let b = sample(300, cols);
            let mut g = Array2::from_elem((cols, cols), 1.0);
            add_gram(&mut g, &b);
            let mut column_major = Array2::zeros((300, cols).f());
            column_major.assign(&b);
            assert!(!column_major.is_standard_layout());
            add_gram(&mut g, &column_major);
            mirror_lower(&mut g);
            let want = b.t().dot(&b) * 2.0 + 1.0;
            assert!(close(&g, &want, 1e-12), "cols = {cols}");
        }
    }

    #[test]
    fn blocks_are_changed_in_place_only_when_nobody_else_holds_them() {
        let mut r = stacked_r(None, &sample(7, 3));
        normalize_signs(&mut r);
        // A cached block is shared: the kernels copy it and leave it as it was.
        let cached = sample(600, 3);
        let before = cached.to_owned();
        let (q, p) = (solve_right_upper(cached.clone(), &r), mul_in_place(cached.clone(), &r));
        assert_eq!(cached, before);
        assert!(q.as_ptr() != cached.as_ptr() && p.as_ptr() != cached.as_ptr());
        // A block nobody else holds is reused.
        let ptr = cached.as_ptr();
        let q = solve_right_upper(cached, &r);
        assert_eq!(q.as_ptr(), ptr);
        assert_eq!(mul_in_place(q, &r).as_ptr(), ptr);
    }

    #[test]
    fn non_standard_layouts_are_copied_not_rejected() {
        let b = sample(3, 6).reversed_axes();
        assert!(!b.is_standard_layout());
        let (q, r) = thin_qr(&b);
        assert!(close(&q.dot(&r), &b.to_owned(), 1e-12));
    }

    #[test]
    fn signs_make_the_diagonal_nonnegative() {
        let mut r = ndarray::array![[-2.0, 1.0], [0.0, 3.0]];
        assert_eq!(normalize_signs(&mut r), vec![-1.0, 1.0]);
        assert_eq!(r, ndarray::array![[2.0, -1.0], [0.0, 3.0]]);
        assert_eq!(pivot_range(&r), (0, 2.0, 3.0));
    }
}
