//! The executors page's pictures of the whole application, as Dask's
//! dashboard draws them:
//! - the task stream: the latest tasks of every stage, one lane per task
//!   slot of each executor, coloured by stage, so that idle cores, stragglers
//!   and a slow stage show at a glance;
//! - memory over time, per executor: storage (cached blocks) and execution
//!   memory from its heartbeats, and the shuffle bytes its tasks wrote and
//!   the bytes they spilled, in all, at each heartbeat.
//!
//! Both read only what the state store keeps: the task tables within
//! `ember.ui.retained*`, and [`MEMORY_SAMPLES_KEPT`] samples per executor.

use super::format::{bytes, duration_ms, esc};
use super::records::{ExecutorRecord, MEMORY_SAMPLES_KEPT};
use super::state::{AppState, TaskRecord};
use super::svg_chart::{
    AXIS_HEIGHT, CHART_WIDTH, LABEL_WIDTH, LANE_HEIGHT, TimeAxis, legend, pack_lanes, stage_colour,
};
use crate::listener::UnixMillis;
use ember_rdd::ids::StageId;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Tasks the task stream draws: the latest ones over all stages.
pub const STREAM_TASKS: usize = 2000;
/// Executors whose memory is charted.
pub const MEMORY_CHARTS: usize = 16;
const MEMORY_CHART_HEIGHT: f64 = 90.0;

/// The latest tasks, newest stages first, at most [`STREAM_TASKS`].
fn latest_tasks(state: &AppState) -> Vec<(StageId, &TaskRecord)> {
    let mut tasks = Vec::new();
    for a in state.attempts.values().rev() {
        for t in a.tasks.values().rev() {
            if tasks.len() == STREAM_TASKS {
                return tasks;
            }
            tasks.push((a.stage, t));
        }
    }
    tasks
}

/// A task's span: from when it took a core (estimated for queued tasks:
/// its end less its run time) to its end, or now.
fn run_span(t: &TaskRecord, now: UnixMillis) -> Option<(f64, f64)> {
    match (t.finished, t.started) {
        (Some(end), _) => Some(((end.0 as f64 - t.run_ms()).max(t.launched.0 as f64), end.0 as f64)),
        (None, Some(start)) => Some((start.0 as f64, now.0 as f64)),
        (None, None) => None,
    }
}

