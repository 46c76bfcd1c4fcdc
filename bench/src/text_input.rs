//! `ember-bench --only text-input` (issue 15): one large text file read as
//! byte-range splits, from local disk and from a local S3 server, beside
//! what the machine does with the same bytes and no framework at all:
//!
//! 1. `cat FILE > /dev/null`: the operating system's floor;
//! 2. a plain single-threaded Rust line count (1 MiB reads, counting `\n`);
//! 3. `text_file(FILE, splits).count()` in `local[2]`;
//! 4. `text_file("s3://bench/lines.txt", splits).count()` in `local[2]`,
//!    served by `ember-s3-server` on 127.0.0.1.
//!
//! The file (`--text-bytes`, 1g, times `--scale`) is written once; every
//! reader then finds it in the page cache, which is what a re-read of a hot
//! input costs, and the machine has the memory for both copies. The S3
//! server runs in this process, on a runtime and threads of its own (a
//! bench cannot start another package's binary), and keeps its copy under
//! its own root: the object is uploaded through S3, so the server has its
//! ETag and never hashes the file on a read. The four readers run in turns,
//! `ROUNDS` times, and each reports its best round; every count is checked
//! against the number of lines written.

mod local_s3;

use ember::prelude::*;
use ember_bench::report;
use local_s3::LocalS3;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// The section's name in BENCHMARKS.md (its markers are `<!-- text-input -->`).
const SECTION: &str = "text-input";
/// Turns of the four readers; each reports its best.
const ROUNDS: usize = 3;
/// The bucket and key of the S3 copy.
const BUCKET: &str = "bench";
const KEY: &str = "lines.txt";

/// The text-input flags of `ember-bench`.
#[derive(clap::Args)]
pub struct Flags {
    /// Size of the text file (times --scale).
    #[arg(long = "text-bytes", value_parser = parse_bytes, default_value = "1g")]
    bytes: u64,
    /// min_partitions of text_file (the splits the file is read as).
    #[arg(long = "text-splits", default_value_t = 16)]
    splits: usize,
}

fn parse_bytes(s: &str) -> Result<u64, String> {
    ember::conf::parse_size(s).ok_or_else(|| format!("{s} is not a size like 1g or 512m"))
}

/// The best time of each reader, in seconds.
#[derive(Default)]
struct Best {
    cat: f64,
    plain: f64,
    local: f64,
    s3: f64,
}

fn keep_best(best: &mut f64, secs: f64) {
    if *best == 0.0 || secs < *best {
        *best = secs;
    }
}

