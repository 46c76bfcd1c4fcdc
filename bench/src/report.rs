//! The BENCHMARKS.md report: one table of rows, with the machine and date,
//! followed by sections that other runs write between their own markers
//! (`<!-- out-of-core -->`, `<!-- kmeans-init -->`, `<!-- text-input -->`, `<!-- cluster -->`),
//! which a full run keeps.

/// One measured result.
pub struct Row {
    pub workload: String,
    pub master: String,
    pub result: String,
    pub reference: String,
    pub target: String,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The CPU (and the vector instructions used), cores and RAM of this machine.
pub fn machine() -> String {
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_string()))
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem_kb: u64 = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:").and_then(|m| m.trim().trim_end_matches("kB").trim().parse().ok()))
        .unwrap_or(0);
    format!("{cpu} ({}), {cores} cores, {:.0} GiB RAM", simd(), mem_kb as f64 / (1 << 20) as f64)
}

/// The widest vector instructions the ML kernels use on this CPU (they are
/// chosen at run time, so the ML rows depend on it).
fn simd() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            return "AVX-512";
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return "AVX2+FMA";
        }
    }
    "no AVX2"
}

/// The date and time now, in UTC.
pub fn today() -> String {
    std::process::Command::new("date")
        .arg("+%Y-%m-%d %H:%M UTC")
        .env("TZ", "UTC")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown date".into())
}

pub fn render(rows: &[Row], scale: f64) -> String {
    let mut s = String::from("# Ember benchmarks\n\n");
    s.push_str(&format!("Measured {} on {} (release build", today(), machine()));
    if scale != 1.0 {
        s.push_str(&format!(", data scaled by {scale}"));
    }
    s.push_str(").\nEverything in one table was measured in the same run, side by side: the machine is shared\n");
    s.push_str("and noisy, so compare ratios within a run. Regenerate with\n");
    s.push_str("`cargo run --release -p ember-bench -- --output BENCHMARKS.md`.\n\n");
    s.push_str("| workload | master | result | reference (same run) | target |\n|---|---|---|---|---|\n");
    for r in rows {
        s.push_str(&format!("| {} | {} | {} | {} | {} |\n", r.workload, r.master, r.result, r.reference, r.target));
    }
    s
}

/// The sections that runs other than the full one write, in file order:
/// `ember-bench --only out-of-core`, `--only kmeans-init`, `--only text-input` and `deploy/bench-cluster.sh`.
const KEPT_SECTIONS: [&str; 5] = ["out-of-core", "kmeans-init", "text-input", "repl-latency", "cluster"];

fn opening(name: &str) -> String {
    format!("<!-- {name} -->")
}

fn closing(name: &str) -> String {
    format!("<!-- /{name} -->")
}

/// What a full run keeps of the old report: everything from the first
/// kept section's opening marker on ("" if it has none).
pub fn kept_sections(old: &str) -> &str {
    KEPT_SECTIONS.iter().filter_map(|name| old.find(&opening(name))).min().map_or("", |start| &old[start..])
}

/// `doc` with `body` as its section `name`, between the section's markers:
/// in place of the old section if there is one, else before the cluster
/// section, else at the end. The rest of `doc` is kept as it is.
pub fn with_section(doc: &str, name: &str, body: &str) -> anyhow::Result<String> {
    let (open, close) = (opening(name), closing(name));
    let section = format!("{open}\n{}\n{close}", body.trim_end());
    if let Some(start) = doc.find(&open) {
        let length = doc[start..].find(&close).ok_or_else(|| anyhow::anyhow!("{open} without {close}"))?;
        let end = start + length + close.len();
        return Ok(format!("{}{section}{}", &doc[..start], &doc[end..]));
    }
    if let Some(cluster) = doc.find(&opening("cluster")) {
        return Ok(format!("{}{section}\n\n{}", &doc[..cluster], &doc[cluster..]));
    }
    let separator = match doc {
        "" => "",
        d if d.ends_with("\n\n") => "",
        d if d.ends_with('\n') => "\n",
        _ => "\n\n",
    };
    Ok(format!("{doc}{separator}{section}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "# Ember benchmarks\n\n| table |\n\n<!-- cluster -->\ncluster rows\n<!-- /cluster -->\n";

    #[test]
    fn a_new_section_goes_before_the_cluster_section() {
        let doc = with_section(REPORT, "out-of-core", "ooc rows\n").unwrap();
        assert_eq!(
            doc,
            "# Ember benchmarks\n\n| table |\n\n<!-- out-of-core -->\nooc rows\n<!-- /out-of-core -->\n\n\
             <!-- cluster -->\ncluster rows\n<!-- /cluster -->\n"
        );
    }

    #[test]
    fn a_section_replaces_its_old_self_and_nothing_else() {
        let once = with_section(REPORT, "out-of-core", "old rows").unwrap();
        let twice = with_section(&once, "out-of-core", "new rows").unwrap();
        assert_eq!(twice, once.replace("old rows", "new rows"));
    }

    #[test]
    fn a_section_is_appended_when_there_is_no_cluster_section() {
        assert_eq!(with_section("# t\n", "x", "rows").unwrap(), "# t\n\n<!-- x -->\nrows\n<!-- /x -->\n");
        assert!(with_section("<!-- x -->\nrows", "x", "new").is_err(), "an unclosed section is an error");
    }

    #[test]
    fn a_full_run_keeps_both_sections() {
        let doc = with_section(REPORT, "out-of-core", "ooc rows").unwrap();
        let kept = kept_sections(&doc);
        assert!(kept.starts_with("<!-- out-of-core -->") && kept.ends_with("<!-- /cluster -->\n"), "{kept}");
        assert_eq!(kept_sections(REPORT), "<!-- cluster -->\ncluster rows\n<!-- /cluster -->\n");
        assert_eq!(kept_sections("# no sections"), "");
    }
}
