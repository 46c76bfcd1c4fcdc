//! Stages: the tasks between shuffle boundaries, and the states a stage
//! goes through.
//!
//! ```text
//!                 start(attempt)                      finish
//!   Waiting ─────────────────────────▶ Running(a) ─────────────▶ Done
//!     ▲  │                               │   ▲                    │
//!     │  │ finish (nothing missing)      │   │ start(a+1)         │
//!     │  └───────────────────────────────┼───┼──────────▶ Done    │
//!     │          abandon(why)            │   │ (outputs lost      │
//!     └──────────────────────────────────┘   │  while it ran)     │
//!     │                                      └────────────────────┘
//!     │                    reopen (map outputs lost)              │
//!     └───────────────────────────────────────────────────────────┘
//! ```
//!
//! [`StageState`] is an enum whose variants carry only their own data: the
//! tasks pending and running, the shipped description and the locality
//! clock exist only in [`Running`](StageState::Running). Transitions take
//! the state by value and return the next state with a
//! [`#[must_use]`](StageEffect) effect (a listener event to post) that the
//! loop carries out; they never post, send or log themselves, so the
//! process-free harness sees every transition and its effect.
//!
//! Every start is a new *attempt*; results from an older attempt are
//! ignored, since they were computed against map outputs that may be gone.

use super::{IdMap, IdSet};
use crate::executors::{ExecutorId, StageDescription};
use ember_rdd::ids::{JobId, RddId, ShuffleId, StageId};
use ember_rdd::rdd::{RddBase, StageRoot};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

/// One attempt of a stage that is running.
pub struct Attempt {
    /// 1 for the first attempt.
    pub number: u32,
    /// The description registered with executors.
    pub description: Arc<StageDescription>,
    /// Partitions waiting for an executor, in order.
    pub pending: VecDeque<usize>,
    /// Partitions with a running task in this attempt.
    pub running: IdSet<usize>,
    /// When the attempt started (for the locality wait).
    pub submitted_at: Instant,
    /// Cached RDDs of the stage's one-to-one chain (nearest first), for locality.
    pub cached_chain: Vec<RddId>,
}

impl Attempt {
    /// Whether every task of the attempt has ended.
    pub fn is_drained(&self) -> bool {
        self.pending.is_empty() && self.running.is_empty()
    }
}

/// What a stage is doing.
#[derive(Default)]
pub enum StageState {
    /// Not submitted, or waiting for parent stages' outputs.
    #[default]
    Waiting,
    /// An attempt's tasks are being scheduled and run.
    Running(Attempt),
    /// Every partition it must compute is done.
    Done,
}

/// What the loop must do after a transition: tell listeners.
#[must_use = "the scheduler loop carries out every transition's effect"]
#[derive(Debug, PartialEq, Eq)]
pub enum StageEffect {
    /// Nothing to tell.
    None,
    /// An attempt started with `tasks` tasks.
    AttemptStarted { attempt: u32, tasks: usize },
    /// An attempt ended: completed (`failure: None`) or given up.
    AttemptEnded { attempt: u32, failure: Option<String> },
}

impl StageState {
    /// Waiting, Done or Running → Running(`next`) (a running attempt that
    /// must start over ends as given up).
    pub(super) fn start(self, next: Attempt) -> (StageState, StageEffect) {
        let effect = StageEffect::AttemptStarted { attempt: next.number, tasks: next.pending.len() };
        (StageState::Running(next), effect)
    }

    /// Running or Waiting → Done.
    pub(super) fn finish(self) -> (StageState, StageEffect) {
        match self {
            StageState::Running(a) => {
                (StageState::Done, StageEffect::AttemptEnded { attempt: a.number, failure: None })
            }
            _ => (StageState::Done, StageEffect::None),
        }
    }

    /// Running → Waiting: the attempt is given up because of `why`; results
    /// of its tasks that still arrive will be ignored.
    pub(super) fn abandon(self, why: String) -> (StageState, StageEffect) {
        match self {
            StageState::Running(a) => {
                (StageState::Waiting, StageEffect::AttemptEnded { attempt: a.number, failure: Some(why) })
            }
            other => (other, StageEffect::None),
        }
    }

