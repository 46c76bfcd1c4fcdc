//! The RDD API: transformations (lazy, return a new `Rdd`) and actions (run a
//! job). Split by what they work on.

pub mod action;
pub mod histogram;
pub mod local_iterator;
pub mod numeric;
pub mod ordering;
pub mod pair;
pub mod pair_more;
pub mod sample;
pub mod save;
pub mod transform;
pub mod tree;
pub mod with_state;
pub mod with_state_more;
pub mod with_state_pair;
pub mod zip;

/// Waits for an action's future: the blocking form of every `_async` action.
pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}
