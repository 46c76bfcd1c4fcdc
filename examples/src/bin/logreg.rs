//! Binary logistic regression as an RDD program: the rows are cached as
//! blocks on the executors, and the driver fits the weights by full-batch
//! gradient descent (Spark's classic SparkLR loop, `--solver gd`) or by
//! L-BFGS with a strong Wolfe line search (`--solver lbfgs`, the default),
//! minimizing the mean log-loss plus `(reg/2)‖w‖²`, with an intercept.
//!
//! With no input it fits generated data: `--rows` rows of `--cols` standard
//! normal features, labels drawn from a known logistic model (seeded), and
//! first prints `bayes_accuracy=`, the accuracy of that true model on the
//! rows, which no classifier beats in expectation. An INPUT is a `.csv`
//! (label 0/1, then the features, per line), `.libsvm`/`.svm`, `.parquet`
//! (numeric columns, the 0/1 label first), or a raw
//! little-endian f64 file (`.f64`/`.bin`/`.raw`, row-major, label first; give
//! its `--rows` and `--cols`, label column included).
//!
//! The last line is `accuracy= logloss= iterations= seconds=`: accuracy and
//! mean log-loss of the fitted model on the data, and the time of the fit
//! alone (the data is loaded and cached before the clock starts).

use clap::{Parser, ValueEnum};
use ember::prelude::*;
use ember_examples::{ClusterArgs, DataArgs, DataSource};
use ember_ml::LabeledBlock;
use ember_ml::data::load_labeled;
use ember_ml::logreg::{Fit, GradientDescent, Lbfgs, bayes_accuracy, generate};
use std::time::Instant;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Solver {
    /// Full-batch gradient descent with a fixed step.
    Gd,
    /// L-BFGS with a strong Wolfe line search.
    Lbfgs,
}

#[derive(Parser)]
#[command(about = "logistic regression (gradient descent or L-BFGS) on cached row blocks")]
#[command(mut_arg("rows", |a| a.help("Generated rows (default 1000000), or the rows of a raw f64 INPUT")))]
#[command(mut_arg("cols", |a| a.help("Generated features (default 10), or the columns of a raw f64 INPUT (label included)")))]
struct Args {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// The optimizer.
    #[arg(long, value_enum, default_value_t = Solver::Lbfgs)]
    solver: Solver,
    /// Iterations: exactly this many for gd, at most this many for lbfgs.
    #[arg(long, default_value_t = 100)]
    iterations: usize,
    /// L2 regularization strength (the intercept is not regularized).
    #[arg(long, default_value_t = 0.0)]
    reg: f64,
    /// The fixed step of gradient descent.
    #[arg(long, default_value_t = 1.0)]
    step: f64,
    /// L-BFGS stops when the gradient's norm is at most this.
    #[arg(long, default_value_t = 1e-6)]
    tolerance: f64,
    /// Fit no intercept (b = 0).
    #[arg(long)]
    no_intercept: bool,
    // INPUT of labeled rows, or the --rows × --cols features to generate; --seed, --partitions.
    #[command(flatten)]
    data: DataArgs,
}

/// The generated data's shape when `--rows` / `--cols` are not given.
const DEFAULT_ROWS: usize = 1_000_000;
const DEFAULT_COLS: usize = 10;

impl Args {
    /// Refuses meaningless flags before a context starts, naming them.
    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.iterations > 0, "--iterations must be at least 1");
        anyhow::ensure!(self.reg.is_finite() && self.reg >= 0.0, "--reg must be finite and ≥ 0, got {}", self.reg);
        anyhow::ensure!(self.step.is_finite() && self.step > 0.0, "--step must be finite and > 0, got {}", self.step);
        anyhow::ensure!(
            self.tolerance.is_finite() && self.tolerance >= 0.0,
            "--tolerance must be finite and ≥ 0, got {}",
            self.tolerance
        );
        self.data.validate(DEFAULT_ROWS, DEFAULT_COLS)
    }
}

fn main() -> std::process::ExitCode {
    ember_examples::run(body)
}

fn body() -> anyhow::Result<()> {
    let args = Args::parse();
    args.validate()?;
    let ctx = args.cluster.context("logreg")?;
    let partitions = args.data.partitions(&ctx);
    let data = match args.data.source(DEFAULT_ROWS, DEFAULT_COLS)? {
        DataSource::File { path, format } => load_labeled(&ctx, path, &format, partitions)?.cache(),
        DataSource::Generated { rows, cols } => generated(&ctx, rows, cols, args.data.seed, partitions)?,
    };
    let blocks = data.count()?; // loads and caches the data before the clock starts
    anyhow::ensure!(blocks > 0, "no rows to fit");

    let start = Instant::now();
    let fit = solve(&args, &data)?;
    let seconds = start.elapsed().as_secs_f64();
    eprintln!(
        "{:?}: {:?} after {} passes over the data, gradient norm {:.3e}",
        args.solver, fit.termination, fit.passes, fit.gradient_norm
    );
    let eval = fit.model.evaluate(&data)?;
    println!(
        "accuracy={:.6} logloss={:.6} iterations={} seconds={seconds:.3}",
        eval.accuracy, eval.log_loss, fit.iterations
    );
    Ok(())
}

/// Generated data; prints the Bayes accuracy on it.
fn generated(
    ctx: &Context,
    rows: usize,
    cols: usize,
    seed: u64,
    partitions: usize,
) -> anyhow::Result<Rdd<LabeledBlock>> {
    let (data, weights, intercept) = generate(ctx, rows, cols, seed, partitions)?;
    println!("bayes_accuracy={:.6}", bayes_accuracy(&data, &weights, intercept)?);
    Ok(data)
}

fn solve(args: &Args, data: &Rdd<LabeledBlock>) -> anyhow::Result<Fit> {
    let fit = match args.solver {
        Solver::Gd => GradientDescent::default()
            .reg(args.reg)
            .fit_intercept(!args.no_intercept)
            .iterations(args.iterations)
            .step_size(args.step)
            .fit(data)?,
        Solver::Lbfgs => Lbfgs::default()
            .reg(args.reg)
            .fit_intercept(!args.no_intercept)
            .max_iterations(args.iterations)
            .gradient_tolerance(args.tolerance)
            .fit(data)?,
    };
    Ok(fit)
}
