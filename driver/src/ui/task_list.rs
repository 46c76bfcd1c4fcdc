//! One page of a stage attempt's tasks, sorted by any column on the server:
//! what the stage page's task table and the API's `taskList` show, so that
//! every task of a 20,000-task stage (its running and failed ones too) is a
//! few clicks or one request away.
//!
//! Sorting copies references to the attempt's remembered tasks (at most
//! `ember.ui.retainedTasks`) and sorts those, stably, so that ties keep
//! task id order: a 100,000-task stage sorts in a few milliseconds, under
//! the state lock, once per request.
//!
//! The API takes Spark's parameters: `offset`, `length`, and `sortBy` of
//! `ID`, `runtime` or `-runtime` (Spark's `TaskSorting`), or any column
//! key below, a leading `-` meaning descending. The page takes Spark's
//! `task.page`, `task.pageSize`, `task.sort` (a column header) and `task.desc`.

use super::state::{AttemptRecord, TaskRecord, TaskStatus};
use std::cmp::Ordering;

/// Tasks a page of the task table shows unless asked otherwise (Spark's 100).
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// The most tasks one page or one API answer holds.
pub const MAX_PAGE_SIZE: usize = 10_000;

/// A column of the task table: what it is sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskColumn {
    Index,
    TaskId,
    Attempt,
    Status,
    Executor,
    LaunchTime,
    /// Run time on the executor (Spark's "Duration").
    Duration,
    SchedulerDelay,
    Input,
    ShuffleRead,
    ShuffleWrite,
    ResultSize,
    SpillMemory,
    SpillDisk,
    Errors,
}

impl TaskColumn {
    /// Every column, in the table's order.
    pub const ALL: [TaskColumn; 15] = [
        TaskColumn::Index,
        TaskColumn::TaskId,
        TaskColumn::Attempt,
        TaskColumn::Status,
        TaskColumn::Executor,
        TaskColumn::LaunchTime,
        TaskColumn::Duration,
        TaskColumn::SchedulerDelay,
        TaskColumn::Input,
        TaskColumn::ShuffleRead,
        TaskColumn::ShuffleWrite,
        TaskColumn::ResultSize,
        TaskColumn::SpillMemory,
        TaskColumn::SpillDisk,
        TaskColumn::Errors,
    ];

