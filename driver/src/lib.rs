//! # Ember
//!
//! A Spark-like in-memory RDD dataflow framework. A driver program creates a
//! [`Context`], builds lazy, lineage-tracked RDD transformations, and calls
//! actions; each action runs as a job of stages cut at shuffles, on executors
//! in this process (`local[N]`) or in executor backend processes
//! (`local-cluster[N]`) that run this same binary.
//!
//! ```no_run
//! use ember::prelude::*;
//!
//! let ctx = Context::new(Conf::new().master("local[2]"))?;
//! let counts = ctx
//!     .parallelize(vec!["a b", "b c"].into_iter().map(String::from).collect(), 2)
//!     .flat_map(|line: String| line.split(' ').map(String::from).collect::<Vec<_>>())
//!     .map(|w| (w, 1u64))
//!     .reduce_by_key(|a, b| a + b)
//!     .collect()?;
//! # Ok::<(), ember::EmberError>(())
//! ```
//!
//! Closures passed to transformations must capture nothing (a compile error
//! says so); data from the driver travels explicitly with the `_with` forms
//! (`map_with(state, |state, x| ...)`) or broadcast variables. See
//! `docs/adr/0001-shipping-closures.md`.

pub mod conf;
pub mod context;
pub mod executors;
pub mod listener;
pub mod scheduler;
pub mod submit;
pub mod ui;

pub use conf::{Conf, Master, Settings};
pub use context::Context;
pub use ember_rdd::{
    Accumulator, BoxIter, Broadcast, Data, Either, EmberError, Key, Rdd, Result, StatCounter, StorageLevel, TaskError,
    TextRecord,
};

/// What a driver program needs, in one import.
pub mod prelude {
    pub use crate::conf::Conf;
    pub use crate::context::Context;
    pub use ember_rdd::partitioner::{HashPartitioner, Partitioner, RangePartitioner};
    pub use ember_rdd::{
        Accumulator, BoxIter, Broadcast, Data, Either, EmberError, Key, Rdd, Result, StatCounter, StorageLevel,
        TextRecord,
    };
}

/// Re-exports for code that extends Ember (new RDD kinds, shippable functions).
pub mod extend {
    pub use ember_rdd::*;
}
