//! Full-batch gradient descent, as in Spark's classic `SparkLR` example: the
//! data stays cached on the executors; every iteration ships the current
//! weights to the tasks (the state of `map_partitions_with`), each task sums
//! the gradient over its blocks, the partial gradients are merged by
//! `tree_aggregate`, and the driver takes a fixed step:
//!
//! ```text
//! θ ← θ − η ∇f(θ)
//! ```
//!
//! It minimizes the same regularized mean log-loss as L-BFGS
//! ([`objective`](super::objective)), but its passes skip the loss (one
//! exponential and two GEMVs per chunk of rows, no logarithm). With features
//! of unit scale, `∇²f ≼ (¼ λmax(XᵀX/n) + λ) I`, so steps up to a few units are
//! stable; convergence is linear with a rate set by the conditioning, which is
//! why L-BFGS needs far fewer passes.

use super::objective::{Objective, ObjectiveConf, norm};
use super::{Fit, LogisticModel, Termination};
use crate::block::LabeledBlock;
use crate::error::{MlError, Result};
use ember::prelude::*;

/// Settings of a gradient-descent fit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradientDescent {
    pub objective: ObjectiveConf,
    /// Iterations (passes) to run (100).
    pub iterations: usize,
    /// The fixed step η (1.0).
    pub step_size: f64,
    /// Stop early when `‖∇f‖₂` is at most this (0: run every iteration, as SparkLR does).
    pub gradient_tolerance: f64,
}

impl Default for GradientDescent {
    fn default() -> GradientDescent {
        GradientDescent {
            objective: ObjectiveConf::default(),
            iterations: 100,
            step_size: 1.0,
            gradient_tolerance: 0.0,
        }
    }
}

impl GradientDescent {
    shared_solver_setters!();
    pub fn iterations(mut self, n: usize) -> Self {
        self.iterations = n;
        self
    }
    pub fn step_size(mut self, step: f64) -> Self {
        self.step_size = step;
        self
    }

    pub fn validate(&self) -> Result<()> {
        self.objective.validate()?;
        if !(self.step_size.is_finite() && self.step_size > 0.0) {
            return Err(MlError::InvalidParameter(format!("step size must be > 0, got {}", self.step_size)));
        }
        if !(self.gradient_tolerance.is_finite() && self.gradient_tolerance >= 0.0) {
            return Err(MlError::InvalidParameter(format!(
                "gradient tolerance must be finite and >= 0, got {}",
                self.gradient_tolerance
            )));
        }
        Ok(())
    }

    /// Fits a model to `data` (which should be cached: every iteration reads
    /// it), from θ = 0. The fit's `gradient_norm` is that of the last
    /// gradient computed, at the point before the last step; its `objective`
    /// is `None` (the passes do not compute the loss).
    pub fn fit(&self, data: &Rdd<LabeledBlock>) -> Result<Fit> {
        self.validate()?;
        let mut objective = Objective::new(data, self.objective)?;
        let mut params = vec![0.0; objective.num_features()? + 1];
        let mut gradient_norm = f64::INFINITY;
        let mut iterations = 0;
        let mut termination = Termination::MaxIterations;
        while iterations < self.iterations {
            let gradient = objective.gradient(&params)?;
            gradient_norm = norm(&gradient);
            if gradient_norm <= self.gradient_tolerance {
                termination = Termination::GradientTolerance;
                break;
            }
            params.iter_mut().zip(&gradient).for_each(|(p, g)| *p -= self.step_size * g);
            iterations += 1;
        }
        Ok(Fit {
            model: LogisticModel::from_params(&params),
            iterations,
            passes: objective.passes,
            objective: None,
            gradient_norm,
            termination,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_validated() {
        assert!(GradientDescent::default().validate().is_ok());
        assert!(GradientDescent::default().step_size(0.0).validate().is_err());
        assert!(GradientDescent::default().step_size(f64::INFINITY).validate().is_err());
        assert!(GradientDescent::default().gradient_tolerance(-1.0).validate().is_err());
    }
}
