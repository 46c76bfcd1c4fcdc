//! `ember-bench --only out-of-core` (issue 13, "Beyond memory"): shuffles
//! bigger than the executors' memory, judged by time against the disk's
//! own bandwidth and by the resident memory of the whole run — the driver
//! and every process it started (the `local-cluster` backends).
//!
//! Never part of the default run: it is long, and its big sizes only fit a
//! shuffle that spills to disk under `ember.executor.memory`. Every
//! workload runs on `--ooc-master` (`local-cluster[2]`) with
//! `--ooc-memory` (512m) per executor:
//!
//! 1–3. `sort_by_key`, `reduce_by_key` and `group_by_key` of N `(u64, u64)`
//!    records for each N of `--ooc-records` (times `--scale`), each in a
//!    fresh context and checked without collecting (`shuffles`);
//! 4. the disk floor: sequential write + read of `--ooc-floor-bytes` on the
//!    temp dir's filesystem (`disk`);
//! 5. `--ooc-repeat-jobs` (times `--scale`) small shuffle jobs in one
//!    context, with the RSS after each: memory never given back (`repeated`);
//! 6. one `--ooc-wide-partitions`² shuffle of small records (`wide`).
//!
//! The target of 1–3, 6: peak RSS of all processes ≤ 2 × executor memory ×
//! executors + 300 MiB. Workloads that fail are reported as failed and make
//! the run exit with an error after the section is written.

mod disk;
mod repeated;
mod shuffles;
mod wide;

use crate::rss::mib;
use ember::prelude::Conf;
use ember_bench::report;
use std::path::Path;

/// The section's name in BENCHMARKS.md (its markers are `<!-- out-of-core -->`).
const SECTION: &str = "out-of-core";
/// What the whole run may hold beyond twice the executors' memory: the
/// driver, the binaries' code, thread stacks.
const FIXED_OVERHEAD: u64 = 300 << 20;

/// The out-of-core flags of `ember-bench`.
#[derive(clap::Args)]
pub struct Flags {
    /// Master of the out-of-core workloads. RSS is measured on this machine
    /// only (the driver and its descendants), so it suits `local-cluster`.
    #[arg(long = "ooc-master", default_value = "local-cluster[2]")]
    pub master: String,
    /// ember.executor.memory of the out-of-core workloads (wins over --conf).
    #[arg(long = "ooc-memory", default_value = "512m")]
    pub memory: String,
    /// Records of the sort, reduce and group workloads, comma-separated
    /// (10M = 10,000,000), times --scale.
    #[arg(long = "ooc-records", value_delimiter = ',', value_parser = parse_count, default_value = "10M,100M,1000M")]
    records: Vec<u64>,
    /// Records per map and reduce partition of those workloads (at least 8
    /// partitions): 4M records (64 MB of pairs) fit a task's memory; 32M
    /// make every task spill.
    #[arg(long = "ooc-partition-records", value_parser = parse_count, default_value = "4M")]
    partition_records: u64,
    /// Bytes the disk floor writes and reads back (4g, 512m).
    #[arg(long = "ooc-floor-bytes", value_parser = parse_bytes, default_value = "4g")]
    floor_bytes: u64,
    /// Jobs of the repeated-jobs workload, times --scale.
    #[arg(long = "ooc-repeat-jobs", default_value_t = 50)]
    repeat_jobs: usize,
    /// The repeated jobs stop once the driver and backends hold more than this.
    #[arg(long = "ooc-rss-guard", value_parser = parse_bytes, default_value = "12g")]
    rss_guard: u64,
    /// Map and reduce partitions of the wide shuffle (not scaled).
    #[arg(long = "ooc-wide-partitions", default_value_t = 10_000)]
    wide_partitions: usize,
    /// The workloads to run, comma-separated (default: all).
    #[arg(
        long = "ooc-workloads",
        value_enum,
        value_delimiter = ',',
        default_value = "sort-by-key,reduce-by-key,group-by-key,disk-floor,repeated-jobs,wide"
    )]
    workloads: Vec<Workload>,
}

/// One workload of the group.
#[derive(Clone, Copy, Debug, PartialEq, clap::ValueEnum)]
pub enum Workload {
    SortByKey,
    ReduceByKey,
    GroupByKey,
    DiskFloor,
    RepeatedJobs,
    Wide,
}

/// The shuffle workloads, run in this order for each N.
const SHUFFLES: [Workload; 3] = [Workload::SortByKey, Workload::ReduceByKey, Workload::GroupByKey];

/// A count like `10M`, `1000M`, `2G`, `500k` or `1234` (decimal multiples).
fn parse_count(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, multiplier) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 1_000),
        Some((i, 'm' | 'M')) => (&s[..i], 1_000_000),
        Some((i, 'g' | 'G')) => (&s[..i], 1_000_000_000),
        _ => (s, 1),
    };
    let n: u64 = digits.parse().map_err(|_| format!("{s} is not a count like 10M or 500k"))?;
    n.checked_mul(multiplier).ok_or_else(|| format!("{s} is too large"))
}

