//! Writes the points `kmeans` generates when it has no INPUT (`--rows`
//! points in `--cols` dimensions around `--k` gaussian blobs, from
//! `--seed`) as Parquet, so the same data can be put where a cluster reads
//! it: `gen-points --rows 1000000 s3://data/points.parquet`, then
//! `kmeans s3://data/points.parquet`.
//!
//! OUT is a directory (or an `s3://` prefix) of `part-NNNNN.parquet` files,
//! one per partition, plus `_SUCCESS`, with one `Float64` column per
//! dimension (`x0`, `x1`, ...). It must end in `.parquet`: the numeric
//! examples tell an INPUT's format by its name. Needs the `parquet` feature
//! (`cargo run --release -p ember-examples --features parquet --bin gen-points`).
//!
//! Prints one line: `rows= cols= partitions= seconds= out=`.

use clap::Parser;
use ember_examples::ClusterArgs;
use ember_ml::data;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "write kmeans' generated points (gaussian blobs) as Parquet")]
struct Args {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Points to generate.
    #[arg(long, default_value_t = 200_000)]
    rows: usize,
    /// Dimensions of each point.
    #[arg(long, default_value_t = 10)]
    cols: usize,
    /// Number of blobs.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Seed of the generated data (kmeans' --seed makes the same points).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Number of partitions, and so of part files (default: the context's parallelism).
    #[arg(long)]
    partitions: Option<usize>,
    /// Where to write: a new directory or an s3:// prefix ending in .parquet.
    out: String,
}

impl Args {
    /// Refuses meaningless flags before a context starts, naming them.
    fn validate(&self) -> anyhow::Result<()> {
        for (flag, value) in [("--rows", self.rows), ("--cols", self.cols), ("--k", self.k)] {
            anyhow::ensure!(value > 0, "{flag} must be at least 1");
        }
        anyhow::ensure!(self.partitions != Some(0), "--partitions must be at least 1");
        anyhow::ensure!(
            self.out.trim_end_matches('/').ends_with(".parquet"),
            "{}: OUT must end in .parquet (the numeric examples tell an INPUT's format by its name)",
            self.out
        );
        Ok(())
    }
}

fn main() -> std::process::ExitCode {
    ember_examples::run(body)
}

fn body() -> anyhow::Result<()> {
    let args = Args::parse();
    args.validate()?;
    let ctx = args.cluster.context("gen-points")?;
    let parts = args.partitions.unwrap_or(ctx.default_parallelism()).max(1);
    let start = Instant::now();
    let (points, _) = data::blobs(&ctx, args.rows, args.cols, args.k, args.seed, parts)?;
    data::save_parquet(&points, &args.out, None)?;
    println!(
        "rows={} cols={} partitions={} seconds={:.3} out={}",
        args.rows,
        args.cols,
        points.num_partitions(),
        start.elapsed().as_secs_f64(),
        args.out
    );
    Ok(())
}
