//! The per-block kernel and the one distributed pass built on it.
//!
//! For a block `X` (rows × d, row-major) with labels `y` and parameters
//! `θ = (w, b)`, the kernel computes, in chunks of rows small enough to stay
//! in the L2 cache between its two matrix products:
//!
//! ```text
//! z = X w + b                      (faer GEMV, X read row by row)
//! r = σ(z) − y                     (residuals)
//! loss += Σ softplus(z) − y z      (the log-loss, optional)
//! ∇w  += Xᵀ r,  ∇b += Σ r          (faer GEMV on the same chunk, now cached)
//! ```
//!
//! `softplus(z) = log(1 + eᶻ)` and `σ(z)` are evaluated from one `exp(−|z|)`,
//! so neither overflows for large `|z|`. A pass over an RDD runs the kernel
//! on every block of a partition into one [`Sums`], then merges the partial
//! sums with `tree_aggregate`. Kernels are single-threaded (`Par::Seq`):
//! parallelism comes from partitions.
//!
//! A gradient-only pass over a narrow block (d ≤ 32) on a CPU with AVX2 and
//! FMA takes the packed kernel instead ([`super::packed`]: four rows per
//! register, one pass, ~2.5× faster for d = 10); passes that also want the
//! loss, and wide blocks, take the chunked faer path.
//!
//! Malformed data (a block of the wrong width, labels outside {0, 1}) never
//! panics inside a task: it is recorded in [`Sums::problem`] and turned into
//! an [`MlError::InvalidInput`] on the driver.

use crate::block::{LabeledBlock, as_faer};
use crate::error::{MlError, Result};
use ember::prelude::*;
use faer::linalg::matmul::matmul;
use faer::{Accum, ColMut, ColRef, Par};
use serde::{Deserialize, Serialize};

/// Bytes of a block's rows processed together: both products of a chunk
/// read it from cache, not memory, the second time.
const CHUNK_BYTES: usize = 128 * 1024;

/// Something wrong with the data, found by a task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DataProblem {
    /// A block has `found` feature columns where the model has `expected`.
    WrongWidth { expected: usize, found: usize },
    /// A block has `rows` rows but `labels` labels.
    LabelCount { rows: usize, labels: usize },
    /// A label is neither 0 nor 1.
    BadLabel(f64),
    /// The parameter vector is empty (it must hold `w` and `b`).
    NoParameters,
}

impl From<DataProblem> for MlError {
    fn from(p: DataProblem) -> MlError {
        MlError::InvalidInput(match p {
            DataProblem::WrongWidth { expected, found } => format!(
                "a block has {found} feature columns but the model has {expected}: \
                 all rows must have the same number of features"
            ),
            DataProblem::LabelCount { rows, labels } => {
                format!("a block has {rows} rows but {labels} labels")
            }
            DataProblem::BadLabel(y) => {
                format!("label {y} is not 0 or 1: logistic regression needs binary 0/1 labels")
            }
            DataProblem::NoParameters => "parameters are (w, b): at least the intercept is needed".into(),
        })
    }
}

/// Sums over rows of the log-loss and its gradient with respect to `(w, b)`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sums {
    /// Σ log-loss (0 when the pass did not ask for it).
    pub loss: f64,
    /// Σ ∇ of the log-loss: `d` entries for `w`, then one for `b`; empty in
    /// the zero of a merge.
    pub gradient: Vec<f64>,
    /// Rows summed over.
    pub rows: u64,
    /// The first problem found in the data, if any.
    pub problem: Option<DataProblem>,
}

impl Sums {
    /// Sums over no rows for `params` of length `d + 1`.
    pub fn zero(params: usize) -> Sums {
        Sums { gradient: vec![0.0; params], ..Sums::default() }
    }

    /// Adds two partial sums (associative; the empty zero is its identity).
    pub fn merge(mut self, other: Sums) -> Sums {
        if self.gradient.is_empty() {
            self.gradient = other.gradient;
        } else if !other.gradient.is_empty() {
            self.gradient.iter_mut().zip(&other.gradient).for_each(|(a, b)| *a += b);
        }
        self.loss += other.loss;
        self.rows += other.rows;
        self.problem = self.problem.or(other.problem);
        self
    }

    /// The sums, or the data problem a task found.
    pub fn checked(self) -> Result<Sums> {
        match self.problem {
            Some(p) => Err(p.into()),
            None => Ok(self),
        }
    }
}