/// A size like `4g` or `512m` (a bare number is MiB), as Ember's conf reads them.
fn parse_bytes(s: &str) -> Result<u64, String> {
    ember::conf::parse_size(s).ok_or_else(|| format!("{s} is not a size like 4g or 512m"))
}

/// `10M` for 10,000,000; the plain number if it is not a round million.
fn count_label(n: u64) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n => n.to_string(),
    }
}

/// The peak RSS a run may reach: 2 × executor memory × executors + 300 MiB
/// (`None`: executor memory unlimited, no budget).
fn memory_budget(conf: &Conf) -> anyhow::Result<Option<u64>> {
    let settings = conf.validate()?;
    let executors = match &settings.master {
        ember::Master::LocalCluster { executors, .. } => *executors,
        ember::Master::Local { .. } => 1,
        ember::Master::Cluster { addresses } => settings.executor_instances.unwrap_or(addresses.len()),
    } as u64;
    Ok((settings.executor_memory > 0).then(|| 2 * settings.executor_memory * executors + FIXED_OVERHEAD))
}

/// Stops `ctx`, waits for its backends to let go of their memory and
/// hands the driver's freed heap back to the system, so that the next
/// workload's peak counts nothing of this one's. (Without the last step a
/// dropped context's 1.5 GiB of freed memory stayed in the driver's RSS.)
fn close(ctx: ember::prelude::Context) {
    let backends = ctx.backend_pids();
    drop(ctx);
    crate::rss::wait_until_released(&backends, std::time::Duration::from_secs(10));
    crate::rss::release_freed_heap_until_steady(std::time::Duration::from_secs(10));
}

/// "pass" or "fail (1.8× the budget)" for a peak of `peak` bytes.
fn budget_verdict(peak: u64, budget: Option<u64>) -> String {
    match budget {
        None => "no budget".into(),
        Some(b) if peak <= b => "pass".into(),
        Some(b) => format!("fail ({:.1}× the budget)", peak as f64 / b as f64),
    }
}

/// Runs the selected workloads, writes or prints the section, and fails if a workload failed.
pub fn run_and_report(base: Conf, flags: &Flags, scale: f64, output: Option<&Path>) -> anyhow::Result<()> {
    let mut section = Section::start(&base, scale)?;
    let runs = |w: Workload| flags.workloads.contains(&w);
    for records in flags.records.iter().map(|&n| ((n as f64 * scale) as u64).max(1000)) {
        for workload in SHUFFLES.into_iter().filter(|&w| runs(w)) {
            eprintln!("out-of-core: {workload:?}, {} records", count_label(records));
            let partitions = shuffles::partitions_for(records, flags.partition_records);
            let run = shuffles::measure(&base, workload, records, partitions);
            section.add_shuffle(workload, records, partitions, run);
        }
    }
    if runs(Workload::DiskFloor) {
        eprintln!("out-of-core: disk floor, {} MiB", mib(flags.floor_bytes));
        section.add_floor(disk::measure(&std::env::temp_dir(), flags.floor_bytes));
    }
    if runs(Workload::RepeatedJobs) {
        let jobs = ((flags.repeat_jobs as f64 * scale).round() as usize).max(1);
        // The web UI keeps the tasks of up to ember.ui.retainedStages stages:
        // with it on the driver grows by design; with it off it must not.
        for (ui, label) in [(true, "web UI on"), (false, "web UI off")] {
            eprintln!("out-of-core: {jobs} repeated jobs, {label}");
            let conf = base.clone().set("ember.ui.enabled", ui);
            section.add_repeated(repeated::run(&conf, jobs, flags.rss_guard), label);
        }
    }
    if runs(Workload::Wide) {
        eprintln!("out-of-core: wide shuffle, {} partitions", flags.wide_partitions);
        section.add_wide(wide::run(&base, flags.wide_partitions));
    }
    let text = section.render();
    match output {
        Some(path) => write_section(path, &text)?,
        None => print!("{text}"),
    }
    anyhow::ensure!(section.failures == 0, "{} out-of-core workload(s) failed", section.failures);
    Ok(())
}

