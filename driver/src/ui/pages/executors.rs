//! The executors page: live and dead executors, their cores, cached blocks
//! and memory, and the tasks they ran.

use super::{PageContext, bytes_cell, details, layout, size_records_cell, table};
use crate::ui::api::executors;
use crate::ui::format::{bytes, duration_ms, esc};
use crate::ui::state::AppState;
use crate::ui::task_stream::{memory_charts, task_stream};

/// `/executors/`.
pub fn executors_page(state: &AppState, ctx: &PageContext) -> String {
    let all = executors(state, true);
    let active = all.iter().filter(|e| e.is_active).count();
    let summary = details(&[
        ("Active Executors", active.to_string()),
        ("Dead Executors", (all.len() - active).to_string()),
        ("Cores", all.iter().filter(|e| e.is_active).map(|e| e.total_cores).sum::<usize>().to_string()),
        ("Storage Memory Used", bytes(all.iter().map(|e| e.memory_used).sum())),
    ]);
    let rows = all.iter().map(|e| {
        let memory = if e.max_memory == 0 {
            format!("{} / unlimited", bytes(e.memory_used))
        } else {
            format!("{} / {}", bytes(e.memory_used), bytes(e.max_memory))
        };
        let status = match (&e.is_active, &e.remove_reason) {
            (true, _) => "Active".to_string(),
            (false, Some(why)) => format!("Dead: {}", esc(why)),
            (false, None) => "Dead".to_string(),
        };
        vec![
            esc(&e.id),
            esc(&e.host_port),
            status,
            e.rdd_blocks.to_string(),
            memory,
            bytes_cell(e.disk_used),
            e.total_cores.to_string(),
            e.active_tasks.to_string(),
            e.queued_tasks.to_string(),
            e.failed_tasks.to_string(),
            e.completed_tasks.to_string(),
            e.total_tasks.to_string(),
            duration_ms(e.total_duration as f64),
            size_records_cell(e.total_input_bytes, e.total_input_records),
            bytes_cell(e.total_shuffle_read),
            bytes_cell(e.total_shuffle_write),
        ]
    });
    let table = table(
        &[
            "Executor ID",
            "Address",
            "Status",
            "RDD Blocks",
            "Storage Memory",
            "Disk Used",
            "Cores",
            "Active Tasks",
            "Queued Tasks",
            "Failed Tasks",
            "Complete Tasks",
            "Total Tasks",
            "Task Time",
            "Input",
            "Shuffle Read",
            "Shuffle Write",
        ],
        rows,
    );
    let stream = task_stream(state, ctx.now);
    let memory = memory_charts(state);
    let body = format!(
        r#"<div class="live" id="executors-summary">{summary}</div><h2>Executors</h2><div class="live" id="executors-table">{table}</div><h2>Task Stream</h2><div class="live" id="task-stream">{stream}</div><h2>Memory over Time</h2><div class="live" id="memory">{memory}</div>"#
    );
    layout(state, ctx, "Executors", "Executors", &body)
}
