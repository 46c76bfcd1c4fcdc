//! Storage and level-1 primitives of the Householder kernels.
//!
//! A [`Panel`] is a column-major matrix, so a reflector and the columns it
//! updates are contiguous slices. [`dot`] and [`axpy`] use the CPU's SIMD
//! (pulp, as faer does: AVX2 + FMA where available, chosen at run time).
//! Sums run in a fixed order that depends on the length only, never on memory
//! alignment, so on a given CPU a kernel's result depends only on its input.

use faer::traits::pulp::{Arch, Simd, WithSimd};
use ndarray::{Array2, ArrayBase, Data, Ix2, s};
use std::sync::OnceLock;

/// A column-major `rows × cols` matrix: column `j` is `data[j·rows..][..rows]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f64>,
}

impl Panel {
    pub fn zeros(rows: usize, cols: usize) -> Panel {
        Panel { rows, cols, data: vec![0.0; rows * cols] }
    }

    /// Rows `start..start + rows` of a row-major block, transposed into place.
    pub fn from_rows<S: Data<Elem = f64>>(b: &ArrayBase<S, Ix2>, start: usize, rows: usize) -> Panel {
        let mut p = Panel::zeros(0, 0);
        p.load_rows(b, start, rows);
        p
    }

    /// Becomes rows `start..start + rows` of a row-major block, reusing the
    /// allocation.
    pub fn load_rows<S: Data<Elem = f64>>(&mut self, b: &ArrayBase<S, Ix2>, start: usize, rows: usize) {
        let cols = b.ncols();
        (self.rows, self.cols) = (rows, cols);
        self.data.resize(rows * cols, 0.0);
        let block = b.slice(s![start..start + rows, ..]);
        match block.as_slice() {
            Some(src) if cols > 0 => self.transpose_from(src),
            _ => {
                for (i, row) in block.rows().into_iter().enumerate() {
                    for (j, &x) in row.iter().enumerate() {
                        self.data[j * rows + i] = x;
                    }
                }
            }
        }
    }

    /// Fills this panel (already sized) from its rows, row-major in `src`:
    /// four rows at a time, so each column receives four contiguous values
    /// and the writes go to `cols` sequential streams.
    fn transpose_from(&mut self, src: &[f64]) {
        #[cfg(target_arch = "x86_64")]
        if crate::avx2::available() {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { self.transpose_from_avx2(src) };
            return;
        }
        self.transpose_from_portable(src);
    }

    /// [`Self::transpose_from`] by 4 × 4 blocks in registers: four rows'
    /// four columns loaded, shuffled, and stored as four column pieces.
    ///
    /// # Safety
    /// The CPU supports AVX2. (The stores stay inside `data` because it holds
    /// `rows × cols` values and `src` at most as many: both checked here.)
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn transpose_from_avx2(&mut self, src: &[f64]) {
        use std::arch::x86_64::*;
        let (rows, cols) = (self.rows, self.cols);
        assert_eq!(self.data.len(), rows * cols, "the panel is sized");
        assert!(src.len() <= rows * cols && src.len().is_multiple_of(cols), "whole rows, at most `rows` of them");
        let blocks = cols / 4;
        for (q, quad) in src.chunks_exact(4 * cols).enumerate() {
            for c in 0..blocks {
                let t = 4 * c;
                // SAFETY: `quad` holds four rows of `cols ≥ t + 4` values, and
                // columns t..t + 4 of this panel hold rows 4q..4q + 4.
                unsafe {
                    // (No closure here: it would not get this function's AVX2.)
                    let at = quad.as_ptr().add(t);
                    let (a, b) = (_mm256_loadu_pd(at), _mm256_loadu_pd(at.add(cols)));
                    let (c, e) = (_mm256_loadu_pd(at.add(2 * cols)), _mm256_loadu_pd(at.add(3 * cols)));
                    let (ab_even, ab_odd) = (_mm256_unpacklo_pd(a, b), _mm256_unpackhi_pd(a, b));
                    let (ce_even, ce_odd) = (_mm256_unpacklo_pd(c, e), _mm256_unpackhi_pd(c, e));
                    let out = self.data.as_mut_ptr().add(t * rows + 4 * q);
                    _mm256_storeu_pd(out, _mm256_permute2f128_pd::<0x20>(ab_even, ce_even));
                    _mm256_storeu_pd(out.add(rows), _mm256_permute2f128_pd::<0x20>(ab_odd, ce_odd));
                    _mm256_storeu_pd(out.add(2 * rows), _mm256_permute2f128_pd::<0x31>(ab_even, ce_even));
                    _mm256_storeu_pd(out.add(3 * rows), _mm256_permute2f128_pd::<0x31>(ab_odd, ce_odd));
                }
            }
            for t in 4 * blocks..cols {
                let col = &mut self.data[t * rows + 4 * q..][..4];
                col.copy_from_slice(&[quad[t], quad[cols + t], quad[2 * cols + t], quad[3 * cols + t]]);
            }
        }
        let done = rows - src.chunks_exact(4 * cols).remainder().len() / cols;
        self.transpose_rest(src, done);
    }

