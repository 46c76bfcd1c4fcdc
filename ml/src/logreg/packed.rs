//! The packed AVX2 + FMA gradient kernel for narrow data (d ≤ 32): four rows
//! per register, one pass over the block.
//!
//! faer's matrix-vector products cost a horizontal reduction (for `Xw`) or a
//! short strided update (for `Xᵀr`) per row, which for d = 10 costs more than
//! reading the row. Here a group of four rows is transposed so that register
//! `t` holds coordinate t of the four rows ([`crate::avx2`]); then
//!
//! ```text
//! z = b + Σ_t w_t·x_t          (d FMAs, two chains)
//! r = σ(z) − y                 (vectorized exp, as in `sigmoid`, with FMAs)
//! g_t += r·x_t,  g_b += r      (d FMAs into accumulators kept in L1)
//! ```
//!
//! and the four lanes of each accumulator are summed once, at the end. The
//! last rows are padded to a group of four with their residuals masked to 0.
//! Results agree with the chunked faer kernel to rounding (sums are taken in
//! a different order); a NaN anywhere in a row makes the gradient NaN in
//! both.

use super::kernel::GradientSums;
use super::sigmoid::{INVERSE_FACTORIALS, LN2_HI, LN2_LO, LOG2_E, ROUND, UNDERFLOW};
use crate::avx2::{MAX_D, transpose_quad};
use std::arch::x86_64::*;

/// The gradient sums of the `rows` rows of `x` (row-major, `d = w.len()`
/// columns) with labels `y`, at `(w, b)`.
///
/// # Panics
/// When the CPU lacks AVX2 or FMA (check [`crate::avx2::available`]), when
/// `d > MAX_D` or `d == 0`, or when `x` and `y` do not hold `rows` rows.
pub fn gradient(x: &[f64], y: &[f64], w: &[f64], b: f64) -> GradientSums {
    let d = w.len();
    assert!(crate::avx2::available(), "the packed gradient kernel needs AVX2 and FMA");
    assert!((1..=MAX_D).contains(&d), "the packed gradient kernel takes 1 to {MAX_D} columns");
    assert_eq!(x.len(), d * y.len(), "x holds one row of d values per label");
    // SAFETY: AVX2 and FMA are present and the shapes hold (checked above).
    unsafe {
        // Common narrow widths get a copy compiled for that width (loops over
        // the coordinates unroll), as in the k-means kernel.
        match d {
            2 => run::<2>(x, y, w, b),
            3 => run::<3>(x, y, w, b),
            4 => run::<4>(x, y, w, b),
            5 => run::<5>(x, y, w, b),
            8 => run::<8>(x, y, w, b),
            10 => run::<10>(x, y, w, b),
            16 => run::<16>(x, y, w, b),
            _ => run::<0>(x, y, w, b),
        }
    }
}

/// Groups of four rows handled together: their σ chains (a dozen dependent
/// FMAs and a division each) are independent, so they overlap; one group
/// alone would leave the core waiting on latency.
const GROUPS: usize = 4;

