//! The kinds of RDD node. Each one is a [`ShippedNode`](crate::shipping::ShippedNode):
//! it can be rebuilt in an executor backend from its serialized fields.

pub mod cartesian;
pub mod checkpoint;
pub mod coalesce;
pub mod map_partitions;
pub mod parsed_text;
pub mod result;
pub mod shuffle;
pub mod source;
pub mod text_file;
pub mod union;
pub mod zip;
