//! Binary logistic regression over cached row blocks.
//!
//! The model is `P(y = 1 | x) = σ(w·x + b)`, fitted by minimizing the mean
//! log-loss plus an L2 penalty on `w` (never on the intercept `b`):
//!
//! ```text
//! f(w, b) = (1/n) Σᵢ [log(1 + e^{zᵢ}) − yᵢ zᵢ] + (λ/2) ‖w‖²,   zᵢ = w·xᵢ + b
//! ```
//!
//! ## How the work is split
//!
//! The data is an `Rdd<LabeledBlock>` (one or a few row-major blocks per
//! partition), cached, so every pass reads executor memory only. The driver
//! owns the optimization: it holds `θ = (w, b)` (a few numbers) and ships it
//! to the tasks as the state of `map_partitions_with`; each task runs the
//! block kernel ([`kernel`]: `z = Xw` and `Xᵀ(σ(z) − y)` by faer GEMVs on
//! cache-sized chunks) over its blocks into one partial sum, and
//! `tree_aggregate` merges the partials. One pass = one job = one gradient
//! (and the loss, if asked).
//!
//! - [`GradientDescent`]: Spark's classic SparkLR loop, a fixed step along
//!   `−∇f` per pass.
//! - [`Lbfgs`]: L-BFGS with a strong Wolfe line search; the two-loop
//!   recursion runs on the driver, every trial step is one pass that returns
//!   loss and gradient together.
//! - [`LogisticModel`]: `predict_proba` / `predict` on a block, and accuracy
//!   and log-loss over an RDD in one pass.
//! - [`generate`]: seeded data from a known model, and the Bayes accuracy it allows.
//!
//! ## Determinism
//!
//! A pass's result depends only on the data's partitioning and `θ`: each task
//! sums its blocks in order with the same single-threaded kernels, and the
//! partial sums are merged in partition order (the final fold of
//! `tree_aggregate` is in partition order; its intermediate levels, used only
//! for many partitions, key partials by partition index and merge them in map
//! order). So a fit gives bit-identical results on every master, as long as
//! the executors run the same binary on the same kind of CPU (faer picks its
//! SIMD kernels at run time).

/// The builder setters of the settings both solvers have, written inside
/// each solver's `impl` block: `reg` and `fit_intercept` (of its
/// `objective: ObjectiveConf`) and `gradient_tolerance`.
macro_rules! shared_solver_setters {
    () => {
        /// L2 regularization strength λ ≥ 0 (the intercept is not regularized).
        pub fn reg(mut self, reg: f64) -> Self {
            self.objective.reg = reg;
            self
        }
        /// Fit an intercept `b`; otherwise `b = 0`.
        pub fn fit_intercept(mut self, yes: bool) -> Self {
            self.objective.fit_intercept = yes;
            self
        }
        /// Stop when the gradient's Euclidean norm is at most this.
        pub fn gradient_tolerance(mut self, tol: f64) -> Self {
            self.gradient_tolerance = tol;
            self
        }
    };
}

pub mod gd;
pub mod generate;
pub mod kernel;
pub mod lbfgs;
pub mod line_search;
pub mod model;
pub mod objective;
#[cfg(target_arch = "x86_64")]
mod packed;
pub mod sigmoid;

pub use gd::GradientDescent;
pub use generate::{bayes_accuracy, generate, generate_from, true_model};
pub use lbfgs::Lbfgs;
pub use line_search::WolfeConf;
pub use model::{Evaluation, LogisticModel};
pub use objective::{Objective, ObjectiveConf};

/// Why a solver stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Termination {
    /// `‖∇f‖₂` reached the gradient tolerance.
    GradientTolerance,
    /// The relative change of `f` in one iteration reached the loss tolerance.
    LossTolerance,
    /// The iteration budget ran out (how gradient descent normally ends).
    MaxIterations,
    /// No step decreased `f` enough, even along `−∇f`: typically the optimum
    /// is reached to rounding precision, or the data has non-finite values.
    LineSearchFailed,
}

/// A fitted model and how the fit went.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    pub model: LogisticModel,
    /// Iterations (accepted steps).
    pub iterations: usize,
    /// Distributed passes over the data (jobs), including the initial one.
    pub passes: usize,
    /// The final value of `f`, when the solver computed it (L-BFGS does, gradient descent does not).
    pub objective: Option<f64>,
    /// The Euclidean norm of the last gradient computed.
    pub gradient_norm: f64,
    pub termination: Termination,
}
