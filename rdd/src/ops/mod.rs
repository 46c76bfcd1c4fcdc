//! The RDD API: transformations (lazy, return a new `Rdd`) and actions (run a
//! job). Split by what they work on.

pub mod action;
pub mod numeric;
pub mod pair;
pub mod sample;
pub mod transform;
pub mod with_state;