/// # Safety
/// The CPU supports AVX2 and FMA; `1 <= w.len() <= MAX_D`; `x.len() == w.len()·y.len()`.
#[target_feature(enable = "avx2,fma")]
/// `D` is the row width, or 0 for "read it from `w`" (`D == 0 || D == w.len()`).
unsafe fn run<const D: usize>(x: &[f64], y: &[f64], w: &[f64], b: f64) -> GradientSums {
    let (d, rows) = (if D == 0 { w.len() } else { D }, y.len());
    let mut ws = [_mm256_setzero_pd(); MAX_D];
    for (wv, &wt) in ws.iter_mut().zip(w) {
        *wv = _mm256_set1_pd(wt);
    }
    let mut acc = Accumulators {
        xt: [[_mm256_setzero_pd(); MAX_D]; GROUPS],
        g: [_mm256_setzero_pd(); MAX_D],
        g_b: _mm256_setzero_pd(),
        bad: _mm256_setzero_pd(),
    };
    let batch = 4 * GROUPS;
    let whole = rows / batch;
    for (i, rows) in x.chunks_exact(batch * d).take(whole).enumerate() {
        let mut labels = [_mm256_setzero_pd(); GROUPS];
        for (q, l) in labels.iter_mut().enumerate() {
            // SAFETY: the labels of these rows exist.
            *l = unsafe { _mm256_loadu_pd(y.as_ptr().add(i * batch + 4 * q)) };
        }
        let all = [_mm256_castsi256_pd(_mm256_set1_epi64x(-1)); GROUPS];
        // SAFETY: AVX2 and FMA are enabled; `rows` holds GROUPS quads of d ≤ MAX_D.
        unsafe { accumulate(rows, d, &ws, b, labels, all, &mut acc) };
    }
    let left = rows - whole * batch;
    if left > 0 {
        // The last rows, zero-padded to a whole batch, their residuals masked.
        let mut padded_x = [0.0; 4 * GROUPS * MAX_D];
        let mut padded_y = [0.0; 4 * GROUPS];
        padded_x[..left * d].copy_from_slice(&x[whole * batch * d..]);
        padded_y[..left].copy_from_slice(&y[whole * batch..]);
        let mut lanes = [0i64; 4 * GROUPS];
        lanes[..left].fill(-1);
        let (mut labels, mut masks) = ([_mm256_setzero_pd(); GROUPS], [_mm256_setzero_pd(); GROUPS]);
        for q in 0..GROUPS {
            // SAFETY: the padded arrays hold a whole batch.
            unsafe {
                labels[q] = _mm256_loadu_pd(padded_y.as_ptr().add(4 * q));
                masks[q] = _mm256_castsi256_pd(_mm256_loadu_si256(lanes.as_ptr().add(4 * q).cast()));
            }
        }
        // SAFETY: AVX2 and FMA are enabled; the padded arrays hold a batch.
        unsafe { accumulate(&padded_x[..batch * d], d, &ws, b, labels, masks, &mut acc) };
    }
    let mut gradient_w = Vec::with_capacity(d);
    for v in &acc.g[..d] {
        // SAFETY: AVX2 is enabled (this function's contract).
        gradient_w.push(unsafe { lane_sum(*v) });
    }
    // SAFETY: as above.
    let gradient_b = unsafe { lane_sum(acc.g_b) };
    GradientSums { gradient_w, gradient_b, bad_label: _mm256_movemask_pd(acc.bad) != 0 }
}

/// Running sums of a pass, four lanes each.
struct Accumulators {
    /// Scratch: the transposed rows of a batch (kept here so that it is not
    /// set to zero for every batch).
    xt: [[__m256d; MAX_D]; GROUPS],
    g: [__m256d; MAX_D],
    g_b: __m256d,
    bad: __m256d,
}

/// Adds the rows of `rows` (GROUPS groups of four, d columns) with `labels`
/// to `acc`; lanes whose `masks` bit is clear (padding) add nothing.
///
/// # Safety
/// Only call from a function compiled with AVX2 and FMA; `rows.len() ==
/// 4·GROUPS·d`, `1 <= d <= MAX_D`.
#[inline(always)]
unsafe fn accumulate(
    rows: &[f64],
    d: usize,
    ws: &[__m256d; MAX_D],
    b: f64,
    labels: [__m256d; GROUPS],
    masks: [__m256d; GROUPS],
    acc: &mut Accumulators,
) {
    // SAFETY: AVX2 and FMA are enabled (caller); shapes as documented.
    unsafe {
        let xt = &mut acc.xt;
        for (q, xt) in xt.iter_mut().enumerate() {
            transpose_quad(&rows[4 * q * d..4 * (q + 1) * d], d, xt);
        }
        // Loops, not closures: a closure is not compiled with the caller's
        // target features, so intrinsics in it would not be inlined.
        let mut z = [_mm256_setzero_pd(); GROUPS];
        for (z, xt) in z.iter_mut().zip(&acc.xt) {
            *z = margin(&xt[..d], &ws[..d], b);
        }
        let (zero, one) = (_mm256_setzero_pd(), _mm256_set1_pd(1.0));
        for q in 0..GROUPS {
            let zero_or_one =
                _mm256_or_pd(_mm256_cmp_pd::<_CMP_EQ_OQ>(labels[q], zero), _mm256_cmp_pd::<_CMP_EQ_OQ>(labels[q], one));
            acc.bad = _mm256_or_pd(acc.bad, _mm256_andnot_pd(zero_or_one, masks[q]));
        }
        let mut r = [_mm256_setzero_pd(); GROUPS];
        for (q, r) in r.iter_mut().enumerate() {
            *r = _mm256_and_pd(_mm256_sub_pd(sigmoid(z[q]), labels[q]), masks[q]);
        }
        for (r, xt) in r.iter().zip(&acc.xt) {
            acc.g_b = _mm256_add_pd(acc.g_b, *r);
            for (gt, x) in acc.g[..d].iter_mut().zip(&xt[..d]) {
                *gt = _mm256_fmadd_pd(*r, *x, *gt);
            }
        }
    }
}

