//! `G += AᵀA` on the lower triangle, for a row-major block A, by an AVX-512
//! register-blocked kernel: the one pass over A that Cholesky QR makes.
//!
//! Why not faer's GEMM: on this shape (an `n × n` result, a depth of
//! thousands of rows, A row-major) faer reaches ~60% of its square-GEMM rate
//! on the full product, and its triangular variant ~40% of that rate in
//! useful flops. Measured single-threaded on a Xeon with AVX-512 (90 GFLOP/s
//! per core in a 768³ GEMM), 200,000 × 100 in 8 MiB blocks: faer triangular
//! 26–28 ms, this kernel 19.5–22 ms; at n = 50 21 → 14 ms; at n = 10 (bound
//! by memory) 11 → 9.7 ms, but slower than faer with both cores reading
//! memory, so narrow blocks keep faer (see `add_gram` in `kernels`).
//!
//! Shape of the work: rows of A go in chunks of [`KC`], each packed into
//! panels of eight columns (`KC` registers per panel, zeros past column
//! `n`), so that a tile reads aligned, sequential registers from L1. G is
//! cut into tiles of 8 rows × `8·V ≤ 24` columns, and tile `(ip, jp)` holds
//! `G[8ip + a][8jp + b] = Σ_r A[r][8ip + a] · A[r][8jp + b]`: per row of the
//! chunk, `V` loads, 8 broadcasts and `8·V` fused multiply-adds into `8·V`
//! accumulators (24 of the 32 zmm registers), so the FMA units, not the
//! loads, set the pace. Only tiles that touch the lower triangle run, and
//! the stores are masked to `j ≤ i` and `j < n`: the upper triangle of G is
//! never written (see `mirror_lower`). While a chunk is multiplied, the next
//! one is prefetched, one cache line every few rows of each tile: packing
//! it then finds it in cache, and memory and arithmetic overlap.
//!
//! Sums run in a fixed order that depends only on the shapes, so a block
//! always yields the same bits on a given CPU.

use std::arch::x86_64::*;

/// Rows of A per chunk: the four panels a tile reads (`4 · KC · 64` bytes)
/// stay in a 48 KiB L1 data cache.
const KC: usize = 128;

/// Whether this CPU runs the kernel.
pub fn available() -> bool {
    is_x86_feature_detected!("avx512f")
}

/// Adds the lower triangle of `AᵀA` to the lower triangle of `g` (`n × n`,
/// row-major); `a` holds whole rows of `n` values, row-major. Returns
/// `false`, having done nothing, when the CPU lacks AVX-512.
pub fn add_lower_gram(g: &mut [f64], a: &[f64], n: usize) -> bool {
    assert!(n > 0 && g.len() == n * n && a.len().is_multiple_of(n), "g is n × n and a holds whole rows of n");
    if !available() {
        return false;
    }
    // SAFETY: the CPU has AVX-512F (checked just above); shapes asserted.
    unsafe { add_lower_gram_avx512(g, a, n) };
    true
}

/// A chunk of up to [`KC`] rows of A, packed by panels of eight columns:
/// `data[p · KC + r]` holds columns `8p..8p + 8` of row `r` (zeros past
/// `n`), so a tile reads aligned, sequential registers.
struct Packed {
    data: Vec<__m512d>,
    rows: usize,
}

/// A tile kernel: `(g, packed chunk, n, i-panel, first j-panel, memory to
/// prefetch meanwhile)`.
type Tile = unsafe fn(&mut [f64], &Packed, usize, usize, usize, &[f64]);

/// `TILES[V - 1]` is `tile::<V>`.
const TILES: [Tile; 3] = [tile::<1>, tile::<2>, tile::<3>];

/// # Safety
/// The CPU supports AVX-512F; `g.len() == n·n`, `a.len()` a multiple of `n`.
#[target_feature(enable = "avx512f")]
unsafe fn add_lower_gram_avx512(g: &mut [f64], a: &[f64], n: usize) {
    let panels = n.div_ceil(8);
    let tiles: usize = (0..panels).map(|ip| (ip + 1).div_ceil(3)).sum();
    let mut packed = Packed { data: vec![_mm512_setzero_pd(); panels * KC], rows: 0 };
    let mut parts = a.chunks(KC * n).peekable();
    while let Some(part) = parts.next() {
        // SAFETY: AVX-512F (caller); `part` holds at most KC rows of n.
        unsafe { pack(&mut packed, part, n) };
        // The next chunk is fetched into cache while this one is multiplied, a
        // share before each tile: packing it then costs no memory stall.
        let mut prefetch = Prefetch::new(parts.peek().copied().unwrap_or(&[]), tiles);
        for ip in 0..panels {
            let mut jp = 0;
            // Column panels up to the diagonal: jp ≤ ip.
            while jp <= ip {
                let v = (ip + 1 - jp).min(3);
                // SAFETY: AVX-512F (caller); ip < panels and jp + v ≤ ip + 1.
                unsafe { TILES[v - 1](g, &packed, n, ip, jp, prefetch.next_share()) };
                jp += v;
            }
        }
    }
}

/// Cuts a slice to prefetch into `shares` equal shares of whole cache lines.
struct Prefetch<'a> {
    rest: &'a [f64],
    share_len: usize,
}

impl<'a> Prefetch<'a> {
    fn new(data: &'a [f64], shares: usize) -> Self {
        let lines = data.len().div_ceil(LINE_VALUES);
        Prefetch { rest: data, share_len: lines.div_ceil(shares.max(1)) * LINE_VALUES }
    }

    fn next_share(&mut self) -> &'a [f64] {
        let (share, rest) = self.rest.split_at(self.share_len.min(self.rest.len()));
        self.rest = rest;
        share
    }
}

