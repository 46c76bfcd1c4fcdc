//! `to_debug_string`: the lineage of an RDD, with stage boundaries and cache
//! markers, in the shape Spark prints it:
//!
//! ```text
//! (4) ShuffledRdd[3] []
//!  +-(2) MapPartitionsRdd[2] [MemoryOnly]
//!     |  ParallelCollectionRdd[0] []
//! ```
//!
//! Each `+-` starts a new stage (a shuffle dependency); `|` continues a stage
//! through a narrow dependency. The walk uses an explicit stack.

use crate::Data;
use crate::rdd::{Dependency, Rdd, RddBase};
use crate::storage::StorageLevel;
use std::collections::HashSet;
use std::sync::Arc;

impl<T: Data> Rdd<T> {
    /// The lineage of this RDD, one line per node.
    pub fn to_debug_string(&self) -> String {
        debug_string(self.node.base())
    }
}

fn level_label(level: StorageLevel) -> &'static str {
    match level {
        StorageLevel::None => "[]",
        StorageLevel::MemoryOnly => "[MemoryOnly]",
        StorageLevel::MemoryAndDisk => "[MemoryAndDisk]",
    }
}

/// Renders the lineage below `root`; a node reached twice is printed once
/// and referred to as `(already shown)` afterwards.
pub fn debug_string(root: Arc<dyn RddBase>) -> String {
    let mut out = String::new();
    let mut shown = HashSet::new();
    // (node, indentation, whether reached through a shuffle)
    let mut stack: Vec<(Arc<dyn RddBase>, usize, bool)> = vec![(root, 0, false)];
    while let Some((node, indent, via_shuffle)) = stack.pop() {
        let pad = " ".repeat(indent);
        let marker = if indent == 0 {
            ""
        } else if via_shuffle {
            " +-"
        } else {
            " |  "
        };
        let name = node.meta().name().map(|n| format!("{n} ")).unwrap_or_default();
        let label = format!(
            "({}) {name}{}[{}] {}",
            node.num_partitions(),
            node.kind(),
            node.id().0,
            level_label(node.meta().storage_level())
        );
        if !shown.insert(node.id()) {
            out.push_str(&format!("{pad}{marker}{label} (already shown)\n"));
            continue;
        }
        out.push_str(&format!("{pad}{marker}{label}\n"));
        for dep in node.dependencies().into_iter().rev() {
            match dep {
                Dependency::Narrow { rdd, .. } => stack.push((rdd, if indent == 0 { 1 } else { indent }, false)),
                Dependency::Shuffle(s) => stack.push((s.rdd(), indent + 3, true)),
            }
        }
    }
    out
}