/// Puts `text` into `path` as the out-of-core section, keeping the rest of the file.
fn write_section(path: &Path, text: &str) -> anyhow::Result<()> {
    let old = match std::fs::read_to_string(path) {
        Ok(old) => old,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => anyhow::bail!("{}: {e}", path.display()),
    };
    let new = report::with_section(&old, SECTION, text)?;
    std::fs::write(path, new).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// An error as one table-safe line.
fn one_line(e: &anyhow::Error) -> String {
    format!("{e:#}").replace('|', "/").replace('\n', " ")
}

/// The section's text, built as the workloads finish.
struct Section {
    master: String,
    memory: String,
    scale: f64,
    budget: Option<u64>,
    shuffle_rows: String,
    notes: String,
    failures: usize,
}

impl Section {
    fn start(base: &Conf, scale: f64) -> anyhow::Result<Section> {
        Ok(Section {
            master: base.get("ember.master").unwrap_or("?").to_string(),
            memory: base.get("ember.executor.memory").unwrap_or("0").to_string(),
            scale,
            budget: memory_budget(base)?,
            shuffle_rows: String::new(),
            notes: String::new(),
            failures: 0,
        })
    }

    /// Logs a result line and counts failures.
    fn log<T>(&mut self, what: &str, result: &anyhow::Result<T>, describe: impl Fn(&T) -> String) {
        match result {
            Ok(r) => eprintln!("out-of-core: {what}: {}", describe(r).trim_end()),
            Err(e) => {
                self.failures += 1;
                eprintln!("out-of-core: {what} FAILED: {e:#}");
            }
        }
    }

    fn add_shuffle(
        &mut self,
        workload: Workload,
        records: u64,
        partitions: usize,
        result: anyhow::Result<shuffles::ShuffleRun>,
    ) {
        let budget = self.budget;
        self.log(&format!("{workload:?} {}", count_label(records)), &result, |r| shuffles::row(r, budget));
        self.shuffle_rows.push_str(&match &result {
            Ok(run) => shuffles::row(run, budget),
            Err(e) => shuffles::failed_row(workload, records, partitions, &one_line(e)),
        });
    }

    fn add_floor(&mut self, result: anyhow::Result<disk::DiskFloor>) {
        self.log("disk floor", &result, disk::DiskFloor::describe);
        let text = result.map_or_else(|e| format!("failed: {}", one_line(&e)), |f| f.describe());
        self.notes.push_str(&format!("**Disk floor** (same run): {text}.\n\n"));
    }

    fn add_repeated(&mut self, result: anyhow::Result<repeated::RssCurve>, label: &str) {
        self.log(&format!("repeated jobs, {label}"), &result, repeated::RssCurve::summary);
        if result.as_ref().is_ok_and(|curve| curve.failure.is_some()) {
            self.failures += 1;
        }
        self.notes.push_str(&match result {
            Ok(curve) => format!("{}\n", curve.render(label)),
            Err(e) => format!("**Repeated shuffle jobs, {label}**: failed: {}\n\n", one_line(&e)),
        });
    }

    fn add_wide(&mut self, result: anyhow::Result<wide::WideRun>) {
        let budget = self.budget;
        self.log("wide shuffle", &result, wide::WideRun::describe);
        self.notes.push_str(&match result {
            Ok(run) => format!("**Wide shuffle**: {}; {}.\n\n", run.describe(), budget_verdict(run.peak.total, budget)),
            Err(e) => format!("**Wide shuffle**: failed: {}\n\n", one_line(&e)),
        });
    }

    fn render(&self) -> String {
        let mut s = String::from("## Out of core (issue 13)\n\n");
        s.push_str(&format!("Measured {} on {} (release build", report::today(), report::machine()));
        if self.scale != 1.0 {
            s.push_str(&format!(", sizes scaled by {}", self.scale));
        }
        s.push_str(&format!(
            "), `{}` with `ember.executor.memory={}`, each shuffle in a fresh context. Regenerate with\n\
             `cargo run --release -p ember-bench -- --only out-of-core --output BENCHMARKS.md`.\n\
             Peak RSS: the driver and all its descendant processes, summed every 20 ms. {}\n\n",
            self.master,
            self.memory,
            self.budget_line()
        ));
        if !self.shuffle_rows.is_empty() {
            s.push_str(&shuffles::table_header(self.budget));
            s.push_str(&self.shuffle_rows);
            s.push('\n');
        }
        s.push_str(&self.notes);
        s
    }

    fn budget_line(&self) -> String {
        match self.budget {
            Some(b) => format!("Target: peak ≤ 2 × executor memory × executors + 300 MiB = {:.0} MiB.", mib(b)),
            None => "No target: executor memory is unlimited.".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_budgets_parse() {
        assert_eq!(parse_count("10M"), Ok(10_000_000));
        assert_eq!(parse_count("500k"), Ok(500_000));
        assert_eq!(parse_count("1234"), Ok(1234));
        assert!(parse_count("ten").is_err());
        assert_eq!(count_label(40_000_000), "40M");
        let conf = Conf::new().master("local-cluster[2]").set("ember.executor.memory", "512m");
        assert_eq!(memory_budget(&conf).unwrap(), Some((2 * 512 * 2 + 300) << 20));
    }
}
