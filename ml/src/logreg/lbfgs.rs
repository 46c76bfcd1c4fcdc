//! L-BFGS (Liu & Nocedal 1989) on the driver, over a distributed objective.
//!
//! The driver keeps the last `m` pairs `sₖ = θₖ₊₁ − θₖ`, `yₖ = ∇fₖ₊₁ − ∇fₖ`
//! (a few vectors of `d + 1` numbers) and turns the gradient into a
//! quasi-Newton direction `−H∇f` by the two-loop recursion, with the initial
//! scaling `H₀ = (sᵀy / yᵀy) I` of the newest pair. A strong Wolfe line
//! search ([`line_search`](super::line_search)) picks the step; each of its
//! trials is ONE distributed pass that returns the loss and the gradient
//! together, so an iteration usually costs one pass (the unit step is
//! accepted) and the cluster never sees anything but `θ`.
//!
//! Pairs with `sᵀy ≤ ε‖s‖‖y‖` are skipped (they would make `H` indefinite; the
//! Wolfe curvature condition rules them out, an Armijo-only step may not).
//! If a search fails, the memory is dropped and steepest descent is tried
//! once before giving up.
//!
//! Stops when `‖∇f‖₂ ≤ gradient_tolerance`, when the relative change of `f`
//! in one iteration is at most `loss_tolerance`, or after `max_iterations`.

use super::line_search::{Outcome, WolfeConf, strong_wolfe};
use super::objective::{Objective, ObjectiveConf, dot, norm};
use super::{Fit, LogisticModel, Termination};
use crate::block::LabeledBlock;
use crate::error::{MlError, Result};
use ember::prelude::*;
use std::collections::VecDeque;

/// Settings of an L-BFGS fit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lbfgs {
    pub objective: ObjectiveConf,
    /// Iterations (accepted steps) at most (100).
    pub max_iterations: usize,
    /// Correction pairs kept (10).
    pub memory: usize,
    /// Stop when the gradient's Euclidean norm is at most this (1e-6).
    pub gradient_tolerance: f64,
    /// Stop when `|fₖ − fₖ₊₁| / max(|fₖ|, |fₖ₊₁|, 1)` is at most this (1e-12; 0 disables).
    pub loss_tolerance: f64,
    pub line_search: WolfeConf,
}

impl Default for Lbfgs {
    fn default() -> Lbfgs {
        Lbfgs {
            objective: ObjectiveConf::default(),
            max_iterations: 100,
            memory: 10,
            gradient_tolerance: 1e-6,
            loss_tolerance: 1e-12,
            line_search: WolfeConf::default(),
        }
    }
}

/// A correction pair and `1 / sᵀy`.
struct Pair {
    s: Vec<f64>,
    y: Vec<f64>,
    rho: f64,
}

/// A point of the iteration: parameters, objective value and gradient.
struct Point {
    params: Vec<f64>,
    value: f64,
    gradient: Vec<f64>,
}

impl Lbfgs {
    shared_solver_setters!();
    pub fn max_iterations(mut self, n: usize) -> Self {
        self.max_iterations = n;
        self
    }
    pub fn memory(mut self, m: usize) -> Self {
        self.memory = m;
        self
    }
    pub fn loss_tolerance(mut self, tol: f64) -> Self {
        self.loss_tolerance = tol;
        self
    }

    pub fn validate(&self) -> Result<()> {
        self.objective.validate()?;
        self.line_search.validate()?;
        if self.memory == 0 {
            return Err(MlError::InvalidParameter("L-BFGS memory must be at least 1 pair".into()));
        }
        for (name, tol) in [("gradient_tolerance", self.gradient_tolerance), ("loss_tolerance", self.loss_tolerance)] {
            if !(tol.is_finite() && tol >= 0.0) {
                return Err(MlError::InvalidParameter(format!("{name} must be finite and >= 0, got {tol}")));
            }
        }
        Ok(())
    }

    /// Fits a model to `data` (which should be cached: every pass reads it), from θ = 0.
    pub fn fit(&self, data: &Rdd<LabeledBlock>) -> Result<Fit> {
        self.validate()?;
        let mut objective = Objective::new(data, self.objective)?;
        let start = vec![0.0; objective.num_features()? + 1];
        let (value, gradient) = objective.value_gradient(&start)?;
        let mut x = Point { params: start, value, gradient };
        let mut memory: VecDeque<Pair> = VecDeque::with_capacity(self.memory);
        let mut iterations = 0;
        let termination = loop {
            if norm(&x.gradient) <= self.gradient_tolerance {
                break Termination::GradientTolerance;
            }
            if iterations >= self.max_iterations {
                break Termination::MaxIterations;
            }
            let Some(next) = self.step(&mut objective, &x, &mut memory)? else {
                break Termination::LineSearchFailed;
            };
            iterations += 1;
            let change = (x.value - next.value).abs() / x.value.abs().max(next.value.abs()).max(1.0);
            self.remember(&mut memory, &x, &next);
            tracing::debug!(iterations, value = next.value, gradient = norm(&next.gradient), "L-BFGS step");
            x = next;
            if change <= self.loss_tolerance {
                break Termination::LossTolerance;
            }
        };
        Ok(Fit {
            model: LogisticModel::from_params(&x.params),
            iterations,
            passes: objective.passes,
            objective: Some(x.value),
            gradient_norm: norm(&x.gradient),
            termination,
        })
    }