    /// Done → Waiting: some of its map outputs were lost.
    pub(super) fn reopen(self) -> (StageState, StageEffect) {
        match self {
            StageState::Done => (StageState::Waiting, StageEffect::None),
            other => (other, StageEffect::None),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StageKind {
    /// Writes the map side of a shuffle.
    ShuffleMap { shuffle: ShuffleId },
    /// Computes the result of a job.
    Result { job: JobId },
}

/// A stage and what outlives its attempts.
pub struct Stage {
    pub id: StageId,
    pub kind: StageKind,
    pub root: Arc<dyn StageRoot>,
    /// The RDD whose partitions the stage computes.
    pub rdd: Arc<dyn RddBase>,
    /// Map stages this stage reads from.
    pub parents: Vec<StageId>,
    state: StageState,
    /// Attempts started so far (the number of the latest).
    pub attempts: u32,
    /// Failed attempts per partition (not counting executor losses).
    pub failures: IdMap<usize, u32>,
    /// Executors on which a partition failed, to try elsewhere first.
    pub failed_on: IdMap<usize, IdSet<ExecutorId>>,
    /// Attempts in a row that ended with a fetch failure.
    pub consecutive_fetch_failures: u32,
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
            attempts: 0,
            failures: IdMap::default(),
            failed_on: IdMap::default(),
            consecutive_fetch_failures: 0,
        }
    }

    pub fn shuffle(&self) -> Option<ShuffleId> {
        match self.kind {
            StageKind::ShuffleMap { shuffle } => Some(shuffle),
            StageKind::Result { .. } => None,
        }
    }

    pub fn is_waiting(&self) -> bool {
        matches!(self.state, StageState::Waiting)
    }

    pub fn is_active(&self) -> bool {
        matches!(self.state, StageState::Running(_))
    }

    /// The running attempt, if any.
    pub fn attempt(&self) -> Option<&Attempt> {
        match &self.state {
            StageState::Running(a) => Some(a),
            _ => None,
        }
    }

    pub fn attempt_mut(&mut self) -> Option<&mut Attempt> {
        match &mut self.state {
            StageState::Running(a) => Some(a),
            _ => None,
        }
    }

    /// The running attempt if its number is `number`: where a task of that
    /// attempt reports.
    pub fn current_attempt_mut(&mut self, number: u32) -> Option<&mut Attempt> {
        self.attempt_mut().filter(|a| a.number == number)
    }

    fn transition(&mut self, step: impl FnOnce(StageState) -> (StageState, StageEffect)) -> StageEffect {
        let (next, effect) = step(std::mem::take(&mut self.state));
        self.state = next;
        effect
    }

    /// → Running: a new attempt computing `partitions`.
    pub fn start_attempt(
        &mut self,
        partitions: Vec<usize>,
        cached_chain: Vec<RddId>,
        locations: ember_rdd::shuffle::map_output::ShuffleLocations,
        now: Instant,
    ) -> StageEffect {
        self.attempts += 1;
        let number = self.attempts;
        let description = Arc::new(StageDescription::new(self.id, number, self.root.clone(), locations));
        let attempt = Attempt {
            number,
            description,
            pending: partitions.into_iter().collect(),
            running: IdSet::default(),
            submitted_at: now,
            cached_chain,
        };
        self.transition(|s| s.start(attempt))
    }

    /// → Done.
    pub fn finish(&mut self) -> StageEffect {
        self.consecutive_fetch_failures = 0;
        self.transition(StageState::finish)
    }

    /// Running → Waiting, because of `why`.
    pub fn abandon_attempt(&mut self, why: String) -> StageEffect {
        self.transition(|s| s.abandon(why))
    }

    /// Done → Waiting: some of its map outputs were lost.
    pub fn reopen(&mut self) -> StageEffect {
        self.transition(StageState::reopen)
    }
}
