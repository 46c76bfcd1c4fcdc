//! # ember-security: who may talk to whom
//!
//! What the driver and the executors share to trust each other, apart from
//! both: the proof of the daemons' shared secret and random tokens
//! ([`auth`]), how that secret is read from a file ([`secret_file`]), and the
//! TLS identities and trust roots of a cluster that serves TLS ([`tls`]).
//! The driver and the executor crate depend on it; it depends on neither
//! (ADR 0006).

pub mod auth;
pub mod secret_file;
pub mod tls;
