//! The stage page's task table: one page of tasks sorted on the server
//! ([`crate::ui::task_list`]), headers that sort by their column (again to
//! reverse), a pager to every page, and failed tasks' errors with their
//! backtraces folded in a `<details>` block, as Spark's "+details".

use super::{PageContext, bytes_cell, date_cell, size_records_cell};
use crate::ui::format::{duration_ms, esc};
use crate::ui::state::{AttemptRecord, TaskRecord, TaskStatus};
use crate::ui::task_list::{TaskColumn, TaskQuery, select};
use std::fmt::Write;

/// The task table of `a`, as `query` asks, with its pager.
pub fn task_table(a: &AttemptRecord, ctx: &PageContext, query: &TaskQuery, spilled: bool) -> String {
    let (tasks, total) = select(a, query);
    let columns: Vec<TaskColumn> = TaskColumn::ALL
        .into_iter()
        .filter(|c| spilled || !matches!(c, TaskColumn::SpillMemory | TaskColumn::SpillDisk))
        .collect();
    let link = |q: &TaskQuery| task_page_href(ctx, a, q);
    let mut out = pager(query, total, link);
    out.push_str(r#"<table class="tasks"><thead><tr>"#);
    for c in &columns {
        let sorted_here = *c == query.sort;
        let next = TaskQuery { sort: *c, descending: sorted_here && !query.descending, offset: 0, ..*query };
        let arrow = match (sorted_here, query.descending) {
            (false, _) => "",
            (true, false) => " ▴",
            (true, true) => " ▾",
        };
        let _ = write!(out, r#"<th><a class="sort" href="{}">{}{arrow}</a></th>"#, esc(&link(&next)), esc(c.header()));
    }
    out.push_str("</tr></thead><tbody>");
    for t in &tasks {
        out.push_str("<tr>");
        for c in &columns {
            let _ = write!(out, "<td>{}</td>", task_cell(t, *c, ctx));
        }
        out.push_str("</tr>");
    }
    if tasks.is_empty() {
        let _ = write!(out, r#"<tr><td colspan="{}">none</td></tr>"#, columns.len());
    }
    out.push_str("</tbody></table>");
    out
}

/// The stage page at another page or order of its task table.
fn task_page_href(ctx: &PageContext, a: &AttemptRecord, q: &TaskQuery) -> String {
    format!(
        "{}/stages/stage/?id={}&attempt={}&task.sort={}&task.desc={}&task.pageSize={}&task.page={}#tasks",
        ctx.base,
        a.stage.0,
        a.attempt,
        q.sort.key(),
        q.descending,
        q.length,
        q.page()
    )
}

/// "Page 3 of 200" with links to the first, previous, next and last pages.
fn pager(query: &TaskQuery, total: usize, link: impl Fn(&TaskQuery) -> String) -> String {
    let size = query.length.max(1);
    let pages = total.div_ceil(size).max(1);
    let page = query.page().min(pages);
    let at = |p: usize| TaskQuery { offset: (p - 1) * size, ..*query };
    let mut out = format!(r#"<div class="pager" id="tasks">Page {page} of {pages} ({total} tasks)"#);
    for (label, target, class) in [
        ("First", 1, "first"),
        ("Previous", page.saturating_sub(1).max(1), "prev"),
        ("Next", (page + 1).min(pages), "next"),
        ("Last", pages, "last"),
    ] {
        if target != page {
            let _ = write!(out, r#" <a class="page-{class}" href="{}">{label}</a>"#, esc(&link(&at(target))));
        }
    }
    out.push_str("</div>");
    out
}

fn task_cell(t: &TaskRecord, column: TaskColumn, ctx: &PageContext) -> String {
    let io = &t.metrics.io;
    let finished = t.finished.is_some();
    match column {
        TaskColumn::Index => t.partition.to_string(),
        TaskColumn::TaskId => t.id.0.to_string(),
        TaskColumn::Attempt => t.attempt.to_string(),
        TaskColumn::Status => task_status_word(t).into(),
        TaskColumn::Executor => esc(&t.executor),
        TaskColumn::LaunchTime => date_cell(Some(t.launched)),
        TaskColumn::Duration if finished => duration_ms(t.run_ms()),
        TaskColumn::Duration => t.started.map(|s| duration_ms(ctx.now.since(s) as f64)).unwrap_or_default(),
        TaskColumn::SchedulerDelay if finished => duration_ms(t.scheduler_delay_ms()),
        TaskColumn::SchedulerDelay => String::new(),
        TaskColumn::Input => size_records_cell(io.bytes_read, io.records_read),
        TaskColumn::ShuffleRead => size_records_cell(io.shuffle_read_bytes, io.shuffle_read_records),
        TaskColumn::ShuffleWrite => size_records_cell(io.shuffle_write_bytes, io.shuffle_write_records),
        TaskColumn::ResultSize => bytes_cell(t.metrics.result_size_bytes),
        TaskColumn::SpillMemory => bytes_cell(io.memory_bytes_spilled),
        TaskColumn::SpillDisk => bytes_cell(io.disk_bytes_spilled),
        TaskColumn::Errors => t.error.as_deref().map(error_block).unwrap_or_default(),
    }
}

/// RUNNING (holding a core), QUEUED (launched, waiting on its executor),
/// SUCCESS or FAILED.
pub fn task_status_word(t: &TaskRecord) -> &'static str {
    match t.status {
        TaskStatus::Running if t.started.is_some() => "RUNNING",
        TaskStatus::Running => "QUEUED",
        TaskStatus::Success => "SUCCESS",
        TaskStatus::Failed => "FAILED",
    }
}

/// An error's first line, unfolding to the whole error and its backtrace.
pub fn error_block(error: &str) -> String {
    let first = error.lines().next().unwrap_or_default();
    if first.len() == error.len() {
        return format!(r#"<div class="error">{}</div>"#, esc(error));
    }
    format!(
        r#"<details class="error"><summary>{}</summary><pre class="backtrace">{}</pre></details>"#,
        esc(first),
        esc(error)
    )
}
