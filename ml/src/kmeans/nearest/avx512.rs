//! The packed AVX-512 kernel: eight points per register.
//!
//! The same scheme as the [AVX2 kernel](super::avx2), twice as wide: a group
//! of eight rows is gathered so that register `t` holds coordinate t of all
//! eight points (one strided gather per coordinate; the last group's missing
//! rows are masked off, not read); each center's −2c_jt is a scalar that the
//! FMA broadcasts from memory; centers go four at a time, even and odd
//! dimensions in separate accumulators (eight independent FMA chains), and
//! the argmin runs lane-wise with mask registers. Padding centers score +∞
//! and never win; comparisons are strict, so ties go to the lowest index and
//! a NaN row keeps center 0 at +∞, as in the other kernels.
//!
//! Per row at d = 10, k = 10 (12 center slots) that is 15 FMAs, 1.25
//! gathers and 4 argmin steps, against 30 FMAs, a 4 × 4 transpose and 7.5
//! argmin steps in the AVX2 kernel.

use super::Sink;
use std::arch::x86_64::*;

pub(super) use crate::avx2::MAX_D;

/// How many groups of eight rows ahead the kernel prefetches.
const PREFETCH_GROUPS: usize = 8;

/// Whether this CPU runs the kernel.
pub(super) fn available() -> bool {
    is_x86_feature_detected!("avx512f")
}

/// Centers laid out for the kernel.
pub(super) struct Packed {
    d: usize,
    /// Groups of four centers (k rounded up).
    groups: usize,
    /// `[center][t]`: −2·c_jt (0 for padding).
    minus_two_c: Vec<f64>,
    /// `[center]`: ‖c_j‖² (+∞ for padding).
    norms: Vec<f64>,
}

impl Packed {
    pub(super) fn new(centers: &ndarray::Array2<f64>) -> Packed {
        let (k, d) = centers.dim();
        let groups = k.div_ceil(4);
        let mut minus_two_c = vec![0.0; groups * 4 * d];
        let mut norms = vec![f64::INFINITY; groups * 4];
        for (j, c) in centers.rows().into_iter().enumerate() {
            norms[j] = c.dot(&c);
            for (t, v) in c.iter().enumerate() {
                minus_two_c[j * d + t] = -2.0 * v;
            }
        }
        Packed { d, groups, minus_two_c, norms }
    }
}

/// Passes each of the `rows` rows of `data` with its nearest center to `sink`, in order.
///
/// # Panics
/// When the CPU lacks AVX-512F (check [`available`]), when `d > MAX_D`, or
/// when `data` does not hold `rows` rows of `d`.
pub(super) fn nearest<S: Sink>(p: &Packed, data: &[f64], rows: usize, sink: S) -> S {
    assert!(available(), "the AVX-512 k-means kernel needs AVX-512F");
    assert!(p.d <= MAX_D, "the packed k-means kernel takes at most {MAX_D} dimensions");
    assert_eq!(data.len(), p.d * rows, "data holds `rows` rows");
    // SAFETY: AVX-512F is present and the shapes hold (checked above).
    unsafe { by_width!(p.d, run::<S>(p, data, rows, sink)) }
}

