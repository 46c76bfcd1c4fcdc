//! QR factorization of a tall-and-skinny matrix as an RDD program (Benson,
//! Gleich & Demmel 2013): TSQR (R only), Direct TSQR, Cholesky QR and QR2,
//! indirect TSQR (`Q = A R⁻¹`, `--refine` for one refinement step), and the
//! SVD from R.
//!
//! With no INPUT it factors a generated `--rows × --cols` matrix of condition
//! number `--cond` (seeded). INPUT is a `.csv`, `.libsvm`/`.svm`, `.parquet`
//! (numeric columns), or raw
//! little-endian f64 file (`.f64`/`.bin`/`.raw`, which needs `--rows` and
//! `--cols`). The matrix is cached and computed before the clock starts; the
//! time covers the factorization, Q included (cached and computed) when the
//! method forms one.
//!
//! Prints one line: `method= rows= cols= seconds= [orthogonality=] residual=`,
//! with `orthogonality` = ‖QᵀQ − I‖_F when Q is computed and `residual` =
//! ‖A − QR‖_F/‖A‖_F, or ‖RᵀR − AᵀA‖_F/‖AᵀA‖_F for TSQR, which computes only R.

use clap::{Parser, ValueEnum};
use ember::prelude::*;
use ember_examples::{ClusterArgs, DataArgs, DataSource};
use ember_ml::Block;
use ember_ml::data::load_matrix;
use ember_ml::qr::{self, Method};
use std::time::Instant;

#[derive(Parser)]
#[command(about = "QR factorization of a tall-and-skinny matrix (TSQR, Direct TSQR, Cholesky QR, SVD)")]
#[command(mut_arg("rows", |a| a.help("Rows of the generated matrix (default 1,000,000), or of a raw f64 INPUT")))]
#[command(mut_arg("cols", |a| a.help("Columns of the generated matrix (default 10), or of a raw f64 INPUT")))]
struct Args {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// The factorization.
    #[arg(long, value_enum, default_value_t = CliMethod::DirectTsqr)]
    method: CliMethod,
    /// With `--method indirect`: one refinement step (a TSQR of Q = A R⁻¹).
    #[arg(long)]
    refine: bool,
    /// Condition number of the generated matrix.
    #[arg(long, default_value_t = 1e6)]
    cond: f64,
    // INPUT, or the --rows × --cols matrix to generate; --seed, --partitions.
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum CliMethod {
    Tsqr,
    DirectTsqr,
    Cholesky,
    Cholesky2,
    Indirect,
    Svd,
}

impl CliMethod {
    fn method(self, refine: bool) -> Method {
        match self {
            CliMethod::Tsqr => Method::Tsqr,
            CliMethod::DirectTsqr => Method::DirectTsqr,
            CliMethod::Cholesky => Method::Cholesky,
            CliMethod::Cholesky2 => Method::Cholesky2,
            CliMethod::Indirect => Method::Indirect { refine },
            CliMethod::Svd => Method::Svd,
        }
    }
}

/// The generated matrix's shape when `--rows` / `--cols` are not given.
const DEFAULT_ROWS: usize = 1_000_000;
const DEFAULT_COLS: usize = 10;

impl Args {
    /// Refuses meaningless flags before a context starts, naming them.
    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.refine || matches!(self.method, CliMethod::Indirect),
            "--refine goes with --method indirect"
        );
        anyhow::ensure!(self.cond.is_finite() && self.cond >= 1.0, "--cond must be finite and ≥ 1, got {}", self.cond);
        self.data.validate(DEFAULT_ROWS, DEFAULT_COLS)?;
        if self.data.input.is_none() {
            let (rows, cols) = (self.data.rows.unwrap_or(DEFAULT_ROWS), self.data.cols.unwrap_or(DEFAULT_COLS));
            anyhow::ensure!(
                rows >= cols,
                "--rows {rows} is less than --cols {cols}: the QR methods here are for tall-and-skinny matrices"
            );
        }
        Ok(())
    }
}

fn main() -> std::process::ExitCode {
    ember_examples::run(body)
}

fn body() -> anyhow::Result<()> {
    let args = Args::parse();
    args.validate()?;
    let method = args.method.method(args.refine);
    let ctx = args.cluster.context("qr")?;
    let parts = args.data.partitions(&ctx);
    let a = matrix(&ctx, &args, parts)?.cache();
    let rows: usize = a.map(|b: Block| b.nrows()).sum()?;

    let start = Instant::now();
    let f = qr::factor(&a, method)?;
    let seconds = start.elapsed().as_secs_f64();

    let cols = f.r.ncols();
    let mut line = format!("method={} rows={rows} cols={cols} seconds={seconds:.3}", method.name());
    match &f.q {
        Some(q) => {
            let orthogonality = qr::orthogonality(q)?;
            let residual = qr::residual(&a, q, &f.r)?;
            line.push_str(&format!(" orthogonality={orthogonality:.3e} residual={residual:.3e}"));
        }
        None => line.push_str(&format!(" residual={:.3e}", qr::gram_residual(&a, &f.r)?)),
    }
    println!("{line}");
    Ok(())
}

/// The input matrix, or a generated one.
fn matrix(ctx: &Context, args: &Args, parts: usize) -> anyhow::Result<Rdd<Block>> {
    Ok(match args.data.source(DEFAULT_ROWS, DEFAULT_COLS)? {
        DataSource::File { path, format } => load_matrix(ctx, path, &format, parts)?,
        DataSource::Generated { rows, cols } => qr::generate_matrix(ctx, rows, cols, args.cond, args.data.seed, parts)?,
    })
}