/// `(softplus(z), σ(z))` from one exponential, stable for any `z`.
#[inline]
pub fn softplus_sigmoid(z: f64) -> (f64, f64) {
    let e = (-z.abs()).exp();
    let softplus = z.max(0.0) + e.ln_1p();
    let sigmoid = if z >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
    (softplus, sigmoid)
}

/// The problem with `block` for parameters of `d` weights, if any.
pub fn check_shape(block: &LabeledBlock, d: usize) -> Option<DataProblem> {
    let (rows, cols) = block.x.dim();
    if cols != d {
        Some(DataProblem::WrongWidth { expected: d, found: cols })
    } else if block.y.len() != rows {
        Some(DataProblem::LabelCount { rows, labels: block.y.len() })
    } else {
        None
    }
}

/// Rows per chunk for blocks of `cols` columns.
pub fn chunk_rows(cols: usize) -> usize {
    (CHUNK_BYTES / (8 * cols.max(1))).max(16)
}

/// `z = X w` for the rows of `x` (a chunk), into `z`.
///
/// # Panics
/// When `w` does not have one entry per column of `x`, or `z` one per row.
pub fn linear(x: faer::MatRef<'_, f64>, w: &[f64], z: &mut [f64]) {
    matmul(ColMut::from_slice_mut(z), Accum::Replace, x, ColRef::from_slice(w), 1.0, Par::Seq);
}

/// Adds the loss and gradient of the rows of `block` at `params` = `(w, b)`
/// to `sums` (empty, or summed at the same `params`).
pub fn add_block(params: &[f64], block: &LabeledBlock, with_loss: bool, sums: &mut Sums) {
    let Some(d) = params.len().checked_sub(1) else {
        sums.problem.get_or_insert(DataProblem::NoParameters);
        return;
    };
    if let Some(problem) = check_shape(block, d) {
        sums.problem.get_or_insert(problem);
        return;
    }
    if sums.gradient.is_empty() {
        sums.gradient = vec![0.0; params.len()];
    } else if sums.gradient.len() != params.len() {
        let expected = sums.gradient.len() - 1;
        sums.problem.get_or_insert(DataProblem::WrongWidth { expected, found: d });
        return;
    }
    let x = block.x.as_standard_layout();
    let contiguous;
    let y = match block.y.as_slice() {
        Some(y) => y,
        None => {
            contiguous = block.y.to_vec();
            &contiguous
        }
    };
    let (w, b) = (&params[..d], params[d]);
    if !with_loss && let Some(packed) = packed_gradient(&x.view(), y, w, b) {
        if packed.bad_label
            && let Some(&label) = y.iter().find(|&&y| y != 0.0 && y != 1.0)
        {
            sums.problem.get_or_insert(DataProblem::BadLabel(label));
        }
        sums.gradient[..d].iter_mut().zip(&packed.gradient_w).for_each(|(g, p)| *g += p);
        sums.gradient[d] += packed.gradient_b;
        sums.rows += y.len() as u64;
        return;
    }
    let x = as_faer(&x);
    let step = chunk_rows(d);
    let mut r = vec![0.0; step.min(x.nrows())];
    let (mut loss, mut grad_b) = (0.0, 0.0);
    for start in (0..x.nrows()).step_by(step) {
        let len = step.min(x.nrows() - start);
        let chunk = x.subrows(start, len);
        let r = &mut r[..len];
        linear(chunk, w, r);
        let y = &y[start..start + len];
        let (chunk_loss, chunk_grad_b, bad_label) =
            if with_loss { residuals::<true>(r, y, b) } else { residuals::<false>(r, y, b) };
        loss += chunk_loss;
        grad_b += chunk_grad_b;
        if bad_label && let Some(&label) = y.iter().find(|&&y| y != 0.0 && y != 1.0) {
            sums.problem.get_or_insert(DataProblem::BadLabel(label));
        }
        let gw = ColMut::from_slice_mut(&mut sums.gradient[..d]);
        matmul(gw, Accum::Add, chunk.transpose(), ColRef::from_slice(r), 1.0, Par::Seq);
    }
    sums.loss += loss;
    sums.gradient[d] += grad_b;
    sums.rows += x.nrows() as u64;
}

/// What a packed gradient pass adds up: Σ r·x_t (d entries), Σ r, and
/// whether a label is neither 0 nor 1.
pub(super) struct GradientSums {
    pub gradient_w: Vec<f64>,
    pub gradient_b: f64,
    pub bad_label: bool,
}

