//! The JSON API under `/api/v1/`, shaped like Spark's REST API (field names
//! in camelCase, dates as `2024-05-01T12:00:00.000GMT`, lists newest first),
//! so that a Spark user's scripts need little change:
//!
//! | path under `/api/v1/applications/<app id>` | what |
//! |---|---|
//! | `/jobs[?status=running\|succeeded\|failed]`, `/jobs/<job>` | jobs |
//! | `/stages[?status=active\|complete\|failed\|pending\|skipped]` | stage attempts |
//! | `/stages/<stage>`, `/stages/<stage>/<attempt>` | attempts with their tasks |
//! | `/stages/<stage>/<attempt>/taskSummary[?quantiles=0.05,0.5,0.95]` | task metric quantiles |
//! | `/stages/<stage>/<attempt>/taskList[?offset=0&length=20&sortBy=-runtime]` | tasks, paged and sorted (Spark's `ID`, `runtime`, `-runtime`, or any column key) |
//! | `/executors`, `/allexecutors` | live executors, or all |
//! | `/storage/rdd` (also `/storage`), `/storage/rdd/<rdd>` | cached RDDs |
//! | `/environment` | configuration, secrets redacted |
//!
//! Only what Ember measures is reported; stage attempts are numbered from 1
//! (Spark's from 0), and attempt 0 is a stage that has not run.

use super::format::rest_date;
use super::state::{AppState, AppStore, AttemptRecord, JobStatus, StageStatus, TaskRecord};
use super::summary::{job_progress, task_quantiles};
use crate::listener::{BlockPlacement, UnixMillis};
use ember_rdd::StorageLevel;
use ember_rdd::ids::{BlockId, JobId, RddId, StageId};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationInfo {
    pub id: String,
    pub name: String,
    pub attempts: Vec<ApplicationAttempt>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationAttempt {
    pub start_time: String,
    pub end_time: String,
    pub last_updated: String,
    pub duration: u64,
    pub user: String,
    pub completed: bool,
    pub ember_version: &'static str,
    pub start_time_epoch: u64,
    /// -1 while running, as Spark.
    pub end_time_epoch: i64,
    pub last_updated_epoch: u64,
}

pub fn application(store: &AppStore) -> ApplicationInfo {
    store.read(|s| {
        let last = s.clock(store.is_live());
        ApplicationInfo {
            id: s.app.id.clone(),
            name: s.app.name.clone(),
            attempts: vec![ApplicationAttempt {
                start_time: rest_date(s.app.started),
                end_time: rest_date(s.app.ended.unwrap_or(UnixMillis(0))),
                last_updated: rest_date(s.app.last_event),
                duration: last.since(s.app.started),
                user: s.app.user.clone(),
                completed: s.app.ended.is_some(),
                ember_version: env!("CARGO_PKG_VERSION"),
                start_time_epoch: s.app.started.0,
                end_time_epoch: s.app.ended.map(|t| t.0 as i64).unwrap_or(-1),
                last_updated_epoch: s.app.last_event.0,
            }],
        }
    })
}

#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct JobData {
    pub job_id: u64,
    pub name: String,
    pub submission_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<String>,
    pub stage_ids: Vec<u64>,
    /// RUNNING, SUCCEEDED or FAILED.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub num_tasks: usize,
    pub num_active_tasks: usize,
    pub num_completed_tasks: usize,
    pub num_skipped_tasks: usize,
    pub num_failed_tasks: usize,
    pub num_killed_tasks: usize,
    pub num_completed_indices: usize,
    pub num_active_stages: usize,
    pub num_completed_stages: usize,
    pub num_skipped_stages: usize,
    pub num_failed_stages: usize,
}

pub fn job_status_name(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Running => "RUNNING",
        JobStatus::Succeeded => "SUCCEEDED",
        JobStatus::Failed => "FAILED",
    }
}