    /// Its header on the stage page (Spark's words).
    pub fn header(self) -> &'static str {
        match self {
            TaskColumn::Index => "Index",
            TaskColumn::TaskId => "Task ID",
            TaskColumn::Attempt => "Attempt",
            TaskColumn::Status => "Status",
            TaskColumn::Executor => "Executor ID",
            TaskColumn::LaunchTime => "Launch Time",
            TaskColumn::Duration => "Duration",
            TaskColumn::SchedulerDelay => "Scheduler Delay",
            TaskColumn::Input => "Input Size / Records",
            TaskColumn::ShuffleRead => "Shuffle Read Size / Records",
            TaskColumn::ShuffleWrite => "Shuffle Write Size / Records",
            TaskColumn::ResultSize => "Result Size",
            TaskColumn::SpillMemory => "Spill (Memory)",
            TaskColumn::SpillDisk => "Spill (Disk)",
            TaskColumn::Errors => "Errors",
        }
    }

    /// Its key in the API's `sortBy` (the `TaskData` field it sorts).
    pub fn key(self) -> &'static str {
        match self {
            TaskColumn::Index => "index",
            TaskColumn::TaskId => "taskId",
            TaskColumn::Attempt => "attempt",
            TaskColumn::Status => "status",
            TaskColumn::Executor => "executorId",
            TaskColumn::LaunchTime => "launchTime",
            TaskColumn::Duration => "executorRunTime",
            TaskColumn::SchedulerDelay => "schedulerDelay",
            TaskColumn::Input => "inputBytes",
            TaskColumn::ShuffleRead => "shuffleReadBytes",
            TaskColumn::ShuffleWrite => "shuffleWriteBytes",
            TaskColumn::ResultSize => "resultSize",
            TaskColumn::SpillMemory => "memoryBytesSpilled",
            TaskColumn::SpillDisk => "diskBytesSpilled",
            TaskColumn::Errors => "errorMessage",
        }
    }

    /// The column a header or key names (case-insensitive); Spark's `ID`
    /// and `runtime` too.
    pub fn named(name: &str) -> Option<TaskColumn> {
        match name.to_ascii_lowercase().as_str() {
            "id" => return Some(TaskColumn::TaskId),
            "runtime" | "duration" => return Some(TaskColumn::Duration),
            _ => {}
        }
        TaskColumn::ALL
            .into_iter()
            .find(|c| c.header().eq_ignore_ascii_case(name) || c.key().eq_ignore_ascii_case(name))
    }

    fn compare(self, a: &TaskRecord, b: &TaskRecord) -> Ordering {
        let io = |t: &TaskRecord| t.metrics.io;
        match self {
            TaskColumn::Index => a.partition.cmp(&b.partition),
            TaskColumn::TaskId => a.id.cmp(&b.id),
            TaskColumn::Attempt => a.attempt.cmp(&b.attempt),
            TaskColumn::Status => status_rank(a).cmp(&status_rank(b)),
            TaskColumn::Executor => a.executor.cmp(&b.executor),
            TaskColumn::LaunchTime => a.launched.cmp(&b.launched),
            TaskColumn::Duration => a.metrics.run_time.cmp(&b.metrics.run_time),
            TaskColumn::SchedulerDelay => a.scheduler_delay_ms().total_cmp(&b.scheduler_delay_ms()),
            TaskColumn::Input => io(a).bytes_read.cmp(&io(b).bytes_read),
            TaskColumn::ShuffleRead => io(a).shuffle_read_bytes.cmp(&io(b).shuffle_read_bytes),
            TaskColumn::ShuffleWrite => io(a).shuffle_write_bytes.cmp(&io(b).shuffle_write_bytes),
            TaskColumn::ResultSize => a.metrics.result_size_bytes.cmp(&b.metrics.result_size_bytes),
            TaskColumn::SpillMemory => io(a).memory_bytes_spilled.cmp(&io(b).memory_bytes_spilled),
            TaskColumn::SpillDisk => io(a).disk_bytes_spilled.cmp(&io(b).disk_bytes_spilled),
            TaskColumn::Errors => a.error.cmp(&b.error),
        }
    }
}

/// Running before queued, then finished ones: failed before successful.
fn status_rank(t: &TaskRecord) -> u8 {
    match t.status {
        TaskStatus::Running if t.started.is_some() => 0,
        TaskStatus::Running => 1,
        TaskStatus::Failed => 2,
        TaskStatus::Success => 3,
    }
}

/// Which tasks to show, in which order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskQuery {
    pub sort: TaskColumn,
    pub descending: bool,
    /// Tasks to skip, in sorted order.
    pub offset: usize,
    /// Tasks to show (at most [`MAX_PAGE_SIZE`]).
    pub length: usize,
}

impl Default for TaskQuery {
    fn default() -> Self {
        TaskQuery { sort: TaskColumn::Index, descending: false, offset: 0, length: DEFAULT_PAGE_SIZE }
    }
}

/// A `sortBy` or `task.sort` the task table does not have.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown task column {0:?}: sort by ID, runtime, or one of {keys}", keys = column_keys())]
pub struct UnknownColumn(pub String);

fn column_keys() -> String {
    TaskColumn::ALL.iter().map(|c| c.key()).collect::<Vec<_>>().join(", ")
}

impl TaskQuery {
    /// The API's `sortBy` (`-` first for descending; Spark's default `ID`).
    pub fn from_api(
        offset: Option<usize>,
        length: Option<usize>,
        sort_by: Option<&str>,
    ) -> Result<Self, UnknownColumn> {
        let (descending, name) = match sort_by.unwrap_or("ID") {
            s if s.starts_with('-') => (true, &s[1..]),
            s => (false, s),
        };
        let sort = TaskColumn::named(name).ok_or_else(|| UnknownColumn(name.to_string()))?;
        let length = length.unwrap_or(MAX_PAGE_SIZE).min(MAX_PAGE_SIZE);
        Ok(TaskQuery { sort, descending, offset: offset.unwrap_or(0), length })
    }

