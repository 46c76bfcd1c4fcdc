//! The stages page (attempts by status) and a stage attempt's page: its RDDs,
//! the summary quantiles of its tasks' metrics, and the task table.

use super::jobs::{STAGE_HEADERS, stage_row};
use super::stage_tasks::{error_block, task_table};
use super::{PageContext, date_cell, details, duration_between, layout, not_found, table};
use crate::ui::dag_svg::{self, DagStage};
use crate::ui::format::{bytes, duration_ms, esc};
use crate::ui::state::{AppState, AttemptRecord, StageStatus};
use crate::ui::summary::{MetricQuantiles, MetricUnit, PAGE_QUANTILES, task_quantiles};
use crate::ui::task_list::TaskQuery;
use ember_rdd::ids::StageId;

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
                    row.push(error_block(a.failure.as_deref().unwrap_or("")));
                }
                row
            })
            .collect();
        if status == StageStatus::Failed {
            headers.push("Failure Reason");
        }
        let id = format!("stages-{word}");
        body.push_str(&format!(
            r#"<div class="live" id="{id}"><h2>{title} ({})</h2>{}</div>"#,
            attempts.len(),
            table(&headers, rows)
        ));
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

/// Spark's summary table: one row per metric some task reported, sizes and
/// records of the same input in one row ("Input Size / Records").
fn summary_table(quantiles: &[MetricQuantiles]) -> String {
    let find = |key: &str| quantiles.iter().find(|m| m.metric.key == key);
    let mut rows = Vec::new();
    for m in quantiles {
        let paired = match m.metric.key {
            "inputBytes" => Some(("Input Size / Records", "inputRecords")),
            "shuffleReadBytes" => Some(("Shuffle Read Size / Records", "shuffleReadRecords")),
            _ => None,
        };
        let bytes_of = |records: &str| match records {
            "inputRecords" => find("inputBytes"),
            "shuffleReadRecords" => find("shuffleReadBytes"),
            _ => None,
        };
        if bytes_of(m.metric.key).is_some() {
            continue; // shown beside its bytes
        }
        let label = paired.map_or(m.metric.label, |(label, _)| label);
        let mut row = vec![esc(label)];
        for (i, v) in m.values.iter().enumerate() {
            let mut cell = quantile_cell(m.metric.unit, *v);
            if let Some(records) = paired.and_then(|(_, key)| find(key)) {
                let _ = std::fmt::Write::write_fmt(&mut cell, format_args!(" / {:.0}", records.values[i]));
            }
            row.push(cell);
        }
        rows.push(row);
    }
    table(&["Metric", "Min", "25th percentile", "Median", "75th percentile", "Max"], rows)
}

/// `/stages/stage/?id=N&attempt=M`: one attempt in detail, its tasks as `query` asks.
pub fn stage_page(state: &AppState, ctx: &PageContext, stage: StageId, attempt: u32, query: &TaskQuery) -> String {
    let Some(a) = state.attempts.get(&(stage, attempt)) else {
        return not_found(
            state,
            ctx,
            &format!("There is no attempt {attempt} of stage {} (or it is no longer remembered).", stage.0),
        );
    };
    let spilled = a.totals.io.disk_bytes_spilled > 0;
    let dag = match state.stage_infos.get(&stage) {
        Some(info) => dag_svg::render(&[DagStage { info, status: a.status, href: String::new() }]),
        None => "<p>Not remembered.</p>".into(),
    };
    // Metrics no task reported (all zero) are left out, as Spark hides unused rows.
    let mut quantiles = task_quantiles(a, &PAGE_QUANTILES);
    let always = ["executorRunTime", "schedulerDelay", "duration"];
    quantiles.retain(|m| always.contains(&m.metric.key) || m.values.iter().any(|v| *v > 0.0));
    let summary = if quantiles.is_empty() {
        "<p>No task has finished successfully yet.</p>".to_string()
    } else {
        summary_table(&quantiles)
    };
    let forgotten = (a.complete_tasks + a.failed_tasks + a.launched_tasks).saturating_sub(a.tasks.len());
    let note = if forgotten > 0 {
        format!("<p>The oldest {forgotten} tasks are no longer remembered (<code>ember.ui.retainedTasks</code>).</p>")
    } else {
        String::new()
    };
    let timeline = crate::ui::timeline::stage_timeline(state, a, ctx.now);
    let body = format!(
        "<div class=\"live\" id=\"stage-details\">{}</div><h2>RDDs</h2>{dag}<h2>Event Timeline</h2><div class=\"live\" id=\"stage-timeline\">{timeline}</div><h2>Summary Metrics for {} Completed Tasks</h2><div class=\"live\" id=\"stage-summary\">{summary}</div><h2>Tasks ({})</h2>{note}<div class=\"live\" id=\"stage-tasks\">{}</div>",
        details(&stage_details(ctx, a)),
        a.complete_tasks,
        a.tasks.len(),
        task_table(a, ctx, query, spilled),
    );
    layout(state, ctx, "Stages", &format!("Details for Stage {} (Attempt {attempt}): {}", stage.0, a.name), &body)
}

/// The attempt's facts above its tables.
fn stage_details(ctx: &PageContext, a: &AttemptRecord) -> Vec<(&'static str, String)> {
    let jobs: Vec<String> =
        a.jobs.iter().map(|j| format!(r#"<a href="{}/jobs/job/?id={}">{}</a>"#, esc(&ctx.base), j.0, j.0)).collect();
    let queued = a.launched_tasks - a.running_tasks.min(a.launched_tasks);
    let mut items = vec![
        ("Status", {
            let status = crate::ui::api::stage_status_name(a.status).to_lowercase();
            if ctx.kill && a.status == StageStatus::Active { status + &super::kill_link(ctx, a.stage) } else { status }
        }),
        ("Jobs", jobs.join(", ")),
        ("Submitted", date_cell(a.submitted)),
        ("Duration", duration_between(a.submitted, a.completed, ctx.now)),
        (
            "Tasks",
            format!(
                "{} of {} succeeded, {} running, {queued} queued, {} failed",
                a.complete_tasks, a.num_tasks, a.running_tasks, a.failed_tasks
            ),
        ),
        ("Total Time Across All Tasks", duration_ms(a.totals.run_time.as_secs_f64() * 1e3)),
        ("Input Size / Records", format!("{} / {}", bytes(a.totals.io.bytes_read), a.totals.io.records_read)),
        (
            "Shuffle Read Size / Records",
            format!("{} / {}", bytes(a.totals.io.shuffle_read_bytes), a.totals.io.shuffle_read_records),
        ),
        (
            "Shuffle Write Size / Records",
            format!("{} / {}", bytes(a.totals.io.shuffle_write_bytes), a.totals.io.shuffle_write_records),
        ),
        ("Result Size", bytes(a.totals.result_size_bytes)),
    ];
    // Spill rows only where something spilled, as Spark shows them.
    if a.totals.io.disk_bytes_spilled > 0 {
        items.push(("Spill (Memory)", bytes(a.totals.io.memory_bytes_spilled)));
        items.push(("Spill (Disk)", bytes(a.totals.io.disk_bytes_spilled)));
    }
    if a.totals.io.peak_execution_memory > 0 {
        items.push(("Peak Execution Memory (largest task)", bytes(a.totals.io.peak_execution_memory)));
    }
    if let Some(f) = &a.failure {
        items.push(("Failure Reason", error_block(f)));
    }
    items
}