/// The gradient of a block by the packed kernel, when this CPU and the
/// block's width allow it (see [`super::packed`]).
#[cfg(target_arch = "x86_64")]
fn packed_gradient(x: &ndarray::ArrayView2<'_, f64>, y: &[f64], w: &[f64], b: f64) -> Option<GradientSums> {
    let narrow = (1..=crate::avx2::MAX_D).contains(&w.len());
    let data = x.as_slice().filter(|_| narrow && !y.is_empty() && crate::avx2::available())?;
    Some(super::packed::gradient(data, y, w, b))
}

#[cfg(not(target_arch = "x86_64"))]
fn packed_gradient(_: &ndarray::ArrayView2<'_, f64>, _: &[f64], _: &[f64], _: f64) -> Option<GradientSums> {
    None
}

/// Turns the margins `r = Xw` of a chunk into residuals `σ(Xw + b) − y`;
/// returns the chunk's summed log-loss (when `LOSS`), summed residuals, and
/// whether a label is neither 0 nor 1. Without the loss, σ comes from the
/// vectorized [`sigmoid`](super::sigmoid) kernel; with it, one library `exp`
/// and one `ln_1p` per row.
fn residuals<const LOSS: bool>(r: &mut [f64], y: &[f64], b: f64) -> (f64, f64, bool) {
    if !LOSS {
        // The gradient alone: σ vectorized, then the sum in four fixed lanes.
        super::sigmoid::residuals(r, y, b);
        let mut lanes = [0.0; 4];
        let quads = r.chunks_exact(4);
        let tail: f64 = quads.remainder().iter().sum();
        for quad in quads {
            lanes.iter_mut().zip(quad).for_each(|(l, x)| *l += x);
        }
        let bad = y.iter().fold(false, |bad, &yi| bad | (yi != 0.0 && yi != 1.0));
        return (0.0, (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + tail, bad);
    }
    let (mut loss, mut sum, mut bad) = (0.0, 0.0, false);
    for (ri, &yi) in r.iter_mut().zip(y) {
        let z = *ri + b;
        let e = (-z.abs()).exp();
        let p = if z >= 0.0 { 1.0 } else { e } / (1.0 + e);
        if LOSS {
            loss += z.max(0.0) + e.ln_1p() - yi * z;
        }
        bad |= yi != 0.0 && yi != 1.0;
        *ri = p - yi;
        sum += *ri;
    }
    (loss, sum, bad)
}

/// One distributed pass: the sums of the loss (when `with_loss`) and of its
/// gradient at `params` over every row of `data`. `params` travels to the
/// tasks as the state of `map_partitions_with`; partial sums are merged by
/// `tree_aggregate` of `depth` levels.
pub fn sums(data: &Rdd<LabeledBlock>, params: &[f64], with_loss: bool, depth: usize) -> Result<Sums> {
    let partials = data.map_partitions_with((params.to_vec(), with_loss), |(params, with_loss), _, blocks| {
        let mut sums = Sums::zero(params.len());
        blocks.for_each(|block| add_block(params, &block, *with_loss, &mut sums));
        std::iter::once(sums)
    });
    partials.tree_aggregate(Sums::default(), Sums::merge, Sums::merge, depth)?.checked()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2};

    /// The kernel's sums, computed row by row without faer.
    fn naive(params: &[f64], block: &LabeledBlock) -> (f64, Vec<f64>) {
        let d = params.len() - 1;
        let mut g = vec![0.0; d + 1];
        let mut loss = 0.0;
        for (row, &y) in block.x.rows().into_iter().zip(&block.y) {
            let z: f64 = row.iter().zip(params).map(|(x, w)| x * w).sum::<f64>() + params[d];
            let p = 1.0 / (1.0 + (-z).exp());
            loss -= y * p.ln() + (1.0 - y) * (1.0 - p).ln();
            row.iter().enumerate().for_each(|(j, x)| g[j] += (p - y) * x);
            g[d] += p - y;
        }
        (loss, g)
    }

    fn block(rows: usize, cols: usize) -> LabeledBlock {
        let x = Array2::from_shape_fn((rows, cols), |(i, j)| ((i * 7 + j * 3) % 11) as f64 / 5.0 - 1.0);
        let y = Array1::from_shape_fn(rows, |i| ((i * 5) % 3 == 0) as u8 as f64);
        LabeledBlock { x: x.into_shared(), y: y.into_shared() }
    }

    #[test]
    fn kernel_matches_row_by_row_sums_across_chunks() {
        let params = [0.3, -0.2, 0.5, 0.1];
        let b = block(3 * chunk_rows(3) + 17, 3);
        let mut sums = Sums::zero(4);
        add_block(&params, &b, true, &mut sums);
        let (loss, g) = naive(&params, &b);
        assert!((sums.loss - loss).abs() < 1e-9 * loss.abs());
        sums.gradient.iter().zip(&g).for_each(|(a, e)| assert!((a - e).abs() < 1e-9, "{a} vs {e}"));
        assert_eq!(sums.rows, b.rows() as u64);
    }

    #[test]
    fn the_gradient_alone_matches_the_sums_with_the_loss_for_narrow_and_wide_blocks() {
        // Narrow blocks take the packed kernel (where the CPU has it), wide
        // ones faer's; with the loss, both take the chunked faer path.
        for (rows, cols) in [(1, 1), (37, 3), (1000, 10), (203, 32), (300, 33), (70, 100)] {
            let b = block(rows, cols);
            let params: Vec<f64> = (0..=cols).map(|j| 0.05 * j as f64 - 0.2).collect();
            let (mut fast, mut full) = (Sums::zero(cols + 1), Sums::zero(cols + 1));
            add_block(&params, &b, false, &mut fast);
            add_block(&params, &b, true, &mut full);
            assert_eq!(fast.rows, full.rows);
            for (a, e) in fast.gradient.iter().zip(&full.gradient) {
                assert!((a - e).abs() <= 1e-12 * rows as f64, "{rows}×{cols}: {a} vs {e}");
            }
        }
        let mut bad = block(50, 4);
        bad.y[49] = 3.0;
        let mut sums = Sums::zero(5);
        add_block(&[0.1; 5], &bad, false, &mut sums);
        assert_eq!(sums.problem, Some(DataProblem::BadLabel(3.0)));
    }

    #[test]
    fn transposed_blocks_are_handled_like_standard_ones() {
        let b = block(40, 3);
        let t = LabeledBlock { x: b.x.t().to_shared().reversed_axes(), y: b.y.clone() };
        let (mut s1, mut s2) = (Sums::zero(4), Sums::zero(4));
        add_block(&[1.0, 2.0, 3.0, 4.0], &b, true, &mut s1);
        add_block(&[1.0, 2.0, 3.0, 4.0], &t, true, &mut s2);
        assert_eq!(s1, s2);
    }

    #[test]
    fn softplus_and_sigmoid_are_stable_at_extremes() {
        assert_eq!(softplus_sigmoid(800.0), (800.0, 1.0));
        let (sp, s) = softplus_sigmoid(-800.0);
        assert_eq!((sp, s), (0.0, 0.0));
        let (sp, s) = softplus_sigmoid(0.0);
        assert!((sp - 2f64.ln()).abs() < 1e-15 && s == 0.5);
    }

    #[test]
    fn malformed_blocks_are_reported_not_panicked_on() {
        let mut sums = Sums::zero(3);
        add_block(&[0.0, 0.0, 0.0], &block(5, 3), true, &mut sums);
        assert_eq!(sums.problem, Some(DataProblem::WrongWidth { expected: 2, found: 3 }));
        let mut bad = block(5, 2);
        bad.y[3] = 2.0;
        let mut sums = Sums::zero(3);
        add_block(&[0.0, 0.0, 0.0], &bad, true, &mut sums);
        assert!(matches!(sums.clone().checked(), Err(MlError::InvalidInput(m)) if m.contains("label 2")));
        let mut sums = Sums::zero(0);
        add_block(&[], &block(5, 2), true, &mut sums);
        assert_eq!(sums.problem, Some(DataProblem::NoParameters));
        let short = LabeledBlock { x: block(5, 2).x, y: Array1::zeros(4).into_shared() };
        let mut sums = Sums::zero(3);
        add_block(&[0.0, 0.0, 0.0], &short, true, &mut sums);
        assert_eq!(sums.problem, Some(DataProblem::LabelCount { rows: 5, labels: 4 }));
    }

    #[test]
    fn merging_with_the_empty_zero_is_the_identity() {
        let mut s = Sums::zero(2);
        add_block(&[0.5, -0.5], &block(10, 1), true, &mut s);
        assert_eq!(Sums::default().merge(s.clone()), s);
        assert_eq!(s.clone().merge(Sums::default()), s);
    }
}