/// `b + Σ_t w_t·x_t` for four rows, in two FMA chains.
///
/// # Safety
/// The CPU supports AVX2 and FMA (call it from code compiled with them, into
/// which it is inlined).
#[inline(always)]
unsafe fn margin(xt: &[__m256d], ws: &[__m256d], b: f64) -> __m256d {
    // SAFETY: AVX2 and FMA are present (this function's contract).
    unsafe {
        let (mut even, mut odd) = (_mm256_set1_pd(b), _mm256_setzero_pd());
        let mut pairs = xt.chunks_exact(2).zip(ws.chunks_exact(2));
        for (x, w) in &mut pairs {
            even = _mm256_fmadd_pd(x[0], w[0], even);
            odd = _mm256_fmadd_pd(x[1], w[1], odd);
        }
        if xt.len() % 2 == 1 {
            even = _mm256_fmadd_pd(xt[xt.len() - 1], ws[xt.len() - 1], even);
        }
        _mm256_add_pd(even, odd)
    }
}

/// σ(z) lane by lane, from `e = exp(−|z|)`: `1/(1+e)` for z ≥ 0, `e/(1+e)`
/// otherwise (a NaN z gives NaN).
///
/// # Safety
/// As [`margin`].
#[inline(always)]
unsafe fn sigmoid(z: __m256d) -> __m256d {
    // SAFETY: AVX2 and FMA are present (this function's contract).
    unsafe {
        let sign = _mm256_set1_pd(-0.0);
        let minus_abs = _mm256_or_pd(z, sign);
        let e = exp_nonpositive(minus_abs);
        let nonnegative = _mm256_cmp_pd::<_CMP_GE_OQ>(z, _mm256_setzero_pd());
        let numerator = _mm256_blendv_pd(e, _mm256_set1_pd(1.0), nonnegative);
        _mm256_div_pd(numerator, _mm256_add_pd(_mm256_set1_pd(1.0), e))
    }
}

/// `eˣ` for `x ≤ 0` lane by lane: [`super::sigmoid::exp_nonpositive`] with
/// fused multiply-adds (below −708: 0; NaN stays NaN).
///
/// # Safety
/// As [`margin`].
#[inline(always)]
unsafe fn exp_nonpositive(x: __m256d) -> __m256d {
    // SAFETY: AVX2 and FMA are present (this function's contract).
    unsafe {
        let underflow = _mm256_set1_pd(UNDERFLOW);
        // max(x, −708) is x when x is NaN (the second operand is returned
        // for NaN by maxpd, so x goes second).
        let clamped = _mm256_max_pd(underflow, x);
        let round = _mm256_set1_pd(ROUND);
        let t = _mm256_fmadd_pd(clamped, _mm256_set1_pd(LOG2_E), round);
        let n = _mm256_sub_pd(t, round);
        let r = _mm256_fnmadd_pd(n, _mm256_set1_pd(LN2_HI), clamped);
        let r = _mm256_fnmadd_pd(n, _mm256_set1_pd(LN2_LO), r);
        let mut p = _mm256_set1_pd(1.0 / 6_227_020_800.0);
        for k in (1..=12).rev() {
            p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(INVERSE_FACTORIALS[k]));
        }
        p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0));
        let bits = _mm256_slli_epi64::<52>(_mm256_add_epi64(_mm256_castpd_si256(t), _mm256_set1_epi64x(1023)));
        let e = _mm256_mul_pd(p, _mm256_castsi256_pd(bits));
        let below = _mm256_cmp_pd::<_CMP_LT_OQ>(x, underflow);
        _mm256_andnot_pd(below, e)
    }
}

