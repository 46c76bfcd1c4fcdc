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
//! Closures passed to RDD operations must capture nothing: what they capture
//! could not be serialized to reach executors. Data from the driver travels
//! as explicit state, which every function of the next operation receives
//! first — `rdd.with(state)` works before any operation — or in a broadcast
//! variable passed as state:
//!
//! ```no_run
//! use ember::prelude::*;
//!
//! let ctx = Context::new(Conf::new().master("local[2]"))?;
//! let words = ctx.parallelize(vec!["the".to_string(), "fox".to_string()], 2);
//! let stop = vec!["the".to_string()];
//! let kept = words.with(stop).filter(|stop, w| !stop.contains(w)).count()?;
//! let lengths = words.map(|w| (w.len(), 1u64)).with(10u64).reduce_by_key(|cap, a, b| (a + b).min(*cap));
//! # Ok::<(), ember::EmberError>(())
//! ```
//!
//! A closure that captures is a compile error at the operation's call
//! (`cargo check` shows it for captured `String`s, `Vec`s and the like;
//! captured numbers are reported when the program is built):
//!
//! ```compile_fail
//! # use ember::prelude::*;
//! # let ctx = Context::new(Conf::new().master("local[2]")).unwrap();
//! let stop = vec!["the".to_string()];
//! let kept = ctx.parallelize(vec!["a".to_string()], 1).filter(move |w| !stop.contains(w));
//! ```
//!
//! ```compile_fail
//! # use ember::prelude::*;
//! # let ctx = Context::new(Conf::new().master("local[2]")).unwrap();
//! let factor = 3u64;
//! let scaled = ctx.parallelize(vec![1u64, 2], 1).map(move |x| x * factor);
//! ```
//!
//! See `docs/adr/0001-shipping-closures.md`.

pub mod conf;
pub mod context;
pub mod display;
pub mod executors;
pub mod job_control;
pub mod listener;
pub mod scheduler;
pub mod submit;
pub mod ui;

pub use conf::{Conf, Master, Settings};
pub use context::Context;
pub use ember_rdd::{
    Accumulator, BoxIter, Broadcast, Data, Either, EmberError, HistogramError, Key, OrderedF64, Rdd, Result,
    StatCounter, StorageLevel, TaskError, TextRecord,
};

/// What a driver program needs, in one import.
pub mod prelude {
    pub use crate::conf::Conf;
    pub use crate::context::Context;
    pub use crate::display::Table;
    pub use ember_rdd::func::CapturesNothing;
    pub use ember_rdd::parquet::{NonFinite, ParquetReadOptions, ParquetWriteOptions};
    pub use ember_rdd::partitioner::{HashPartitioner, Partitioner, RangePartitioner};
    pub use ember_rdd::{
        Accumulator, BoxIter, Broadcast, Data, Either, EmberError, HistogramError, JobFuture, JobHandle, JobStatus,
        Key, OrderedF64, Rdd, Result, StatCounter, StorageLevel, TextRecord,
    };
}

/// Inputs and outputs: paths and URLs ([`io::Location`]), object-store
/// options, compression codecs ([`io::Codec`]).
pub use ember_rdd::io;

/// Re-exports for code that extends Ember (new RDD kinds, shippable functions).
pub mod extend {
    pub use ember_rdd::*;
}
