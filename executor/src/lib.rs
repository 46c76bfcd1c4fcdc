//! # ember-executor: the executor backend
//!
//! Runs tasks and holds an executor's data: the [`block_manager`] (cached
//! partitions in the storage part of the executor's memory manager), the
//! [`shuffle_store`] (map output files, read by reducers through
//! [`shuffle_read`]), and broadcast values ([`env`]). The same pieces serve two deployments:
//!
//! - in process, for `local[N]`: the driver builds an [`env::ExecutorEnv`] and
//!   runs tasks with [`task_runner`] on its own thread pool;
//! - as a separate process, for `local-cluster[N]` and clusters: [`backend`]
//!   starts the gRPC [`service`], which receives stage plans and tasks from
//!   the driver and serves shuffle blocks to other backends ([`fetch`]);
//! - the [`daemon`] (`ember-executor`) starts backends for authenticated
//!   drivers on standing clusters, over TLS when started with certificates
//!   ([`tls`]).
//!
//! The shared secret, tokens and TLS come from `ember-security`, sizes such
//! as `2g` are parsed by `ember_rdd::byte_size`: the driver uses them too.

pub mod backend;
pub mod block_manager;
pub mod daemon;
pub mod env;
pub mod fetch;
pub mod object_host;
pub mod service;
pub mod shipped_objects;
pub mod shuffle_read;
pub mod shuffle_service;
pub mod shuffle_store;
pub mod task_runner;
pub mod wire;