/// f64 values per 64-byte cache line.
const LINE_VALUES: usize = 8;

/// Lanes `0..k` (all eight when `k ≥ 8`).
fn lanes(k: usize) -> __mmask8 {
    if k >= 8 { 0xff } else { ((1u16 << k) - 1) as __mmask8 }
}

/// Packs the rows of `part` (at most [`KC`] rows of `n`) into `packed`.
///
/// # Safety
/// The CPU supports AVX-512F; `packed.data` holds `n.div_ceil(8) · KC`
/// registers.
#[target_feature(enable = "avx512f")]
unsafe fn pack(packed: &mut Packed, part: &[f64], n: usize) {
    packed.rows = part.len() / n;
    assert!(packed.rows <= KC && packed.data.len() == n.div_ceil(8) * KC, "a chunk fits its packing");
    for (r, row) in part.chunks_exact(n).enumerate() {
        for p in 0..n.div_ceil(8) {
            // SAFETY: lanes at columns ≥ n are masked off (not read).
            packed.data[p * KC + r] = unsafe { _mm512_maskz_loadu_pd(lanes(n - 8 * p), row.as_ptr().add(8 * p)) };
        }
    }
}

/// Adds rows `8·ip..8·ip + 8` × columns `8·jp..8·(jp + V)` of `AᵀA` over
/// the packed chunk to `g`: the entries on or below the diagonal and inside
/// G.
///
/// # Safety
/// The CPU supports AVX-512F; `jp + V ≤ ip + 1 ≤ n.div_ceil(8)`,
/// `g.len() == n·n`, and `packed` is a chunk packed for this `n`.
#[target_feature(enable = "avx512f")]
unsafe fn tile<const V: usize>(g: &mut [f64], packed: &Packed, n: usize, ip: usize, jp: usize, prefetch: &[f64]) {
    let mut acc = [[_mm512_setzero_pd(); V]; 8];
    let rows = &packed.data[ip * KC..][..packed.rows];
    let cols: [&[__m512d]; V] = std::array::from_fn(|t| &packed.data[(jp + t) * KC..][..packed.rows]);
    // One prefetch every `step` rows, so that a few are in flight at a time
    // (a burst would stall on the line fill buffers).
    let lines = prefetch.len().div_ceil(LINE_VALUES);
    let step = (packed.rows / lines.max(1)).max(1);
    let mut line = 0;
    // (Loops, not closures: a closure would not get this function's
    // AVX-512, and its intrinsics would become calls.)
    for r in 0..packed.rows {
        if line < lines && r % step == 0 {
            // SAFETY: inside `prefetch` (line · 8 < its length); a prefetch
            // never faults.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(prefetch.as_ptr().add(line * LINE_VALUES) as *const i8) };
            line += 1;
        }
        let mut x = [_mm512_setzero_pd(); V];
        for t in 0..V {
            x[t] = cols[t][r];
        }
        let coords = &rows[r] as *const __m512d as *const f64;
        for (a, acc_row) in acc.iter_mut().enumerate() {
            // SAFETY: lane a < 8 of a register.
            let b = _mm512_set1_pd(unsafe { *coords.add(a) });
            for t in 0..V {
                acc_row[t] = _mm512_fmadd_pd(b, x[t], acc_row[t]);
            }
        }
    }
    for l in line..lines {
        // SAFETY: as above.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(prefetch.as_ptr().add(l * LINE_VALUES) as *const i8) };
    }
    for (a, acc_row) in acc.iter().enumerate() {
        let i = 8 * ip + a;
        if i >= n {
            break;
        }
        for (t, &sum) in acc_row.iter().enumerate() {
            let j = 8 * (jp + t);
            if j > i {
                break;
            }
            let mask = lanes(n - j) & lanes(i + 1 - j);
            // SAFETY: row i < n of G, lanes j..min(i + 1, n) only.
            unsafe {
                let dst = g.as_mut_ptr().add(i * n + j);
                let sum = _mm512_add_pd(_mm512_maskz_loadu_pd(mask, dst), sum);
                _mm512_mask_storeu_pd(dst, mask, sum);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lower triangle of AᵀA by plain sums.
    fn reference(a: &[f64], n: usize) -> Vec<f64> {
        let mut g = vec![0.0; n * n];
        for row in a.chunks_exact(n) {
            for i in 0..n {
                for j in 0..=i {
                    g[i * n + j] += row[i] * row[j];
                }
            }
        }
        g
    }

    #[test]
    fn every_width_and_row_count_matches_plain_sums_and_leaves_the_upper_triangle() {
        if !available() {
            eprintln!("skipped: no AVX-512 on this CPU");
            return;
        }
        for n in (1..=40).chain([63, 64, 65, 100, 129]) {
            for rows in [0, 1, 7, 8, 9, 300, 1000] {
                let a: Vec<f64> = (0..rows * n).map(|k| ((k * 7919) % 101) as f64 / 13.0 - 3.0).collect();
                let mut g = vec![f64::NAN; n * n];
                for i in 0..n {
                    for j in 0..=i {
                        g[i * n + j] = 1.0;
                    }
                }
                assert!(add_lower_gram(&mut g, &a, n));
                let want = reference(&a, n);
                for i in 0..n {
                    for j in 0..n {
                        let got = g[i * n + j];
                        if j > i {
                            assert!(got.is_nan(), "n={n} rows={rows}: upper ({i},{j}) written");
                        } else {
                            let w = want[i * n + j] + 1.0;
                            assert!((got - w).abs() <= 1e-12 * w.abs().max(1.0), "n={n} rows={rows} ({i},{j})");
                        }
                    }
                }
            }
        }
    }
}