/// The sum of the four lanes of `v`, in a fixed order.
///
/// # Safety
/// The CPU supports AVX.
#[inline(always)]
unsafe fn lane_sum(v: __m256d) -> f64 {
    let mut lanes = [0.0; 4];
    // SAFETY: `lanes` holds four f64; AVX is present (this function's contract).
    unsafe { _mm256_storeu_pd(lanes.as_mut_ptr(), v) };
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Σ (σ(x·w + b) − y)·x and Σ (σ(x·w + b) − y), row by row with libm.
    fn naive(x: &[f64], y: &[f64], w: &[f64], b: f64) -> (Vec<f64>, f64) {
        let d = w.len();
        let (mut g, mut g_b) = (vec![0.0; d], 0.0);
        for (row, &yi) in x.chunks_exact(d).zip(y) {
            let z: f64 = row.iter().zip(w).map(|(x, w)| x * w).sum::<f64>() + b;
            let r = 1.0 / (1.0 + (-z).exp()) - yi;
            g.iter_mut().zip(row).for_each(|(g, x)| *g += r * x);
            g_b += r;
        }
        (g, g_b)
    }

    fn data(rows: usize, d: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let x = (0..rows * d).map(|i| ((i * 7919) % 23) as f64 / 4.0 - 2.7).collect();
        let y = (0..rows).map(|i| ((i * 31) % 7 < 3) as u8 as f64).collect();
        let w = (0..d).map(|t| 0.4 - 0.13 * t as f64).collect();
        (x, y, w)
    }

    #[test]
    fn packed_sums_match_row_by_row_sums_for_every_width_and_tail() {
        if !crate::avx2::available() {
            return;
        }
        for d in 1..=MAX_D {
            for rows in [1, 3, 4, 15, 16, 17, 33, 250] {
                let (x, y, w) = data(rows, d);
                let got = gradient(&x, &y, &w, 0.3);
                let (g, g_b) = naive(&x, &y, &w, 0.3);
                let scale = rows as f64 * 3.0;
                assert!((got.gradient_b - g_b).abs() <= 1e-13 * scale, "d={d} rows={rows}");
                for (a, e) in got.gradient_w.iter().zip(&g) {
                    assert!((a - e).abs() <= 1e-13 * scale, "d={d} rows={rows}: {a} vs {e}");
                }
                assert!(!got.bad_label);
            }
        }
    }

    #[test]
    fn extreme_margins_saturate_and_nan_propagates() {
        if !crate::avx2::available() {
            return;
        }
        let x = [800.0, -800.0, 0.0, 1e-300, 750.0];
        let y = [1.0, 0.0, 1.0, 0.0, 0.0];
        let got = gradient(&x, &y, &[1.0], 0.0);
        // Residuals: 0, 0, −½, ½, 1.
        assert_eq!(got.gradient_b, 1.0);
        assert_eq!(got.gradient_w, vec![750.0]);
        let nan = gradient(&[1.0, f64::NAN, 2.0], &[0.0, 1.0, 0.0], &[0.5], 0.0);
        assert!(nan.gradient_b.is_nan() && nan.gradient_w[0].is_nan());
    }

    #[test]
    fn a_bad_label_is_found_in_any_lane_and_padding_is_not_one() {
        if !crate::avx2::available() {
            return;
        }
        for rows in [1, 5, 16, 21] {
            for bad_at in 0..rows {
                let (x, mut y, w) = data(rows, 3);
                assert!(!gradient(&x, &y, &w, 0.0).bad_label, "rows={rows}");
                y[bad_at] = 0.5;
                assert!(gradient(&x, &y, &w, 0.0).bad_label, "rows={rows} bad at {bad_at}");
            }
        }
    }
}
