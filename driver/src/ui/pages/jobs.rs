//! The jobs page (active, completed and failed jobs) and a job's page: its
//! DAG, drawn as SVG, and the table of its stages.

use super::{PageContext, date_cell, details, duration_between, layout, not_found, progress_bar, table};
use crate::ui::api::stage_status_name;
use crate::ui::dag_svg::{self, DagStage};
use crate::ui::format::{duration_ms, esc};
use crate::ui::state::{AppState, AttemptRecord, JobRecord, JobStatus, StageStatus};
use crate::ui::summary::{job_progress, stage_status_in_job};
use crate::ui::timeline::job_timeline;
use ember_rdd::ids::JobId;

fn job_link(ctx: &PageContext, j: &JobRecord) -> String {
    format!(r#"<a href="{}/jobs/job/?id={}">{}</a>"#, esc(&ctx.base), j.id.0, esc(&j.name))
}

fn jobs_table(state: &AppState, ctx: &PageContext, status: JobStatus) -> (usize, String) {
    let jobs: Vec<&JobRecord> = state.jobs.values().rev().filter(|j| j.status == status).collect();
    let rows = jobs.iter().map(|j| {
        let p = job_progress(state, j);
        let stages_total = j.stages.len() - p.skipped_stages;
        let stages = format!(
            "{}/{}{}{}",
            p.completed_stages,
            stages_total,
            if p.skipped_stages > 0 { format!(" ({} skipped)", p.skipped_stages) } else { String::new() },
            if p.failed_stages > 0 { format!(" ({} failed)", p.failed_stages) } else { String::new() },
        );
        let failed = if p.failed_tasks > 0 { format!(" ({} failed)", p.failed_tasks) } else { String::new() };
        let mut row = vec![
            j.id.0.to_string(),
            job_link(ctx, j),
            date_cell(Some(j.submitted)),
            duration_between(Some(j.submitted), j.completed, ctx.now),
            stages,
            progress_bar(p.completed_tasks, p.active_tasks, p.num_tasks - p.skipped_tasks, &failed),
        ];
        if status == JobStatus::Failed {
            row.push(super::stage_tasks::error_block(j.error.as_deref().unwrap_or("")));
        }
        row
    });
    let mut headers = vec!["Job Id", "Description", "Submitted", "Duration", "Stages: Succeeded/Total", "Tasks"];
    if status == JobStatus::Failed {
        headers.push("Failure Reason");
    }
    (jobs.len(), table(&headers, rows.collect::<Vec<_>>()))
}

/// `/jobs/`: every job the UI remembers.
pub fn jobs_page(state: &AppState, ctx: &PageContext) -> String {
    let (active_n, active) = jobs_table(state, ctx, JobStatus::Running);
    let (done_n, done) = jobs_table(state, ctx, JobStatus::Succeeded);
    let (failed_n, failed) = jobs_table(state, ctx, JobStatus::Failed);
    let end = state.app.ended.unwrap_or(ctx.now);
    let summary = details(&[
        ("User", esc(&state.app.user)),
        ("Master", esc(&state.app.master)),
        ("Total Uptime", duration_ms(end.since(state.app.started) as f64)),
        ("Scheduling Mode", "FIFO".into()),
        ("Active Jobs", active_n.to_string()),
        ("Completed Jobs", done_n.to_string()),
        ("Failed Jobs", failed_n.to_string()),
    ]);
    let body = format!(
        r#"<div class="live" id="jobs-summary">{summary}</div><div class="live" id="jobs-active"><h2 id="active">Active Jobs ({active_n})</h2>{active}</div><div class="live" id="jobs-completed"><h2 id="completed">Completed Jobs ({done_n})</h2>{done}</div><div class="live" id="jobs-failed"><h2 id="failed">Failed Jobs ({failed_n})</h2>{failed}</div>"#
    );
    layout(state, ctx, "Jobs", "Ember Jobs", &body)
}

/// A stage attempt's row: id, description, submitted, duration, tasks, input, shuffle, status.
pub fn stage_row(ctx: &PageContext, a: &AttemptRecord, status: &str) -> Vec<String> {
    let link = if a.attempt > 0 {
        format!(
            r#"<a href="{}/stages/stage/?id={}&amp;attempt={}">{}</a>"#,
            esc(&ctx.base),
            a.stage.0,
            a.attempt,
            esc(&a.name)
        )
    } else {
        esc(&a.name)
    };
    let link = if ctx.kill && a.status == StageStatus::Active { link + &super::kill_link(ctx, a.stage) } else { link };
    let failed = if a.failed_tasks > 0 { format!(" ({} failed)", a.failed_tasks) } else { String::new() };
    vec![
        a.stage.0.to_string(),
        if a.attempt > 0 { a.attempt.to_string() } else { String::new() },
        link,
        date_cell(a.submitted),
        duration_between(a.submitted, a.completed, ctx.now),
        progress_bar(a.complete_tasks, a.running_tasks, a.num_tasks, &failed),
        super::size_records_cell(a.totals.io.bytes_read, a.totals.io.records_read),
        super::size_records_cell(a.totals.io.shuffle_read_bytes, a.totals.io.shuffle_read_records),
        super::bytes_cell(a.totals.io.shuffle_write_bytes),
        status.to_string(),
    ]
}

/// The row of a stage that did not run for a job: no attempt, no times,
/// no sizes, one cell under each of [`STAGE_HEADERS`].
pub fn never_ran_row(stage: u64, name: &str, num_tasks: usize, status: &str) -> Vec<String> {
    let mut row = vec![String::new(); STAGE_HEADERS.len()];
    row[0] = stage.to_string();
    row[2] = esc(name);
    row[5] = progress_bar(0, 0, num_tasks, "");
    row[STAGE_HEADERS.len() - 1] = status.to_lowercase();
    row
}

pub const STAGE_HEADERS: [&str; 10] = [
    "Stage Id",
    "Attempt",
    "Description",
    "Submitted",
    "Duration",
    "Tasks: Succeeded/Total",
    "Input",
    "Shuffle Read",
    "Shuffle Write",
    "Status",
];

/// `/jobs/job/?id=N`: a job's DAG and stages.
pub fn job_page(state: &AppState, ctx: &PageContext, job: JobId) -> String {
    let Some(j) = state.jobs.get(&job) else {
        return not_found(state, ctx, &format!("There is no job {} (or it is no longer remembered).", job.0));
    };
    let p = job_progress(state, j);
    let mut dag_stages = Vec::new();
    let mut rows = Vec::new();
    for stage in j.stages.iter().rev() {
        let attempts: Vec<&AttemptRecord> = state
            .attempts
            .range((*stage, 0)..=(*stage, u32::MAX))
            .map(|(_, a)| a)
            .filter(|a| a.jobs.contains(&job))
            .collect();
        let status = stage_status_in_job(&attempts, j);
        let latest = attempts.iter().rev().find(|a| a.attempt > 0);
        if let Some(info) = state.stage_infos.get(stage) {
            let href = match latest {
                Some(a) => format!("{}/stages/stage/?id={}&attempt={}", ctx.base, stage.0, a.attempt),
                None => format!("{}/stages/", ctx.base),
            };
            dag_stages.push(DagStage { info, status, href });
        }
        for a in attempts.iter().rev() {
            let shown = if a.attempt == 0 { status } else { a.status };
            rows.push(stage_row(ctx, a, &stage_status_name(shown).to_lowercase()));
        }
        if attempts.is_empty()
            && let Some(info) = state.stage_infos.get(stage)
        {
            // Ran for an earlier job: skipped in this one.
            rows.push(never_ran_row(stage.0, &info.name, info.num_tasks, stage_status_name(status)));
        }
    }
    let mut summary = vec![
        ("Status", stage_like_status(j.status).to_string()),
        ("Submitted", date_cell(Some(j.submitted))),
        ("Duration", duration_between(Some(j.submitted), j.completed, ctx.now)),
        ("Completed Stages", p.completed_stages.to_string()),
        ("Skipped Stages", p.skipped_stages.to_string()),
        ("Failed Stages", p.failed_stages.to_string()),
        ("Tasks", progress_bar(p.completed_tasks, p.active_tasks, p.num_tasks - p.skipped_tasks, "")),
    ];
    if let Some(e) = &j.error {
        summary.push(("Failure Reason", super::stage_tasks::error_block(e)));
    }
    let body = format!(
        r#"<div class="live" id="job-details">{}</div><h2>Event Timeline</h2><div class="live" id="job-timeline">{}</div><h2>DAG Visualization</h2><div class="live dag-box" id="job-dag">{}</div><h2>Stages</h2><div class="live" id="job-stages">{}</div>"#,
        details(&summary),
        job_timeline(state, j, ctx.now),
        dag_svg::render(&dag_stages),
        table(&STAGE_HEADERS, rows)
    );
    layout(state, ctx, "Jobs", &format!("Details for Job {}: {}", job.0, j.name), &body)
}

fn stage_like_status(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Running => "running",
        JobStatus::Succeeded => "succeeded",
        JobStatus::Failed => "failed",
    }
}
