//! The hardware floor: what this machine can do at best, measured in the same
//! run as the workloads. A workload's floor is max(bytes ÷ read bandwidth,
//! flops ÷ GEMM rate), over the 2 cores that `local-cluster[2]` uses.

use faer::{Accum, Mat, Par};
use std::time::Instant;

/// Measured capabilities of the machine.
#[derive(Clone, Copy, Debug)]
pub struct Floor {
    /// Bytes per second read by `threads` threads summing disjoint arrays.
    pub read_bandwidth: f64,
    /// f64 flops per second of one core in a faer GEMM, times the cores.
    pub gemm_rate: f64,
    pub threads: usize,
}

impl Floor {
    pub fn measure(threads: usize) -> Floor {
        Floor { read_bandwidth: read_bandwidth(threads), gemm_rate: gemm_rate() * threads as f64, threads }
    }

    /// The floor time of a workload reading `bytes` and doing `flops`.
    pub fn seconds(&self, bytes: f64, flops: f64) -> f64 {
        (bytes / self.read_bandwidth).max(flops / self.gemm_rate)
    }

    pub fn describe(&self) -> String {
        format!(
            "read {:.1} GB/s ({} threads), GEMM {:.1} GFLOP/s ({} cores)",
            self.read_bandwidth / 1e9,
            self.threads,
            self.gemm_rate / 1e9,
            self.threads
        )
    }
}

fn read_bandwidth(threads: usize) -> f64 {
    const BYTES_PER_THREAD: usize = 256 << 20;
    let arrays: Vec<Vec<f64>> = (0..threads).map(|t| vec![t as f64 + 1.0; BYTES_PER_THREAD / 8]).collect();
    let mut best: f64 = 0.0;
    for _ in 0..3 {
        let start = Instant::now();
        let sums: Vec<f64> = std::thread::scope(|s| {
            let handles: Vec<_> = arrays.iter().map(|a| s.spawn(move || sum_wide(a))).collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0.0)).collect()
        });
        let secs = start.elapsed().as_secs_f64();
        std::hint::black_box(sums);
        best = best.max((threads * BYTES_PER_THREAD) as f64 / secs);
    }
    best
}

/// A sum with 8 independent accumulators, so that it is limited by memory
/// bandwidth rather than by the latency of one chain of additions.
fn sum_wide(a: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    for chunk in a.chunks_exact(8) {
        for (s, x) in acc.iter_mut().zip(chunk) {
            *s += x;
        }
    }
    acc.iter().sum::<f64>() + a.chunks_exact(8).remainder().iter().sum::<f64>()
}

fn gemm_rate() -> f64 {
    const N: usize = 768;
    let a = Mat::<f64>::from_fn(N, N, |i, j| ((i * 7 + j * 3) % 11) as f64);
    let b = Mat::<f64>::from_fn(N, N, |i, j| ((i + j * 5) % 13) as f64);
    let mut c = Mat::<f64>::zeros(N, N);
    let mut best: f64 = 0.0;
    for _ in 0..3 {
        let start = Instant::now();
        faer::linalg::matmul::matmul(c.as_mut(), Accum::Replace, a.as_ref(), b.as_ref(), 1.0, Par::Seq);
        best = best.max(2.0 * (N * N * N) as f64 / start.elapsed().as_secs_f64());
    }
    std::hint::black_box(&c);
    best
}
