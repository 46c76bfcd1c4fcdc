//! The function both solvers minimize, evaluated over cached data:
//!
//! ```text
//! f(w, b) = (1/n) Σᵢ [softplus(xᵢ·w + b) − yᵢ (xᵢ·w + b)] + (λ/2) ‖w‖²
//! ∇w f    = (1/n) Xᵀ (σ(Xw + b) − y) + λ w
//! ∂b f    = (1/n) Σᵢ (σ(xᵢ·w + b) − yᵢ)        (the intercept is not regularized)
//! ```
//!
//! Each evaluation is one distributed pass ([`kernel::sums`]); the division
//! by `n` and the regularization term are applied on the driver. Parameters
//! are one vector `θ = (w, b)`, intercept last; without an intercept its
//! gradient is zeroed, so `b` stays where it started (0).

use super::kernel;
use crate::block::LabeledBlock;
use crate::error::{MlError, Result};
use ember::prelude::*;

/// What the solvers share: the regularization, the intercept, the tree depth.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ObjectiveConf {
    /// L2 regularization strength λ ≥ 0 (the intercept is not regularized).
    pub reg: f64,
    /// Fit an intercept `b`; otherwise `b = 0`.
    pub fit_intercept: bool,
    /// Levels of `tree_aggregate` used to merge partial gradients (≥ 1).
    pub depth: usize,
}

impl Default for ObjectiveConf {
    fn default() -> ObjectiveConf {
        ObjectiveConf { reg: 0.0, fit_intercept: true, depth: 2 }
    }
}

impl ObjectiveConf {
    pub fn validate(&self) -> Result<()> {
        if !(self.reg.is_finite() && self.reg >= 0.0) {
            return Err(MlError::InvalidParameter(format!("reg must be finite and >= 0, got {}", self.reg)));
        }
        if self.depth == 0 {
            return Err(MlError::InvalidParameter("depth (tree_aggregate levels) must be at least 1".into()));
        }
        Ok(())
    }
}

/// The regularized mean log-loss over `data`, counting its passes.
pub struct Objective<'a> {
    data: &'a Rdd<LabeledBlock>,
    conf: ObjectiveConf,
    /// Distributed passes run so far.
    pub passes: usize,
}

impl<'a> Objective<'a> {
    pub fn new(data: &'a Rdd<LabeledBlock>, conf: ObjectiveConf) -> Result<Objective<'a>> {
        conf.validate()?;
        Ok(Objective { data, conf, passes: 0 })
    }

    /// The number of features of the data (a small job on the first non-empty partition).
    pub fn num_features(&self) -> Result<usize> {
        let widths = self.data.map(|block: LabeledBlock| block.x.ncols()).take(1)?;
        widths.first().copied().ok_or_else(|| MlError::InvalidInput("the training data has no blocks".into()))
    }

    /// `f(θ)` and `∇f(θ)`, in one pass.
    pub fn value_gradient(&mut self, params: &[f64]) -> Result<(f64, Vec<f64>)> {
        let sums = self.pass(params, true)?;
        let n = sums.rows as f64;
        let gradient = self.finish_gradient(params, sums.gradient, n);
        let w = &params[..params.len() - 1];
        let value = sums.loss / n + 0.5 * self.conf.reg * w.iter().map(|x| x * x).sum::<f64>();
        Ok((value, gradient))
    }

    /// `∇f(θ)` alone, in one pass that skips the loss.
    pub fn gradient(&mut self, params: &[f64]) -> Result<Vec<f64>> {
        let sums = self.pass(params, false)?;
        Ok(self.finish_gradient(params, sums.gradient, sums.rows as f64))
    }

    fn pass(&mut self, params: &[f64], with_loss: bool) -> Result<kernel::Sums> {
        if params.is_empty() {
            return Err(MlError::InvalidParameter("parameters are (w, b): at least the intercept is needed".into()));
        }
        self.passes += 1;
        let sums = kernel::sums(self.data, params, with_loss, self.conf.depth)?;
        if sums.rows == 0 {
            return Err(MlError::InvalidInput("the training data has no rows".into()));
        }
        Ok(sums)
    }

    /// Mean gradient plus the regularization term, from the summed gradient.
    fn finish_gradient(&self, params: &[f64], mut g: Vec<f64>, n: f64) -> Vec<f64> {
        let d = params.len() - 1;
        g.iter_mut().for_each(|x| *x /= n);
        g[..d].iter_mut().zip(&params[..d]).for_each(|(g, w)| *g += self.conf.reg * w);
        if !self.conf.fit_intercept {
            g[d] = 0.0;
        }
        g
    }
}

/// The Euclidean norm.
pub fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// The dot product.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_are_rejected_with_their_name() {
        let neg = ObjectiveConf { reg: -1.0, ..ObjectiveConf::default() };
        assert!(matches!(neg.validate(), Err(MlError::InvalidParameter(m)) if m.contains("reg")));
        let flat = ObjectiveConf { depth: 0, ..ObjectiveConf::default() };
        assert!(matches!(flat.validate(), Err(MlError::InvalidParameter(m)) if m.contains("depth")));
        assert!(ObjectiveConf::default().validate().is_ok());
    }

    #[test]
    fn vector_helpers() {
        assert_eq!(norm(&[3.0, 4.0]), 5.0);
        assert_eq!(dot(&[1.0, 2.0], &[3.0, 4.0]), 11.0);
    }
}
