//! Householder QR kernels for tall-and-skinny blocks, written out.
//!
//! Why not faer's `Qr`: faer 0.24's unpivoted QR is rank revealing. When
//! the part of a column left to reduce is below `16·(m − j)·ε` times the
//! column's norm it skips the reflection and leaves an exact zero on R's
//! diagonal. For a block of 100,000 rows that threshold is ~3.5e-10, so
//! ill-conditioned matrices (κ ≳ 3e9) lost columns: R became singular and
//! TSQR's residual grew with κ (2e-13 at κ = 1e15 on a 500×50 test matrix).
//! These kernels always reflect (LAPACK's `dgeqr2`/`dlarfg`): the backward
//! error stays at a few ε for any condition number.
//!
//! A block is factored as a flat tree of *chunks* of [`chunk_rows`] rows that
//! fit in the L2 cache: the first chunk (with at least `n` rows) by a dense
//! Householder QR, each further chunk `C` by the structured QR of `[R; C]`
//! ([`structured`](super::structured), blocked with GEMM updates: the
//! triangle R costs O(n²) per chunk and a chunk `2·rows·n²` flops). The
//! explicit thin Q runs the tree backwards: `E = I`, each chunk's reflectors
//! applied to `[E; 0]` in reverse give that chunk's rows of Q (`dtpmqrt`), and
//! the first chunk's reflectors applied to `[E; 0]` give the first rows.
//!
//! Chunks are column-major ([`Panel`]), so every reflector works on
//! contiguous columns. Chunk boundaries depend only on the block's shape, so
//! a block's factors depend only on the block.

use super::kernels::Small;
use super::panel::{Panel, axpy, dot, reflector};
use super::structured::{apply_structured_q, tpqrt};
use ndarray::{Array2, ArrayBase, Data, Ix2};

/// Rows per chunk for `n` columns: about 128 KiB of data, at least 32 rows.
pub fn chunk_rows(cols: usize) -> usize {
    (16384 / cols.max(1)).max(32)
}

/// Dense Householder QR in place (`dgeqr2`): R in the upper triangle, the
/// reflectors below it; returns the `min(rows, cols)` τ's.
fn geqr2(a: &mut Panel) -> Vec<f64> {
    let k = a.rows.min(a.cols);
    let mut taus = Vec::with_capacity(k);
    for j in 0..k {
        let rows = a.rows;
        let col = &mut a.data[j * rows..(j + 1) * rows];
        let (head, tail) = col[j..].split_at_mut(1);
        let (beta, tau) = reflector(head[0], tail);
        head[0] = beta;
        taus.push(tau);
        if tau == 0.0 {
            continue;
        }
        for c in j + 1..a.cols {
            let (v, target) = a.pair_mut(j, c);
            let w = tau * (target[j] + dot(&v[j + 1..], &target[j + 1..]));
            target[j] -= w;
            axpy(-w, &v[j + 1..], &mut target[j + 1..]);
        }
    }
    taus
}

/// The upper triangle (trapezoid) of a factored panel: `min(rows, cols) × cols`.
fn upper(a: &Panel) -> Small {
    let k = a.rows.min(a.cols);
    Array2::from_shape_fn((k, a.cols), |(i, j)| if j >= i { a.data[j * a.rows + i] } else { 0.0 })
}

/// `H₀ ⋯ H_{k−1} [E; 0]` for the reflectors of [`geqr2`]: the panel's thin Q
/// times E (`k × n`). Returns `rows × n`.
fn apply_dense_q(a: &Panel, taus: &[f64], e: &Small) -> Panel {
    let mut m = Panel::zeros(a.rows, e.ncols());
    for ((i, l), &x) in e.indexed_iter() {
        m.data[l * a.rows + i] = x;
    }
    for (j, &tau) in taus.iter().enumerate().rev() {
        if tau == 0.0 {
            continue;
        }
        let v = &a.col(j)[j + 1..];
        for l in 0..m.cols {
            let target = &mut m.data[l * a.rows..(l + 1) * a.rows];
            let w = tau * (target[j] + dot(v, &target[j + 1..]));
            target[j] -= w;
            axpy(-w, v, &mut target[j + 1..]);
        }
    }
    m
}

/// The first rows of a factorization: `[top; b[..]]` densely, up to
/// `max(n, chunk)` rows in all. Returns the factored panel, its τ's and the
/// number of rows of `b` it took.
fn head<S: Data<Elem = f64>>(top: Option<&Small>, b: &ArrayBase<S, Ix2>, chunk: usize) -> (Panel, Vec<f64>, usize) {
    let top_rows = top.map_or(0, |t| t.nrows());
    let taken = b.nrows().min(chunk.max(b.ncols()).saturating_sub(top_rows));
    let mut p = Panel::zeros(top_rows + taken, b.ncols());
    if let Some(t) = top {
        for ((i, j), &x) in t.indexed_iter() {
            p.data[j * p.rows + i] = x;
        }
    }
    let rows = Panel::from_rows(b, 0, taken);
    for j in 0..p.cols {
        p.data[j * p.rows + top_rows..(j + 1) * p.rows].copy_from_slice(rows.col(j));
    }
    let taus = geqr2(&mut p);
    (p, taus, taken)
}

