//! The generated code of Ember's wire protocol, package `ember.v1`.
//!
//! `proto/ember.proto` is the source of truth; read it for what each message
//! and field means.

#![allow(clippy::all, missing_docs)]

pub mod v1 {
    tonic::include_proto!("ember.v1");
}

/// The largest gRPC message Ember sends or accepts.
pub const MAX_MESSAGE_BYTES: usize = 1 << 30;
