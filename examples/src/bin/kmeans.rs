//! k-means clustering as an RDD program: k-means++ initialization by
//! distributed D² sampling, then Lloyd iterations over the cached points
//! until no center moves more than `--tolerance`.
//!
//! With no input it clusters generated data: `--rows` points in `--cols`
//! dimensions, drawn from `--k` well-separated gaussian blobs (seeded), and
//! also reports `center_error`, the largest distance from a true center to the
//! nearest center found. With an INPUT, each line is a point: numbers
//! separated by commas or whitespace.
//!
//! Prints one line: `cost= iterations= init_seconds= seconds= [center_error=]`.

use clap::Parser;
use ember::prelude::*;
use ember_examples::ClusterArgs;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use std::time::Instant;

#[derive(Parser)]
#[command(about = "k-means clustering (k-means++ initialization, Lloyd iterations)")]
struct Args {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Number of clusters.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Maximum number of Lloyd iterations.
    #[arg(long, default_value_t = 30)]
    max_iterations: usize,
    /// Stop when no center moves more than this.
    #[arg(long, default_value_t = 1e-4)]
    tolerance: f64,
    /// Generated points (when no INPUT is given).
    #[arg(long, default_value_t = 200_000)]
    rows: usize,
    /// Dimensions of generated points.
    #[arg(long, default_value_t = 10)]
    cols: usize,
    /// Seed of the generated data and of the initialization.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Number of partitions (default: the context's parallelism).
    #[arg(long)]
    partitions: Option<usize>,
    /// A text file of points, one per line.
    input: Option<String>,
}

type Point = Vec<f64>;

fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Index and squared distance of the center nearest to `p`.
fn nearest(centers: &[Point], p: &[f64]) -> (usize, f64) {
    centers
        .iter()
        .enumerate()
        .map(|(i, c)| (i, dist2(c, p)))
        .fold((0, f64::INFINITY), |a, b| if b.1 < a.1 { b } else { a })
}

/// The true centers of the generated blobs: coordinates uniform in [-50, 50].
fn true_centers(k: usize, cols: usize, seed: u64) -> Vec<Point> {
    let mut rng = SmallRng::seed_from_u64(seed);
    (0..k).map(|_| (0..cols).map(|_| rng.random::<f64>() * 100.0 - 50.0).collect()).collect()
}

/// Generated points: partition `i` draws its points from its own RNG, so a
/// recomputed partition is identical.
fn generate(ctx: &Context, rows: usize, centers: Vec<Point>, seed: u64, parts: usize) -> Result<Rdd<Point>> {
    Ok(ctx.range(0, rows as i64, 1, parts)?.map_partitions_with((centers, seed), |(centers, seed), index, it| {
        let mut rng = SmallRng::seed_from_u64(seed.wrapping_add(1 + index as u64));
        let centers = centers.clone();
        it.map(move |_| {
            let c = &centers[rng.random_range(0..centers.len())];
            c.iter()
                .map(|x| {
                    // Box-Muller: a standard normal from two uniforms.
                    let (u1, u2): (f64, f64) = (rng.random::<f64>().max(f64::MIN_POSITIVE), rng.random());
                    x + (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
                })
                .collect::<Point>()
        })
    }))
}

fn parse_points(ctx: &Context, path: &str, parts: usize) -> anyhow::Result<Rdd<Point>> {
    let lines = ctx.text_file(path, parts).map_err(|e| anyhow::anyhow!("input {e}"))?;
    let parsed: Rdd<std::result::Result<Point, String>> = lines.map(|line: String| {
        line.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<f64>().map_err(|_| format!("'{s}' in line '{line}' is not a number")))
            .collect()
    });
    if let Some(Err(e)) = parsed.filter(|r| r.is_err()).take(1)?.into_iter().next() {
        anyhow::bail!("{path}: {e}");
    }
    Ok(parsed.flat_map(|r| r.ok()).filter(|p: &Point| !p.is_empty()))
}

