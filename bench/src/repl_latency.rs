//! `ember-bench --only repl-latency` (issue 18): how long a question takes
//! in the REPL, from the cell's submission to its result, beside the same
//! action in a compiled program.
//!
//! The action is a trivial one on purpose: `count()` of a cached RDD of
//! 100,000 numbers in 4 partitions on a `local-cluster[2]`, so what is
//! measured is the interactive overhead, not the work. The compiled side is
//! this benchmark's own process; the REPL side is `evcxr` (installed by
//! `deploy/install-notebook.sh`) fed the same cells on its stdin with
//! `:timing` on, which prints each cell's total time and its phases: "Final
//! compile" (evcxr compiling and linking the cell's shared object) and
//! "Execution". Inside the cell the job itself is timed too, so the rest
//! (loading the object, the executors loading it too) shows separately; and
//! the same count runs a second time in the cell, when its code object is
//! loaded everywhere already, to tell the per-cell cost from the job's.
//! Each side runs `ROUNDS` times; medians are reported.

use ember::prelude::*;
use ember_bench::report;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const SECTION: &str = "repl-latency";
const ROUNDS: usize = 7;
const RECORDS: u64 = 100_000;

pub fn run_and_report(conf: Conf, output: Option<&Path>) -> anyhow::Result<()> {
    eprintln!("repl-latency: compiled program, local-cluster[2]");
    let compiled = compiled_counts(conf)?;
    eprintln!("repl-latency: evcxr, local-cluster[2] (the first run compiles Ember for evcxr: minutes)");
    let repl = repl_counts()?;
    let text = render(median(compiled), &repl);
    match output {
        Some(path) => {
            let old = std::fs::read_to_string(path).unwrap_or_default();
            std::fs::write(path, report::with_section(&old, SECTION, &text)?)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// Milliseconds of each timed `count()` in this process.
fn compiled_counts(conf: Conf) -> anyhow::Result<Vec<f64>> {
    let ctx = Context::new(conf.set("ember.ui.enabled", "false"))?;
    let nums = ctx.parallelize((1..=RECORDS).collect::<Vec<_>>(), 4).cache();
    anyhow::ensure!(nums.count()? == RECORDS, "the first count is wrong");
    (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            let n = nums.count()?;
            anyhow::ensure!(n == RECORDS, "count gave {n}");
            Ok(start.elapsed().as_secs_f64() * 1e3)
        })
        .collect()
}

/// One REPL cell's times, in milliseconds.
#[derive(Clone, Copy, Debug, Default)]
struct CellTimes {
    total: f64,
    /// evcxr's "Fallback" phase: a first build of the cell that tells the
    /// types of its new variables.
    check: f64,
    /// evcxr's "Final compile": building and linking the cell's object.
    compile: f64,
    job: f64,
    /// The same job again in the same cell.
    again: f64,
}

fn repl_counts() -> anyhow::Result<Vec<CellTimes>> {
    let evcxr = on_path_or_cargo_bin("evcxr")
        .ok_or_else(|| anyhow::anyhow!("evcxr is not installed: run deploy/install-notebook.sh"))?;
    let exe = std::env::current_exe()?;
    let executor = exe.with_file_name("ember-executor");
    anyhow::ensure!(
        executor.is_file(),
        "{} is missing: build it with `cargo build --release -p ember-executor`",
        executor.display()
    );
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("../driver").canonicalize()?;
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let tmp = std::env::var_os("EVCXR_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(format!("/var/tmp/ember-evcxr-{uid}")));
    std::fs::create_dir_all(&tmp)?;
    let mut cells = vec![
        format!(r#":dep ember = {{ path = "{}" }}"#, driver.display()),
        "use ember::prelude::*;".to_string(),
        r#"let ctx = Context::new(Conf::new().master("local-cluster[2]").set("ember.ui.enabled", "false")).unwrap();"#
            .to_string(),
        format!("let nums = ctx.parallelize((1..={RECORDS}u64).collect::<Vec<_>>(), 4).cache();"),
        "nums.count().unwrap();".to_string(),
        ":timing".to_string(),
    ];
    let timed = r#"{ let t = std::time::Instant::now(); let n = nums.count().unwrap(); let first = t.elapsed(); let t = std::time::Instant::now(); nums.count().unwrap(); println!("JOB {n} {} {}", first.as_micros(), t.elapsed().as_micros()); }"#;
    cells.extend(std::iter::repeat_n(timed.to_string(), ROUNDS));
    let mut child = Command::new(evcxr)
        .env("EVCXR_TMPDIR", &tmp)
        .env("EMBER_EXECUTOR_BIN", &executor)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child.stdin.take().ok_or_else(|| anyhow::anyhow!("no stdin"))?.write_all((cells.join("\n") + "\n").as_bytes())?;
    let out = child.wait_with_output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let times = parse_timed_cells(&stdout);
    anyhow::ensure!(
        times.len() == ROUNDS,
        "evcxr ran {} of {ROUNDS} timed cells\n--- stdout\n{stdout}\n--- stderr\n{}",
        times.len(),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(times)
}

/// The timed cells' times: each is a `JOB <n> <µs>` line followed by
/// `Took <ms>ms` and its phases (which evcxr colours with ANSI escapes).
fn parse_timed_cells(stdout: &str) -> Vec<CellTimes> {
    let mut cells = Vec::new();
    let mut current: Option<CellTimes> = None;
    for line in stdout.lines().map(without_ansi_escapes) {
        let line = line.trim();
        let ms = |prefix: &str| line.strip_prefix(prefix).and_then(|r| r.trim_end_matches("ms").trim().parse().ok());
        if let Some(rest) = line.strip_prefix("JOB ") {
            let micros = |i: usize| rest.split_whitespace().nth(i).and_then(|m| m.parse::<f64>().ok());
            current = micros(1).map(|us| CellTimes {
                job: us / 1e3,
                again: micros(2).unwrap_or(0.0) / 1e3,
                ..CellTimes::default()
            });
        } else if let (Some(cell), Some(total)) = (current.as_mut(), ms("Took ")) {
            cell.total = total;
        } else if let (Some(cell), Some(check)) = (current.as_mut(), ms("Fallback:")) {
            cell.check = check;
        } else if let (Some(cell), Some(compile)) = (current.as_mut(), ms("Final compile:")) {
            cell.compile = compile;
        } else if let (Some(cell), Some(_)) = (current, ms("Execution:")) {
            cells.push(cell);
            current = None;
        }
    }
    cells
}

/// `line` without its ANSI escape sequences (`ESC [ ... letter`).
fn without_ansi_escapes(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip to the sequence's final letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn on_path_or_cargo_bin(name: &str) -> Option<PathBuf> {
    let home_bin = std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo/bin"));
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(home_bin)
        .map(|d| d.join(name))
        .find(|c| c.is_file())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn render(compiled_ms: f64, repl: &[CellTimes]) -> String {
    let pick = |f: fn(&CellTimes) -> f64| median(repl.iter().map(f).collect());
    let (total, check, compile) = (pick(|c| c.total), pick(|c| c.check), pick(|c| c.compile));
    let (job, again) = (pick(|c| c.job), pick(|c| c.again));
    let other = (total - check - compile - job - again).max(0.0);
    let mut s = String::from("## A question in the REPL: cell submission to result (issue 18)\n\n");
    s.push_str(&format!(
        "Measured {} on {} by `cargo run --release -p ember-bench -- --only repl-latency --output BENCHMARKS.md`: \
         `count()` of a cached RDD of {RECORDS} numbers in 4 partitions on `local-cluster[2]`, median of \
         {ROUNDS} in one run. REPL: evcxr 0.22 (its defaults: debug build of the cell, Ember linked \
         into each cell's object), times from its `:timing`; the executors are `ember-executor` hosting the \
         cells' objects (ADR 0009).\n\n",
        report::today(),
        report::machine(),
    ));
    s.push_str("| | time | share of the REPL cell |\n|---|---|---|\n");
    s.push_str(&format!("| compiled program: `nums.count()` | {compiled_ms:.1} ms | |\n"));
    s.push_str(&format!("| REPL cell, submission to result | {total:.0} ms | 100 % |\n"));
    let share = |part: f64| if total > 0.0 { 100.0 * part / total } else { 0.0 };
    let parts = [
        ("evcxr's first build of the cell, for its variables' types (\"Fallback\")", check),
        ("evcxr compiling and linking the cell's object (\"Final compile\")", compile),
        ("the job, timed inside the cell (the executors load the cell's new object)", job),
        ("the same job again in the cell (its object loaded everywhere)", again),
        ("the rest (loading the cell's object, executors loading it, evcxr's bookkeeping)", other),
    ];
    for (what, ms) in parts {
        let decimals = usize::from(ms < 100.0);
        s.push_str(&format!("| … {what} | {ms:.decimals$} ms | {:.decimals$} % |\n", share(ms)));
    }
    s.push_str(&format!(
        "\nevcxr's two builds are {:.0} % of a question asked in the REPL. The job itself, once its code is \
         loaded, takes {again:.1} ms against {compiled_ms:.1} ms in the compiled program (the REPL's Ember is a \
         debug build); the first job of each cell pays {:.0} ms more, once, for the cell's new object: the \
         driver hashes it and each executor hashes and loads it.\n",
        share(check + compile),
        (job - again).max(0.0)
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timed_cells_are_read_from_evcxr_output() {
        let out = "Timing: true\nJOB 100000 2500\nTook 3100ms\n  Final compile: 2900ms\n  Execution: 150ms\n\
                   JOB 100000 3000 1500\n\u{1b}[34mTook 3000ms\u{1b}[0m\n\u{1b}[34m  Fallback: 366ms\u{1b}[0m\n\
                   \u{1b}[34m  Final compile: 2800ms\u{1b}[0m\n\u{1b}[34m  Execution: 120ms\u{1b}[0m\n";
        let cells = parse_timed_cells(out);
        assert_eq!(cells.len(), 2);
        assert_eq!((cells[0].total, cells[0].compile, cells[0].job), (3100.0, 2900.0, 2.5));
        assert_eq!((cells[1].total, cells[1].check, cells[1].compile), (3000.0, 366.0, 2800.0));
        assert_eq!((cells[1].job, cells[1].again), (3.0, 1.5));
    }
}
