//! Counts words: prints one line per distinct word, `word<TAB>count`, sorted
//! by count (descending) then word (ascending). Words are separated by
//! whitespace.
//!
//! `wordcount [--master URL] [--conf k=v]... FILE...` (a file, a directory or a glob)

use clap::Parser;
use ember_examples::ClusterArgs;
use std::io::Write;

#[derive(Parser)]
#[command(about = "Count the words of text files")]
struct Args {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Input files, directories or globs.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<String>,
}

fn main() -> std::process::ExitCode {
    ember_examples::run(body)
}

fn body() -> anyhow::Result<()> {
    let args = Args::parse();
    let ctx = args.cluster.context("wordcount")?;
    let parts = ctx.default_parallelism();
    let mut inputs = Vec::new();
    for f in &args.files {
        inputs.push(ctx.text_file(f, parts).map_err(|e| anyhow::anyhow!("input {e}"))?);
    }
    let lines = ctx.union(&inputs)?;
    let mut counts = lines
        .flat_map(|line: String| line.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
        .collect()?;
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (word, count) in counts {
        writeln!(out, "{word}\t{count}")?;
    }
    out.flush()?;
    Ok(())
}
