//! Estimates π by throwing darts at the unit square, as Spark's SparkPi.
//! Prints `pi=<estimate>` as its last line on stdout.
//!
//! `pi [--partitions N] [--samples N] [--seed S] [--master URL] [--conf k=v]...`

use clap::Parser;
use ember_examples::ClusterArgs;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

#[derive(Parser)]
#[command(about = "Estimate pi by Monte Carlo sampling")]
struct Args {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Number of partitions (tasks).
    #[arg(long, default_value_t = 2)]
    partitions: usize,
    /// Total number of samples.
    #[arg(long, default_value_t = 1_000_000)]
    samples: u64,
    /// Seed of the random numbers (each partition derives its own).
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

fn main() -> std::process::ExitCode {
    ember_examples::run(body)
}

fn body() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.partitions > 0, "--partitions must be at least 1");
    anyhow::ensure!(args.samples > 0, "--samples must be at least 1");
    let ctx = args.cluster.context("pi")?;
    let n = args.samples;
    let inside: u64 = ctx
        .range(0, n as i64, 1, args.partitions)?
        .map_partitions_with(args.seed, |&seed, index, it| {
            let mut rng = SmallRng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let hits = it
                .filter(|_| {
                    let (x, y): (f64, f64) = (rng.random(), rng.random());
                    x * x + y * y <= 1.0
                })
                .count() as u64;
            std::iter::once(hits)
        })
        .sum()?;
    println!("pi={}", 4.0 * inside as f64 / n as f64);
    Ok(())
}