/// The task stream of the latest tasks, one lane per task slot.
pub fn task_stream(state: &AppState, now: UnixMillis) -> String {
    let spans: Vec<(StageId, &TaskRecord, (f64, f64))> =
        latest_tasks(state).into_iter().filter_map(|(s, t)| run_span(t, now).map(|span| (s, t, span))).collect();
    let times = spans.iter().flat_map(|(_, _, (a, b))| [UnixMillis(*a as u64), UnixMillis(b.ceil() as u64)]);
    let Some(axis) = TimeAxis::spanning(times) else {
        return "<p>No task has run yet.</p>".into();
    };
    let mut by_executor: BTreeMap<&str, Vec<(StageId, &TaskRecord, (f64, f64))>> = BTreeMap::new();
    for s in &spans {
        by_executor.entry(&s.1.executor).or_default().push(*s);
    }
    let (mut inner, mut y) = (String::new(), 0.0);
    for (executor, tasks) in by_executor {
        let cores = state.executors.get(executor).map(|e| e.cores).filter(|c| *c > 0);
        let (lanes, count) = pack_lanes(&tasks.iter().map(|t| t.2).collect::<Vec<_>>(), cores);
        let _ = write!(inner, r#"<text x="4" y="{:.1}" font-size="11">{}</text>"#, y + 11.0, esc(executor));
        for ((stage, t, (start, end)), lane) in tasks.iter().zip(lanes) {
            let (x0, x1) = (axis.x_ms(*start), axis.x_ms(*end));
            let _ = write!(
                inner,
                r#"<rect class="stream-task" x="{x0:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>stage {} task {} (index {}): {}</title></rect>"#,
                y + lane as f64 * LANE_HEIGHT,
                (x1 - x0).max(0.5),
                LANE_HEIGHT - 3.0,
                stage_colour(stage.0),
                stage.0,
                t.id.0,
                t.partition,
                duration_ms(end - start)
            );
        }
        y += count as f64 * LANE_HEIGHT + 4.0;
    }
    format!(
        r#"<svg class="timeline task-stream" width="{CHART_WIDTH}" height="{h:.0}" viewBox="0 0 {CHART_WIDTH} {h:.0}" xmlns="http://www.w3.org/2000/svg">{}{inner}</svg>"#,
        axis.ticks(y),
        h = y + AXIS_HEIGHT
    )
}

/// A line of `values` (bytes) over `times`, scaled to `max`.
fn series(class: &str, axis: &TimeAxis, points: impl Iterator<Item = (UnixMillis, u64)>, max: u64) -> String {
    let mut path = String::new();
    for (t, v) in points {
        let y = MEMORY_CHART_HEIGHT - (v as f64 / max.max(1) as f64) * (MEMORY_CHART_HEIGHT - 6.0);
        let _ = write!(path, "{:.1},{y:.1} ", axis.x(t));
    }
    format!(r#"<polyline class="{class}" fill="none" stroke-width="1.5" points="{}"/>"#, path.trim_end())
}

/// One executor's memory chart.
fn memory_chart(e: &ExecutorRecord) -> Option<String> {
    let samples = &e.memory_samples;
    let axis = TimeAxis::spanning(samples.iter().map(|s| s.time))?;
    let max = samples
        .iter()
        .map(|s| s.storage_bytes.max(s.execution_bytes).max(s.shuffle_write_bytes).max(s.disk_spilled_bytes))
        .max()
        .unwrap_or(0);
    let last = samples.back()?;
    let mut inner = axis.ticks(MEMORY_CHART_HEIGHT);
    let _ = write!(
        inner,
        r##"<text x="4" y="12" font-size="11">{}</text><text x="4" y="26" font-size="10">max {}</text><line x1="{LABEL_WIDTH}" y1="{h}" x2="{}" y2="{h}" stroke="#999"/>"##,
        esc(&e.id),
        bytes(max),
        CHART_WIDTH - 10.0,
        h = MEMORY_CHART_HEIGHT
    );
    inner.push_str(&series("mem-storage", &axis, samples.iter().map(|s| (s.time, s.storage_bytes)), max));
    inner.push_str(&series("mem-execution", &axis, samples.iter().map(|s| (s.time, s.execution_bytes)), max));
    inner.push_str(&series("mem-shuffle", &axis, samples.iter().map(|s| (s.time, s.shuffle_write_bytes)), max));
    inner.push_str(&series("mem-spill", &axis, samples.iter().map(|s| (s.time, s.disk_spilled_bytes)), max));
    let _ = write!(
        inner,
        "<title>{}: storage {}, execution {}, shuffle written {}, spilled {}</title>",
        esc(&e.id),
        bytes(last.storage_bytes),
        bytes(last.execution_bytes),
        bytes(last.shuffle_write_bytes),
        bytes(last.disk_spilled_bytes)
    );
    Some(format!(
        r#"<svg class="timeline memory" width="{CHART_WIDTH}" height="{h:.0}" viewBox="0 0 {CHART_WIDTH} {h:.0}" xmlns="http://www.w3.org/2000/svg">{inner}</svg>"#,
        h = MEMORY_CHART_HEIGHT + AXIS_HEIGHT
    ))
}

/// The memory charts of the first [`MEMORY_CHARTS`] executors with samples.
pub fn memory_charts(state: &AppState) -> String {
    let charts: Vec<String> = state.executors.values().filter_map(memory_chart).take(MEMORY_CHARTS).collect();
    if charts.is_empty() {
        return format!(
            "<p>No heartbeat yet (executors report their memory every <code>ember.executor.heartbeatInterval</code>; the last {MEMORY_SAMPLES_KEPT} reports are kept).</p>"
        );
    }
    format!(
        "{}{}",
        charts.join(""),
        legend(&[
            ("mem-storage", "Storage (cached blocks)"),
            ("mem-execution", "Execution (shuffle, aggregation, sort buffers)"),
            ("mem-shuffle", "Shuffle written (in all)"),
            ("mem-spill", "Spilled to disk (in all)"),
        ])
    )
}
