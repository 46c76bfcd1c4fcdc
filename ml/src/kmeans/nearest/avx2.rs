//! The packed AVX2 + FMA kernel: four points per register.
//!
//! A group of four rows is transposed so that register `t` holds coordinate
//! t of all four points. Each center's −2c_jt is stored pre-broadcast, so a
//! score update for four points is one FMA with a memory operand, and the
//! argmin runs down the centers lane by lane (compare, blend), with no
//! horizontal step. Centers go four at a time (four independent FMA chains;
//! the next group's chains overlap them out of order). Padding centers score
//! +∞ and never win; comparisons are strict, so ties go to the lowest index
//! and a NaN row keeps center 0 at +∞, as in the GEMM kernel.

use super::Sink;
use crate::avx2::{pad_quad, transpose_quad};
use ndarray::Array2;
use std::arch::x86_64::*;

pub(super) use crate::avx2::{MAX_D, available};

/// Centers laid out for the kernel.
pub(super) struct Packed {
    d: usize,
    /// Groups of four centers (k rounded up).
    groups: usize,
    /// `[group][t][center in group][lane]`: −2·c_jt in all four lanes (0 for padding).
    minus_two_c: Vec<f64>,
    /// `[center][lane]`: ‖c_j‖² in all four lanes (+∞ for padding).
    norms: Vec<f64>,
}

impl Packed {
    pub(super) fn new(centers: &Array2<f64>) -> Packed {
        let (k, d) = centers.dim();
        let groups = k.div_ceil(4);
        let mut minus_two_c = vec![0.0; groups * d * 16];
        let mut norms = vec![f64::INFINITY; groups * 16];
        for (j, c) in centers.rows().into_iter().enumerate() {
            norms[j * 4..j * 4 + 4].fill(c.dot(&c));
            let (g, jj) = (j / 4, j % 4);
            for (t, v) in c.iter().enumerate() {
                let at = ((g * d + t) * 4 + jj) * 4;
                minus_two_c[at..at + 4].fill(-2.0 * v);
            }
        }
        Packed { d, groups, minus_two_c, norms }
    }
}

/// Passes each of the `rows` rows of `data` with its nearest center to `sink`, in order.
///
/// # Panics
/// When the CPU lacks AVX2 or FMA (check [`available`]), when `d > MAX_D`,
/// or when `data` does not hold `rows` rows of `d`.
pub(super) fn nearest<S: Sink>(p: &Packed, data: &[f64], rows: usize, sink: S) -> S {
    assert!(available(), "the packed k-means kernel needs AVX2 and FMA");
    assert!(p.d <= MAX_D, "the packed k-means kernel takes at most {MAX_D} dimensions");
    assert_eq!(data.len(), p.d * rows, "data holds `rows` rows");
    // SAFETY: AVX2 and FMA are present and the shapes hold (checked above).
    unsafe { by_width!(p.d, run::<S>(p, data, rows, sink)) }
}

