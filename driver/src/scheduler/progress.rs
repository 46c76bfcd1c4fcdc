//! How far each job is, told to the `JobFuture` of its action
//! (`ember_rdd::job_future`).
//!
//! The counts are read from the loop's own state, never kept beside it: a
//! map stage's done tasks are its shuffle's registered outputs (so a lost
//! output counts as not done until it is computed again), a result stage's
//! are the partitions whose result arrived; a job has started once a task
//! of one of its counted stages was launched. Each job counts the stages it
//! runs, `ActiveJob::counted_stages`: a map stage whose outputs were all
//! available at submission is skipped.
//!
//! The loop reports at the end of every turn, after placing tasks, and only
//! the jobs whose counts changed, so a turn costs the jobs' stage lookups
//! (O(1) each: the tracker counts available outputs) and no lock for jobs
//! that did not move. A finishing job reports once more before its end,
//! so its action never sees fewer tasks done than the job had.

use super::IdMap;
use super::dag::{ActiveJob, DagScheduler};
use super::map_output::MapOutputTracker;
use super::stage::{Stage, StageKind};
use ember_rdd::ids::{JobId, StageId};
use ember_rdd::job_future::JobCounts;

/// `job`'s counts now.
fn counts_of(job: JobId, j: &ActiveJob, stages: &IdMap<StageId, Stage>, map_outputs: &MapOutputTracker) -> JobCounts {
    let mut counts = JobCounts { job, tasks_done: 0, tasks_total: 0, started: false };
    for id in &j.counted_stages {
        let Some(st) = stages.get(id) else { continue };
        let (done, total) = match st.kind {
            StageKind::ShuffleMap { shuffle } => (map_outputs.available(shuffle), st.rdd.num_partitions()),
            StageKind::Result { .. } => (j.outputs.len() - j.remaining, j.outputs.len()),
        };
        counts.tasks_done += done;
        counts.tasks_total += total;
        counts.started |= st.attempt().is_some_and(|a| !a.running.is_empty());
    }
    // Once started, a job stays started (its running tasks may all have ended).
    counts.started |= j.reported.is_some_and(|r| r.started);
    counts
}

impl DagScheduler {
    /// Tells the action of every job whose counts changed since last time.
    pub(super) fn report_progress(&mut self) {
        let (stages, map_outputs) = (&self.stages, &self.map_outputs);
        for (&job, j) in &mut self.jobs {
            report(job, j, stages, map_outputs);
        }
    }

    /// Tells `job`'s action its counts, if they changed.
    pub(super) fn report_job_progress(&mut self, job: JobId) {
        if let Some(j) = self.jobs.get_mut(&job) {
            report(job, j, &self.stages, &self.map_outputs);
        }
    }
}

fn report(job: JobId, j: &mut ActiveJob, stages: &IdMap<StageId, Stage>, map_outputs: &MapOutputTracker) {
    let counts = counts_of(job, j, stages, map_outputs);
    if j.reported != Some(counts) {
        j.reported = Some(counts);
        j.action.report_job(counts);
    }
}
