//! The nearest center of every point: the inner loop of every k-means pass.
//!
//! Distances use ‖x−c‖² = ‖x‖² − 2x·c + ‖c‖², so finding the nearest center
//! of `x` needs only the k scores ‖c‖² − 2x·c. Two kernels compute them:
//!
//! - **Packed** ([`avx512`], else [`avx2`]; k ≤ 16 and d ≤ 32 on x86-64
//!   with AVX-512F, or AVX2 and FMA, chosen at run time): eight (four)
//!   points per register, one FMA per (center, dimension) for eight (four)
//!   points, and a lane-wise argmin. This is what makes a
//!   Lloyd pass over small-dimensional data run near memory speed: for k = 10
//!   and d = 10 a GEMM spends more time packing its panels than multiplying.
//! - **GEMM** (larger k, or no AVX2): one faer GEMM `C·Xᵀ` per chunk of rows
//!   (k × rows, column-major, so each row's k products are contiguous), then
//!   a scan per row. For large k the GEMM's register blocking wins.
//!
//! Both give the same nearest centers up to rounding; ties go to the lowest
//! index. A point with a NaN coordinate gets center 0 at distance +∞. The
//! kernel is chosen by the CPU, so executors on different CPUs may round
//! differently; on one machine every run gives the same bits.

use crate::block::Block;
use faer::{Accum, Mat, Par};
use ndarray::Array2;

/// Rows per chunk of the GEMM kernel: the chunk's `k × rows` products stay in
/// cache between the GEMM and the argmin.
const CHUNK_ROWS: usize = 2048;

/// Rows per call of the packed kernel (its output buffer stays in L1).
const PACKED_ROWS: usize = 256;

/// The largest k the packed kernel takes; beyond it the GEMM's blocking wins.
const PACKED_MAX_K: usize = 16;

/// Calls `f(row, nearest center, squared distance)` for every row of `x`, in
/// row order.
pub fn for_each_nearest(x: &Block, centers: &Array2<f64>, mut f: impl FnMut(&[f64], usize, f64)) {
    let (n, k, d) = (x.nrows(), centers.nrows(), x.ncols());
    if n == 0 || k == 0 || d == 0 {
        return;
    }
    let x = x.as_standard_layout();
    let data = x.as_slice().unwrap_or(&[]);
    if k <= PACKED_MAX_K && d <= packed::MAX_D && packed::available() {
        // The kernel fills a buffer per chunk and `f` runs out here, where
        // it is inlined: called from inside the kernel, it would keep its
        // captured state in memory.
        let packed = packed::Packed::new(centers);
        let mut nearest = vec![(0, 0.0); PACKED_ROWS.min(n)];
        for chunk in data.chunks(PACKED_ROWS * d) {
            let rows = chunk.len() / d;
            packed::nearest(&packed, chunk, rows, ToSlice(&mut nearest[..rows]));
            for (row, &(j, dist)) in chunk.chunks_exact(d).zip(&nearest[..rows]) {
                f(row, j, dist);
            }
        }
    } else {
        for_each_nearest_gemm(data, d, centers, &mut f);
    }
}

/// Adds every row of `x` to the sums of its nearest center: `sums` holds per
/// center `d` coordinate sums then a count (`k·(d+1)` values); returns the
/// cost (the sum of squared distances). The inner loop of a Lloyd pass.
pub fn sum_by_nearest(x: &Block, centers: &Array2<f64>, sums: &mut [f64]) -> f64 {
    let (n, k, d) = (x.nrows(), centers.nrows(), x.ncols());
    assert_eq!(sums.len(), k * (d + 1), "sums holds k·(d+1) values");
    if n == 0 || k == 0 || d == 0 {
        return 0.0;
    }
    if k <= PACKED_MAX_K && d <= packed::MAX_D && packed::available() {
        let x = x.as_standard_layout();
        let data = x.as_slice().unwrap_or(&[]);
        let packed = packed::Packed::new(centers);
        return packed::nearest(&packed, data, n, LloydSums { sums, cost: 0.0 }).cost;
    }
    let mut cost = 0.0;
    for_each_nearest(x, centers, |row, j, dist| {
        let slot = &mut sums[j * (d + 1)..(j + 1) * (d + 1)];
        slot.iter_mut().zip(row).for_each(|(s, x)| *s += x);
        slot[d] += 1.0;
        cost += dist;
    });
    cost
}

/// For every row of `x`: its nearest center and the squared distance.
pub fn assign(x: &Block, centers: &Array2<f64>) -> Vec<(usize, f64)> {
    let mut out = Vec::with_capacity(x.nrows());
    for_each_nearest(x, centers, |_, j, d| out.push((j, d)));
    out
}

