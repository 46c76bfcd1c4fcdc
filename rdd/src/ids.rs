//! Identifier newtypes, so that one kind of id can never be passed for another.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_newtype {
    ($(#[$doc:meta] $name:ident($inner:ty, $prefix:literal);)*) => {$(
        #[$doc]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    )*};
}

id_newtype! {
    /// Identifies an RDD within one application.
    RddId(u64, "rdd_");
    /// Identifies a shuffle (one shuffle dependency) within one application.
    ShuffleId(u64, "shuffle_");
    /// Identifies a broadcast variable within one application.
    BroadcastId(u64, "broadcast_");
    /// Identifies an accumulator within one application.
    AccumulatorId(u64, "accumulator_");
    /// Identifies a stage within one application.
    StageId(u64, "stage ");
    /// Identifies a job (one action) within one application.
    JobId(u64, "job ");
    /// Identifies one call of an action (which may run several jobs, as `take` does): what a `JobFuture` cancels.
    ActionId(u64, "action ");
    /// Identifies one attempt of one task within one application.
    TaskId(u64, "task_");
}

/// Identifies an executor within one application ("driver" for the
/// in-process executor of `local[N]`, "exec-0"... for backends).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ExecutorId(pub String);

impl fmt::Display for ExecutorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ExecutorId {
    fn from(id: &str) -> Self {
        ExecutorId(id.to_string())
    }
}

/// A block of cached data: partition `partition` of RDD `rdd`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BlockId {
    pub rdd: RddId,
    pub partition: usize,
}

impl fmt::Display for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.rdd, self.partition)
    }
}