pub fn job_data(state: &AppState, job: JobId) -> Option<JobData> {
    let j = state.jobs.get(&job)?;
    let p = job_progress(state, j);
    Some(JobData {
        job_id: j.id.0,
        name: j.name.clone(),
        submission_time: rest_date(j.submitted),
        completion_time: j.completed.map(rest_date),
        stage_ids: j.stages.iter().map(|s| s.0).collect(),
        status: job_status_name(j.status),
        error: j.error.clone(),
        num_tasks: p.num_tasks,
        num_active_tasks: p.active_tasks,
        num_completed_tasks: p.completed_tasks,
        num_skipped_tasks: p.skipped_tasks,
        num_failed_tasks: p.failed_tasks,
        num_killed_tasks: 0,
        num_completed_indices: p.completed_indices,
        num_active_stages: p.active_stages,
        num_completed_stages: p.completed_stages,
        num_skipped_stages: p.skipped_stages,
        num_failed_stages: p.failed_stages,
    })
}

/// Jobs, newest first, with `status` (case-insensitive) if given.
pub fn jobs(state: &AppState, status: Option<&str>) -> Vec<JobData> {
    state
        .jobs
        .keys()
        .rev()
        .filter_map(|id| job_data(state, *id))
        .filter(|j| status.is_none_or(|s| s.eq_ignore_ascii_case(j.status)))
        .collect()
}

#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StageData {
    /// ACTIVE, COMPLETE, FAILED, PENDING or SKIPPED.
    pub status: &'static str,
    pub stage_id: u64,
    pub attempt_id: u32,
    pub name: String,
    pub job_ids: Vec<u64>,
    pub num_tasks: usize,
    pub num_active_tasks: usize,
    pub num_complete_tasks: usize,
    pub num_failed_tasks: usize,
    pub num_killed_tasks: usize,
    pub num_completed_indices: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submission_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_task_launched_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// Milliseconds of task code run, over finished tasks.
    pub executor_run_time: u64,
    /// Read from sources and cached blocks (`ember_rdd::metrics`).
    pub input_bytes: u64,
    pub input_records: u64,
    pub shuffle_read_bytes: u64,
    pub shuffle_read_records: u64,
    pub shuffle_write_bytes: u64,
    pub shuffle_write_records: u64,
    /// Spark's "Spill (Memory)" and "Spill (Disk)".
    pub memory_bytes_spilled: u64,
    pub disk_bytes_spilled: u64,
    /// The largest task's peak of execution memory.
    pub peak_execution_memory: u64,
    pub result_size: u64,
    pub rdd_ids: Vec<u64>,
    pub parent_ids: Vec<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks: Option<BTreeMap<String, TaskData>>,
}

pub fn stage_status_name(status: StageStatus) -> &'static str {
    match status {
        StageStatus::Pending => "PENDING",
        StageStatus::Active => "ACTIVE",
        StageStatus::Complete => "COMPLETE",
        StageStatus::Failed => "FAILED",
        StageStatus::Skipped => "SKIPPED",
    }
}