    fn transpose_from_portable(&mut self, src: &[f64]) {
        let (rows, cols) = (self.rows, self.cols);
        let mut quads = src.chunks_exact(4 * cols);
        for (q, quad) in (&mut quads).enumerate() {
            let (r0, rest) = quad.split_at(cols);
            let (r1, rest) = rest.split_at(cols);
            let (r2, r3) = rest.split_at(cols);
            for (j, col) in self.data.chunks_exact_mut(rows).enumerate() {
                col[4 * q..4 * q + 4].copy_from_slice(&[r0[j], r1[j], r2[j], r3[j]]);
            }
        }
        let done = rows - quads.remainder().len() / cols;
        self.transpose_rest(src, done);
    }

    /// Rows `done..` (fewer than four), one by one.
    fn transpose_rest(&mut self, src: &[f64], done: usize) {
        let (rows, cols) = (self.rows, self.cols);
        for (i, row) in src[done * cols..].chunks_exact(cols).enumerate() {
            for (col, &x) in self.data.chunks_exact_mut(rows).zip(row) {
                col[done + i] = x;
            }
        }
    }

    pub fn col(&self, j: usize) -> &[f64] {
        &self.data[j * self.rows..(j + 1) * self.rows]
    }

    /// Column `j` (read) and column `k > j` (written).
    pub fn pair_mut(&mut self, j: usize, k: usize) -> (&[f64], &mut [f64]) {
        let (left, right) = self.data.split_at_mut(k * self.rows);
        (&left[j * self.rows..(j + 1) * self.rows], &mut right[..self.rows])
    }

    /// Writes this panel's rows into rows `start..` of a row-major block.
    pub fn write_rows(&self, out: &mut Array2<f64>, start: usize) {
        for (i, mut row) in out.slice_mut(s![start..start + self.rows, ..]).rows_mut().into_iter().enumerate() {
            for (j, x) in row.iter_mut().enumerate() {
                *x = self.data[j * self.rows + i];
            }
        }
    }
}

/// The widest SIMD instruction set of this CPU (detected once).
fn arch() -> Arch {
    static ARCH: OnceLock<Arch> = OnceLock::new();
    *ARCH.get_or_init(Arch::new)
}

/// Σ xᵢyᵢ (`x` and `y` of the same length), in a fixed order: four SIMD
/// accumulators with fused multiply-adds, then the tail.
pub fn dot(x: &[f64], y: &[f64]) -> f64 {
    arch().dispatch(Dot(x, y))
}

struct Dot<'a>(&'a [f64], &'a [f64]);

impl WithSimd for Dot<'_> {
    type Output = f64;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> f64 {
        let (xs, x_tail) = S::as_simd_f64s(self.0);
        let (ys, y_tail) = S::as_simd_f64s(self.1);
        let mut acc = [simd.splat_f64s(0.0); 4];
        let (xc, yc) = (xs.chunks_exact(4), ys.chunks_exact(4));
        for (x, y) in xc.remainder().iter().zip(yc.remainder()) {
            acc[0] = simd.mul_add_e_f64s(*x, *y, acc[0]);
        }
        for (x, y) in xc.zip(yc) {
            for l in 0..4 {
                acc[l] = simd.mul_add_e_f64s(x[l], y[l], acc[l]);
            }
        }
        let sum = simd.add_f64s(simd.add_f64s(acc[0], acc[1]), simd.add_f64s(acc[2], acc[3]));
        x_tail.iter().zip(y_tail).fold(simd.reduce_sum_f64s(sum), |s, (x, y)| s + x * y)
    }
}

