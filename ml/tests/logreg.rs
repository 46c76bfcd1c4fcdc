//! Logistic regression end to end: the distributed gradient against finite
//! differences, both solvers against the Bayes accuracy of generated data,
//! the L-BFGS optimum against a dense Newton solution computed here, and the
//! same answers in `local-cluster[2]` as in `local[1]`.

use ember::prelude::*;
use ember_ml::logreg::{
    GradientDescent, Lbfgs, LogisticModel, Objective, ObjectiveConf, Termination, bayes_accuracy, generate,
    generate_from, true_model,
};
use ember_ml::{LabeledBlock, MlError};
use faer::linalg::solvers::Solve;
use faer::{Col, Mat, Side};
use ndarray::{Array1, Array2};
use std::sync::OnceLock;

static LOCAL: OnceLock<Context> = OnceLock::new();
static LOCAL_CLUSTER: OnceLock<Context> = OnceLock::new();

/// The context of `master`, shared by every test of this binary (a
/// local-cluster context spawns backend processes: once is enough).
fn ctx(master: &str) -> &'static Context {
    let cell = match master {
        "local[1]" => &LOCAL,
        "local-cluster[2]" => &LOCAL_CLUSTER,
        other => panic!("no shared context for master {other}"),
    };
    cell.get_or_init(|| Context::new(Conf::new().master(master).app_name("logreg-test")).expect("the context starts"))
}

const ROWS: usize = 5_000;
const COLS: usize = 10;
const PARTITIONS: usize = 4;

/// Training data and held-out data (other rows of the same true model).
fn train_and_test(ctx: &Context, seed: u64) -> (Rdd<LabeledBlock>, Rdd<LabeledBlock>, LogisticModel) {
    let (train, w, b) = generate(ctx, ROWS, COLS, seed, PARTITIONS).unwrap();
    let truth = LogisticModel::new(w, b);
    let test = generate_from(ctx, &truth, ROWS, seed + 1_000, PARTITIONS).unwrap();
    (train, test, truth)
}

#[test]
fn distributed_gradient_matches_finite_differences() {
    let (data, _, _) = generate(ctx("local-cluster[2]"), 2_000, 5, 11, 3).unwrap();
    let conf = ObjectiveConf { reg: 0.1, ..ObjectiveConf::default() };
    let mut objective = Objective::new(&data, conf).unwrap();
    let theta = [0.3, -0.7, 0.2, 1.1, -0.4, 0.25];
    let (_, gradient) = objective.value_gradient(&theta).unwrap();
    let h = 1e-5;
    for j in 0..theta.len() {
        let (mut plus, mut minus) = (theta, theta);
        plus[j] += h;
        minus[j] -= h;
        let fd = (objective.value_gradient(&plus).unwrap().0 - objective.value_gradient(&minus).unwrap().0) / (2.0 * h);
        let error = (fd - gradient[j]).abs();
        eprintln!("∂f/∂θ{j}: pass {:.12} central difference {fd:.12} error {error:.1e}", gradient[j]);
        assert!(error < 1e-8, "component {j}: gradient {} vs finite difference {fd}", gradient[j]);
    }
    // The gradient-only pass (gradient descent's; the packed kernel on CPUs
    // with AVX2, which sums in another order) agrees with the combined one
    // to rounding.
    for (alone, combined) in objective.gradient(&theta).unwrap().iter().zip(&gradient) {
        assert!((alone - combined).abs() <= 1e-13 * combined.abs().max(1.0), "{alone} vs {combined}");
    }
}

#[test]
fn gradient_descent_reaches_the_bayes_accuracy() {
    let (train, test, truth) = train_and_test(ctx("local-cluster[2]"), 21);
    let fit = GradientDescent::default().iterations(150).step_size(4.0).fit(&train).unwrap();
    assert_eq!((fit.iterations, fit.passes, fit.termination), (150, 150, Termination::MaxIterations));
    check_bayes_accuracy("gradient descent", &fit.model, &truth, &train, &test);
}

#[test]
fn lbfgs_reaches_the_bayes_accuracy() {
    let (train, test, truth) = train_and_test(ctx("local-cluster[2]"), 31);
    let fit = Lbfgs::default().fit(&train).unwrap();
    eprintln!("L-BFGS: {fit:?}");
    assert!(matches!(fit.termination, Termination::GradientTolerance | Termination::LossTolerance));
    assert!(fit.iterations < 40 && fit.passes < 2 * fit.iterations + 5, "{fit:?}");
    check_bayes_accuracy("L-BFGS", &fit.model, &truth, &train, &test);
}