pub fn stage_data(state: &AppState, a: &AttemptRecord, with_tasks: bool) -> StageData {
    let info = state.stage_infos.get(&a.stage);
    StageData {
        status: stage_status_name(a.status),
        stage_id: a.stage.0,
        attempt_id: a.attempt,
        name: a.name.clone(),
        job_ids: a.jobs.iter().map(|j| j.0).collect(),
        num_tasks: a.num_tasks,
        num_active_tasks: a.running_tasks,
        num_complete_tasks: a.complete_tasks,
        num_failed_tasks: a.failed_tasks,
        num_killed_tasks: 0,
        num_completed_indices: a.completed_partitions.len(),
        submission_time: a.submitted.map(rest_date),
        first_task_launched_time: a.first_task_launched.map(rest_date),
        completion_time: a.completed.map(rest_date),
        failure_reason: a.failure.clone(),
        executor_run_time: a.totals.run_time.as_millis() as u64,
        input_bytes: a.totals.io.bytes_read,
        input_records: a.totals.io.records_read,
        shuffle_read_bytes: a.totals.io.shuffle_read_bytes,
        shuffle_read_records: a.totals.io.shuffle_read_records,
        shuffle_write_bytes: a.totals.io.shuffle_write_bytes,
        shuffle_write_records: a.totals.io.shuffle_write_records,
        memory_bytes_spilled: a.totals.io.memory_bytes_spilled,
        disk_bytes_spilled: a.totals.io.disk_bytes_spilled,
        peak_execution_memory: a.totals.io.peak_execution_memory,
        result_size: a.totals.result_size_bytes,
        rdd_ids: info.map(|i| i.rdds.iter().rev().map(|r| r.id.0).collect()).unwrap_or_default(),
        parent_ids: info.map(|i| i.parents.iter().map(|p| p.0).collect()).unwrap_or_default(),
        tasks: with_tasks.then(|| a.tasks.values().map(|t| (t.id.0.to_string(), task_data(t))).collect()),
    }
}

/// Stage attempts, newest first, with `status` (case-insensitive) if given.
pub fn stages(state: &AppState, status: Option<&str>) -> Vec<StageData> {
    state
        .attempts
        .values()
        .rev()
        .filter(|a| status.is_none_or(|s| s.eq_ignore_ascii_case(stage_status_name(a.status))))
        .map(|a| stage_data(state, a, false))
        .collect()
}

/// Every attempt of `stage`, newest first, with tasks.
pub fn stage_attempts(state: &AppState, stage: StageId) -> Vec<StageData> {
    state.attempts.range((stage, 0)..=(stage, u32::MAX)).rev().map(|(_, a)| stage_data(state, a, true)).collect()
}

#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TaskData {
    pub task_id: u64,
    pub index: usize,
    pub attempt: u32,
    pub partition_id: usize,
    pub launch_time: String,
    /// Launch to end, in ms (Spark's `duration`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<u64>,
    /// Launch to end less the run time, in ms: queued on the executor,
    /// shipping and deserializing (Spark's `schedulerDelay`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduler_delay: Option<f64>,
    pub executor_id: String,
    /// RUNNING (holding a core), QUEUED (waiting on its executor), SUCCESS or FAILED.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    pub task_metrics: TaskMetricsData,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TaskMetricsData {
    /// Microsecond resolution, in milliseconds.
    pub executor_run_time: f64,
    pub result_size: u64,
    /// Flat, with the stage's names (Spark nests these in `inputMetrics`
    /// and `shuffleReadMetrics`).
    pub input_bytes: u64,
    pub input_records: u64,
    pub shuffle_read_bytes: u64,
    pub shuffle_read_records: u64,
    pub shuffle_write_bytes: u64,
    pub shuffle_write_records: u64,
    pub memory_bytes_spilled: u64,
    pub disk_bytes_spilled: u64,
    pub peak_execution_memory: u64,
    /// Waiting for shuffle blocks, in ms (Spark's `shuffleReadMetrics.fetchWaitTime`).
    pub shuffle_fetch_wait_time: f64,
    /// Writing the map output's files, in ms (Spark's `shuffleWriteMetrics.writeTime`, there in ns).
    pub shuffle_write_time: f64,
}

