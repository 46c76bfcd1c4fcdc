//! Conversions between Ember's types and the protobuf messages. A
//! [`TaskError::FetchFailed`] crosses the wire as the `FetchFailed` message of
//! the `TaskFailure.reason` oneof, never as text to be parsed.

use ember_proto::v1 as pb;
use ember_rdd::TaskError;
use ember_rdd::ids::{ExecutorId, ShuffleId};
use ember_rdd::shuffle::map_output::{MapLocation, MapOutputSummary, NonEmptyBlocks, ShuffleLocations};
use ember_rdd::task::TaskMetrics;
use std::time::Duration;

pub fn non_empty_to_proto(n: &NonEmptyBlocks) -> pb::NonEmptyBlocks {
    use pb::non_empty_blocks::Kind;
    let list = |v: &Vec<u32>| pb::PartitionList { partitions: v.clone() };
    let kind = match n {
        NonEmptyBlocks::All => Kind::All(true),
        NonEmptyBlocks::Only(v) => Kind::Only(list(v)),
        NonEmptyBlocks::AllBut(v) => Kind::AllBut(list(v)),
    };
    pb::NonEmptyBlocks { kind: Some(kind) }
}

/// A missing description counts as "every block" (safe: an empty block
/// fetched reads as no records).
pub fn non_empty_from_proto(n: Option<pb::NonEmptyBlocks>) -> NonEmptyBlocks {
    use pb::non_empty_blocks::Kind;
    match n.and_then(|n| n.kind) {
        Some(Kind::Only(l)) => NonEmptyBlocks::Only(l.partitions),
        Some(Kind::AllBut(l)) => NonEmptyBlocks::AllBut(l.partitions),
        Some(Kind::All(_)) | None => NonEmptyBlocks::All,
    }
}

pub fn summary_to_proto(s: &MapOutputSummary) -> pb::MapOutputSummary {
    pb::MapOutputSummary { bytes: s.bytes, records: s.records, non_empty: Some(non_empty_to_proto(&s.non_empty)) }
}

pub fn summary_from_proto(s: pb::MapOutputSummary) -> MapOutputSummary {
    MapOutputSummary { bytes: s.bytes, records: s.records, non_empty: non_empty_from_proto(s.non_empty) }
}

pub fn locations_to_proto(locations: &ShuffleLocations) -> Vec<pb::ShuffleLocations> {
    let map_location = |m: &MapLocation| pb::MapLocation {
        executor_id: m.executor_id.0.clone(),
        address: m.address.clone(),
        non_empty: Some(non_empty_to_proto(&m.non_empty)),
    };
    locations
        .iter()
        .map(|(shuffle, maps)| pb::ShuffleLocations {
            shuffle_id: shuffle.0,
            maps: maps.iter().map(map_location).collect(),
        })
        .collect()
}

pub fn locations_from_proto(locations: Vec<pb::ShuffleLocations>) -> ShuffleLocations {
    let map_location = |m: pb::MapLocation| MapLocation {
        executor_id: ExecutorId(m.executor_id),
        address: m.address,
        non_empty: non_empty_from_proto(m.non_empty),
    };
    locations.into_iter().map(|l| (ShuffleId(l.shuffle_id), l.maps.into_iter().map(map_location).collect())).collect()
}

/// A task's metrics and run time on the wire (`result_bytes` is set by the caller).
pub fn metrics_to_proto(m: &TaskMetrics, run_time: Duration) -> pb::TaskMetrics {
    pb::TaskMetrics {
        run_nanos: run_time.as_nanos() as u64,
        records_read: m.records_read,
        bytes_read: m.bytes_read,
        shuffle_read_records: m.shuffle_read_records,
        shuffle_read_bytes: m.shuffle_read_bytes,
        shuffle_write_bytes: m.shuffle_write_bytes,
        shuffle_write_records: m.shuffle_write_records,
        memory_bytes_spilled: m.memory_bytes_spilled,
        disk_bytes_spilled: m.disk_bytes_spilled,
        spill_nanos: m.spill_nanos,
        peak_execution_memory: m.peak_execution_memory,
        result_bytes: 0,
    }
}

pub fn metrics_from_proto(m: &pb::TaskMetrics) -> TaskMetrics {
    TaskMetrics {
        records_read: m.records_read,
        bytes_read: m.bytes_read,
        shuffle_read_records: m.shuffle_read_records,
        shuffle_read_bytes: m.shuffle_read_bytes,
        shuffle_write_bytes: m.shuffle_write_bytes,
        shuffle_write_records: m.shuffle_write_records,
        memory_bytes_spilled: m.memory_bytes_spilled,
        disk_bytes_spilled: m.disk_bytes_spilled,
        spill_nanos: m.spill_nanos,
        peak_execution_memory: m.peak_execution_memory,
    }
}

