//! What listener events say about stages: their names and the RDDs their
//! tasks compute, built on the scheduler loop when a job starts.
//!
//! A stage's RDDs are its narrow lineage, found with an explicit stack (a
//! 10,000-step lineage must not overflow the loop's stack), parents before
//! children. Each RDD lists the RDDs it reads, including the map side of a
//! shuffle, which belongs to a parent stage: that is the edge the DAG page
//! draws between stages. Describing is linear in the lineage and happens once
//! per stage per job, never per task.

use super::IdSet;
use super::stage::{Stage, StageKind};
use crate::listener::{RddInfo, StageInfo};
use ember_rdd::ids::RddId;
use ember_rdd::rdd::{Dependency, RddBase};
use std::sync::Arc;

/// "map at src/main.rs:20" for a map stage (the operation and line that
/// made its last RDD), "count at src/main.rs:24" for a result stage (the
/// action and its line), as Spark's "map at Main.scala:20". An RDD made
/// outside any operation (a custom node) is named by its kind and id.
pub(super) fn stage_name(stage: &Stage) -> String {
    let made_at = stage.rdd.meta().call_site();
    let site = match stage.kind {
        StageKind::ShuffleMap { .. } => made_at,
        StageKind::Result { .. } => stage.root.call_site().or(made_at),
    };
    match site {
        Some(site) if site.operation.is_some() => site.to_string(),
        Some(site) => format!("{} [{}] {site}", stage.rdd.kind(), stage.rdd.id().0),
        None => format!("{} [{}]", stage.rdd.kind(), stage.rdd.id().0),
    }
}

/// The description of `stage` for a job's start event; a full run has `num_tasks` tasks.
pub(super) fn stage_info(stage: &Stage, num_tasks: usize) -> StageInfo {
    StageInfo {
        stage: stage.id,
        name: stage_name(stage),
        num_tasks,
        parents: stage.parents.clone(),
        shuffle: stage.shuffle(),
        rdds: narrow_lineage(stage.rdd.clone()),
    }
}

/// Every RDD reachable from `last` through narrow dependencies, parents
/// before children, each once; `last` comes last.
fn narrow_lineage(last: Arc<dyn RddBase>) -> Vec<RddInfo> {
    let mut order = Vec::new();
    let mut visited: IdSet<RddId> = IdSet::default();
    // (node, its narrow parents once expanded)
    let mut stack: Vec<(Arc<dyn RddBase>, Option<Vec<RddId>>)> = vec![(last, None)];
    while let Some((node, expanded)) = stack.pop() {
        match expanded {
            Some(parents) => order.push(RddInfo {
                id: node.id(),
                kind: node.kind().to_string(),
                num_partitions: node.num_partitions(),
                storage_level: node.meta().storage_level(),
                parents,
                call_site: node.meta().call_site().filter(|s| s.operation.is_some()).map(|s| s.to_string()),
            }),
            None => {
                if !visited.insert(node.id()) {
                    continue;
                }
                let mut parent_ids = Vec::new();
                let mut narrow = Vec::new();
                for dep in node.dependencies() {
                    match dep {
                        Dependency::Narrow { rdd, .. } => {
                            parent_ids.push(rdd.id());
                            narrow.push(rdd);
                        }
                        Dependency::Shuffle(shuffle) => parent_ids.push(shuffle.rdd().id()),
                    }
                }
                stack.push((node, Some(parent_ids)));
                stack.extend(narrow.into_iter().rev().filter(|p| !visited.contains(&p.id())).map(|p| (p, None)));
            }
        }
    }
    order
}
