//! The structured QR of `[R; C]`: R upper triangular (`n × n`), C a chunk
//! of rows (LAPACK's `dtpqrt` / `dtpmqrt` for a triangle over a rectangle).
//!
//! Reflector `j` is `I − τ_j v_j v_jᵀ` with `v_j = [e_j; y_j]`: it touches row
//! `j` of R and the rows of C, never R's other rows, so the triangle costs
//! O(n²) per chunk and the chunk `2·rows·n²` flops, like a plain QR.
//!
//! Blocked: the columns are taken [`NB`] at a time. A panel is factored
//! reflector by reflector; its reflectors are then gathered into the compact
//! WY form `H_j ⋯ H_{j+nb−1} = I − V T Vᵀ` (T upper triangular, `nb × nb`;
//! `VᵢᵀVⱼ = δᵢⱼ + yᵢᵀyⱼ` because the `e` parts are distinct unit vectors), and
//! the columns to the right are updated with two GEMMs (faer's, which choose
//! SIMD at run time):
//!
//! ```text
//! W = R[j.., right] + Yᵀ C[:, right];   W ← Tᵀ W;   R[j.., right] −= W;   C[:, right] −= Y W
//! ```
//!
//! Forming the chunk's rows of Q applies the blocks in reverse to `[E; 0]`,
//! with T instead of Tᵀ.

use super::kernels::{Small, view, view_mut};
use super::panel::{Panel, axpy, dot, reflector};
use faer::linalg::matmul::matmul;
use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Accum, Mat, MatMut, MatRef, Par};

/// Columns per block of reflectors.
pub const NB: usize = 16;

/// QR of `[R; C]` in place: R becomes the new R, C holds the `y_j`; returns
/// the τ's.
pub fn tpqrt(r: &mut Small, c: &mut Panel) -> Vec<f64> {
    let n = c.cols;
    let mut taus = Vec::with_capacity(n);
    for j0 in (0..n).step_by(NB) {
        let nb = NB.min(n - j0);
        factor_panel(r, c, j0, nb, &mut taus);
        if j0 + nb < n {
            let t = block_t(c, &taus[j0..j0 + nb], j0);
            update_right(r, c, &t, j0, nb);
        }
    }
    taus
}

/// Reflectors `j0..j0 + nb`, each applied to the rest of the panel only.
fn factor_panel(r: &mut Small, c: &mut Panel, j0: usize, nb: usize, taus: &mut Vec<f64>) {
    for j in j0..j0 + nb {
        let rows = c.rows;
        let (beta, tau) = reflector(r[(j, j)], &mut c.data[j * rows..(j + 1) * rows]);
        r[(j, j)] = beta;
        taus.push(tau);
        if tau == 0.0 {
            continue;
        }
        for k in j + 1..j0 + nb {
            let (y, target) = c.pair_mut(j, k);
            let w = tau * (r[(j, k)] + dot(y, target));
            r[(j, k)] -= w;
            axpy(-w, y, target);
        }
    }
}

/// The T of `H_{j0} ⋯ H_{j0+nb−1} = I − V T Vᵀ` (`dlarft`, forward,
/// columnwise): `T[i,i] = τ_i`, `T[..i, i] = −τ_i T[..i, ..i] (Y[:, ..i]ᵀ y_i)`.
fn block_t(c: &Panel, taus: &[f64], j0: usize) -> Mat<f64> {
    let nb = taus.len();
    let mut t = Mat::<f64>::zeros(nb, nb);
    for i in 0..nb {
        t[(i, i)] = taus[i];
        if taus[i] == 0.0 {
            continue;
        }
        let yi = c.col(j0 + i);
        let w: Vec<f64> = (0..i).map(|k| dot(c.col(j0 + k), yi)).collect();
        for row in 0..i {
            let s: f64 = (row..i).map(|k| t[(row, k)] * w[k]).sum();
            t[(row, i)] = -taus[i] * s;
        }
    }
    t
}

/// `Y` (the panel's reflectors, `rows × nb`) and C's columns from `from` on.
fn split(c: &mut Panel, j0: usize, nb: usize, from: usize) -> (MatRef<'_, f64>, MatMut<'_, f64>) {
    let rows = c.rows;
    let cols = c.cols - from;
    let (left, right) = c.data.split_at_mut(from * rows);
    let y = MatRef::from_column_major_slice(&left[j0 * rows..(j0 + nb) * rows], rows, nb);
    (y, MatMut::from_column_major_slice_mut(right, rows, cols))
}

/// Applies `Hᵀ = I − V Tᵀ Vᵀ` of panel `j0` to the columns right of it.
fn update_right(r: &mut Small, c: &mut Panel, t: &Mat<f64>, j0: usize, nb: usize) {
    let right = c.cols - j0 - nb;
    let (y, mut cr) = split(c, j0, nb, j0 + nb);
    let mut w = view(r).submatrix(j0, j0 + nb, nb, right).to_owned();
    matmul(w.as_mut(), Accum::Add, y.transpose(), cr.rb(), 1.0, Par::Seq);
    let mut tw = Mat::<f64>::zeros(nb, right);
    matmul(tw.as_mut(), Accum::Replace, t.transpose(), w.as_ref(), 1.0, Par::Seq);
    subtract(view_mut(r).submatrix_mut(j0, j0 + nb, nb, right), &tw);
    matmul(cr.rb_mut(), Accum::Add, y, tw.as_ref(), -1.0, Par::Seq);
}

