//! Repeated shuffle jobs in one context: the same small `reduce_by_key`
//! (1M records, 2,000 map and reduce partitions, 1,000 keys) run again and
//! again, with the resident memory of the driver and of each backend read
//! after every job. Each job's shuffle is unreachable once the job is done,
//! so a memory-bounded engine holds steady; memory that is never given back
//! shows as a slope (per job: the driver's map statuses, 2,000 × 2,000
//! block sizes; the backends' 2,000 × 2,000 blocks).
//!
//! A guard stops the loop once the driver and backends together hold more
//! than `--ooc-rss-guard` (checked after each job, so one job can overshoot
//! it), so that a leak cannot take the (shared) machine down.

use crate::rss::{mib, vm_rss};
use ember::prelude::*;
use std::time::Instant;

const RECORDS: i64 = 1_000_000;
const PARTITIONS: usize = 2000;
const KEYS: i64 = 1000;
/// The jobs after which the curve is shown (those that ran).
const SHOWN_JOBS: [usize; 8] = [1, 2, 5, 10, 20, 30, 40, 50];

/// Resident memory after one job.
struct AfterJob {
    seconds: f64,
    driver: u64,
    /// One entry per backend, in the order of `RssCurve::backends`.
    backends: Vec<u64>,
}

impl AfterJob {
    /// The RSS of the driver (this process) and of the backends `pids` now.
    fn read(seconds: f64, pids: &[u32]) -> AfterJob {
        let rss = |pid| vm_rss(pid).unwrap_or(0);
        AfterJob { seconds, driver: rss(std::process::id()), backends: pids.iter().map(|&pid| rss(pid)).collect() }
    }

    fn total(&self) -> u64 {
        self.driver + self.backends.iter().sum::<u64>()
    }
}

/// The driver's and backends' RSS after each job.
pub struct RssCurve {
    pub planned_jobs: usize,
    /// The backends' executor ids, as labels.
    backends: Vec<String>,
    after: Vec<AfterJob>,
    /// Why the guard stopped the loop before `planned_jobs`, if it did.
    pub stopped: Option<String>,
    /// The error of the job that failed, if one did (the loop stopped there).
    pub failure: Option<String>,
}

/// Runs `jobs` jobs in one context of `conf`, stopping early past `guard` bytes.
pub fn run(conf: &Conf, jobs: usize, guard: u64) -> anyhow::Result<RssCurve> {
    let ctx = Context::new(conf.clone())?;
    let mut backends = ctx.local_cluster_backends();
    backends.sort();
    let mut curve = RssCurve {
        planned_jobs: jobs,
        backends: backends.iter().map(|(id, _)| id.0.clone()).collect(),
        after: Vec::with_capacity(jobs),
        stopped: None,
        failure: None,
    };
    let pids: Vec<u32> = backends.iter().map(|(_, pid)| *pid).collect();
    for job in 1..=jobs {
        let seconds = match one_job(&ctx) {
            Ok(seconds) => seconds,
            Err(e) => {
                curve.failure = Some(format!("job {job} failed: {e:#}"));
                break;
            }
        };
        let after = AfterJob::read(seconds, &pids);
        let total = after.total();
        eprintln!("out-of-core: repeated job {job}: {seconds:.2} s, RSS of all processes {:.0} MiB", mib(total));
        curve.after.push(after);
        if total > guard && job < jobs {
            curve.stopped = Some(format!("stopped after job {job}: {} over the {} guard", gib(total), gib(guard)));
            break;
        }
    }
    super::close(ctx);
    Ok(curve)
}

fn gib(bytes: u64) -> String {
    format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// One job, checked; its seconds.
fn one_job(ctx: &Context) -> anyhow::Result<f64> {
    let start = Instant::now();
    let keys = ctx.range(0, RECORDS, 1, PARTITIONS)?.map(|x| (x % KEYS, 1u64)).reduce_by_key(|a, b| a + b).count()?;
    anyhow::ensure!(keys == KEYS as u64, "{keys} keys, expected {KEYS}");
    Ok(start.elapsed().as_secs_f64())
}

impl RssCurve {
    /// The jobs shown: those of `SHOWN_JOBS` that ran, and the last one.
    fn shown_jobs(&self) -> Vec<usize> {
        let ran = self.after.len();
        let mut jobs: Vec<usize> = SHOWN_JOBS.iter().copied().filter(|&j| j <= ran).collect();
        if ran > 0 && jobs.last() != Some(&ran) {
            jobs.push(ran);
        }
        jobs
    }

    /// The job the growth is measured from: job 5, or the first if fewer ran.
    fn growth_base(&self) -> usize {
        if self.after.len() > 5 { 5 } else { 1 }
    }

    /// A paragraph and a markdown table: MiB after the shown jobs, and the growth per job.
    pub fn render(&self, label: &str) -> String {
        let mut s = format!(
            "**Repeated shuffle jobs, {label}**, in one context (`reduce_by_key` of {RECORDS} records, \
             {PARTITIONS} × {PARTITIONS} partitions, {KEYS} keys; VmRSS after each job), {}:\n\n",
            self.summary()
        );
        let jobs = self.shown_jobs();
        let Some(&last) = jobs.last() else { return s };
        let base = self.growth_base();
        s.push_str("| RSS (MiB) after job |");
        jobs.iter().for_each(|j| s.push_str(&format!(" {j} |")));
        s.push_str(&format!(" growth, job {base} → {last} |\n|---|"));
        s.push_str(&"---|".repeat(jobs.len() + 1));
        s.push('\n');
        for (label, values) in self.series() {
            s.push_str(&series_row(&label, &values, &jobs, base, last));
        }
        s.push_str(&format!("| seconds per job |{} |\n", self.seconds_cells(&jobs)));
        s
    }

    /// (label, RSS after each job) of the driver, each backend, and their sum.
    fn series(&self) -> Vec<(String, Vec<u64>)> {
        let mut series = vec![("driver".to_string(), self.after.iter().map(|a| a.driver).collect())];
        for (i, id) in self.backends.iter().enumerate() {
            let values = self.after.iter().map(|a| a.backends.get(i).copied().unwrap_or(0)).collect();
            series.push((format!("backend {id}"), values));
        }
        series.push(("all processes".to_string(), self.after.iter().map(AfterJob::total).collect()));
        series
    }

    fn seconds_cells(&self, jobs: &[usize]) -> String {
        jobs.iter().map(|&j| format!(" {:.2} |", self.after[j - 1].seconds)).collect()
    }

    /// How many jobs ran, and why the loop stopped early if it did.
    pub fn summary(&self) -> String {
        let ran = self.after.len();
        match self.failure.as_ref().or(self.stopped.as_ref()) {
            Some(why) => format!("{ran} of {} jobs ({why})", self.planned_jobs),
            None => format!("{ran} jobs"),
        }
    }
}

/// One series' row: MiB after each of `jobs`, and its growth from `base` to `last`.
fn series_row(label: &str, values: &[u64], jobs: &[usize], base: usize, last: usize) -> String {
    let at = |job: usize| mib(values[job - 1]);
    let cells: String = jobs.iter().map(|&j| format!(" {:.0} |", at(j))).collect();
    let growth = at(last) - at(base);
    let per_job = if last > base { growth / (last - base) as f64 } else { 0.0 };
    format!("| {label} |{cells} {growth:+.0} MiB ({per_job:+.1} MiB/job) |\n")
}
