//! A line search for the strong Wolfe conditions (Nocedal & Wright,
//! *Numerical Optimization*, 2nd ed., Algorithms 3.5 and 3.6).
//!
//! Along a descent direction `d`, `φ(α) = f(θ + α d)` with `φ'(0) < 0`. A step
//! `α` is accepted when it satisfies
//!
//! ```text
//! φ(α) ≤ φ(0) + c₁ α φ'(0)          (sufficient decrease, Armijo)
//! |φ'(α)| ≤ c₂ |φ'(0)|              (strong curvature)
//! ```
//!
//! with `0 < c₁ < c₂ < 1`. The search first expands the step until it
//! brackets an acceptable one, then *zooms* into the bracket by safeguarded
//! cubic interpolation of the values and slopes at its ends. Every trial is
//! one evaluation of `f` and `∇f` (for logistic regression: one distributed
//! pass), which also gives `φ'(α) = ∇f(θ + α d)·d`, so interpolation is cheap.
//!
//! When the evaluation budget runs out (or the bracket collapses, which
//! happens near the optimum where `f` differences drown in rounding), the
//! best trial that satisfies sufficient decrease is returned, if any: a step
//! that satisfies at least the Armijo condition.

use crate::error::{MlError, Result};

/// Constants of the strong Wolfe conditions and the evaluation budget.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WolfeConf {
    /// Sufficient-decrease constant c₁ (1e-4).
    pub c1: f64,
    /// Curvature constant c₂ (0.9, the usual choice for quasi-Newton methods).
    pub c2: f64,
    /// Evaluations allowed per search (25).
    pub max_evaluations: usize,
}

impl Default for WolfeConf {
    fn default() -> WolfeConf {
        WolfeConf { c1: 1e-4, c2: 0.9, max_evaluations: 25 }
    }
}

impl WolfeConf {
    pub fn validate(&self) -> Result<()> {
        if !(0.0 < self.c1 && self.c1 < self.c2 && self.c2 < 1.0) {
            return Err(MlError::InvalidParameter(format!(
                "line search constants must satisfy 0 < c1 < c2 < 1, got c1 = {}, c2 = {}",
                self.c1, self.c2
            )));
        }
        if self.max_evaluations == 0 {
            return Err(MlError::InvalidParameter("line search needs at least one evaluation".into()));
        }
        Ok(())
    }
}

/// One evaluated step: `φ(α)`, `φ'(α)`, and what the evaluation produced
/// (`None` only for the starting point `α = 0`).
#[derive(Clone, Debug)]
pub struct Trial<P> {
    pub alpha: f64,
    pub value: f64,
    pub slope: f64,
    pub payload: Option<P>,
}

/// How a search ended.
#[derive(Debug)]
pub enum Outcome<P> {
    /// The step satisfies the strong Wolfe conditions.
    Wolfe(Trial<P>),
    /// Out of budget: the best step that satisfies sufficient decrease only.
    Armijo(Trial<P>),
    /// No step with sufficient decrease was found.
    Failed,
}

/// Searches along a direction with `φ(0) = value0`, `φ'(0) = slope0 < 0`,
/// trying `alpha0` first; `eval(α)` returns `(φ(α), φ'(α), payload)`.
pub fn strong_wolfe<P>(
    conf: &WolfeConf,
    value0: f64,
    slope0: f64,
    alpha0: f64,
    mut eval: impl FnMut(f64) -> Result<(f64, f64, P)>,
) -> Result<Outcome<P>> {
    let mut search = Search { conf, value0, slope0, evaluations: 0 };
    let mut prev = Trial { alpha: 0.0, value: value0, slope: slope0, payload: None };
    let mut alpha = alpha0;
    while search.evaluations < conf.max_evaluations {
        let trial = search.eval(alpha, &mut eval)?;
        if !search.sufficient_decrease(&trial) || (prev.alpha > 0.0 && trial.value >= prev.value) {
            return search.zoom(prev, trial, &mut eval);
        }
        if search.curvature(&trial) {
            return Ok(Outcome::Wolfe(trial));
        }
        if trial.slope >= 0.0 {
            return search.zoom(trial, prev, &mut eval);
        }
        alpha = 2.0 * trial.alpha;
        prev = trial;
    }
    Ok(armijo(prev))
}

/// The state of one search.
struct Search<'c> {
    conf: &'c WolfeConf,
    value0: f64,
    slope0: f64,
    evaluations: usize,
}

impl Search<'_> {
    fn eval<P>(&mut self, alpha: f64, eval: &mut impl FnMut(f64) -> Result<(f64, f64, P)>) -> Result<Trial<P>> {
        self.evaluations += 1;
        let (value, slope, payload) = eval(alpha)?;
        Ok(Trial { alpha, value, slope, payload: Some(payload) })
    }

    /// Armijo's condition (false for a NaN or infinite value).
    fn sufficient_decrease<P>(&self, t: &Trial<P>) -> bool {
        t.value <= self.value0 + self.conf.c1 * t.alpha * self.slope0
    }

    fn curvature<P>(&self, t: &Trial<P>) -> bool {
        t.slope.abs() <= -self.conf.c2 * self.slope0
    }

    /// Algorithm 3.6: `lo` satisfies sufficient decrease and has the lowest
    /// value seen; an acceptable step lies between `lo` and `hi`.
    fn zoom<P>(
        &mut self,
        mut lo: Trial<P>,
        mut hi: Trial<P>,
        eval: &mut impl FnMut(f64) -> Result<(f64, f64, P)>,
    ) -> Result<Outcome<P>> {
        while self.evaluations < self.conf.max_evaluations {
            let width = (hi.alpha - lo.alpha).abs();
            if width <= f64::EPSILON * hi.alpha.abs().max(lo.alpha.abs()) {
                break;
            }
            let trial = self.eval(interpolate(&lo, &hi), eval)?;
            if !self.sufficient_decrease(&trial) || trial.value >= lo.value {
                hi = trial;
            } else {
                if self.curvature(&trial) {
                    return Ok(Outcome::Wolfe(trial));
                }
                if trial.slope * (hi.alpha - lo.alpha) >= 0.0 {
                    hi = lo;
                }
                lo = trial;
            }
        }
        Ok(armijo(lo))
    }
}

