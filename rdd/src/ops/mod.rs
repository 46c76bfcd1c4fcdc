//! The RDD API: transformations (lazy, return a new `Rdd`) and actions (run a
//! job). Split by what they work on.

pub mod action;
pub mod local_iterator;
pub mod numeric;
pub mod pair;
pub mod pair_more;
pub mod sample;
pub mod transform;
pub mod with_state;
pub mod with_state_more;
pub mod zip;
