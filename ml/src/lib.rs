//! # ember-ml: numerical programs on Ember RDDs
//!
//! Iterative numerical work over data cached in executor memory, the reason
//! RDDs exist. Data is kept as *blocks*: each record of the RDD is a dense
//! row-major `ndarray::ArcArray2<f64>` of many rows ([`block::Block`]), so the
//! per-partition kernels (GEMM, QR, Cholesky, from faer, single-threaded
//! inside a task) run at the speed of the hardware and parallelism comes from
//! partitions. Blocks are reference-counted, so a pass over cached blocks
//! reads them where the executor keeps them, without copying them first.
//!
//! - [`data`]: loaders (raw little-endian f64, CSV, LIBSVM) and seeded generators;
//! - [`logreg`]: logistic regression by gradient descent and by L-BFGS;
//! - [`qr`]: TSQR, Direct TSQR, Cholesky QR (and QR2), indirect QR, least squares, SVD;
//! - [`kmeans`]: k-means++ and k-means‖ initialization, Lloyd iterations;
//! - [`display`]: summaries of models and factorizations in Jupyter and the evcxr REPL.

#[cfg(target_arch = "x86_64")]
mod avx2;
pub mod block;
pub mod data;
pub mod display;
pub mod error;
pub mod kmeans;
pub mod logreg;
pub mod qr;

pub use block::{Block, LabeledBlock};
pub use error::{MlError, Result};