pub fn task_data(t: &TaskRecord) -> TaskData {
    TaskData {
        task_id: t.id.0,
        index: t.partition,
        attempt: t.attempt,
        partition_id: t.partition,
        launch_time: rest_date(t.launched),
        duration: t.finished.map(|f| f.since(t.launched)),
        scheduler_delay: t.finished.map(|_| t.scheduler_delay_ms()),
        executor_id: t.executor.to_string(),
        status: super::pages::stage_tasks::task_status_word(t),
        error_message: t.error.clone(),
        task_metrics: TaskMetricsData {
            executor_run_time: (t.metrics.run_time.as_micros() as f64) / 1e3,
            result_size: t.metrics.result_size_bytes,
            input_bytes: t.metrics.io.bytes_read,
            input_records: t.metrics.io.records_read,
            shuffle_read_bytes: t.metrics.io.shuffle_read_bytes,
            shuffle_read_records: t.metrics.io.shuffle_read_records,
            shuffle_write_bytes: t.metrics.io.shuffle_write_bytes,
            shuffle_write_records: t.metrics.io.shuffle_write_records,
            memory_bytes_spilled: t.metrics.io.memory_bytes_spilled,
            disk_bytes_spilled: t.metrics.io.disk_bytes_spilled,
            peak_execution_memory: t.metrics.io.peak_execution_memory,
            shuffle_fetch_wait_time: t.metrics.io.shuffle_fetch_wait_nanos as f64 / 1e6,
            shuffle_write_time: t.metrics.io.shuffle_write_nanos as f64 / 1e6,
        },
    }
}

/// `{"quantiles": [...], "<metric>": [...], ...}`, as Spark's taskSummary.
pub fn task_summary(a: &AttemptRecord, quantiles: &[f64]) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    out.insert("quantiles".into(), serde_json::json!(quantiles));
    for m in task_quantiles(a, quantiles) {
        out.insert(m.metric.key.into(), serde_json::json!(m.values));
    }
    serde_json::Value::Object(out)
}

#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorSummary {
    pub id: String,
    pub host_port: String,
    pub is_active: bool,
    pub rdd_blocks: usize,
    pub memory_used: u64,
    pub disk_used: u64,
    pub total_cores: usize,
    pub max_tasks: usize,
    /// Tasks holding one of its cores.
    pub active_tasks: usize,
    /// Tasks launched to it and waiting for a core (prefetched).
    pub queued_tasks: usize,
    pub failed_tasks: usize,
    pub completed_tasks: usize,
    pub total_tasks: usize,
    /// Milliseconds its finished tasks ran (Spark's "Task Time").
    pub total_duration: u64,
    pub total_input_bytes: u64,
    pub total_input_records: u64,
    pub total_shuffle_read: u64,
    pub total_shuffle_write: u64,
    /// Memory for cached blocks (0 = unlimited).
    pub max_memory: u64,
    pub add_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remove_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remove_reason: Option<String>,
}

/// Executors (only live ones unless `all`), in id order.
pub fn executors(state: &AppState, all: bool) -> Vec<ExecutorSummary> {
    let mut cached: BTreeMap<&str, (usize, u64, u64)> = BTreeMap::new();
    for copies in state.blocks.values() {
        for (exec, copy) in copies {
            let c = cached.entry(exec.as_str()).or_default();
            c.0 += 1;
            match copy.placement {
                BlockPlacement::Memory => c.1 += copy.size_bytes,
                BlockPlacement::Disk => c.2 += copy.size_bytes,
                BlockPlacement::Removed => {}
            }
        }
    }
    state
        .executors
        .values()
        .filter(|e| all || e.active)
        .map(|e| {
            let (blocks, memory, disk) = cached.get(&*e.id).copied().unwrap_or_default();
            ExecutorSummary {
                id: e.id.to_string(),
                host_port: e.host_port.clone(),
                is_active: e.active,
                rdd_blocks: blocks,
                memory_used: memory,
                disk_used: disk,
                total_cores: e.cores,
                max_tasks: e.cores,
                active_tasks: e.running_tasks(),
                queued_tasks: e.queued_tasks(),
                failed_tasks: e.failed_tasks,
                completed_tasks: e.completed_tasks,
                total_tasks: e.launched.len() + e.failed_tasks + e.completed_tasks,
                total_duration: e.task_time.as_millis() as u64,
                total_input_bytes: e.totals.io.bytes_read,
                total_input_records: e.totals.io.records_read,
                total_shuffle_read: e.totals.io.shuffle_read_bytes,
                total_shuffle_write: e.totals.io.shuffle_write_bytes,
                max_memory: e.max_memory,
                add_time: rest_date(e.added),
                remove_time: e.removed.map(rest_date),
                remove_reason: e.remove_reason.clone(),
            }
        })
        .collect()
}

