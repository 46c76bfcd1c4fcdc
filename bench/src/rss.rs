//! Resident memory of a process tree: the driver and every process it
//! started, read from /proc (Linux only).
//!
//! The out-of-core benchmarks judge a shuffle by the memory of the whole run,
//! not just the driver's: in `local-cluster[N]` the map outputs live in the
//! executor backends, which are child processes of the driver. A
//! [`PeakSampler`] sums VmRSS over the tree every [`SAMPLE_INTERVAL`] in a
//! background thread and keeps the highest sum and each process's highest
//! RSS. The tree is found afresh at every sample (a scan of /proc/*/stat for
//! parent ids), so a backend started or replaced mid-run counts from its
//! next sample on. A peak shorter than the interval can be missed.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often a [`PeakSampler`] reads the tree's RSS.
pub const SAMPLE_INTERVAL: Duration = Duration::from_millis(20);

/// VmRSS of process `pid` in bytes; `None` once it has exited.
pub fn vm_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kib: u64 = field.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

/// The parent of `pid`, from /proc/PID/stat: the second field after the
/// command name, which is in parentheses and may itself hold spaces and ')'.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// `root` and all its living descendants, root first, parents before children.
pub fn process_tree(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        let pids = entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok());
        for pid in pids {
            if let Some(parent) = parent_of(pid) {
                children.entry(parent).or_default().push(pid);
            }
        }
    }
    let mut tree = vec![root];
    let mut next = 0;
    while next < tree.len() {
        if let Some(kids) = children.get(&tree[next]) {
            tree.extend(kids);
        }
        next += 1;
    }
    tree
}

/// Waits (up to `timeout`) until none of `pids` holds memory any more:
/// exited, or a zombie. A context's backends are killed when it is dropped,
/// and one that is still exiting would count in the next run's peak.
pub fn wait_until_released(pids: &[u32], timeout: Duration) {
    let deadline = std::time::Instant::now() + timeout;
    while pids.iter().any(|&pid| vm_rss(pid).is_some()) && std::time::Instant::now() < deadline {
        std::thread::sleep(SAMPLE_INTERVAL);
    }
}

/// Returns the free pages of this process's heap to the system: glibc's
/// malloc keeps freed memory resident, where it counts as RSS. Elsewhere a
/// no-op.
fn release_freed_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only works on the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Returns this process's freed heap to the system until its RSS stops
/// falling (for half a second), or for at most `timeout`: a dropped
/// context's runtime frees its state on its own threads, for a while.
pub fn release_freed_heap_until_steady(timeout: Duration) {
    const STEADY_POLLS: u32 = 5;
    let deadline = std::time::Instant::now() + timeout;
    let (mut last, mut steady) = (u64::MAX, 0);
    while steady < STEADY_POLLS && std::time::Instant::now() < deadline {
        release_freed_heap();
        let rss = vm_rss(std::process::id()).unwrap_or(0);
        steady = if rss.saturating_add(1 << 20) >= last { steady + 1 } else { 0 };
        last = rss;
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The highest resident memory seen while a [`PeakSampler`] ran.
#[derive(Clone, Debug, Default)]
pub struct Peak {
    /// The root process (the driver).
    pub root: u32,
    /// The highest sum of VmRSS over the tree at one sample.
    pub total: u64,
    /// Each process's own highest VmRSS, by pid (they need not coincide).
    pub per_process: BTreeMap<u32, u64>,
    /// Samples taken.
    pub samples: u64,
}

impl Peak {
    fn record(&mut self, tree: &[u32]) {
        let mut total = 0;
        for &pid in tree {
            let Some(rss) = vm_rss(pid) else { continue };
            total += rss;
            let max = self.per_process.entry(pid).or_default();
            *max = (*max).max(rss);
        }
        self.total = self.total.max(total);
        self.samples += 1;
    }

    /// "driver 210 MiB; children 700, 690 MiB" (children by pid).
    pub fn describe_per_process(&self) -> String {
        let driver = self.per_process.get(&self.root).copied().unwrap_or(0);
        let children: Vec<String> = self
            .per_process
            .iter()
            .filter(|(pid, _)| **pid != self.root)
            .map(|(_, rss)| format!("{:.0}", mib(*rss)))
            .collect();
        if children.is_empty() {
            format!("driver {:.0} MiB", mib(driver))
        } else {
            format!("driver {:.0} MiB; children {} MiB", mib(driver), children.join(", "))
        }
    }
}

/// Bytes in MiB.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 20) as f64
}

/// A background thread that samples a process tree's RSS until stopped.
pub struct PeakSampler {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Peak>>,
}

impl PeakSampler {
    /// Starts sampling `root` (usually `std::process::id()`) and its descendants.
    pub fn start(root: u32) -> PeakSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = Peak { root, ..Peak::default() };
            while !flag.load(Ordering::Relaxed) {
                peak.record(&process_tree(root));
                std::thread::sleep(SAMPLE_INTERVAL);
            }
            peak.record(&process_tree(root));
            peak
        });
        PeakSampler { stop, thread: Some(thread) }
    }

    /// Stops sampling (after one last sample) and returns what it saw.
    pub fn stop(mut self) -> Peak {
        self.stop.store(true, Ordering::Relaxed);
        // A sampler thread that panicked saw nothing usable.
        self.thread.take().and_then(|t| t.join().ok()).unwrap_or_default()
    }
}

impl Drop for PeakSampler {
    /// A sampler dropped without `stop` (an error path) ends its thread too.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_holds_a_child_and_its_rss_counts() {
        let mut child = std::process::Command::new("sleep").arg("5").spawn().expect("sleep starts");
        let me = std::process::id();
        assert!(process_tree(me).contains(&child.id()));
        let sampler = PeakSampler::start(me);
        std::thread::sleep(SAMPLE_INTERVAL * 3);
        let peak = sampler.stop();
        let _ = child.kill();
        let _ = child.wait();
        assert!(peak.per_process.contains_key(&child.id()), "{peak:?}");
        assert!(peak.total >= peak.per_process[&me], "{peak:?}");
    }
}