/// The sink is taken and returned by value so that its state (a running
/// cost) can live in registers for the whole pass.
///
/// # Safety
/// The CPU supports AVX2 and FMA; `p.d <= MAX_D`; `data` holds `rows` rows.
#[target_feature(enable = "avx2,fma")]
/// `D` is the row width, or 0 for "read it from `p`" (`D == 0 || D == p.d`).
unsafe fn run<S: Sink, const D: usize>(p: &Packed, data: &[f64], rows: usize, mut sink: S) -> S {
    let d = if D == 0 { p.d } else { D };
    let whole = rows / 4;
    let (data, rest) = data.split_at(whole * 4 * d);
    let left = rows - whole * 4;
    // The last rows, padded to a group of four by repeating the last one.
    let mut padded = [0.0; 4 * MAX_D];
    let tail = (left > 0).then(|| (whole, pad_quad(rest, d, left, &mut padded)));
    // One loop body: the helpers are `#[inline(always)]`, and nothing in it
    // is a closure (which would not get this function's target features).
    let mut xt = [_mm256_setzero_pd(); MAX_D];
    for (group, quad) in data.chunks_exact(4 * d).enumerate().chain(tail) {
        // SAFETY: AVX2 is enabled; `quad` holds four rows of d ≤ MAX_D.
        unsafe { transpose_quad(quad, d, &mut xt) };
        let mut norm = _mm256_setzero_pd();
        for x in &xt[..d] {
            norm = _mm256_fmadd_pd(*x, *x, norm);
        }
        let mut best = _mm256_set1_pd(f64::INFINITY);
        let mut index = _mm256_setzero_pd();
        for g in 0..p.groups {
            let norms = &p.norms[g * 16..g * 16 + 16];
            // SAFETY: `norms` holds four lanes for each of four centers.
            let mut acc = unsafe {
                [
                    _mm256_loadu_pd(norms.as_ptr()),
                    _mm256_loadu_pd(norms.as_ptr().add(4)),
                    _mm256_loadu_pd(norms.as_ptr().add(8)),
                    _mm256_loadu_pd(norms.as_ptr().add(12)),
                ]
            };
            // Even and odd dimensions go to separate accumulators: eight
            // independent FMA chains keep both FMA units busy despite their
            // latency, where four would leave them waiting.
            let mut odd = [_mm256_setzero_pd(); 4];
            let c = &p.minus_two_c[g * d * 16..(g + 1) * d * 16];
            let mut pairs = xt[..d].chunks_exact(2).zip(c.chunks_exact(32));
            for (x, c) in &mut pairs {
                for jj in 0..4 {
                    // SAFETY: `c` holds four lanes for each of four centers, twice.
                    let (ce, co) = unsafe {
                        (_mm256_loadu_pd(c.as_ptr().add(4 * jj)), _mm256_loadu_pd(c.as_ptr().add(16 + 4 * jj)))
                    };
                    acc[jj] = _mm256_fmadd_pd(x[0], ce, acc[jj]);
                    odd[jj] = _mm256_fmadd_pd(x[1], co, odd[jj]);
                }
            }
            if d % 2 == 1 {
                let c = &c[(d - 1) * 16..];
                for (jj, a) in acc.iter_mut().enumerate() {
                    // SAFETY: `c` holds four lanes for each of four centers.
                    let cv = unsafe { _mm256_loadu_pd(c.as_ptr().add(4 * jj)) };
                    *a = _mm256_fmadd_pd(xt[d - 1], cv, *a);
                }
            }
            for (a, o) in acc.iter_mut().zip(odd) {
                *a = _mm256_add_pd(*a, o);
            }
            for (jj, a) in acc.iter().enumerate() {
                let better = _mm256_cmp_pd::<_CMP_LT_OQ>(*a, best);
                best = _mm256_blendv_pd(best, *a, better);
                index = _mm256_blendv_pd(index, _mm256_set1_pd((g * 4 + jj) as f64), better);
            }
        }
        // max(0, NaN) is NaN (a NaN row), turned into +∞ below.
        let dist = _mm256_max_pd(_mm256_setzero_pd(), _mm256_add_pd(norm, best));
        let (mut i, mut s) = ([0i32; 4], [0.0; 4]);
        // SAFETY: `i` holds four i32 (the indices, exact in f64), `s` four f64.
        unsafe {
            _mm_storeu_si128(i.as_mut_ptr().cast(), _mm256_cvtpd_epi32(index));
            _mm256_storeu_pd(s.as_mut_ptr(), dist);
        }
        let valid = if group == whole { left } else { 4 };
        for (l, row) in quad.chunks_exact(d).take(valid).enumerate() {
            let dist = if s[l].is_nan() { f64::INFINITY } else { s[l] };
            sink.take(group * 4 + l, row, i[l] as usize, dist);
        }
    }
    sink
}