    /// The page's `task.page` (from 1), `task.pageSize`, `task.sort`, `task.desc`.
    pub fn from_page(page: Option<usize>, size: Option<usize>, sort: Option<&str>, desc: bool) -> Self {
        let length = size.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
        let sort = sort.and_then(TaskColumn::named).unwrap_or(TaskColumn::Index);
        let offset = page.unwrap_or(1).saturating_sub(1).saturating_mul(length);
        TaskQuery { sort, descending: desc, offset, length }
    }

    /// The page (from 1) this query shows.
    pub fn page(&self) -> usize {
        self.offset / self.length.max(1) + 1
    }
}

/// The tasks `query` asks for, sorted, and how many the attempt remembers.
pub fn select<'a>(attempt: &'a AttemptRecord, query: &TaskQuery) -> (Vec<&'a TaskRecord>, usize) {
    let mut tasks: Vec<&TaskRecord> = attempt.tasks.values().collect();
    let total = tasks.len();
    let TaskQuery { sort, descending, .. } = *query;
    if sort != TaskColumn::TaskId || descending {
        tasks.sort_by(|a, b| {
            let order = sort.compare(a, b);
            if descending { order.reverse() } else { order }
        });
    }
    let page = tasks.into_iter().skip(query.offset).take(query.length).collect();
    (page, total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listener::UnixMillis;
    use crate::ui::records::{StageStatus, TaskMetricsRecord};
    use ember_rdd::ids::{StageId, TaskId};
    use std::time::Duration;

    fn attempt_with(run_ms: &[u64]) -> AttemptRecord {
        let mut a = AttemptRecord::new(StageId(0), 1, "s".into(), StageStatus::Active, vec![], run_ms.len());
        for (i, ms) in run_ms.iter().enumerate() {
            a.tasks.insert(TaskRecord {
                id: TaskId(i as u64),
                partition: i,
                attempt: 0,
                executor: "e".into(),
                launched: UnixMillis(1000),
                started: Some(UnixMillis(1000)),
                finished: Some(UnixMillis(1000 + ms + 5)),
                status: if *ms == 7 { TaskStatus::Failed } else { TaskStatus::Success },
                error: (*ms == 7).then(|| "boom".to_string()),
                metrics: TaskMetricsRecord { run_time: Duration::from_millis(*ms), ..Default::default() },
            });
        }
        a
    }

    fn ids(tasks: &[&TaskRecord]) -> Vec<u64> {
        tasks.iter().map(|t| t.id.0).collect()
    }

    #[test]
    fn sorts_by_duration_both_ways_and_pages() {
        let a = attempt_with(&[30, 10, 50, 20, 40]);
        let q = TaskQuery::from_api(None, Some(2), Some("-runtime")).unwrap();
        let (page, total) = select(&a, &q);
        assert_eq!((ids(&page), total), (vec![2, 4], 5));
        let q = TaskQuery::from_page(Some(3), Some(2), Some("Duration"), false);
        assert_eq!(ids(&select(&a, &q).0), vec![2], "the last page holds the slowest");
        let q = TaskQuery::from_api(Some(1), Some(3), Some("executorRunTime")).unwrap();
        assert_eq!(ids(&select(&a, &q).0), vec![3, 0, 4]);
    }

    #[test]
    fn failed_tasks_sort_first_by_status_and_unknown_columns_are_refused() {
        let a = attempt_with(&[3, 7, 9]);
        let q = TaskQuery::from_page(None, None, Some("Status"), false);
        assert_eq!(ids(&select(&a, &q).0), vec![1, 0, 2]);
        assert_eq!(TaskQuery::from_api(None, None, Some("-nope")), Err(UnknownColumn("nope".into())));
        assert_eq!(TaskQuery::from_api(None, None, None).unwrap().sort, TaskColumn::TaskId);
        assert_eq!(TaskQuery::from_page(Some(4), Some(25), None, false).page(), 4);
    }
}
