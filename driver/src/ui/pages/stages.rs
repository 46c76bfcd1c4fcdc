//! The stages page (attempts by status) and a stage attempt's page: its RDDs,
//! the summary quantiles of its tasks' metrics, and the task table.

use super::jobs::{STAGE_HEADERS, stage_row};
use super::{
    PageContext, bytes_cell, date_cell, details, duration_between, layout, not_found, size_records_cell, table,
};
use crate::ui::dag_svg::{self, DagStage};
use crate::ui::format::{bytes, duration_ms, esc};
use crate::ui::state::{AppState, AttemptRecord, StageStatus, TaskStatus};
use crate::ui::summary::{MetricUnit, PAGE_QUANTILES, task_quantiles};
use ember_rdd::ids::StageId;

/// Tasks listed on a stage page; the JSON API lists them all.
pub const TASKS_SHOWN: usize = 1000;

/// `/stages/`: stage attempts by status.
pub fn stages_page(state: &AppState, ctx: &PageContext) -> String {
    let mut body = String::new();
    for (status, title) in [
        (StageStatus::Active, "Active Stages"),
        (StageStatus::Pending, "Pending Stages"),
        (StageStatus::Complete, "Completed Stages"),
        (StageStatus::Skipped, "Skipped Stages"),
        (StageStatus::Failed, "Failed Stages"),
    ] {
        let attempts: Vec<&AttemptRecord> = state.attempts.values().rev().filter(|a| a.status == status).collect();
        let word = crate::ui::api::stage_status_name(status).to_lowercase();
        let mut headers = STAGE_HEADERS.to_vec();
        let rows: Vec<Vec<String>> = attempts
            .iter()
            .map(|a| {
                let mut row = stage_row(ctx, a, &word);
                if status == StageStatus::Failed {
                    row.push(format!(r#"<div class="error">{}</div>"#, esc(a.failure.as_deref().unwrap_or(""))));
                }
                row
            })
            .collect();
        if status == StageStatus::Failed {
            headers.push("Failure Reason");
        }
        body.push_str(&format!("<h2>{title} ({})</h2>{}", attempts.len(), table(&headers, rows)));
    }
    layout(state, ctx, "Stages", "Stages for All Jobs", &body)
}

fn quantile_cell(unit: MetricUnit, v: f64) -> String {
    match unit {
        MetricUnit::Millis => duration_ms(v),
        MetricUnit::Bytes => bytes(v as u64),
        MetricUnit::Count => format!("{v:.0}"),
    }
}

/// `/stages/stage/?id=N&attempt=M`: one attempt in detail.
pub fn stage_page(state: &AppState, ctx: &PageContext, stage: StageId, attempt: u32) -> String {
    let Some(a) = state.attempts.get(&(stage, attempt)) else {
        return not_found(
            state,
            ctx,
            &format!("There is no attempt {attempt} of stage {} (or it is no longer remembered).", stage.0),
        );
    };
    let jobs: Vec<String> =
        a.jobs.iter().map(|j| format!(r#"<a href="{}/jobs/job/?id={}">{}</a>"#, esc(&ctx.base), j.0, j.0)).collect();
    let mut items = vec![
        ("Status", crate::ui::api::stage_status_name(a.status).to_lowercase()),
        ("Jobs", jobs.join(", ")),
        ("Submitted", date_cell(a.submitted)),
        ("Duration", duration_between(a.submitted, a.completed, ctx.now)),
        (
            "Tasks",
            format!(
                "{} of {} succeeded, {} running, {} failed",
                a.complete_tasks, a.num_tasks, a.active_tasks, a.failed_tasks
            ),
        ),
        ("Total Time Across All Tasks", duration_ms(a.totals.run_time.as_secs_f64() * 1e3)),
        ("Input Size / Records", format!("{} / {}", bytes(a.totals.io.bytes_read), a.totals.io.records_read)),
        (
            "Shuffle Read Size / Records",
            format!("{} / {}", bytes(a.totals.io.shuffle_read_bytes), a.totals.io.shuffle_read_records),
        ),
        ("Shuffle Write", bytes(a.totals.io.shuffle_write_bytes)),
        ("Result Size", bytes(a.totals.result_size_bytes)),
    ];
    // Spill columns only where something spilled, as Spark shows them.
    let spilled = a.totals.io.disk_bytes_spilled > 0;
    if spilled {
        items.push(("Spill (Memory)", bytes(a.totals.io.memory_bytes_spilled)));
        items.push(("Spill (Disk)", bytes(a.totals.io.disk_bytes_spilled)));
    }
    if a.totals.io.peak_execution_memory > 0 {
        items.push(("Peak Execution Memory (largest task)", bytes(a.totals.io.peak_execution_memory)));
    }
    if let Some(f) = &a.failure {
        items.push(("Failure Reason", format!(r#"<div class="error">{}</div>"#, esc(f))));
    }
    let dag = match state.stage_infos.get(&stage) {
        Some(info) => dag_svg::render(&[DagStage { info, status: a.status, href: String::new() }]),
        None => "<p>Not remembered.</p>".into(),
    };
    // Metrics no task reported (all zero) are left out, as Spark hides unused columns.
    let mut quantiles = task_quantiles(a, &PAGE_QUANTILES);
    quantiles.retain(|m| m.unit == MetricUnit::Millis || m.values.iter().any(|v| *v > 0.0));
    let summary = if quantiles.is_empty() {
        "<p>No task has finished successfully yet.</p>".to_string()
    } else {
        table(
            &["Metric", "Min", "25th percentile", "Median", "75th percentile", "Max"],
            quantiles.iter().map(|m| {
                let mut row = vec![m.metric.to_string()];
                row.extend(m.values.iter().map(|v| quantile_cell(m.unit, *v)));
                row
            }),
        )
    };
    let task_rows = a.tasks.values().take(TASKS_SHOWN).map(|t| {
        let mut row = vec![
            t.partition.to_string(),
            t.id.0.to_string(),
            t.attempt.to_string(),
            match t.status {
                TaskStatus::Running => "RUNNING",
                TaskStatus::Success => "SUCCESS",
                TaskStatus::Failed => "FAILED",
            }
            .to_string(),
            esc(&t.executor),
            date_cell(Some(t.launched)),
            duration_between(Some(t.launched), t.finished, ctx.now),
            if t.finished.is_some() { duration_ms(t.metrics.run_time.as_secs_f64() * 1e3) } else { String::new() },
            size_records_cell(t.metrics.io.bytes_read, t.metrics.io.records_read),
            size_records_cell(t.metrics.io.shuffle_read_bytes, t.metrics.io.shuffle_read_records),
            bytes_cell(t.metrics.io.shuffle_write_bytes),
            bytes_cell(t.metrics.result_size_bytes),
        ];
        if spilled {
            row.push(bytes_cell(t.metrics.io.memory_bytes_spilled));
            row.push(bytes_cell(t.metrics.io.disk_bytes_spilled));
        }
        row.push(format!(r#"<div class="error">{}</div>"#, esc(t.error.as_deref().unwrap_or(""))));
        row
    });
    let shown = a.tasks.len().min(TASKS_SHOWN);
    let note = if a.tasks.len() > TASKS_SHOWN || a.complete_tasks + a.failed_tasks + a.active_tasks > a.tasks.len() {
        format!(
            "<p>Showing {shown} tasks; the JSON API lists every remembered task: <code>/api/v1/applications/{}/stages/{}/{attempt}/taskList</code>.</p>",
            esc(&state.app.id),
            stage.0
        )
    } else {
        String::new()
    };
    let mut headers = vec![
        "Index",
        "Task Id",
        "Attempt",
        "Status",
        "Executor",
        "Launch Time",
        "Duration",
        "Run Time",
        "Input Size / Records",
        "Shuffle Read Size / Records",
        "Shuffle Write",
        "Result Size",
    ];
    if spilled {
        headers.extend(["Spill (Memory)", "Spill (Disk)"]);
    }
    headers.push("Errors");
    let tasks = table(&headers, task_rows);
    let body = format!(
        "{}<h2>RDDs</h2>{dag}<h2>Summary Metrics for {} Completed Tasks</h2>{summary}<h2>Tasks ({})</h2>{note}{tasks}",
        details(&items),
        a.complete_tasks,
        a.tasks.len()
    );
    layout(state, ctx, "Stages", &format!("Details for Stage {} (Attempt {attempt}): {}", stage.0, a.name), &body)
}