/// `Armijo(t)` for a real step, `Failed` for the starting point.
fn armijo<P>(t: Trial<P>) -> Outcome<P> {
    if t.payload.is_some() { Outcome::Armijo(t) } else { Outcome::Failed }
}

/// The minimizer of the cubic that matches values and slopes at both ends
/// (Nocedal & Wright eq. 3.59), kept at least 10% of the bracket away from
/// either end; the midpoint when the cubic has no minimizer or a value is
/// not finite.
fn interpolate<P>(lo: &Trial<P>, hi: &Trial<P>) -> f64 {
    let (a, b) = (lo.alpha, hi.alpha);
    let mid = 0.5 * (a + b);
    let d1 = lo.slope + hi.slope - 3.0 * (lo.value - hi.value) / (a - b);
    let disc = d1 * d1 - lo.slope * hi.slope;
    if !(disc.is_finite() && disc >= 0.0) {
        return mid;
    }
    let d2 = (b - a).signum() * disc.sqrt();
    let step = b - (b - a) * (hi.slope + d2 - d1) / (hi.slope - lo.slope + 2.0 * d2);
    let (left, right) = (a.min(b), a.max(b));
    let margin = 0.1 * (right - left);
    if step.is_finite() { step.clamp(left + margin, right - margin) } else { mid }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a search on `f` along `d` from `x`, counting evaluations.
    fn search(f: impl Fn(f64) -> (f64, f64), alpha0: f64) -> (Outcome<()>, usize) {
        let mut count = 0;
        let (v0, s0) = f(0.0);
        let out = strong_wolfe(&WolfeConf::default(), v0, s0, alpha0, |a| {
            count += 1;
            let (v, s) = f(a);
            Ok((v, s, ()))
        })
        .unwrap();
        (out, count)
    }

    fn assert_wolfe(out: &Outcome<()>, f: impl Fn(f64) -> (f64, f64)) -> f64 {
        let Outcome::Wolfe(t) = out else { panic!("expected a Wolfe step, got {out:?}") };
        let (v0, s0) = f(0.0);
        assert!(t.value <= v0 + 1e-4 * t.alpha * s0);
        assert!(t.slope.abs() <= 0.9 * s0.abs());
        t.alpha
    }

    #[test]
    fn quadratic_accepts_the_newton_step_at_once() {
        let f = |a: f64| ((a - 1.0).powi(2), 2.0 * (a - 1.0));
        let (out, n) = search(f, 1.0);
        assert_eq!(assert_wolfe(&out, f), 1.0);
        assert_eq!(n, 1);
    }

    #[test]
    fn too_short_steps_are_expanded() {
        let f = |a: f64| ((a - 100.0).powi(2), 2.0 * (a - 100.0));
        let (out, n) = search(f, 1.0);
        let alpha = assert_wolfe(&out, f);
        assert!(alpha > 10.0 && n < 15, "alpha {alpha} after {n} evaluations");
    }

    #[test]
    fn too_long_steps_are_zoomed_into() {
        // Steep wall beyond the minimizer at 0.01.
        let f = |a: f64| ((a - 0.01).powi(2) * 1e4 + a.powi(4), 2e4 * (a - 0.01) + 4.0 * a.powi(3));
        let (out, n) = search(f, 1.0);
        let alpha = assert_wolfe(&out, f);
        assert!((alpha - 0.01).abs() < 0.01, "alpha {alpha} after {n} evaluations");
    }

    #[test]
    fn non_finite_values_are_backed_off_from() {
        let f = |a: f64| if a > 0.5 { (f64::INFINITY, f64::NAN) } else { ((a - 0.2).powi(2), 2.0 * (a - 0.2)) };
        let (out, _) = search(f, 1.0);
        assert_wolfe(&out, f);
    }

    #[test]
    fn an_ascent_direction_fails() {
        let f = |a: f64| (a, 1.0);
        // φ'(0) > 0 breaks the precondition; no step decreases f.
        let (out, n) = search(f, 1.0);
        assert!(matches!(out, Outcome::Failed), "{out:?}");
        assert!(n <= WolfeConf::default().max_evaluations);
    }

    #[test]
    fn interpolation_finds_the_minimum_of_a_cubic() {
        // φ(α) = (α − 0.3)² on [0, 1]: the cubic fit is exact.
        let t = |a: f64| Trial::<()> { alpha: a, value: (a - 0.3f64).powi(2), slope: 2.0 * (a - 0.3), payload: None };
        assert!((interpolate(&t(0.0), &t(1.0)) - 0.3).abs() < 1e-12);
        assert!((interpolate(&t(1.0), &t(0.0)) - 0.3).abs() < 1e-12);
    }

    #[test]
    fn constants_are_validated() {
        assert!(WolfeConf { c1: 0.9, c2: 0.1, ..WolfeConf::default() }.validate().is_err());
        assert!(WolfeConf { max_evaluations: 0, ..WolfeConf::default() }.validate().is_err());
        assert!(WolfeConf::default().validate().is_ok());
    }
}