#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RddStorageInfo {
    pub id: u64,
    pub name: String,
    pub num_partitions: usize,
    pub num_cached_partitions: usize,
    pub storage_level: &'static str,
    pub memory_used: u64,
    pub disk_used: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partitions: Option<Vec<RddPartitionInfo>>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RddPartitionInfo {
    pub block_name: String,
    pub storage_level: &'static str,
    pub memory_used: u64,
    pub disk_used: u64,
    pub executors: Vec<String>,
}

/// Spark's words for a storage level.
pub fn storage_level_name(level: StorageLevel) -> &'static str {
    match level {
        StorageLevel::None => "None",
        StorageLevel::MemoryOnly => "Memory Deserialized 1x Replicated",
        StorageLevel::MemoryAndDisk => "Disk Memory Deserialized 1x Replicated",
    }
}

fn rdd_storage(state: &AppState, rdd: RddId, with_partitions: bool) -> Option<RddStorageInfo> {
    let blocks: Vec<_> =
        state.blocks.range(BlockId { rdd, partition: 0 }..=BlockId { rdd, partition: usize::MAX }).collect();
    if blocks.is_empty() {
        return None;
    }
    let info = state.cached_rdds.get(&rdd);
    let level = storage_level_name(info.map(|i| i.storage_level).unwrap_or(StorageLevel::MemoryOnly));
    let size = |placement| -> u64 {
        blocks.iter().flat_map(|(_, c)| c.values()).filter(|c| c.placement == placement).map(|c| c.size_bytes).sum()
    };
    let partitions = with_partitions.then(|| {
        blocks
            .iter()
            .map(|(id, copies)| {
                let at = |p| copies.values().filter(|c| c.placement == p).map(|c| c.size_bytes).sum();
                RddPartitionInfo {
                    block_name: id.to_string(),
                    storage_level: level,
                    memory_used: at(BlockPlacement::Memory),
                    disk_used: at(BlockPlacement::Disk),
                    executors: copies.keys().cloned().collect(),
                }
            })
            .collect()
    });
    Some(RddStorageInfo {
        id: rdd.0,
        name: info.map(|i| i.display_name()).unwrap_or_else(|| format!("rdd [{}]", rdd.0)),
        num_partitions: info.map(|i| i.num_partitions).unwrap_or(blocks.len()),
        num_cached_partitions: blocks.len(),
        storage_level: level,
        memory_used: size(BlockPlacement::Memory),
        disk_used: size(BlockPlacement::Disk),
        partitions,
    })
}

/// RDDs with cached blocks, in id order.
pub fn storage(state: &AppState) -> Vec<RddStorageInfo> {
    let mut ids: Vec<RddId> = state.blocks.keys().map(|b| b.rdd).collect();
    ids.dedup();
    ids.into_iter().filter_map(|id| rdd_storage(state, id, false)).collect()
}

pub fn rdd_detail(state: &AppState, rdd: RddId) -> Option<RddStorageInfo> {
    rdd_storage(state, rdd, true)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentInfo {
    pub runtime: BTreeMap<&'static str, String>,
    /// `[key, value]` pairs, secrets redacted.
    pub ember_properties: Vec<(String, String)>,
}

pub fn environment(state: &AppState) -> EnvironmentInfo {
    let runtime = BTreeMap::from([
        ("emberVersion", env!("CARGO_PKG_VERSION").to_string()),
        ("master", state.app.master.clone()),
        ("user", state.app.user.clone()),
    ]);
    EnvironmentInfo { runtime, ember_properties: state.app.configuration.clone() }
}
