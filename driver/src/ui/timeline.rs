//! Event timelines as inline SVG, as Spark's "Event Timeline":
//! - a stage's: its tasks as bars in one lane group per executor, each bar
//!   split by phase — scheduler delay (launch to the start of its run:
//!   queued on the executor, shipped, deserialized), then within the run:
//!   waiting for shuffle blocks, computing, spilling, writing the shuffle
//!   output — with executors added and removed as lines;
//! - a job's: its stage attempts as bars, coloured by status, with the
//!   executors added and removed.
//!
//! A task's phases come from what it reported: its run time, shuffle fetch
//! wait, spill and shuffle write times are measured on the executor; the
//! rest of launch-to-end is the delay. Within the run, the fetch wait is
//! drawn first and spill and write last (where they mostly happen: a reduce
//! task waits for blocks as it starts, a map task writes as it ends). Task
//! deserialization is not timed apart: it is in the delay. At most
//! [`MAX_TASKS_DRAWN`] tasks are drawn (the latest), as Spark's
//! `spark.ui.timeline.tasks.maximum`.

use super::format::{duration_ms, esc};
use super::state::{AppState, AttemptRecord, JobRecord, StageStatus, TaskRecord, TaskStatus};
use super::svg_chart::{AXIS_HEIGHT, CHART_WIDTH, LANE_HEIGHT, TimeAxis, bar, legend, pack_lanes};
use crate::listener::UnixMillis;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Tasks a stage timeline draws: the latest ones.
pub const MAX_TASKS_DRAWN: usize = 1000;

/// A task's bar: where each phase starts and ends (ms since the epoch).
struct TaskBar<'a> {
    task: &'a TaskRecord,
    launched: f64,
    run_start: f64,
    /// The end of the shuffle fetch wait, the start of computing.
    compute_start: f64,
    spill_start: f64,
    write_start: f64,
    end: f64,
}

impl<'a> TaskBar<'a> {
    fn of(task: &'a TaskRecord, now: UnixMillis) -> Self {
        let launched = task.launched.0 as f64;
        match task.finished {
            Some(end) => {
                let end = end.0 as f64;
                let ms = |nanos: u64| nanos as f64 / 1e6;
                let io = &task.metrics.io;
                let run_start = (end - task.run_ms()).max(launched);
                let compute_start = (run_start + ms(io.shuffle_fetch_wait_nanos)).min(end);
                let write_start = (end - ms(io.shuffle_write_nanos)).max(compute_start);
                let spill_start = (write_start - ms(io.spill_nanos)).max(compute_start);
                TaskBar { task, launched, run_start, compute_start, spill_start, write_start, end }
            }
            None => {
                let end = now.0 as f64;
                let run_start = task.started.map_or(end, |s| s.0 as f64);
                TaskBar { task, launched, run_start, compute_start: run_start, spill_start: end, write_start: end, end }
            }
        }
    }

    fn draw(&self, out: &mut String, axis: &TimeAxis, y: f64) {
        let t = self.task;
        let title = match t.finished {
            Some(_) => format!(
                "task {} (index {}, attempt {}): scheduler delay {}, run {}{}",
                t.id.0,
                t.partition,
                t.attempt,
                duration_ms(self.run_start - self.launched),
                duration_ms(self.end - self.run_start),
                if t.status == TaskStatus::Failed { ", failed" } else { "" }
            ),
            None => {
                format!("task {} (index {}): {}", t.id.0, t.partition, super::pages::stage_tasks::task_status_word(t))
            }
        };
        let x = |ms: f64| axis.x_ms(ms);
        bar(out, "phase-delay", x(self.launched), x(self.run_start), y, &title);
        let run_class = match (t.finished, t.status) {
            (None, _) => "phase-running",
            (_, TaskStatus::Failed) => "phase-failed",
            _ => "phase-run",
        };
        if t.finished.is_none() && t.started.is_none() {
            bar(out, "phase-queued", x(self.launched), x(self.end), y, &title);
            return;
        }
        let phases = [
            ("phase-shuffle-read", self.run_start, self.compute_start),
            (run_class, self.compute_start, self.spill_start),
            ("phase-spill", self.spill_start, self.write_start),
            ("phase-shuffle-write", self.write_start, self.end),
        ];
        for (class, from, to) in phases {
            if to > from || class == run_class {
                bar(out, class, x(from), x(to), y, &title);
            }
        }
    }
}

/// Vertical lines where executors came and went within the axis.
fn executor_events(state: &AppState, axis: &TimeAxis, height: f64) -> String {
    let mut out = String::new();
    for e in state.executors.values() {
        let events = [(Some(e.added), "exec-added", "added"), (e.removed, "exec-removed", "removed")];
        for (time, class, what) in events {
            let Some(t) = time.filter(|t| *t >= axis.start && *t <= axis.end) else { continue };
            let x = axis.x(t);
            let _ = write!(
                out,
                r#"<line class="{class}" x1="{x:.1}" y1="0" x2="{x:.1}" y2="{height:.1}" stroke-width="2" stroke-dasharray="4 2"><title>executor {} {what}</title></line>"#,
                esc(&e.id)
            );
        }
    }
    out
}

