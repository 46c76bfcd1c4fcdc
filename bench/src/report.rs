//! The BENCHMARKS.md report: one table of rows, with the machine and date.

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

fn machine() -> String {
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

fn today() -> String {
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
