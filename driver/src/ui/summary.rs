//! Figures derived from the state store that both the pages and the JSON API
//! show: a job's progress (added up over its stage attempts) and the summary
//! quantiles of a stage attempt's tasks.

use super::state::{AppState, AttemptRecord, JobRecord, JobStatus, StageStatus, TaskRecord, TaskStatus};
use std::collections::BTreeSet;

/// A job's progress, over the stage attempts that ran for it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JobProgress {
    /// Tasks of all its stages, skipped ones included (as Spark counts).
    pub num_tasks: usize,
    pub active_tasks: usize,
    pub completed_tasks: usize,
    pub failed_tasks: usize,
    pub skipped_tasks: usize,
    /// Partitions computed, over all its stages.
    pub completed_indices: usize,
    pub active_stages: usize,
    pub completed_stages: usize,
    pub skipped_stages: usize,
    pub failed_stages: usize,
}

/// How a stage fared in one job: its attempts for the job, or none yet.
pub fn stage_status_in_job(attempts: &[&AttemptRecord], job: &JobRecord) -> StageStatus {
    let ran: Vec<&&AttemptRecord> = attempts.iter().filter(|a| a.attempt > 0).collect();
    if ran.iter().any(|a| a.status == StageStatus::Active) {
        StageStatus::Active
    } else if ran.iter().any(|a| a.status == StageStatus::Complete) {
        StageStatus::Complete
    } else if !ran.is_empty() {
        StageStatus::Failed
    } else if job.status == JobStatus::Running {
        StageStatus::Pending
    } else {
        StageStatus::Skipped
    }
}

pub fn job_progress(state: &AppState, job: &JobRecord) -> JobProgress {
    let mut p = JobProgress::default();
    for stage in &job.stages {
        let stage_tasks = state.stage_infos.get(stage).map(|i| i.num_tasks).unwrap_or(0);
        p.num_tasks += stage_tasks;
        let attempts: Vec<&AttemptRecord> = state
            .attempts
            .range((*stage, 0)..=(*stage, u32::MAX))
            .map(|(_, a)| a)
            .filter(|a| a.jobs.contains(&job.id))
            .collect();
        let mut partitions = BTreeSet::new();
        for a in attempts.iter().filter(|a| a.attempt > 0) {
            p.active_tasks += a.running_tasks;
            p.completed_tasks += a.complete_tasks;
            p.failed_tasks += a.failed_tasks;
            partitions.extend(a.completed_partitions.iter());
            match a.status {
                StageStatus::Active => p.active_stages += 1,
                StageStatus::Failed => p.failed_stages += 1,
                _ => {}
            }
        }
        p.completed_indices += partitions.len();
        match stage_status_in_job(&attempts, job) {
            StageStatus::Complete => p.completed_stages += 1,
            StageStatus::Skipped => {
                p.skipped_stages += 1;
                p.skipped_tasks += stage_tasks;
            }
            _ => {}
        }
    }
    p
}

/// The quantiles Spark's stage page shows: min, 25th percentile, median, 75th, max.
pub const PAGE_QUANTILES: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];

/// One metric of a stage attempt's successful tasks, at the given quantiles.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricQuantiles {
    pub metric: TaskMetric,
    pub values: Vec<f64>,
}

/// A metric of the summary: its name in the JSON API (Spark's `taskSummary`
/// keys), its label on the stage page (Spark's words) and its unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskMetric {
    pub key: &'static str,
    pub label: &'static str,
    pub unit: MetricUnit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricUnit {
    Millis,
    Bytes,
    Count,
}

type MetricOf = fn(&TaskRecord) -> f64;

/// The summary's metrics, in the stage page's order. "Duration" is the
/// run time, as Spark's stage page shows it; `duration` in the API is
/// launch to end, as Spark's REST API reports it.
pub const TASK_METRICS: [(TaskMetric, MetricOf); 14] = {
    use MetricUnit::*;
    const fn m(key: &'static str, label: &'static str, unit: MetricUnit) -> TaskMetric {
        TaskMetric { key, label, unit }
    }
    [
        (m("executorRunTime", "Duration", Millis), |t| t.run_ms()),
        (m("schedulerDelay", "Scheduler Delay", Millis), |t| t.scheduler_delay_ms()),
        (m("duration", "Launch to End", Millis), |t| t.finished.map_or(0, |f| f.since(t.launched)) as f64),
        (m("peakExecutionMemory", "Peak Execution Memory", Bytes), |t| t.metrics.io.peak_execution_memory as f64),
        (m("inputBytes", "Input Size", Bytes), |t| t.metrics.io.bytes_read as f64),
        (m("inputRecords", "Input Records", Count), |t| t.metrics.io.records_read as f64),
        (m("shuffleReadBytes", "Shuffle Read Size", Bytes), |t| t.metrics.io.shuffle_read_bytes as f64),
        (m("shuffleReadRecords", "Shuffle Read Records", Count), |t| t.metrics.io.shuffle_read_records as f64),
        (m("shuffleFetchWaitTime", "Shuffle Read Blocked Time", Millis), |t| {
            t.metrics.io.shuffle_fetch_wait_nanos as f64 / 1e6
        }),
        (m("shuffleWriteBytes", "Shuffle Write Size", Bytes), |t| t.metrics.io.shuffle_write_bytes as f64),
        (m("shuffleWriteTime", "Shuffle Write Time", Millis), |t| t.metrics.io.shuffle_write_nanos as f64 / 1e6),
        (m("memoryBytesSpilled", "Spill (Memory)", Bytes), |t| t.metrics.io.memory_bytes_spilled as f64),
        (m("diskBytesSpilled", "Spill (Disk)", Bytes), |t| t.metrics.io.disk_bytes_spilled as f64),
        (m("resultSize", "Result Size", Bytes), |t| t.metrics.result_size_bytes as f64),
    ]
};

/// Summary quantiles over the successful tasks the attempt still remembers;
/// empty when none succeeded. Quantile `q` of `n` sorted values is the value
/// at index `min(q·n, n−1)`, as Spark computes it.
pub fn task_quantiles(attempt: &AttemptRecord, quantiles: &[f64]) -> Vec<MetricQuantiles> {
    let done: Vec<&TaskRecord> = attempt.tasks.values().filter(|t| t.status == TaskStatus::Success).collect();
    if done.is_empty() {
        return Vec::new();
    }
    TASK_METRICS
        .iter()
        .map(|(metric, of)| {
            let mut values: Vec<f64> = done.iter().map(|t| of(t)).collect();
            values.sort_by(f64::total_cmp);
            let n = values.len();
            let values = quantiles.iter().map(|q| values[((q * n as f64) as usize).min(n - 1)]).collect();
            MetricQuantiles { metric: *metric, values }
        })
        .collect()
}