/// Picks a point with probability proportional to its squared distance to
/// the nearest of `centers` (uniformly when there are none): one job for the
/// per-partition weights, one that draws inside the chosen partition.
fn d2_sample(points: &Rdd<Point>, centers: &[Point], rng: &mut SmallRng) -> Result<Option<Point>> {
    let weight = |centers: &[Point], p: &Point| if centers.is_empty() { 1.0 } else { nearest(centers, p).1 };
    let totals: Vec<f64> = points
        .map_partitions_with(centers.to_vec(), move |c, _, it| std::iter::once(it.map(|p| weight(c, &p)).sum::<f64>()))
        .collect()?;
    let total: f64 = totals.iter().sum();
    if total <= 0.0 {
        return Ok(None);
    }
    let mut r = rng.random::<f64>() * total;
    let part = totals
        .iter()
        .position(|&t| {
            if r < t {
                true
            } else {
                r -= t;
                false
            }
        })
        .unwrap_or(totals.len() - 1);
    let picked = points
        .map_partitions_with((centers.to_vec(), part, r), move |(c, part, r), index, it| {
            let mut acc = 0.0;
            let mut last = None;
            if index == *part {
                for p in it {
                    acc += weight(c, &p);
                    last = Some(p);
                    if acc > *r {
                        break;
                    }
                }
            }
            last
        })
        .collect()?;
    Ok(picked.into_iter().next())
}

fn kmeans_plus_plus(points: &Rdd<Point>, k: usize, seed: u64) -> Result<Vec<Point>> {
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x6b6d_6561_6e73);
    let mut centers = Vec::with_capacity(k);
    while centers.len() < k {
        match d2_sample(points, &centers, &mut rng)? {
            Some(p) => centers.push(p),
            None => break, // fewer distinct points than k
        }
    }
    Ok(centers)
}

/// Per-cluster coordinate sums and counts, and the total cost, of one pass.
type Partial = (Vec<Point>, Vec<u64>, f64);

fn lloyd_step(points: &Rdd<Point>, centers: &[Point]) -> Result<Partial> {
    let k = centers.len();
    let d = centers[0].len();
    let zero: Partial = (vec![vec![0.0; d]; k], vec![0; k], 0.0);
    let partials = points.map_partitions_with((centers.to_vec(), zero.clone()), |(c, zero), _, it| {
        let mut acc = zero.clone();
        for p in it {
            let (j, d2) = nearest(c, &p);
            acc.0[j].iter_mut().zip(&p).for_each(|(s, x)| *s += x);
            acc.1[j] += 1;
            acc.2 += d2;
        }
        std::iter::once(acc)
    });
    Ok(partials
        .reduce(|mut a, b| {
            for (sa, sb) in a.0.iter_mut().zip(&b.0) {
                sa.iter_mut().zip(sb).for_each(|(x, y)| *x += y);
            }
            a.1.iter_mut().zip(&b.1).for_each(|(x, y)| *x += y);
            a.2 += b.2;
            a
        })?
        .unwrap_or(zero))
}

fn main() -> std::process::ExitCode {
    ember_examples::run(body)
}

fn body() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.k > 0, "--k must be at least 1");
    anyhow::ensure!(args.cols > 0 && args.rows > 0, "--rows and --cols must be at least 1");
    let ctx = args.cluster.context("kmeans")?;
    let parts = args.partitions.unwrap_or(ctx.default_parallelism()).max(1);
    let truth = args.input.is_none().then(|| true_centers(args.k, args.cols, args.seed));
    let points = match (&args.input, &truth) {
        (Some(path), _) => parse_points(&ctx, path, parts)?,
        (None, Some(t)) => generate(&ctx, args.rows, t.clone(), args.seed, parts)?,
        (None, None) => unreachable!("truth exists without input"),
    }
    .cache();
    anyhow::ensure!(points.count()? > 0, "no points to cluster");

    let start = Instant::now();
    let mut centers = kmeans_plus_plus(&points, args.k, args.seed)?;
    let init_seconds = start.elapsed().as_secs_f64();
    let mut iterations = 0;
    let mut cost;
    loop {
        let (sums, counts, c) = lloyd_step(&points, &centers)?;
        cost = c;
        iterations += 1;
        let mut moved: f64 = 0.0;
        for ((center, sum), n) in centers.iter_mut().zip(sums).zip(counts) {
            if n > 0 {
                let new: Point = sum.iter().map(|s| s / n as f64).collect();
                moved = moved.max(dist2(center, &new).sqrt());
                *center = new;
            }
        }
        if moved <= args.tolerance || iterations >= args.max_iterations {
            break;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let mut line =
        format!("cost={cost:.6} iterations={iterations} init_seconds={init_seconds:.3} seconds={seconds:.3}");
    if let Some(truth) = truth {
        let error = truth.iter().map(|t| nearest(&centers, t).1.sqrt()).fold(0.0, f64::max);
        line.push_str(&format!(" center_error={error:.6}"));
    }
    println!("{line}");
    Ok(())
}
