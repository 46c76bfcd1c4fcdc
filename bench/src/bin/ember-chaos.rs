//! `ember-chaos --trials N --executors E`: runs an iterative k-means-like job
//! and a shuffle-heavy job N times each on `local-cluster[E]`, SIGKILLs a
//! random executor at a random moment in each trial (lost executors are
//! replaced), compares every result with a failure-free run, and ends with
//! `chaos: passed=X/Y` (exit status 0 only when all pass).

use clap::Parser;
use ember::prelude::*;
use ember_bench::workloads;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "Kill executors at random moments and check that results do not change")]
struct Args {
    /// Trials per workload.
    #[arg(long, default_value_t = 5)]
    trials: usize,
    /// Executors in the local cluster.
    #[arg(long, default_value_t = 3)]
    executors: usize,
    /// Seed of the kill schedule (default: from the clock).
    #[arg(long)]
    seed: Option<u64>,
    /// Points of the iterative workload.
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// Records of the shuffle workload.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
}

const DIMS: usize = 8;
const K: usize = 8;
const ITERATIONS: usize = 5;

fn kmeans(ctx: &Context, rows: usize) -> Result<Vec<Vec<f64>>> {
    let points = workloads::points(ctx, rows, DIMS, 12)?.cache();
    let mut centers = workloads::initial_centers(&points, K, DIMS)?;
    for _ in 0..ITERATIONS {
        centers = workloads::iteration(&points, &centers)?;
    }
    Ok(centers)
}

fn context(executors: usize) -> Result<Context> {
    Context::new(
        Conf::new()
            .master(&format!("local-cluster[{executors}]"))
            .set("ember.localCluster.replaceLostExecutors", true)
            .app_name("ember-chaos"),
    )
}

/// Kills a random live backend of `ctx` after `delay`, from another thread.
fn kill_later(ctx: &Context, delay: Duration, pick: usize) -> std::thread::JoinHandle<Option<String>> {
    let backends = ctx.local_cluster_backends();
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        let (id, pid) = backends.get(pick % backends.len().max(1))?.clone();
        // SAFETY: kill(2) on a process this driver started; no memory involved.
        let rc = unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        (rc == 0).then_some(id.0)
    })
}

fn trial<R: PartialEq>(
    name: &str,
    executors: usize,
    expected: &R,
    typical: Duration,
    rng: &mut SmallRng,
    run: impl Fn(&Context) -> Result<R>,
) -> bool {
    let ctx = match context(executors) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("chaos: {name}: cannot start a context: {e}");
            return false;
        }
    };
    let delay = typical.mul_f64(rng.random::<f64>());
    let killer = kill_later(&ctx, delay, rng.random_range(0..executors));
    let start = Instant::now();
    let result = run(&ctx);
    let killed = killer.join().ok().flatten();
    let ok = matches!(&result, Ok(r) if r == expected);
    eprintln!(
        "chaos: {name}: killed {} after {delay:.2?}; {} in {:.2?}",
        killed.as_deref().unwrap_or("nothing (job already done)"),
        match &result {
            Ok(_) if ok => "same result".to_string(),
            Ok(_) => "DIFFERENT RESULT".to_string(),
            Err(e) => format!("FAILED: {e}"),
        },
        start.elapsed()
    );
    ok
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
    });
    eprintln!("chaos: seed {seed}");
    let mut rng = SmallRng::seed_from_u64(seed);
    let reference = context(args.executors).and_then(|ctx| {
        let t = Instant::now();
        let centers = kmeans(&ctx, args.rows)?;
        let kmeans_time = t.elapsed();
        let t = Instant::now();
        let sorted = workloads::shuffle_job(&ctx, args.records, 12)?;
        Ok((centers, kmeans_time, sorted, t.elapsed()))
    });
    let (centers, kmeans_time, sorted, shuffle_time) = match reference {
        Ok(r) => r,
        Err(e) => {
            eprintln!("chaos: the failure-free run failed: {e}");
            println!("chaos: passed=0/{}", 2 * args.trials);
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut passed = 0;
    for _ in 0..args.trials {
        let (rows, records) = (args.rows, args.records);
        passed += trial("kmeans", args.executors, &centers, kmeans_time, &mut rng, |ctx| kmeans(ctx, rows)) as usize;
        passed += trial("shuffle", args.executors, &sorted, shuffle_time, &mut rng, |ctx| {
            workloads::shuffle_job(ctx, records, 12)
        }) as usize;
    }
    let total = 2 * args.trials;
    println!("chaos: passed={passed}/{total}");
    if passed == total { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE }
}
