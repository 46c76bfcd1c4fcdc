//! AVX2 building blocks shared by the packed kernels (k-means' nearest
//! centers, the logistic-regression gradient): rows of a row-major block
//! transposed four at a time, so that one register holds one coordinate of
//! four rows.
//!
//! The functions are `#[inline(always)]` and carry no `target_feature` of
//! their own: they are only called from kernels compiled with AVX2 (and
//! FMA), into which they are inlined, intrinsics included.

use std::arch::x86_64::*;

/// The widest row the packed kernels take: their transposed rows live in a
/// fixed array of this many registers.
pub const MAX_D: usize = 32;

/// Whether this CPU runs the packed kernels.
pub fn available() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

/// Coordinates `0..d` of the four rows of `quad` (`4·d` values, row-major)
/// into `xt[0..d]`, lane `l` of `xt[t]` holding row `l`'s coordinate `t`:
/// 4 × 4 blocks by shuffles, then the last `d % 4` columns one by one.
///
/// # Safety
/// Only call from a function compiled with AVX2; `quad.len() == 4·d` and
/// `d <= MAX_D`.
#[inline(always)]
pub unsafe fn transpose_quad(quad: &[f64], d: usize, xt: &mut [__m256d; MAX_D]) {
    let (r0, r1, r2, r3) = (&quad[..d], &quad[d..2 * d], &quad[2 * d..3 * d], &quad[3 * d..4 * d]);
    for q in 0..d / 4 {
        let t = 4 * q;
        // SAFETY: each row has d ≥ t + 4 elements; AVX2 is enabled (caller).
        let (a, b, c, e) = unsafe {
            (
                _mm256_loadu_pd(r0.as_ptr().add(t)),
                _mm256_loadu_pd(r1.as_ptr().add(t)),
                _mm256_loadu_pd(r2.as_ptr().add(t)),
                _mm256_loadu_pd(r3.as_ptr().add(t)),
            )
        };
        // SAFETY: AVX2 is enabled (caller).
        unsafe {
            let (ab_even, ab_odd) = (_mm256_unpacklo_pd(a, b), _mm256_unpackhi_pd(a, b));
            let (ce_even, ce_odd) = (_mm256_unpacklo_pd(c, e), _mm256_unpackhi_pd(c, e));
            xt[t] = _mm256_permute2f128_pd::<0x20>(ab_even, ce_even);
            xt[t + 1] = _mm256_permute2f128_pd::<0x20>(ab_odd, ce_odd);
            xt[t + 2] = _mm256_permute2f128_pd::<0x31>(ab_even, ce_even);
            xt[t + 3] = _mm256_permute2f128_pd::<0x31>(ab_odd, ce_odd);
        }
    }
    for t in 4 * (d / 4)..d {
        // SAFETY: AVX2 is enabled (caller).
        xt[t] = unsafe { _mm256_set_pd(r3[t], r2[t], r1[t], r0[t]) };
    }
}

/// The last `left` (1 to 3) rows of `rest` (`left·d` values), padded to four
/// by repeating the last one, into `padded` (which must hold `4·d`).
pub fn pad_quad<'a>(rest: &[f64], d: usize, left: usize, padded: &'a mut [f64; 4 * MAX_D]) -> &'a [f64] {
    for (i, row) in padded.chunks_exact_mut(d).take(4).enumerate() {
        row.copy_from_slice(&rest[i.min(left - 1) * d..][..d]);
    }
    &padded[..4 * d]
}