fn svg(height: f64, inner: &str) -> String {
    format!(
        r#"<svg class="timeline" width="{CHART_WIDTH}" height="{:.0}" viewBox="0 0 {CHART_WIDTH} {:.0}" xmlns="http://www.w3.org/2000/svg">{inner}</svg>"#,
        height + AXIS_HEIGHT,
        height + AXIS_HEIGHT
    )
}

/// A stage attempt's tasks by executor, each bar split by phase.
pub fn stage_timeline(state: &AppState, a: &AttemptRecord, now: UnixMillis) -> String {
    let skip = a.tasks.len().saturating_sub(MAX_TASKS_DRAWN);
    let bars: Vec<TaskBar> = a.tasks.values().skip(skip).map(|t| TaskBar::of(t, now)).collect();
    let Some(axis) = TimeAxis::spanning(bars.iter().flat_map(|b| [b.launched as u64, b.end as u64]).map(UnixMillis))
    else {
        return "<p>No task has been launched.</p>".into();
    };
    let mut by_executor: BTreeMap<&str, Vec<&TaskBar>> = BTreeMap::new();
    for b in &bars {
        by_executor.entry(&b.task.executor).or_default().push(b);
    }
    let (mut inner, mut y) = (String::new(), 0.0);
    for (executor, bars) in by_executor {
        let spans: Vec<(f64, f64)> = bars.iter().map(|b| (b.launched, b.end)).collect();
        let (lanes, count) = pack_lanes(&spans, None);
        let _ = write!(inner, r#"<text x="4" y="{:.1}" font-size="11">{}</text>"#, y + 11.0, esc(executor));
        for (b, lane) in bars.iter().zip(lanes) {
            b.draw(&mut inner, &axis, y + lane as f64 * LANE_HEIGHT);
        }
        y += count as f64 * LANE_HEIGHT + 4.0;
    }
    let mut out = String::new();
    let _ = write!(out, "{}{}", axis.ticks(y), inner);
    out.push_str(&executor_events(state, &axis, y));
    let note = if skip > 0 { format!("<p>The latest {MAX_TASKS_DRAWN} tasks.</p>") } else { String::new() };
    format!(
        "{note}{}{}",
        svg(y, &out),
        legend(&[
            ("phase-delay", "Scheduler Delay"),
            ("phase-queued", "Queued on the executor"),
            ("phase-shuffle-read", "Shuffle Read (blocked)"),
            ("phase-run", "Executor Computing Time"),
            ("phase-spill", "Spill"),
            ("phase-shuffle-write", "Shuffle Write"),
            ("phase-failed", "Failed"),
            ("phase-running", "Running"),
        ])
    )
}

/// A job's stage attempts as bars, and the executors added and removed meanwhile.
pub fn job_timeline(state: &AppState, job: &JobRecord, now: UnixMillis) -> String {
    let attempts: Vec<&AttemptRecord> =
        state.attempts_of_job(job.id).filter(|a| a.attempt > 0 && a.submitted.is_some()).collect();
    let end = job.completed.unwrap_or(now);
    let Some(axis) = TimeAxis::spanning(
        [job.submitted, end]
            .into_iter()
            .chain(attempts.iter().flat_map(|a| a.submitted.into_iter().chain(a.completed))),
    ) else {
        return String::new();
    };
    let mut inner = String::new();
    for (row, a) in attempts.iter().enumerate() {
        let y = row as f64 * (LANE_HEIGHT + 4.0);
        let start = a.submitted.unwrap_or(job.submitted);
        let class = match a.status {
            StageStatus::Complete => "stage-complete",
            StageStatus::Failed => "stage-failed",
            StageStatus::Active => "stage-active",
            StageStatus::Pending | StageStatus::Skipped => "stage-pending",
        };
        let title = format!(
            "stage {} (attempt {}): {}, {}",
            a.stage.0,
            a.attempt,
            a.name,
            duration_ms(a.completed.unwrap_or(now).since(start) as f64)
        );
        let _ =
            write!(inner, r#"<text x="4" y="{:.1}" font-size="11">stage {}.{}</text>"#, y + 11.0, a.stage.0, a.attempt);
        bar(&mut inner, class, axis.x(start), axis.x(a.completed.unwrap_or(now)), y, &title);
    }
    let height = (attempts.len().max(1) as f64) * (LANE_HEIGHT + 4.0);
    let out = format!("{}{inner}{}", axis.ticks(height), executor_events(state, &axis, height));
    format!(
        "{}{}",
        svg(height, &out),
        legend(&[
            ("stage-complete", "Completed"),
            ("stage-active", "Running"),
            ("stage-failed", "Failed"),
            ("swatch-added", "Executor added"),
            ("swatch-removed", "Executor removed"),
        ])
    )
}
