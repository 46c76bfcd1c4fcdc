//! k-means clustering with `ember-ml`: k-means‖ (default) or k-means++
//! initialization, then Lloyd iterations over the cached points until no
//! center moves more than `--tolerance`.
//!
//! With no input it clusters generated data: `--rows` points in `--cols`
//! dimensions around `--k` well-separated gaussian blobs (seeded), and also
//! reports `center_error`, the largest distance from a true center to the
//! nearest center found. INPUT is a .csv, .libsvm, .parquet (numeric
//! columns; `gen-points` writes the generated data as one) or raw .f64 file
//! (the latter with `--rows` and `--cols`), on disk or at an `s3://` URL.
//!
//! Prints one line: `cost= iterations= init_seconds= seconds= [center_error=]`.

use clap::Parser;
use ember_examples::{ClusterArgs, DataArgs, DataSource};
use ember_ml::data;
use ember_ml::kmeans::{self, Init, KMeansConfig};
use std::time::Instant;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum InitArg {
    #[value(name = "kmeans++")]
    PlusPlus,
    #[value(name = "kmeans||")]
    Parallel,
}

#[derive(Parser)]
#[command(about = "k-means clustering (k-means‖ or k-means++ initialization, Lloyd iterations)")]
struct Args {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Number of clusters.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Initialization.
    #[arg(long, value_enum, default_value = "kmeans||")]
    init: InitArg,
    /// Maximum number of Lloyd iterations.
    #[arg(long, default_value_t = 50)]
    max_iterations: usize,
    /// Stop when no center moves more than this (negative: run every one of
    /// --max-iterations).
    #[arg(long, default_value_t = 1e-4, allow_negative_numbers = true)]
    tolerance: f64,
    // INPUT, or --rows points in --cols dimensions to generate (200000 × 10); --seed, --partitions.
    #[command(flatten)]
    data: DataArgs,
}

/// The generated data's shape when `--rows` / `--cols` are not given.
const DEFAULT_ROWS: usize = 200_000;
const DEFAULT_COLS: usize = 10;

impl Args {
    /// Refuses meaningless flags before a context starts, naming them.
    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.k > 0, "--k must be at least 1");
        anyhow::ensure!(self.max_iterations > 0, "--max-iterations must be at least 1");
        anyhow::ensure!(!self.tolerance.is_nan(), "--tolerance must be a number");
        self.data.validate(DEFAULT_ROWS, DEFAULT_COLS)?;
        if self.data.input.is_none() {
            let rows = self.data.rows.unwrap_or(DEFAULT_ROWS);
            anyhow::ensure!(self.k <= rows, "--k {} is more than --rows {rows}: at most one cluster per point", self.k);
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
    let ctx = args.cluster.context("kmeans")?;
    let parts = args.data.partitions(&ctx);
    let (points, truth) = match args.data.source(DEFAULT_ROWS, DEFAULT_COLS)? {
        DataSource::File { path, format } => {
            let points = data::load_matrix(&ctx, path, &format, parts)?.cache();
            // Loads and caches the points (a bad value fails here, naming its line).
            let rows: usize = points.map(|b: ember_ml::Block| b.nrows()).sum()?;
            anyhow::ensure!(
                args.k <= rows,
                "--k {} is more than the {rows} rows of {path}: at most one cluster per point",
                args.k
            );
            (points, None)
        }
        DataSource::Generated { rows, cols } => {
            let (points, centers) = data::blobs(&ctx, rows, cols, args.k, args.data.seed, parts)?;
            (points.cache(), Some(centers))
        }
    };
    let init = match args.init {
        InitArg::PlusPlus => Init::KMeansPlusPlus,
        InitArg::Parallel => Init::parallel(),
    };
    let config = KMeansConfig {
        k: args.k,
        init,
        max_iterations: args.max_iterations,
        tolerance: args.tolerance,
        seed: args.data.seed,
    };
    let start = Instant::now();
    let model = kmeans::train(&points, &config)?;
    let seconds = start.elapsed().as_secs_f64();
    let mut line = format!(
        "cost={:.6} iterations={} init_seconds={:.3} seconds={seconds:.3}",
        model.cost, model.iterations, model.init_seconds
    );
    if let Some(truth) = truth {
        let error = truth
            .iter()
            .map(|t| {
                model
                    .centers
                    .rows()
                    .into_iter()
                    .map(|c| c.iter().zip(t).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt())
                    .fold(f64::INFINITY, f64::min)
            })
            .fold(0.0, f64::max);
        line.push_str(&format!(" center_error={error:.6}"));
    }
    println!("{line}");
    Ok(())
}