/// The fitted model's accuracy is within 1% of the Bayes classifier's, on the
/// training rows and on held-out rows; its weights are near the true ones.
fn check_bayes_accuracy(
    solver: &str,
    model: &LogisticModel,
    truth: &LogisticModel,
    train: &Rdd<LabeledBlock>,
    test: &Rdd<LabeledBlock>,
) {
    for (name, data) in [("train", train), ("test", test)] {
        let bayes = bayes_accuracy(data, &truth.weights, truth.intercept).unwrap();
        let eval = model.evaluate(data).unwrap();
        let best_loss = truth.log_loss(data).unwrap();
        eprintln!(
            "{solver} {name}: accuracy {:.4} (Bayes {bayes:.4}), log-loss {:.4} (true model {best_loss:.4})",
            eval.accuracy, eval.log_loss
        );
        assert!(eval.accuracy >= bayes - 0.01, "{solver} {name}: accuracy {} vs Bayes {bayes}", eval.accuracy);
        assert!(eval.log_loss <= best_loss + 0.01, "{solver} {name}: log-loss {} vs {best_loss}", eval.log_loss);
    }
    let error = model.params().iter().zip(truth.params()).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
    assert!(error < 0.35, "{solver}: ‖θ − θ*‖ = {error}");
}

#[test]
fn lbfgs_optimum_matches_a_dense_newton_solution() {
    let ctx = ctx("local-cluster[2]");
    for (reg, fit_intercept) in [(0.01, true), (1e-4, true), (0.1, false)] {
        let (data, _, _) = generate(ctx, ROWS, COLS, 41, PARTITIONS).unwrap();
        let lbfgs = Lbfgs::default().reg(reg).fit_intercept(fit_intercept);
        let fit = lbfgs.gradient_tolerance(1e-10).loss_tolerance(0.0).max_iterations(500).fit(&data).unwrap();
        let reference = newton(&data.collect().unwrap(), reg, fit_intercept);
        let error = fit.model.params().iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        eprintln!(
            "λ = {reg}, intercept {fit_intercept}: {} iterations, {} passes, {:?}, ‖∇f‖ {:.1e}, max |θ − θ_Newton| {error:.1e}",
            fit.iterations, fit.passes, fit.termination, fit.gradient_norm
        );
        assert!(error <= 1e-6, "λ = {reg}: L-BFGS {:?} vs Newton {reference:?}", fit.model.params());
    }
}

/// The minimizer of the same objective by Newton's method on all rows in
/// this process, with dense faer matrices: `θ ← θ − H⁻¹∇f` with
/// `H = (1/n) X̃ᵀ diag(p(1 − p)) X̃ + λ diag(1, …, 1, 0)`, `X̃ = [X 1]`.
fn newton(blocks: &[LabeledBlock], reg: f64, fit_intercept: bool) -> Vec<f64> {
    let d = blocks[0].x.ncols();
    let rows: Vec<(Vec<f64>, f64)> = blocks
        .iter()
        .flat_map(|b| b.x.rows().into_iter().map(|r| r.to_vec()).zip(b.y.iter().copied()).collect::<Vec<_>>())
        .collect();
    let n = rows.len();
    let k = if fit_intercept { d + 1 } else { d };
    let xa = Mat::from_fn(n, k, |i, j| if j < d { rows[i].0[j] } else { 1.0 });
    let penalty = Col::from_fn(k, |j| if j < d { reg } else { 0.0 });
    let mut theta = Col::<f64>::zeros(k);
    for _ in 0..100 {
        let z = &xa * &theta;
        let p = Col::from_fn(n, |i| 1.0 / (1.0 + (-z[i]).exp()));
        let r = Col::from_fn(n, |i| (p[i] - rows[i].1) / n as f64);
        let mut g = xa.transpose() * &r;
        let weighted = Mat::from_fn(n, k, |i, j| xa[(i, j)] * (p[i] * (1.0 - p[i]) / n as f64).sqrt());
        let mut h = weighted.transpose() * &weighted;
        for j in 0..k {
            g[j] += penalty[j] * theta[j];
            h[(j, j)] += penalty[j];
        }
        let step = h.llt(Side::Lower).expect("the Hessian is positive definite").solve(&g);
        theta -= &step;
        if step.norm_l2() < 1e-15 {
            break;
        }
    }
    let mut params: Vec<f64> = (0..k).map(|j| theta[j]).collect();
    if !fit_intercept {
        params.push(0.0);
    }
    params
}

