//! Stages: the tasks between shuffle boundaries.
//!
//! ```text
//!            submit (parents available)        all partitions done
//!  Waiting ------------------------------> Running ---------------> Done
//!     ^                                      |  ^                     |
//!     |   fetch failure: parent output lost  |  | outputs lost again  |
//!     +--------------------------------------+  +---------------------+
//! ```
//!
//! Every submission starts a new *attempt*; results from an older attempt are
//! ignored, since they were computed against map outputs that may be gone.

use super::{IdMap, IdSet};
use crate::executors::{ExecutorId, StageDescription};
use ember_rdd::ids::{JobId, RddId, ShuffleId, StageId};
use ember_rdd::rdd::{RddBase, StageRoot};
use ember_rdd::shuffle::map_output::ShuffleLocations;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StageState {
    /// Not submitted, or waiting for parent stages.
    Waiting,
    /// Its tasks are being scheduled and run.
    Running,
    /// Every partition it must compute is done.
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StageKind {
    /// Writes the map side of a shuffle.
    ShuffleMap { shuffle: ShuffleId },
    /// Computes the result of a job.
    Result { job: JobId },
}

pub struct Stage {
    pub id: StageId,
    pub kind: StageKind,
    pub root: Arc<dyn StageRoot>,
    /// The RDD whose partitions the stage computes.
    pub rdd: Arc<dyn RddBase>,
    /// Map stages this stage reads from.
    pub parents: Vec<StageId>,
    pub state: StageState,
    /// Current attempt number (0 before the first submission).
    pub attempt: u32,
    /// The description of the current attempt, registered with executors.
    pub description: Option<Arc<StageDescription>>,
    /// Partitions waiting for an executor, in order.
    pub pending: VecDeque<usize>,
    /// Partitions with a running task in the current attempt.
    pub running: IdSet<usize>,
    /// Failed attempts per partition (not counting executor losses).
    pub failures: IdMap<usize, u32>,
    /// Executors on which a partition failed, to try elsewhere first.
    pub failed_on: IdMap<usize, IdSet<ExecutorId>>,
    /// Attempts in a row that ended with a fetch failure.
    pub consecutive_fetch_failures: u32,
    /// When the current attempt started (for the locality wait).
    pub submitted_at: Instant,
    /// Cached RDDs of the stage's one-to-one chain (nearest first), for locality.
    pub cached_chain: Vec<RddId>,
}

impl Stage {
    pub fn new(id: StageId, kind: StageKind, root: Arc<dyn StageRoot>, parents: Vec<StageId>) -> Self {
        let rdd = root.rdd();
        Stage {
            id,
            kind,
            root,
            rdd,
            parents,
            state: StageState::Waiting,
            attempt: 0,
            description: None,
            pending: VecDeque::new(),
            running: IdSet::default(),
            failures: IdMap::default(),
            failed_on: IdMap::default(),
            consecutive_fetch_failures: 0,
            submitted_at: Instant::now(),
            cached_chain: Vec::new(),
        }
    }

    pub fn shuffle(&self) -> Option<ShuffleId> {
        match self.kind {
            StageKind::ShuffleMap { shuffle } => Some(shuffle),
            StageKind::Result { .. } => None,
        }
    }

    pub fn is_active(&self) -> bool {
        self.state == StageState::Running
    }

    /// Waiting → Running: a new attempt computing `partitions`.
    pub fn start_attempt(
        &mut self,
        partitions: Vec<usize>,
        cached_chain: Vec<RddId>,
        locations: ShuffleLocations,
        now: Instant,
    ) {
        self.attempt += 1;
        self.state = StageState::Running;
        self.pending = partitions.into_iter().collect();
        self.running.clear();
        self.submitted_at = now;
        self.cached_chain = cached_chain;
        self.description = Some(Arc::new(StageDescription::new(self.id, self.attempt, self.root.clone(), locations)));
    }

    /// Running (or Waiting with nothing missing) → Done.
    pub fn finish(&mut self) {
        self.state = StageState::Done;
        self.consecutive_fetch_failures = 0;
    }

    /// Running → Waiting: the current attempt is abandoned; results of its
    /// tasks that still arrive will be ignored.
    pub fn abandon_attempt(&mut self) {
        self.state = StageState::Waiting;
        self.pending.clear();
        self.running.clear();
    }

    /// Done → Waiting: some of its map outputs were lost.
    pub fn reopen(&mut self) {
        if self.state == StageState::Done {
            self.state = StageState::Waiting;
        }
    }
}
