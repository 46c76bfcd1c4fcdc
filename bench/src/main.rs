//! `ember-bench`: measures the engine side by side in one run and writes
//! the results, with the machine and the date, to BENCHMARKS.md.
//!
//! - scheduling: throughput of a 10,000-task job of empty tasks, and the
//!   latency of a 2-task job, in `local[2]` and `local-cluster[2]`; the same
//!   throughput with the web UI and the event log on against both off;
//! - shuffle: `reduce_by_key` over 10M `(u64, u64)` pairs with 1M distinct keys,
//!   and `sort_by_key` of 10M records, in `local-cluster[2]`, beside a plain
//!   single-process `HashMap` / sort of the same data;
//! - recovery: an iteration over cached data during which an executor is
//!   killed, against a normal iteration, in `local-cluster[3]`.
//!
//! `cargo run --release -p ember-bench -- [--scale 0.1] [--output BENCHMARKS.md]`;
//! `--only ml` (repeatable: scheduling, shuffle, recovery, ml) prints one group's rows.
//!
//! `--only kmeans-init` (k-means‖ against k-means++ on close blobs over 20
//! seeds, `local[*]`) likewise runs alone and writes its own section; see
//! `kmeans_init`.
//!
//! `--only text-input` (issue 15: one 1 GB text file read as splits from
//! disk and from a local S3 server, beside `cat` and a plain line count)
//! likewise runs alone and writes its own section; see `text_input`.
//!
//! `--only out-of-core` (issue 13) is never part of the full run: it is long
//! and its big sizes only fit a shuffle that spills. It prints its section,
//! or with `--output` writes it into the file between its markers; see
//! `out_of_core`.

mod floor;
mod kmeans_init;
mod ml;
mod out_of_core;
mod recovery;
mod repl_latency;
mod rss;
mod scheduling;
mod shuffle;
mod text_input;

use clap::Parser;
use ember::prelude::{Conf, Context};
use ember_bench::report;

#[derive(Parser)]
#[command(about = "Run Ember's benchmarks and write BENCHMARKS.md")]
struct Args {
    /// Multiplies the data sizes (1.0 = the sizes in BENCHMARKS.md).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Extra configuration for every context, `key=value` (repeatable).
    #[arg(long = "conf", value_name = "KEY=VALUE")]
    conf: Vec<String>,
    /// Where to write the report (stdout if absent). With `--only
    /// out-of-core` or `--only kmeans-init`, that group's section is written into this file.
    #[arg(long)]
    output: Option<std::path::PathBuf>,
    /// Run only these groups (repeatable) and print the rows; the report
    /// file is only written from a full run (or by `--only out-of-core` / `kmeans-init`).
    #[arg(long, value_enum)]
    only: Vec<Group>,
    #[command(flatten)]
    out_of_core: out_of_core::Flags,
    #[command(flatten)]
    text_input: text_input::Flags,
}

#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
enum Group {
    Scheduling,
    Shuffle,
    Recovery,
    Ml,
    /// Shuffles beyond the executors' memory (issue 13); only when asked for.
    OutOfCore,
    /// k-means‖ against k-means++ on close blobs, 20 seeds; only when asked for.
    KmeansInit,
    /// A 1 GB text file read as splits from disk and from S3 (issue 15); only when asked for.
    TextInput,
    /// A trivial count in the evcxr REPL beside a compiled program (issue 18); only when asked for.
    ReplLatency,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.scale > 0.0, "--scale must be positive");
    let conf = |master: &str| -> anyhow::Result<Conf> {
        let mut c = Conf::new().master(master);
        for pair in &args.conf {
            c = c.set_pair(pair)?;
        }
        Ok(c)
    };
    if args.only.contains(&Group::OutOfCore) {
        anyhow::ensure!(args.only.len() == 1, "--only out-of-core runs alone");
        let base = conf(&args.out_of_core.master)?.set("ember.executor.memory", &args.out_of_core.memory);
        return out_of_core::run_and_report(base, &args.out_of_core, args.scale, args.output.as_deref());
    }
    if args.only.contains(&Group::KmeansInit) {
        anyhow::ensure!(args.only.len() == 1, "--only kmeans-init runs alone");
        return kmeans_init::run_and_report(conf("local[*]")?, args.scale, args.output.as_deref());
    }
    if args.only.contains(&Group::TextInput) {
        anyhow::ensure!(args.only.len() == 1, "--only text-input runs alone");
        return text_input::run_and_report(conf("local[2]")?, &args.text_input, args.scale, args.output.as_deref());
    }
    if args.only.contains(&Group::ReplLatency) {
        anyhow::ensure!(args.only.len() == 1, "--only repl-latency runs alone");
        return repl_latency::run_and_report(conf("local-cluster[2]")?, args.output.as_deref());
    }
    anyhow::ensure!(args.output.is_none() || args.only.is_empty(), "--output writes the report of a full run only");
    // The full run (no --only) leaves out-of-core out.
    let runs = |group: Group| args.only.is_empty() || args.only.contains(&group);
    let mut rows = Vec::new();
    if runs(Group::Scheduling) {
        for master in ["local[2]", "local-cluster[2]"] {
            eprintln!("scheduling: {master}");
            rows.extend(scheduling::run(conf(master)?)?);
        }
    }
    if runs(Group::Shuffle) {
        eprintln!("shuffle: local-cluster[2]");
        rows.extend(shuffle::run(conf("local-cluster[2]")?, args.scale)?);
    }
    if runs(Group::Recovery) {
        eprintln!("recovery: local-cluster[3]");
        rows.extend(recovery::run(conf("local-cluster[3]")?)?);
    }
    if runs(Group::Ml) {
        rows.extend(ml_rows(&conf("local-cluster[2]")?, args.scale)?);
    }
    let text = report::render(&rows, args.scale);
    match args.output {
        Some(path) => {
            // Keep the sections that `--only out-of-core` and deploy/bench-cluster.sh write.
            let old = std::fs::read_to_string(&path).unwrap_or_default();
            let kept = report::kept_sections(&old);
            let text = if kept.is_empty() { text } else { format!("{text}\n{kept}") };
            std::fs::write(&path, text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// The numerical workloads beside the measured hardware floor.
fn ml_rows(conf: &Conf, scale: f64) -> anyhow::Result<Vec<report::Row>> {
    eprintln!("ml: local-cluster[2]");
    let mut rows = Vec::new();
    let floor = floor::Floor::measure(2);
    eprintln!("floor: {}", floor.describe());
    let ml_ctx = Context::new(conf.clone())?;
    let scaled = |n: usize| ((n as f64 * scale) as usize).max(1000);
    rows.push(ml::logreg_gradient(&ml_ctx, &floor, scaled(1_000_000), 10)?);
    rows.push(ml::logreg_gradient(&ml_ctx, &floor, scaled(200_000), 100)?);
    rows.push(ml::lloyd(&ml_ctx, &floor, scaled(1_000_000), 10, 10)?);
    rows.extend(ml::qr(&ml_ctx, &floor, scaled(2_000_000), 10)?);
    rows.extend(ml::qr(&ml_ctx, &floor, scaled(200_000), 100)?);
    rows.push(report::Row {
        workload: "hardware floor (this run)".into(),
        master: "-".into(),
        result: floor.describe(),
        reference: String::new(),
        target: String::new(),
    });
    Ok(rows)
}
