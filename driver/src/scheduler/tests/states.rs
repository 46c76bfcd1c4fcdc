//! The stage state machine's transitions, one by one, without a scheduler.

use super::super::IdSet;
use super::super::stage::{Attempt, StageEffect, StageState};
use super::Harness;
use crate::executors::StageDescription;
use ember_rdd::ids::StageId;
use ember_rdd::rdd::StageRoot;
use ember_rdd::shuffle::map_output::ShuffleLocations;
use std::sync::Arc;
use std::time::Instant;

/// The root of a small job (no stage runs it here).
fn some_root() -> Arc<dyn StageRoot> {
    let h = Harness::new(&[], &[]);
    drop(h.numbers(4, 2).count_async());
    h.runner.submitted.lock().unwrap_or_else(|p| p.into_inner()).pop().expect("a job").0
}

fn attempt(number: u32, tasks: usize) -> Attempt {
    Attempt {
        number,
        description: Arc::new(StageDescription::new(StageId(0), number, some_root(), ShuffleLocations::new())),
        pending: (0..tasks).collect(),
        running: IdSet::default(),
        submitted_at: Instant::now(),
        cached_chain: Vec::new(),
    }
}

#[test]
fn each_transition_returns_its_effect() {
    let (s, e) = StageState::Waiting.start(attempt(1, 3));
    assert_eq!(e, StageEffect::AttemptStarted { attempt: 1, tasks: 3 });
    let (s, e) = s.abandon("fetch failed".into());
    assert!(matches!(s, StageState::Waiting));
    assert_eq!(e, StageEffect::AttemptEnded { attempt: 1, failure: Some("fetch failed".into()) });
    let (s, e) = s.start(attempt(2, 1));
    assert_eq!(e, StageEffect::AttemptStarted { attempt: 2, tasks: 1 });
    let (s, e) = s.finish();
    assert!(matches!(s, StageState::Done));
    assert_eq!(e, StageEffect::AttemptEnded { attempt: 2, failure: None });
    let (s, e) = s.reopen();
    assert!(matches!(s, StageState::Waiting) && e == StageEffect::None);
    let (s, e) = s.finish();
    assert!(matches!(s, StageState::Done) && e == StageEffect::None, "nothing missing: done without an attempt");
}

#[test]
fn transitions_that_do_not_apply_change_nothing() {
    let (s, e) = StageState::Waiting.abandon("why".into());
    assert!(matches!(s, StageState::Waiting) && e == StageEffect::None);
    let (s, e) = StageState::Waiting.reopen();
    assert!(matches!(s, StageState::Waiting) && e == StageEffect::None);
    let (s, e) = StageState::Running(attempt(1, 1)).reopen();
    assert!(matches!(s, StageState::Running(_)) && e == StageEffect::None);
}