/// `y += a·x` (same lengths).
pub fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    arch().dispatch(Axpy(a, x, y))
}

struct Axpy<'a>(f64, &'a [f64], &'a mut [f64]);

impl WithSimd for Axpy<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Axpy(a, x, y) = self;
        let (xs, x_tail) = S::as_simd_f64s(x);
        let (ys, y_tail) = S::as_mut_simd_f64s(y);
        let av = simd.splat_f64s(a);
        for (yv, xv) in ys.iter_mut().zip(xs) {
            *yv = simd.mul_add_e_f64s(av, *xv, *yv);
        }
        for (yi, xi) in y_tail.iter_mut().zip(x_tail) {
            *yi += a * xi;
        }
    }
}

/// ‖x‖₂, without overflow or underflow for any finite x.
fn norm2(x: &[f64]) -> f64 {
    let plain = dot(x, x).sqrt();
    if plain.is_finite() && plain > 1e-150 && plain < 1e150 {
        return plain;
    }
    let scale = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if scale == 0.0 || !scale.is_finite() {
        return scale;
    }
    scale * x.iter().map(|v| (v / scale) * (v / scale)).sum::<f64>().sqrt()
}

/// LAPACK's `dlarfg`: the reflector `H = I − τ[1; v][1; v]ᵀ` with
/// `H[α; x] = [β; 0]`. Overwrites `x` with `v`; returns `(β, τ)`. A column
/// that is already reduced (`x = 0`) gets `τ = 0`.
pub fn reflector(alpha: f64, x: &mut [f64]) -> (f64, f64) {
    let xnorm = norm2(x);
    if xnorm == 0.0 {
        return (alpha, 0.0);
    }
    let beta = -alpha.signum() * alpha.hypot(xnorm);
    let tau = (beta - alpha) / beta;
    let scale = 1.0 / (alpha - beta);
    x.iter_mut().for_each(|v| *v *= scale);
    (beta, tau)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflectors_zero_the_tail_and_keep_the_norm() {
        let mut x = vec![3.0, 0.0, 4.0];
        let (beta, tau) = reflector(0.0, &mut x);
        assert_eq!((beta, tau), (-5.0, 1.0));
        assert_eq!(reflector(2.0, &mut [0.0, 0.0]), (2.0, 0.0));
        assert!((norm2(&[3e200, 4e200]) / 5e200 - 1.0).abs() < 1e-15);
        assert!((norm2(&[3e-200, 4e-200]) / 5e-200 - 1.0).abs() < 1e-15);
    }

    #[test]
    fn panels_load_any_number_of_rows_from_standard_and_strided_blocks() {
        // Widths below, at and past the 4 × 4 blocks of the AVX2 path.
        for cols in [1, 3, 4, 7, 10, 13] {
            let b = ndarray::Array2::from_shape_fn((11, cols), |(i, j)| (100 * i + j) as f64);
            let strided = b.t().to_owned().reversed_axes(); // same values, column-major
            for source in [&b, &strided] {
                for (start, rows) in [(0, 11), (1, 9), (2, 4), (3, 3), (5, 0)] {
                    let p = Panel::from_rows(source, start, rows);
                    for j in 0..cols {
                        let want: Vec<f64> = (start..start + rows).map(|i| (100 * i + j) as f64).collect();
                        assert_eq!(p.col(j), want.as_slice(), "{cols} columns, rows {start}..+{rows}, column {j}");
                    }
                }
            }
        }
    }

    #[test]
    fn panels_transpose_rows_in_and_out() {
        let b = ndarray::Array2::from_shape_fn((5, 3), |(i, j)| (10 * i + j) as f64);
        let p = Panel::from_rows(&b, 1, 3);
        assert_eq!(p.col(2), &[12.0, 22.0, 32.0]);
        let mut out = ndarray::Array2::zeros((5, 3));
        p.write_rows(&mut out, 2);
        assert_eq!(out.row(4).to_vec(), vec![30.0, 31.0, 32.0]);
        assert_eq!(dot(&[1.0, 2.0, 3.0, 4.0, 5.0], &[1.0; 5]), 15.0);
    }
}