/// The sink is taken and returned by value so that its state (a running
/// cost) can live in registers for the whole pass.
///
/// # Safety
/// The CPU supports AVX-512F; `p.d <= MAX_D`; `data` holds `rows` rows.
/// `D` is the row width, or 0 for "read it from `p`" (`D == 0 || D == p.d`).
#[target_feature(enable = "avx512f")]
unsafe fn run<S: Sink, const D: usize>(p: &Packed, data: &[f64], rows: usize, mut sink: S) -> S {
    let d = if D == 0 { p.d } else { D };
    let w = d as i64;
    // Lane l reads row l of the group: offsets in f64s, scale 8 bytes.
    let offsets = _mm512_set_epi64(7 * w, 6 * w, 5 * w, 4 * w, 3 * w, 2 * w, w, 0);
    let (mut index, mut dist) = ([0i64; 8], [0.0; 8]);
    // One loop body, and nothing in it is a closure (which would not get
    // this function's target features).
    let mut xt = [_mm512_setzero_pd(); MAX_D];
    for first in (0..rows).step_by(8) {
        let valid = (rows - first).min(8);
        let lanes = if valid == 8 { 0xff } else { ((1u16 << valid) - 1) as __mmask8 };
        // SAFETY: lane l < valid reads data[(first + l)·d + t], inside
        // `data`; the other lanes are masked off and read nothing.
        let base = unsafe { data.as_ptr().add(first * d) };
        // Gathers hide the stream from the hardware prefetcher: fetch the
        // group PREFETCH_GROUPS ahead, line by line (no fault either way).
        let ahead = base.wrapping_add(PREFETCH_GROUPS * 8 * d) as *const i8;
        for line in (0..8 * d * 8).step_by(64) {
            _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(line));
        }
        for (t, x) in xt[..d].iter_mut().enumerate() {
            // SAFETY: lane l < valid reads row first + l's coordinate t < d,
            // inside `data`; masked-off lanes read nothing.
            *x = unsafe { _mm512_mask_i64gather_pd::<8>(_mm512_setzero_pd(), lanes, offsets, base.add(t)) };
        }
        let mut norm = _mm512_setzero_pd();
        for x in &xt[..d] {
            norm = _mm512_fmadd_pd(*x, *x, norm);
        }
        let mut best = _mm512_set1_pd(f64::INFINITY);
        let mut nearest = _mm512_setzero_si512();
        for g in 0..p.groups {
            let c = &p.minus_two_c[g * 4 * d..(g + 1) * 4 * d];
            let mut acc: [__m512d; 4] = [_mm512_setzero_pd(); 4];
            for (jj, a) in acc.iter_mut().enumerate() {
                *a = _mm512_set1_pd(p.norms[g * 4 + jj]);
            }
            // Even and odd dimensions go to separate accumulators: eight
            // independent FMA chains keep both FMA units busy.
            let mut odd = [_mm512_setzero_pd(); 4];
            for t in (0..d - d % 2).step_by(2) {
                for jj in 0..4 {
                    // SAFETY: `c` holds d values for each of four centers.
                    let (ce, co) = unsafe { (*c.as_ptr().add(jj * d + t), *c.as_ptr().add(jj * d + t + 1)) };
                    acc[jj] = _mm512_fmadd_pd(xt[t], _mm512_set1_pd(ce), acc[jj]);
                    odd[jj] = _mm512_fmadd_pd(xt[t + 1], _mm512_set1_pd(co), odd[jj]);
                }
            }
            if d % 2 == 1 {
                for (jj, a) in acc.iter_mut().enumerate() {
                    // SAFETY: as above.
                    let cv = unsafe { *c.as_ptr().add(jj * d + d - 1) };
                    *a = _mm512_fmadd_pd(xt[d - 1], _mm512_set1_pd(cv), *a);
                }
            }
            for (jj, (a, o)) in acc.iter().zip(odd).enumerate() {
                let score = _mm512_add_pd(*a, o);
                let better = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(score, best);
                best = _mm512_mask_mov_pd(best, better, score);
                nearest = _mm512_mask_mov_epi64(nearest, better, _mm512_set1_epi64((g * 4 + jj) as i64));
            }
        }
        // max(0, NaN) is NaN (a NaN row), turned into +∞ below.
        let squared = _mm512_max_pd(_mm512_setzero_pd(), _mm512_add_pd(norm, best));
        // SAFETY: `index` holds eight i64, `dist` eight f64.
        unsafe {
            _mm512_storeu_epi64(index.as_mut_ptr(), nearest);
            _mm512_storeu_pd(dist.as_mut_ptr(), squared);
        }
        for l in 0..valid {
            let row = &data[(first + l) * d..][..d];
            let s = if dist[l].is_nan() { f64::INFINITY } else { dist[l] };
            sink.take(first + l, row, index[l] as usize, s);
        }
    }
    sink
}
