//! A fitted logistic model `P(y = 1 | x) = σ(w·x + b)`: prediction on a block
//! in the driver, and accuracy and log-loss over an RDD in one distributed
//! pass.

use super::kernel::{DataProblem, check_shape, chunk_rows, linear, softplus_sigmoid};
use crate::block::LabeledBlock;
use crate::error::{MlError, Result};
use ember::prelude::*;
use ndarray::{Array1, AsArray, Ix2};
use serde::{Deserialize, Serialize};

/// Weights and intercept of a binary logistic model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogisticModel {
    /// One weight per feature.
    pub weights: Vec<f64>,
    /// The bias `b` (not regularized).
    pub intercept: f64,
}

/// Accuracy and mean log-loss of a model over labeled rows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Rows evaluated.
    pub rows: u64,
    /// Fraction of rows whose label is predicted (threshold ½).
    pub accuracy: f64,
    /// Mean of `−y log p − (1 − y) log(1 − p)`.
    pub log_loss: f64,
}

/// Partial sums of an evaluation pass.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct EvalSums {
    rows: u64,
    correct: u64,
    loss: f64,
    problem: Option<DataProblem>,
}

impl EvalSums {
    fn merge(mut self, other: EvalSums) -> EvalSums {
        self.rows += other.rows;
        self.correct += other.correct;
        self.loss += other.loss;
        self.problem = self.problem.or(other.problem);
        self
    }
}

impl LogisticModel {
    pub fn new(weights: Vec<f64>, intercept: f64) -> LogisticModel {
        LogisticModel { weights, intercept }
    }

    /// The model of a parameter vector `(w, b)` (intercept last).
    pub fn from_params(params: &[f64]) -> LogisticModel {
        match params.split_last() {
            Some((&b, w)) => LogisticModel::new(w.to_vec(), b),
            None => LogisticModel::new(Vec::new(), 0.0),
        }
    }

    /// The parameter vector `(w, b)`, intercept last.
    pub fn params(&self) -> Vec<f64> {
        let mut p = self.weights.clone();
        p.push(self.intercept);
        p
    }

    pub fn num_features(&self) -> usize {
        self.weights.len()
    }

    /// The margins `z = X w + b` of the rows of `x`.
    pub fn decision_function<'a>(&self, x: impl AsArray<'a, f64, Ix2>) -> Result<Array1<f64>> {
        let x = x.into();
        if x.ncols() != self.num_features() {
            return Err(MlError::InvalidInput(format!(
                "rows have {} features but the model has {}",
                x.ncols(),
                self.num_features()
            )));
        }
        let x = x.as_standard_layout();
        let data = x.as_slice().ok_or_else(|| MlError::InvalidInput("a block is not contiguous".into()))?;
        let view = faer::MatRef::from_row_major_slice(data, x.nrows(), x.ncols());
        let mut z = Array1::zeros(x.nrows());
        if let Some(out) = z.as_slice_mut() {
            linear(view, &self.weights, out);
        }
        Ok(z.mapv_into(|z| z + self.intercept))
    }

    /// `P(y = 1 | x)` for every row of `x`.
    pub fn predict_proba<'a>(&self, x: impl AsArray<'a, f64, Ix2>) -> Result<Array1<f64>> {
        Ok(self.decision_function(x)?.mapv_into(|z| softplus_sigmoid(z).1))
    }

    /// The predicted label (0 or 1, threshold ½) of every row of `x`.
    pub fn predict<'a>(&self, x: impl AsArray<'a, f64, Ix2>) -> Result<Array1<f64>> {
        Ok(self.decision_function(x)?.mapv_into(|z| if z > 0.0 { 1.0 } else { 0.0 }))
    }

    /// Accuracy and mean log-loss over `data`, in one distributed pass.
    pub fn evaluate(&self, data: &Rdd<LabeledBlock>) -> Result<Evaluation> {
        let partials = data.map_partitions_with(self.params(), |params, _, blocks| {
            let mut sums = EvalSums::default();
            blocks.for_each(|block| eval_block(params, &block, &mut sums));
            std::iter::once(sums)
        });
        let sums = partials.tree_aggregate(EvalSums::default(), EvalSums::merge, EvalSums::merge, 2)?;
        if let Some(problem) = sums.problem {
            return Err(problem.into());
        }
        if sums.rows == 0 {
            return Err(MlError::InvalidInput("no rows to evaluate the model on".into()));
        }
        let n = sums.rows as f64;
        Ok(Evaluation { rows: sums.rows, accuracy: sums.correct as f64 / n, log_loss: sums.loss / n })
    }

    /// Fraction of the rows of `data` whose label the model predicts.
    pub fn accuracy(&self, data: &Rdd<LabeledBlock>) -> Result<f64> {
        Ok(self.evaluate(data)?.accuracy)
    }

    /// Mean log-loss of the model over `data`.
    pub fn log_loss(&self, data: &Rdd<LabeledBlock>) -> Result<f64> {
        Ok(self.evaluate(data)?.log_loss)
    }
}

/// Adds the correct predictions and log-loss of `block` to `sums`.
fn eval_block(params: &[f64], block: &LabeledBlock, sums: &mut EvalSums) {
    let model = LogisticModel::from_params(params);
    if let Some(problem) = check_shape(block, model.num_features()) {
        sums.problem.get_or_insert(problem);
        return;
    }
    let step = chunk_rows(model.num_features());
    for start in (0..block.rows()).step_by(step) {
        let end = (start + step).min(block.rows());
        let chunk = block.x.slice(ndarray::s![start..end, ..]);
        let Ok(z) = model.decision_function(chunk) else { continue };
        for (&z, &y) in z.iter().zip(block.y.slice(ndarray::s![start..end])) {
            if y != 0.0 && y != 1.0 {
                sums.problem.get_or_insert(DataProblem::BadLabel(y));
            }
            sums.loss += softplus_sigmoid(z).0 - y * z;
            sums.correct += u64::from((z > 0.0) == (y == 1.0));
        }
    }
    sums.rows += block.rows() as u64;
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn predictions_follow_the_sign_of_the_margin() {
        let model = LogisticModel::new(vec![1.0, -2.0], 0.5);
        let x = array![[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]];
        assert_eq!(model.decision_function(&x).unwrap(), array![1.5, -1.5, 0.5]);
        assert_eq!(model.predict(&x).unwrap(), array![1.0, 0.0, 1.0]);
        let p = model.predict_proba(&x).unwrap();
        assert!((p[0] - 1.0 / (1.0 + (-1.5f64).exp())).abs() < 1e-15);
        assert!((p[0] + p[1] - 1.0).abs() < 1e-15);
        // A transposed (column-major) view gives the same margins.
        let xt = x.t().to_owned();
        assert_eq!(model.decision_function(xt.t()).unwrap(), array![1.5, -1.5, 0.5]);
    }

    #[test]
    fn rows_of_the_wrong_width_are_an_error() {
        let model = LogisticModel::new(vec![1.0], 0.0);
        assert!(matches!(model.predict(&array![[1.0, 2.0]]), Err(MlError::InvalidInput(_))));
    }

    #[test]
    fn params_round_trip() {
        let model = LogisticModel::new(vec![1.0, 2.0], 3.0);
        assert_eq!(model.params(), vec![1.0, 2.0, 3.0]);
        assert_eq!(LogisticModel::from_params(&model.params()), model);
    }
}