pub fn failure_to_proto(e: &TaskError) -> pb::TaskFailure {
    use pb::task_failure::Reason;
    let reason = match e {
        TaskError::FetchFailed { executor, shuffle, map_index, reduce_index, message } => {
            Reason::FetchFailed(pb::FetchFailed {
                executor_id: executor.0.clone(),
                shuffle_id: shuffle.0,
                map_index: *map_index as u32,
                reduce_index: *reduce_index as u32,
                message: message.clone(),
            })
        }
        TaskError::UserPanic { message } => {
            Reason::UserFailure(pb::UserFailure { message: message.clone(), panicked: true })
        }
        TaskError::Input { message } => {
            Reason::UserFailure(pb::UserFailure { message: message.clone(), panicked: false })
        }
        TaskError::Engine { message } => Reason::EngineFailure(pb::EngineFailure { message: message.clone() }),
        TaskError::Deterministic { message } => {
            Reason::DeterministicFailure(pb::DeterministicFailure { message: message.clone() })
        }
    };
    pb::TaskFailure { reason: Some(reason) }
}

pub fn failure_from_proto(f: pb::TaskFailure) -> TaskError {
    use pb::task_failure::Reason;
    match f.reason {
        Some(Reason::FetchFailed(f)) => TaskError::FetchFailed {
            executor: ExecutorId(f.executor_id),
            shuffle: ShuffleId(f.shuffle_id),
            map_index: f.map_index as usize,
            reduce_index: f.reduce_index as usize,
            message: f.message,
        },
        Some(Reason::UserFailure(u)) if u.panicked => TaskError::UserPanic { message: u.message },
        Some(Reason::UserFailure(u)) => TaskError::Input { message: u.message },
        Some(Reason::EngineFailure(e)) => TaskError::Engine { message: e.message },
        Some(Reason::DeterministicFailure(d)) => TaskError::Deterministic { message: d.message },
        None => TaskError::engine("task failed without a reason"),
    }
}

/// SHA-256 (hex) of the running executable, computed once.
pub fn exe_sha256() -> Result<String, std::io::Error> {
    use sha2::{Digest, Sha256};
    use std::sync::OnceLock;
    static HASH: OnceLock<Result<String, String>> = OnceLock::new();
    let h = HASH.get_or_init(|| {
        let path = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut hasher = Sha256::new();
        std::io::copy(&mut file, &mut hasher).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(format!("{:x}", hasher.finalize()))
    });
    h.clone().map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_vocabulary_survives_the_wire() {
        for non_empty in [NonEmptyBlocks::All, NonEmptyBlocks::Only(vec![1, 5]), NonEmptyBlocks::AllBut(vec![0])] {
            let summary = MapOutputSummary { bytes: 10, records: 3, non_empty };
            assert_eq!(summary_from_proto(summary_to_proto(&summary)), summary);
        }
        let location = |e: &str, n| MapLocation { executor_id: e.into(), address: "h:1".into(), non_empty: n };
        let mut locations = ShuffleLocations::new();
        locations.insert(
            ShuffleId(2),
            vec![location("a", NonEmptyBlocks::All), location("b", NonEmptyBlocks::Only(vec![3]))],
        );
        assert_eq!(locations_from_proto(locations_to_proto(&locations)), locations);
        let metrics = TaskMetrics {
            records_read: 1,
            bytes_read: 2,
            shuffle_read_records: 3,
            shuffle_read_bytes: 4,
            shuffle_write_bytes: 5,
            shuffle_write_records: 6,
            memory_bytes_spilled: 7,
            disk_bytes_spilled: 8,
            spill_nanos: 9,
            peak_execution_memory: 10,
        };
        let wire = metrics_to_proto(&metrics, Duration::from_nanos(11));
        assert_eq!((metrics_from_proto(&wire), wire.run_nanos), (metrics, 11));
    }

    #[test]
    fn every_task_error_survives_the_wire() {
        let errors = [
            TaskError::FetchFailed {
                executor: "e1".into(),
                shuffle: ShuffleId(3),
                map_index: 4,
                reduce_index: 5,
                message: "gone".into(),
            },
            TaskError::UserPanic { message: "boom".into() },
            TaskError::Input { message: "bad line".into() },
            TaskError::Engine { message: "oops".into() },
            TaskError::Deterministic { message: "bad.csv:3: 'x' is not a number".into() },
        ];
        for e in errors {
            assert_eq!(failure_from_proto(failure_to_proto(&e)), e);
        }
    }
}
