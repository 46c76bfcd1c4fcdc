//! The kinds of RDD node. Each one is a [`ShippedNode`](crate::shipping::ShippedNode):
//! it can be rebuilt in an executor backend from its serialized fields.
//!
//! A node is a struct with a `meta: RddMeta` field and three impls:
//! [`RddBase`](crate::rdd::RddBase) (its partitions and dependencies),
//! [`RddNode`](crate::rdd::RddNode) (how it computes a partition) and
//! `ShippedNode` (its fields on the wire). What every `RddBase` impl would
//! repeat is written by `common_rdd_base_methods!` (below).

/// Writes the [`RddBase`](crate::rdd::RddBase) methods that are the same in
/// every node, inside the node's `impl RddBase` block, which then shows only
/// what tells the node apart: `num_partitions` and `dependencies`.
///
/// - `meta`: the node's `meta: RddMeta` field;
/// - `kind`: the name given (what `to_debug_string` shows);
/// - `encode`: the node's [`ShippedNode`](crate::shipping::ShippedNode) impl,
///   through [`encode_node`](crate::shipping::encode_node).
///
/// ```ignore
/// impl<T: Data> RddBase for CoalescedRdd<T> {
///     common_rdd_base_methods!("CoalescedRdd");
///     fn num_partitions(&self) -> usize { ... }
///     fn dependencies(&self) -> Vec<Dependency> { ... }
/// }
/// ```
macro_rules! common_rdd_base_methods {
    ($kind:expr) => {
        fn meta(&self) -> &$crate::rdd::RddMeta {
            &self.meta
        }
        fn kind(&self) -> &'static str {
            $kind
        }
        fn encode(
            &self,
        ) -> ::std::result::Result<($crate::shipping::EntryPoint, ::std::vec::Vec<u8>), $crate::error::EmberError> {
            $crate::shipping::encode_node(self)
        }
    };
}

pub mod cartesian;
pub mod checkpoint;
pub mod coalesce;
pub mod map_partitions;
#[cfg(feature = "parquet")]
pub mod parquet_file;
pub mod parsed_text;
pub mod result;
pub mod shuffle;
pub mod source;
pub mod text_file;
pub mod union;
pub mod zip;
pub mod zip_partitions;