pub fn run_and_report(base: Conf, flags: &Flags, scale: f64, output: Option<&Path>) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join(KEY);
    let bytes_wanted = ((flags.bytes as f64 * scale) as u64).max(1 << 20);
    eprintln!("text-input: writing {} MiB of text", bytes_wanted >> 20);
    let (bytes, lines) = write_lines(&file, bytes_wanted)?;

    let s3 = LocalS3::start(&dir.path().join("s3-root"), BUCKET)?;
    eprintln!("text-input: uploading it to {}", s3.endpoint());
    let upload_secs = s3.upload(&file, KEY)?;
    let s3_conf = s3.ember_conf(base.clone());
    let url = format!("s3://{BUCKET}/{KEY}");

    let local_ctx = Context::new(base)?;
    let s3_ctx = Context::new(s3_conf)?;
    let path = file.to_str().ok_or_else(|| anyhow::anyhow!("{}: not UTF-8", file.display()))?;
    let mut best = Best::default();
    let mut partitions = (0, 0);
    for round in 1..=ROUNDS {
        eprintln!("text-input: round {round} of {ROUNDS}");
        keep_best(&mut best.cat, time_cat(&file)?);
        keep_best(&mut best.plain, time_checked("plain line count", lines, || plain_line_count(&file))?);
        let local = local_ctx.text_file(path, flags.splits)?;
        partitions.0 = local.num_partitions();
        keep_best(&mut best.local, time_checked("text_file from disk", lines, || Ok(local.count()?))?);
        let remote = s3_ctx.text_file(&url, flags.splits)?;
        partitions.1 = remote.num_partitions();
        keep_best(&mut best.s3, time_checked("text_file from S3", lines, || Ok(remote.count()?))?);
    }
    drop((local_ctx, s3_ctx));
    s3.stop();

    let text = render(bytes, lines, upload_secs, partitions, &best, flags.splits);
    match output {
        None => print!("{text}"),
        Some(path) => {
            let old = std::fs::read_to_string(path).unwrap_or_default();
            let new = report::with_section(&old, SECTION, &text)?;
            std::fs::write(path, new).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// Writes lines of words until `bytes` are written; returns the bytes and
/// lines written.
fn write_lines(path: &Path, bytes: u64) -> anyhow::Result<(u64, u64)> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let (mut written, mut lines) = (0u64, 0u64);
    let mut line = String::new();
    while written < bytes {
        line.clear();
        use std::fmt::Write as _;
        let _ = writeln!(line, "{lines} the quick brown fox jumps over the lazy dog {}", lines % 97);
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
        lines += 1;
    }
    out.flush()?;
    Ok((written, lines))
}

fn time_cat(file: &Path) -> anyhow::Result<f64> {
    let start = Instant::now();
    let status = Command::new("cat").arg(file).stdout(Stdio::null()).status()?;
    let secs = start.elapsed().as_secs_f64();
    anyhow::ensure!(status.success(), "cat {}: {status}", file.display());
    Ok(secs)
}

/// Times `count`, which must give `expected`.
fn time_checked(what: &str, expected: u64, count: impl FnOnce() -> anyhow::Result<u64>) -> anyhow::Result<f64> {
    let start = Instant::now();
    let got = count()?;
    let secs = start.elapsed().as_secs_f64();
    anyhow::ensure!(got == expected, "{what} counted {got} lines, the file has {expected}");
    Ok(secs)
}

/// The lines of `file`, counted the plain way: 1 MiB reads, one pass over
/// each buffer counting `\n`.
fn plain_line_count(file: &Path) -> anyhow::Result<u64> {
    let mut input = std::fs::File::open(file)?;
    let mut buffer = vec![0u8; 1 << 20];
    let mut lines = 0u64;
    loop {
        let n = input.read(&mut buffer)?;
        if n == 0 {
            return Ok(lines);
        }
        lines += buffer[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

fn render(bytes: u64, lines: u64, upload_secs: f64, partitions: (usize, usize), best: &Best, splits: usize) -> String {
    let gb = bytes as f64 / 1e9;
    let row = |name: &str, secs: f64, reference: &str| {
        format!("| {name} | {secs:.2} s | {:.2} GB/s | {reference} |\n", gb / secs)
    };
    let mut s = String::from("## Text input: one file read as splits, from disk and from S3 (issue 15)\n\n");
    s.push_str(&format!(
        "Measured {} on {} by `cargo run --release -p ember-bench -- --only text-input --output BENCHMARKS.md`: \
         a {:.2} GB file of {lines} lines, in the page cache; best of {ROUNDS} turns, all in one run. \
         S3 is `ember-s3-server` on 127.0.0.1 in the bench's own process (plain HTTP, SigV4), \
         holding a copy uploaded through S3 in {upload_secs:.1} s.\n\n",
        report::today(),
        report::machine(),
        gb
    ));
    s.push_str("| reader | time | throughput | vs. the plain line count |\n|---|---|---|---|\n");
    s.push_str(&row("`cat FILE > /dev/null`", best.cat, &format!("{:.2}×", best.cat / best.plain)));
    s.push_str(&row("plain single-threaded Rust line count", best.plain, "1.00×"));
    let local = format!("`text_file(path, {splits})`: {} partitions, `local[2]`", partitions.0);
    s.push_str(&row(&local, best.local, &format!("{:.2}×", best.local / best.plain)));
    let remote = format!("`text_file(\"s3://{BUCKET}/{KEY}\", {splits})`: {} partitions, `local[2]`", partitions.1);
    s.push_str(&row(&remote, best.s3, &format!("{:.2}×", best.s3 / best.plain)));
    s
}