/// `m −= w`.
fn subtract(mut m: MatMut<'_, f64>, w: &Mat<f64>) {
    for l in 0..m.ncols() {
        for i in 0..m.nrows() {
            m[(i, l)] -= w[(i, l)];
        }
    }
}

/// Applies the reflectors of a [`tpqrt`] chunk, last block first, to
/// `[E; 0]`: updates E (`n × n`, upper triangular) and returns the chunk's
/// rows of Q.
///
/// When block `j0` is applied, columns `< j0` of E's rows `j0..` and of the
/// result are still zero (E stays upper triangular), so only columns `j0..`
/// are computed.
pub fn apply_structured_q(c: &Panel, taus: &[f64], e: &mut Small) -> Panel {
    let n = c.cols;
    let mut z = Panel::zeros(c.rows, n);
    for j0 in (0..n).step_by(NB).rev() {
        let nb = NB.min(n - j0);
        let t = block_t(c, &taus[j0..j0 + nb], j0);
        let y = MatRef::from_column_major_slice(&c.data[j0 * c.rows..(j0 + nb) * c.rows], c.rows, nb);
        let mut zr = MatMut::from_column_major_slice_mut(&mut z.data[j0 * c.rows..], c.rows, n - j0);
        // Z's columns j0..j0 + nb are still zero: only the ones right of them
        // contribute to W = E[j0.., j0..] + Yᵀ Z[:, j0..].
        let mut w = view(e).submatrix(j0, j0, nb, n - j0).to_owned();
        let z_right = zr.rb().subcols(nb, n - j0 - nb);
        matmul(w.as_mut().subcols_mut(nb, n - j0 - nb), Accum::Add, y.transpose(), z_right, 1.0, Par::Seq);
        let mut tw = Mat::<f64>::zeros(nb, n - j0);
        matmul(tw.as_mut(), Accum::Replace, t.as_ref(), w.as_ref(), 1.0, Par::Seq);
        subtract(view_mut(e).submatrix_mut(j0, j0, nb, n - j0), &tw);
        matmul(zr.rb_mut(), Accum::Add, y, tw.as_ref(), -1.0, Par::Seq);
    }
    z
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// The unblocked reference: reflector by reflector, as `dtpqrt2`.
    fn reference(r: &mut Small, c: &mut Panel) -> Vec<f64> {
        let mut taus = Vec::new();
        factor_panel(r, c, 0, c.cols, &mut taus);
        taus
    }

    fn chunk(rows: usize, cols: usize) -> (Small, Panel) {
        let b = Array2::from_shape_fn((rows, cols), |(i, j)| (((i * 13 + j * 7) % 19) as f64 - 9.0) / (1.0 + j as f64));
        let mut r =
            Array2::from_shape_fn((cols, cols), |(i, j)| if j >= i { 1.0 + ((i + 2 * j) % 5) as f64 } else { 0.0 });
        for i in 0..cols {
            r[(i, i)] += cols as f64;
        }
        (r, Panel::from_rows(&b, 0, rows))
    }

    #[test]
    fn blocked_and_unblocked_factorizations_agree() {
        for (rows, cols) in [(100, 40), (7, 35), (60, NB), (50, 3)] {
            let (mut r1, mut c1) = chunk(rows, cols);
            let (mut r2, mut c2) = (r1.clone(), c1.clone());
            let t1 = tpqrt(&mut r1, &mut c1);
            let t2 = reference(&mut r2, &mut c2);
            let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-12 * (1.0 + y.abs()));
            assert!(close(&t1, &t2), "{rows}×{cols}: τ");
            assert!(close(r1.as_slice().unwrap(), r2.as_slice().unwrap()), "{rows}×{cols}: R");
            assert!(close(&c1.data, &c2.data), "{rows}×{cols}: reflectors");
        }
    }

    #[test]
    fn q_rows_and_e_reproduce_the_stack() {
        let (rows, cols) = (90, 37);
        let (r0, c0) = chunk(rows, cols);
        let (mut r, mut c) = (r0.clone(), c0.clone());
        let taus = tpqrt(&mut r, &mut c);
        let mut e = Array2::eye(cols);
        let z = apply_structured_q(&c, &taus, &mut e);
        // [E; Z] is the thin Q of [R0; C0]: [E; Z] R = [R0; C0], orthonormal.
        let zr = Array2::from_shape_fn((rows, cols), |(i, j)| z.data[j * rows + i]);
        let top = e.dot(&r) - &r0;
        let bottom = zr.dot(&r) - Array2::from_shape_fn((rows, cols), |(i, j)| c0.data[j * rows + i]);
        assert!(top.iter().chain(bottom.iter()).all(|x| x.abs() < 1e-11));
        let gram = e.t().dot(&e) + zr.t().dot(&zr) - Array2::<f64>::eye(cols);
        assert!(gram.iter().all(|x| x.abs() < 1e-14));
    }
}
