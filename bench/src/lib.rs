//! Workloads shared by `ember-bench` and `ember-chaos`, and the report writer.

pub mod report;
pub mod workloads;
