//! `--only kmeans-init`: does k-means‖ find the true clusters, and at what
//! cost, beside k-means++?
//!
//! For seeds 1…[`SEEDS`]: a data set of 1M×10 gaussian blobs (10 centers
//! drawn uniformly from [-10, 10]^10, each point a uniformly chosen center
//! plus N(0, I) noise, that seed), cached in `local[*]`, then each
//! initialization with that seed followed by Lloyd iterations to
//! convergence. (One data set for all seeds would test one arrangement of
//! blobs only: with data seed 1 the closest two centers are 15 apart, and
//! both initializations recover it on every seed.) A run *recovers* the clusters when each true center has its
//! own found center within [`RECOVERY_RADIUS`] (a blob of 100,000 points has
//! its mean within ~0.01 of its center, so a miss is two centers in one blob).
//! The section is written into BENCHMARKS.md between `<!-- kmeans-init -->`
//! markers.

use ember::prelude::*;
use ember_bench::report;
use ember_ml::kmeans::{self, Init, KMeansConfig};
use ember_ml::{Block, data};
use std::path::Path;
use std::time::Instant;

/// Init seeds 1..=SEEDS.
const SEEDS: u64 = 20;
const ROWS: usize = 1_000_000;
const COLS: usize = 10;
const K: usize = 10;
/// Centers are drawn from [-HALF_WIDTH, HALF_WIDTH]^COLS.
const HALF_WIDTH: f64 = 10.0;
/// A found center within this distance of a true one recovers it.
const RECOVERY_RADIUS: f64 = 1.0;
/// Lloyd stops when no center moves more than this, or after MAX_ITERATIONS.
const TOLERANCE: f64 = 1e-6;
const MAX_ITERATIONS: usize = 300;

/// One initialization's runs over all the seeds.
struct Runs {
    name: &'static str,
    /// Per seed: (seed, clusters recovered, init seconds, total seconds, cost, Lloyd iterations).
    runs: Vec<(u64, usize, f64, f64, f64, usize)>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Trains with `init` and records how it went.
fn measure(points: &Rdd<Block>, truth: &[Vec<f64>], runs: &mut Runs, init: Init, seed: u64) -> anyhow::Result<()> {
    let config = KMeansConfig { k: K, init, max_iterations: MAX_ITERATIONS, tolerance: TOLERANCE, seed };
    let start = Instant::now();
    let model = kmeans::train(points, &config)?;
    let total = start.elapsed().as_secs_f64();
    let found = kmeans::recovered(truth, &model.centers, RECOVERY_RADIUS);
    eprintln!(
        "kmeans-init: {} seed {seed}: {found}/{K} recovered, init {:.3} s, total {total:.3} s, cost {:.0}, {} iterations",
        runs.name, model.init_seconds, model.cost, model.iterations
    );
    runs.runs.push((seed, found, model.init_seconds, total, model.cost, model.iterations));
    Ok(())
}

/// The distance between the two closest of `centers`.
fn closest_pair(centers: &[Vec<f64>]) -> f64 {
    let dist = |a: &Vec<f64>, b: &Vec<f64>| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt();
    centers
        .iter()
        .enumerate()
        .flat_map(|(i, a)| centers[i + 1..].iter().map(move |b| dist(a, b)))
        .fold(f64::INFINITY, f64::min)
}

impl Runs {
    fn row(&self) -> String {
        let all = self.runs.iter().filter(|r| r.1 == K).count();
        let misses: Vec<String> =
            self.runs.iter().filter(|r| r.1 != K).map(|r| format!("seed {}: {}/{K}", r.0, r.1)).collect();
        let costs: Vec<f64> = self.runs.iter().map(|r| r.4).collect();
        let worst = costs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        format!(
            "| {} | {all}/{SEEDS} | {} | {:.3} s | {:.3} s | {:.0} | {:.0} | {:.0} |\n",
            self.name,
            if misses.is_empty() { "-".to_string() } else { misses.join(", ") },
            median(self.runs.iter().map(|r| r.2).collect()),
            median(self.runs.iter().map(|r| r.3).collect()),
            median(costs),
            worst,
            median(self.runs.iter().map(|r| r.5 as f64).collect()),
        )
    }
}

/// Runs the comparison and prints its section, or writes it into `output`.
pub fn run_and_report(conf: Conf, scale: f64, output: Option<&Path>) -> anyhow::Result<()> {
    let rows = ((ROWS as f64 * scale) as usize).max(1000);
    let ctx = Context::new(conf)?;
    let master = ctx.conf().get("ember.master").unwrap_or("?").to_string();
    let partitions = 2 * ctx.default_parallelism().max(1);
    let mut parallel = Runs { name: "k-means‖ (ℓ = 2k, 5 rounds)", runs: Vec::new() };
    let mut plus_plus = Runs { name: "k-means++ (greedy, 2 + ln k trials)", runs: Vec::new() };
    let mut closest = Vec::new();
    for seed in 1..=SEEDS {
        // One data set per seed (data seed = init seed, as `kmeans --seed` does).
        let (points, truth) = data::blobs_in_box(&ctx, rows, COLS, K, HALF_WIDTH, seed, partitions)?;
        let points = points.cache();
        points.count()?;
        closest.push(closest_pair(&truth));
        measure(&points, &truth, &mut parallel, Init::parallel(), seed)?;
        measure(&points, &truth, &mut plus_plus, Init::KMeansPlusPlus, seed)?;
        points.unpersist();
    }
    let closest_min = closest.iter().copied().fold(f64::INFINITY, f64::min);
    let closest_median = median(closest);

    let mut s = String::from("## k-means initialization: recovering the true clusters\n\n");
    s.push_str(&format!(
        "Measured {} on {} (release build), `{master}`, {partitions} partitions. Regenerate with\n\
         `cargo run --release -p ember-bench -- --only kmeans-init --output BENCHMARKS.md`.\n\n",
        report::today(),
        report::machine()
    ));
    s.push_str(&format!(
        "Data: {rows}×{COLS} points, {K} gaussian blobs (centers uniform in [-{HALF_WIDTH}, {HALF_WIDTH}]^{COLS}, \
         N(0, I) noise, labels uniform), \
         one data set per seed 1…{SEEDS} (data seed = init seed), cached; the two closest true centers of a data set \
         are {closest_median:.1} apart (median over the data sets), {closest_min:.1} at the least. For each seed, \
         each initialization then Lloyd to convergence (no center moves more \
         than {TOLERANCE:e}, at most {MAX_ITERATIONS} iterations). *Recovered*: every true center has its own \
         found center within {RECOVERY_RADIUS}. Times are medians over the seeds; the total includes the init.\n\n"
    ));
    s.push_str(
        "| initialization | seeds with all clusters recovered | misses | init time | total time | final cost (median) | final cost (worst) | Lloyd iterations |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    s.push_str(&parallel.row());
    s.push_str(&plus_plus.row());
    match output {
        Some(path) => {
            let old = match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(e) => return Err(anyhow::anyhow!("{}: {e}", path.display())),
            };
            let doc = report::with_section(&old, "kmeans-init", &s)?;
            std::fs::write(path, doc).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        }
        None => print!("{s}"),
    }
    Ok(())
}
