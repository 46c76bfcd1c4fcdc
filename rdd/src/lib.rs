//! # ember-rdd: Ember's data model
//!
//! The [`Rdd`] type and everything it is made of: nodes and their
//! dependencies ([`rdd`], [`nodes`]), partitioners, the map and reduce sides
//! of shuffles ([`aggregate`]), storage levels, shared variables, and the
//! code-shipping layer ([`shipping`], [`func`]) that lets an RDD built in the
//! driver be rebuilt and computed in an executor backend running the same
//! binary.
//!
//! This crate knows nothing of scheduling or networking: actions reach the
//! driver's scheduler through the [`runner::JobRunner`] trait, and tasks reach
//! their executor through the [`task::TaskEnv`] trait.

pub mod aggregate;
pub mod byte_size;
pub mod call_site;
pub mod code_objects;
pub mod data;
pub mod display;
pub mod error;
pub mod func;
pub mod ids;
pub mod io;
pub mod job_future;
pub mod json_lines;
pub mod lineage;
pub mod memory;
pub mod metrics;
pub mod nodes;
pub mod ops;
pub mod panic_report;
pub mod parquet;
pub mod partitioner;
pub mod rdd;
pub mod runner;
pub mod shared;
pub mod shipping;
pub mod shuffle;
pub mod storage;
pub mod task;
pub mod text_record;

pub use data::{Data, Key, ToF64};
pub use display::{RichDisplay, Table};
pub use error::{EmberError, HistogramError, Result, TaskError, panic_message};
pub use job_future::{JobFuture, JobHandle, JobStatus};
pub use ops::numeric::StatCounter;
pub use ops::ordering::OrderedF64;
pub use ops::pair::Either;
pub use rdd::Rdd;
pub use shared::{Accumulator, Broadcast};
pub use storage::StorageLevel;
pub use task::BoxIter;
pub use text_record::TextRecord;