    /// The next point along the quasi-Newton direction, or along `−∇f` with
    /// an empty memory when that search fails; `None` when both fail.
    fn step(&self, objective: &mut Objective, x: &Point, memory: &mut VecDeque<Pair>) -> Result<Option<Point>> {
        if !memory.is_empty() {
            let direction = two_loop(memory, &x.gradient);
            if dot(&direction, &x.gradient) < 0.0
                && let Some(next) = self.search(objective, x, &direction, 1.0)?
            {
                return Ok(Some(next));
            }
            tracing::debug!("L-BFGS: the quasi-Newton step failed; restarting from steepest descent");
            memory.clear();
        }
        let direction: Vec<f64> = x.gradient.iter().map(|g| -g).collect();
        let alpha0 = 1.0 / norm(&x.gradient).max(1.0);
        self.search(objective, x, &direction, alpha0)
    }

    /// A line search from `x` along `direction`.
    fn search(&self, objective: &mut Objective, x: &Point, direction: &[f64], alpha0: f64) -> Result<Option<Point>> {
        let slope0 = dot(&x.gradient, direction);
        let outcome = strong_wolfe(&self.line_search, x.value, slope0, alpha0, |alpha| {
            let params: Vec<f64> = x.params.iter().zip(direction).map(|(p, d)| p + alpha * d).collect();
            let (value, gradient) = objective.value_gradient(&params)?;
            Ok((value, dot(&gradient, direction), Point { params, value, gradient }))
        })?;
        Ok(match outcome {
            Outcome::Wolfe(t) | Outcome::Armijo(t) => t.payload,
            Outcome::Failed => None,
        })
    }

    /// Keeps the pair of the step from `x` to `next` if it has positive curvature.
    fn remember(&self, memory: &mut VecDeque<Pair>, x: &Point, next: &Point) {
        let s: Vec<f64> = next.params.iter().zip(&x.params).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = next.gradient.iter().zip(&x.gradient).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy <= f64::EPSILON * norm(&s) * norm(&y) {
            return;
        }
        if memory.len() == self.memory {
            memory.pop_front();
        }
        memory.push_back(Pair { s, y, rho: 1.0 / sy });
    }
}

/// `−H ∇f` by the two-loop recursion over `memory` (oldest first).
fn two_loop(memory: &VecDeque<Pair>, gradient: &[f64]) -> Vec<f64> {
    let mut q = gradient.to_vec();
    let mut alphas = Vec::with_capacity(memory.len());
    for pair in memory.iter().rev() {
        let a = pair.rho * dot(&pair.s, &q);
        q.iter_mut().zip(&pair.y).for_each(|(q, y)| *q -= a * y);
        alphas.push(a);
    }
    if let Some(newest) = memory.back() {
        let gamma = 1.0 / (newest.rho * dot(&newest.y, &newest.y));
        q.iter_mut().for_each(|q| *q *= gamma);
    }
    for (pair, a) in memory.iter().zip(alphas.iter().rev()) {
        let b = pair.rho * dot(&pair.y, &q);
        q.iter_mut().zip(&pair.s).for_each(|(q, s)| *q += (a - b) * s);
    }
    q.iter_mut().for_each(|q| *q = -*q);
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(s: Vec<f64>, y: Vec<f64>) -> Pair {
        let rho = 1.0 / dot(&s, &y);
        Pair { s, y, rho }
    }

    #[test]
    fn two_loop_inverts_a_quadratic_once_it_has_seen_every_direction() {
        // f = ½ θᵀAθ with A = diag(2, 5): pairs along both axes give y = A s,
        // and the recursion reproduces A⁻¹ exactly on their span.
        let memory: VecDeque<Pair> =
            [pair(vec![1.0, 0.0], vec![2.0, 0.0]), pair(vec![0.0, 1.0], vec![0.0, 5.0])].into();
        let d = two_loop(&memory, &[4.0, 10.0]);
        assert!((d[0] + 2.0).abs() < 1e-12 && (d[1] + 2.0).abs() < 1e-12, "{d:?}");
    }

    #[test]
    fn empty_memory_is_steepest_descent() {
        assert_eq!(two_loop(&VecDeque::new(), &[1.0, -2.0]), vec![-1.0, 2.0]);
    }

    #[test]
    fn settings_are_validated() {
        assert!(Lbfgs::default().validate().is_ok());
        assert!(Lbfgs::default().memory(0).validate().is_err());
        assert!(Lbfgs::default().gradient_tolerance(f64::NAN).validate().is_err());
        assert!(Lbfgs::default().reg(-1.0).validate().is_err());
    }
}