/// The GEMM kernel over row-major `data` with `d` columns.
fn for_each_nearest_gemm(data: &[f64], d: usize, centers: &Array2<f64>, f: &mut impl FnMut(&[f64], usize, f64)) {
    let (n, k) = (data.len() / d, centers.nrows());
    let centers = centers.as_standard_layout();
    let c = faer::MatRef::from_row_major_slice(centers.as_slice().unwrap_or(&[]), k, d);
    let c_norms: Vec<f64> = centers.rows().into_iter().map(|r| r.dot(&r)).collect();
    let x = faer::MatRef::from_row_major_slice(data, n, d);
    let mut cx = Mat::<f64>::zeros(k, CHUNK_ROWS.min(n));
    for start in (0..n).step_by(CHUNK_ROWS) {
        let rows = CHUNK_ROWS.min(n - start);
        let out = cx.as_mut().subcols_mut(0, rows);
        faer::linalg::matmul::matmul(out, Accum::Replace, c, x.subrows(start, rows).transpose(), 1.0, Par::Seq);
        for i in 0..rows {
            let row = &data[(start + i) * d..(start + i + 1) * d];
            let x_norm: f64 = row.iter().map(|v| v * v).sum();
            let mut best = (0, f64::INFINITY);
            for (j, (dot, cn)) in cx.col_as_slice(i).iter().zip(&c_norms).enumerate() {
                let dist = x_norm - 2.0 * dot + cn;
                if dist < best.1 {
                    best = (j, dist);
                }
            }
            f(row, best.0, best.1.max(0.0));
        }
    }
}

/// What the kernel does with each row's nearest center.
trait Sink {
    /// Row `index` of the data (`row`) is nearest to `center`, at squared distance `dist`.
    fn take(&mut self, index: usize, row: &[f64], center: usize, dist: f64);
}

/// Writes (nearest center, squared distance) of each row to a slice.
struct ToSlice<'a>(&'a mut [(usize, f64)]);

impl Sink for ToSlice<'_> {
    #[inline(always)]
    fn take(&mut self, index: usize, _: &[f64], center: usize, dist: f64) {
        self.0[index] = (center, dist);
    }
}

/// A Lloyd pass's sums: per center `d` coordinate sums then the count
/// (`sums[j·(d+1)..(j+1)·(d+1)]`), and the total cost.
struct LloydSums<'a> {
    sums: &'a mut [f64],
    cost: f64,
}

impl Sink for LloydSums<'_> {
    #[inline(always)]
    fn take(&mut self, _: usize, row: &[f64], center: usize, dist: f64) {
        let d = row.len();
        let slot = &mut self.sums[center * (d + 1)..(center + 1) * (d + 1)];
        for (s, x) in slot.iter_mut().zip(row) {
            *s += x;
        }
        slot[d] += 1.0;
        self.cost += dist;
    }
}