/// The R factor of `[top; b]` (`min(rows, n) × n`), `top` an earlier R
/// factor with `b`'s number of columns. `b` must be in standard layout.
pub fn stacked_r<S: Data<Elem = f64>>(top: Option<&Small>, b: &ArrayBase<S, Ix2>) -> Small {
    let (n, chunk) = (b.ncols(), chunk_rows(b.ncols()));
    let (mut r, mut at) = match top {
        Some(t) if t.nrows() == n => (t.clone(), 0),
        _ => {
            let (p, _, taken) = head(top, b, chunk);
            (upper(&p), taken)
        }
    };
    let mut panel = Panel::zeros(0, 0);
    while at < b.nrows() {
        let rows = chunk.min(b.nrows() - at);
        panel.load_rows(b, at, rows);
        tpqrt(&mut r, &mut panel);
        at += rows;
    }
    r
}

/// The thin QR of a block in standard layout: Q (`m × k`) and R (`k × n`),
/// `k = min(m, n)`.
pub fn thin_qr<S: Data<Elem = f64>>(b: &ArrayBase<S, Ix2>) -> (Array2<f64>, Small) {
    let (m, n) = b.dim();
    let chunk = chunk_rows(n);
    let (first, first_taus, mut at) = head(None, b, chunk);
    let mut r = upper(&first);
    let mut chunks = Vec::new();
    while at < m {
        let rows = chunk.min(m - at);
        let mut p = Panel::from_rows(b, at, rows);
        let taus = tpqrt(&mut r, &mut p);
        chunks.push((at, p, taus));
        at += rows;
    }
    let k = r.nrows();
    let mut q = Array2::zeros((m, k));
    let mut e = Array2::eye(k);
    for (start, p, taus) in chunks.iter().rev() {
        apply_structured_q(p, taus, &mut e).write_rows(&mut q, *start);
    }
    apply_dense_q(&first, &first_taus, &e).write_rows(&mut q, 0);
    (q, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &Small, b: &Small, tol: f64) -> bool {
        a.shape() == b.shape() && a.iter().zip(b.iter()).all(|(x, y)| (x - y).abs() <= tol)
    }

    fn graded(rows: usize, cols: usize) -> Small {
        // Columns scaled from 1 down to 1e-14, mixed so they are not orthogonal.
        Array2::from_shape_fn((rows, cols), |(i, j)| {
            let x = (((i * 31 + j * 17) % 23) as f64 - 11.0) / 7.0 + ((i + 3 * j) % 5) as f64;
            x * 10f64.powf(-14.0 * j as f64 / cols as f64)
        })
    }

    #[test]
    fn chunked_qr_of_tall_blocks_is_accurate() {
        for (m, n) in [(2000, 7), (700, 40), (45, 40), (3, 5)] {
            let b = graded(m, n);
            let (q, r) = thin_qr(&b);
            let k = m.min(n);
            assert_eq!((q.dim(), r.dim()), ((m, k), (k, n)));
            assert!(close(&q.dot(&r), &b, 1e-13), "{m}×{n}: QR ≠ A");
            assert!(close(&q.t().dot(&q), &Array2::eye(k), 1e-13), "{m}×{n}: QᵀQ ≠ I");
            let r2 = stacked_r(None, &b);
            assert!(close(&r2, &r, 1e-13), "{m}×{n}: R differs between the Q and R-only paths");
        }
    }

    #[test]
    fn nearly_dependent_columns_keep_their_tiny_pivots() {
        // The third column equals the first up to 1e-13: faer's QR would
        // zero that pivot; a Householder QR keeps it.
        let mut b = graded(3000, 3);
        for i in 0..3000 {
            b[(i, 2)] = b[(i, 0)] + 1e-13 * (((i * 7) % 13) as f64 - 6.0);
        }
        let r = stacked_r(None, &b);
        assert!(r[(2, 2)].abs() > 1e-12, "pivot {}", r[(2, 2)]);
        let (q, r) = thin_qr(&b);
        assert!(close(&q.dot(&r), &b, 1e-13));
    }

    #[test]
    fn zero_columns_still_give_an_orthonormal_q() {
        let mut b = graded(100, 4);
        b.column_mut(1).fill(0.0);
        let (q, r) = thin_qr(&b);
        assert!(close(&q.t().dot(&q), &Array2::eye(4), 1e-14));
        assert!(close(&q.dot(&r), &b, 1e-14));
    }

    #[test]
    fn stacking_continues_a_factorization() {
        let b = graded(900, 6);
        let top = stacked_r(None, &b.slice(ndarray::s![..400, ..]).to_owned());
        let whole = stacked_r(Some(&top), &b.slice(ndarray::s![400.., ..]).to_owned());
        let direct = stacked_r(None, &b);
        let (rt, rd) = (whole.t().dot(&whole), direct.t().dot(&direct));
        let scale = rd.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(close(&rt, &rd, 1e-14 * scale));
    }
}
