//! The logistic function over a chunk of margins, vectorized.
//!
//! A gradient pass needs `σ(z)` for every row, and a library `exp` is a call
//! per row that the compiler cannot vectorize: for d = 10 it costs more than
//! reading the row. [`exp_nonpositive`] is an `exp` for `x ≤ 0` written as
//! plain branch-free arithmetic (Cody–Waite reduction `x = n·ln2 + r`,
//! `|r| ≤ ln2/2`, a degree-13 Taylor polynomial for `eʳ`, and `2ⁿ` built in
//! the exponent bits), which the compiler turns into SIMD code: AVX2 when the
//! CPU has it (chosen at run time), SSE2 otherwise. Both compile the same
//! operations in the same order (no fused multiply-adds), so they give the
//! same bits. Accuracy: within 2 ulp of the correctly rounded `eˣ` (tested).

/// 1.5·2⁵²: adding it rounds a double of magnitude < 2⁵¹ to an integer,
/// which then sits in the low bits of the sum's representation.
pub(super) const ROUND: f64 = 6_755_399_441_055_744.0;
pub(super) const LOG2_E: f64 = std::f64::consts::LOG2_E;
/// ln 2 split so that `n·LN2_HI` is exact for |n| < 2¹¹ (fdlibm's constants).
pub(super) const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
pub(super) const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// Below this, eˣ is under the smallest normal double: taken as 0.
pub(super) const UNDERFLOW: f64 = -708.0;

/// `eˣ` for `x ≤ 0` (or NaN, returned as is): branch-free, see the module docs.
#[inline(always)]
pub fn exp_nonpositive(x: f64) -> f64 {
    let clamped = x.max(UNDERFLOW);
    let t = clamped * LOG2_E + ROUND;
    let n = t - ROUND;
    let r = (clamped - n * LN2_HI) - n * LN2_LO;
    // Horner's scheme for Σ rᵏ/k!, k ≤ 13.
    let mut p = 1.0 / 6_227_020_800.0;
    for k in (1..=12).rev() {
        p = p * r + INVERSE_FACTORIALS[k];
    }
    p = p * r + 1.0;
    // 2ⁿ: n + 1023 in the exponent field (the low bits of t hold n).
    let scale = f64::from_bits(t.to_bits().wrapping_add(1023) << 52);
    let e = p * scale;
    if x >= UNDERFLOW {
        e
    } else if x < UNDERFLOW {
        0.0
    } else {
        x
    }
}

/// 1/k! for k = 0..=12.
pub(super) const INVERSE_FACTORIALS: [f64; 13] = [
    1.0,
    1.0,
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5_040.0,
    1.0 / 40_320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
];

/// `r[i] ← σ(r[i] + b) − y[i]`: margins in, residuals out.
pub fn residuals(r: &mut [f64], y: &[f64], b: f64) {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        unsafe { residuals_avx2(r, y, b) };
        return;
    }
    residuals_portable(r, y, b);
}

/// [`residuals_portable`] compiled for AVX2 (four lanes).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn residuals_avx2(r: &mut [f64], y: &[f64], b: f64) {
    residuals_portable(r, y, b);
}

#[inline(always)]
fn residuals_portable(r: &mut [f64], y: &[f64], b: f64) {
    for (ri, &yi) in r.iter_mut().zip(y) {
        let z = *ri + b;
        let e = exp_nonpositive(-z.abs());
        let p = if z >= 0.0 { 1.0 } else { e } / (1.0 + e);
        *ri = p - yi;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    #[test]
    fn exp_is_within_two_ulps_of_the_library_exp() {
        let mut worst = (0, 0.0);
        for i in 0..200_000 {
            let x = -(i as f64) * 708.0 / 200_000.0 - (i % 7) as f64 * 1e-7;
            let (got, want) = (exp_nonpositive(x), x.exp());
            if want >= f64::MIN_POSITIVE && ulps(got, want) > worst.0 {
                worst = (ulps(got, want), x);
            }
        }
        assert!(worst.0 <= 2, "{} ulps at x = {}", worst.0, worst.1);
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert_eq!(exp_nonpositive(-0.0), 1.0);
    }

    #[test]
    fn exp_underflows_to_zero_and_keeps_nan() {
        assert_eq!(exp_nonpositive(-709.0), 0.0);
        assert_eq!(exp_nonpositive(f64::NEG_INFINITY), 0.0);
        assert!(exp_nonpositive(f64::NAN).is_nan());
    }

    #[test]
    fn residuals_match_the_scalar_formula_on_every_path() {
        let z: Vec<f64> = (0..1003).map(|i| (i as f64 - 501.0) * 0.37).chain([800.0, -800.0, 0.0]).collect();
        let y: Vec<f64> = (0..z.len()).map(|i| (i % 2) as f64).collect();
        let mut fast = z.clone();
        residuals(&mut fast, &y, 0.25);
        let mut portable = z.clone();
        residuals_portable(&mut portable, &y, 0.25);
        assert_eq!(fast, portable, "the AVX2 and portable paths give the same bits");
        for ((zi, yi), got) in z.iter().zip(&y).zip(&fast) {
            let s = 1.0 / (1.0 + (-(zi + 0.25)).exp());
            assert!((got - (s - yi)).abs() <= 4.0 * f64::EPSILON, "z = {zi}: {got} vs {}", s - yi);
        }
        let mut nan = vec![f64::NAN];
        residuals(&mut nan, &[1.0], 0.0);
        assert!(nan[0].is_nan(), "a NaN margin stays NaN");
    }
}