/// `$run::<$sink, D>(args…)` with `D` the row width `$d` when it is one of
/// the common widths, each of which gets a copy of a packed kernel compiled
/// for it (loops over the coordinates unroll, the transposed rows stay in
/// registers: ~1.3× faster at d = 10), else with `D = 0` ("read the width
/// at run time").
#[cfg(target_arch = "x86_64")]
macro_rules! by_width {
    ($d:expr, $run:ident::<$sink:ty>($($arg:expr),* $(,)?)) => {
        match $d {
            2 => $run::<$sink, 2>($($arg),*),
            3 => $run::<$sink, 3>($($arg),*),
            4 => $run::<$sink, 4>($($arg),*),
            5 => $run::<$sink, 5>($($arg),*),
            6 => $run::<$sink, 6>($($arg),*),
            8 => $run::<$sink, 8>($($arg),*),
            10 => $run::<$sink, 10>($($arg),*),
            16 => $run::<$sink, 16>($($arg),*),
            _ => $run::<$sink, 0>($($arg),*),
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;

/// The packed kernel this CPU runs: AVX-512 where it has it, else AVX2.
#[cfg(target_arch = "x86_64")]
mod packed {
    use super::{Sink, avx2, avx512};
    use ndarray::Array2;

    pub(super) use crate::avx2::MAX_D;

    pub(super) fn available() -> bool {
        avx512::available() || avx2::available()
    }

    /// Centers laid out for the kernel that will read them.
    pub(super) enum Packed {
        Avx512(avx512::Packed),
        Avx2(avx2::Packed),
    }

    impl Packed {
        pub(super) fn new(centers: &Array2<f64>) -> Packed {
            if avx512::available() {
                Packed::Avx512(avx512::Packed::new(centers))
            } else {
                Packed::Avx2(avx2::Packed::new(centers))
            }
        }
    }

    pub(super) fn nearest<S: Sink>(p: &Packed, data: &[f64], rows: usize, sink: S) -> S {
        match p {
            Packed::Avx512(p) => avx512::nearest(p, data, rows, sink),
            Packed::Avx2(p) => avx2::nearest(p, data, rows, sink),
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod packed {
    //! No packed kernel off x86-64: the GEMM kernel serves every k.

    pub(super) const MAX_D: usize = 0;

    pub(super) fn available() -> bool {
        false
    }

    pub(super) struct Packed;

    impl Packed {
        pub(super) fn new(_: &ndarray::Array2<f64>) -> Packed {
            Packed
        }
    }

    pub(super) fn nearest<S: super::Sink>(_: &Packed, _: &[f64], _: usize, _: S) -> S {
        unreachable!("the packed kernel is never available off x86-64")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{RngExt, SeedableRng};

    fn random(rows: usize, cols: usize, rng: &mut SmallRng) -> Array2<f64> {
        Array2::from_shape_fn((rows, cols), |_| rng.random::<f64>() * 10.0 - 5.0)
    }

    fn gemm(x: &Array2<f64>, centers: &Array2<f64>) -> Vec<(usize, f64)> {
        let mut out = Vec::new();
        for_each_nearest_gemm(x.as_slice().unwrap(), x.ncols(), centers, &mut |_, j, d| out.push((j, d)));
        out
    }

    /// A packed kernel run on `(centers, data, rows, out)`.
    type Kernel = fn(&Array2<f64>, &[f64], usize, &mut [(usize, f64)]);

    /// Every packed kernel this CPU runs, by name.
    #[cfg(target_arch = "x86_64")]
    fn packed_kernels() -> Vec<(&'static str, Kernel)> {
        let mut kernels: Vec<(&'static str, Kernel)> = Vec::new();
        if avx2::available() {
            kernels.push(("avx2", |c, data, rows, out| {
                avx2::nearest(&avx2::Packed::new(c), data, rows, ToSlice(out));
            }));
        }
        if avx512::available() {
            kernels.push(("avx512", |c, data, rows, out| {
                avx512::nearest(&avx512::Packed::new(c), data, rows, ToSlice(out));
            }));
        }
        kernels
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn packed_kernels() -> Vec<(&'static str, Kernel)> {
        Vec::new()
    }

    #[test]
    fn every_packed_kernel_agrees_with_the_gemm_kernel() {
        for (name, kernel) in packed_kernels() {
            packed_kernel_agrees_with_the_gemm_kernel(name, kernel);
        }
    }

    fn packed_kernel_agrees_with_the_gemm_kernel(name: &str, kernel: Kernel) {
        let mut rng = SmallRng::seed_from_u64(7);
        for k in 1..=PACKED_MAX_K {
            let widths = (1..=16).map(|d| (37, d)).chain([(1, 1), (7, 3), (101, 10), (64, packed::MAX_D), (9, 23)]);
            for (rows, d) in widths {
                let x = random(rows, d, &mut rng);
                let centers = random(k, d, &mut rng);
                let mut got = vec![(usize::MAX, 0.0); rows];
                kernel(&centers, x.as_slice().unwrap(), rows, &mut got);
                let want = gemm(&x, &centers);
                for (i, ((j, dist), (wj, wd))) in got.iter().zip(&want).enumerate() {
                    assert_eq!(j, wj, "{name}: k={k} d={d} row {i}");
                    assert!((dist - wd).abs() <= 1e-9 * (1.0 + wd), "{name}: k={k} d={d} row {i}: {dist} vs {wd}");
                }
            }
        }
    }

    #[test]
    fn for_each_nearest_visits_every_row_in_order_across_kernel_chunks() {
        let mut rng = SmallRng::seed_from_u64(3);
        for k in [7, PACKED_MAX_K + 1] {
            let x = random(1000, 5, &mut rng);
            let centers = random(k, 5, &mut rng);
            let mut got = Vec::new();
            for_each_nearest(&x.clone().into_shared(), &centers, |row, j, dist| got.push((row.to_vec(), j, dist)));
            let want = gemm(&x, &centers);
            assert_eq!(got.len(), 1000);
            for (i, ((row, j, dist), (wj, wd))) in got.iter().zip(&want).enumerate() {
                assert_eq!(row.as_slice(), x.row(i).as_slice().unwrap(), "k={k}: row {i} in order");
                assert_eq!(j, wj, "k={k} row {i}");
                assert!((dist - wd).abs() <= 1e-9 * (1.0 + wd), "k={k} row {i}: {dist} vs {wd}");
            }
        }
    }

    #[test]
    fn ties_go_to_the_lowest_index_and_nan_rows_to_center_zero() {
        let centers = Array2::from_shape_vec((3, 2), vec![5.0, 5.0, 1.0, 0.0, 1.0, 0.0]).unwrap();
        let x = Array2::from_shape_vec((2, 2), vec![1.0, 0.0, f64::NAN, 0.0]).unwrap().into_shared();
        assert_eq!(assign(&x, &centers), vec![(1, 0.0), (0, f64::INFINITY)]);
        assert_eq!(gemm(&x.to_owned(), &centers), vec![(1, 0.0), (0, f64::INFINITY)]);
        for (name, kernel) in packed_kernels() {
            let mut got = vec![(usize::MAX, 0.0); 2];
            kernel(&centers, x.as_slice().unwrap(), 2, &mut got);
            assert_eq!(got, vec![(1, 0.0), (0, f64::INFINITY)], "{name}");
        }
    }
}