#[test]
fn local_cluster_results_equal_local_ones() {
    let run = |master: &str| {
        let ctx = ctx(master);
        let (data, w, b) = generate(ctx, ROWS, COLS, 51, PARTITIONS).unwrap();
        let lbfgs = Lbfgs::default().reg(0.01).fit(&data).unwrap();
        let gd = GradientDescent::default().iterations(20).fit(&data).unwrap();
        let eval = lbfgs.model.evaluate(&data).unwrap();
        (data.collect().unwrap(), w, b, lbfgs, gd, eval)
    };
    let (local, cluster) = (run("local[1]"), run("local-cluster[2]"));
    assert!(local.0 == cluster.0, "generated data differs");
    assert_eq!((&local.1, local.2), (&cluster.1, cluster.2));
    // Bit-identical: same partitions, same kernels, partials merged in partition order.
    assert_eq!(local.3, cluster.3);
    assert_eq!(local.4, cluster.4);
    assert_eq!(local.5, cluster.5);
    eprintln!("local[1] and local-cluster[2]: identical fits ({} L-BFGS iterations)", local.3.iterations);
}

#[test]
fn driver_predictions_agree_with_the_distributed_evaluation() {
    let (data, w, b) = generate(ctx("local-cluster[2]"), 1_000, 4, 61, 3).unwrap();
    let model = LogisticModel::new(w.iter().map(|w| 0.8 * w).collect(), b + 0.1);
    let (mut correct, mut loss, mut n) = (0usize, 0.0f64, 0usize);
    for block in data.collect().unwrap() {
        let predicted = model.predict(&block.x).unwrap();
        let p = model.predict_proba(&block.x).unwrap();
        for ((&yhat, &p), &y) in predicted.iter().zip(&p).zip(&block.y) {
            correct += usize::from(yhat == y);
            loss -= if y == 1.0 { p.ln() } else { (1.0 - p).ln() };
            n += 1;
        }
    }
    let eval = model.evaluate(&data).unwrap();
    assert_eq!(eval.rows, n as u64);
    assert_eq!(eval.accuracy, correct as f64 / n as f64);
    assert!((eval.log_loss - loss / n as f64).abs() < 1e-12);
    assert_eq!(model.accuracy(&data).unwrap(), eval.accuracy);
    assert_eq!(model.log_loss(&data).unwrap(), eval.log_loss);
}

#[test]
fn malformed_data_is_an_error_not_a_panic() {
    let ctx = ctx("local[1]");
    let block = |rows: usize, cols: usize, label: f64| LabeledBlock {
        x: Array2::from_elem((rows, cols), 0.5).into_shared(),
        y: Array1::from_elem(rows, label).into_shared(),
    };
    let cases = [
        ("widths", vec![block(3, 2, 1.0), block(3, 3, 1.0)], "feature columns"),
        ("labels", vec![block(3, 2, 1.0), block(3, 2, -1.0)], "not 0 or 1"),
        ("empty blocks", vec![block(0, 2, 1.0)], "no rows"),
    ];
    for (name, blocks, message) in cases {
        let data = ctx.parallelize(blocks, 2);
        for result in [Lbfgs::default().fit(&data), GradientDescent::default().fit(&data)] {
            match result {
                Err(MlError::InvalidInput(m)) => assert!(m.contains(message), "{name}: {m}"),
                other => panic!("{name}: expected an invalid-input error, got {other:?}"),
            }
        }
    }
    let empty = ctx.parallelize(Vec::<LabeledBlock>::new(), 2);
    assert!(matches!(Lbfgs::default().fit(&empty), Err(MlError::InvalidInput(_))));
    assert!(matches!(generate(ctx, 0, 3, 1, 2), Err(MlError::InvalidParameter(_))));
    assert!(matches!(Lbfgs::default().reg(-1.0).fit(&empty), Err(MlError::InvalidParameter(_))));
    let data = ctx.parallelize(vec![block(3, 2, 1.0)], 1);
    let mut objective = Objective::new(&data, ObjectiveConf::default()).unwrap();
    assert!(
        matches!(objective.value_gradient(&[0.0; 4]), Err(MlError::InvalidInput(m)) if m.contains("has 2 feature columns but the model has 3"))
    );
    assert!(matches!(objective.gradient(&[]), Err(MlError::InvalidParameter(_))));
    let model = true_model(3, 1);
    assert!(matches!(model.accuracy(&ctx.parallelize(vec![block(2, 2, 0.0)], 1)), Err(MlError::InvalidInput(_))));
}
