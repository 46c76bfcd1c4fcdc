//! Every conversion between Ember's types and the protobuf messages of the
//! driver ↔ backend protocol, each with a round-trip test: task outcomes
//! (a `oneof` of success and failure; a success's output a `oneof` of result
//! bytes and map output), failures (a [`TaskError::FetchFailed`] crosses as the
//! `FetchFailed` message of the `TaskFailure.reason` oneof, never as text to
//! be parsed), map-output summaries and locations, metrics and block updates.
//! Both ends (the driver's `remote` link and the backend's service) use these.

use ember_proto::v1 as pb;
use ember_rdd::TaskError;
use ember_rdd::ids::{AccumulatorId, BlockId, ExecutorId, RddId, ShuffleId};
use ember_rdd::shuffle::map_output::{MapLocation, MapOutputSummary, NonEmptyBlocks, ShuffleLocations};
use ember_rdd::storage::{BlockPlace, BlockUpdate};
use ember_rdd::task::TaskMetrics;
use ember_rdd::task::{AccumulatorValue, TaskOutcome, TaskOutput, TaskSuccess};
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
        shuffle_fetch_wait_nanos: m.shuffle_fetch_wait_nanos,
        shuffle_write_nanos: m.shuffle_write_nanos,
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
        shuffle_fetch_wait_nanos: m.shuffle_fetch_wait_nanos,
        shuffle_write_nanos: m.shuffle_write_nanos,
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
        TaskError::UserPanic { message, backtrace } => Reason::UserFailure(pb::UserFailure {
            message: message.clone(),
            panicked: true,
            backtrace: backtrace.clone().unwrap_or_default(),
        }),
        TaskError::Input { message } => {
            Reason::UserFailure(pb::UserFailure { message: message.clone(), panicked: false, backtrace: String::new() })
        }
        TaskError::Engine { message } => Reason::EngineFailure(pb::EngineFailure { message: message.clone() }),
        TaskError::Deterministic { message } => {
            Reason::DeterministicFailure(pb::DeterministicFailure { message: message.clone() })
        }
        TaskError::Killed { reason } => Reason::TaskKilled(pb::TaskKilled { reason: reason.clone() }),
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
        Some(Reason::UserFailure(u)) if u.panicked => {
            TaskError::UserPanic { message: u.message, backtrace: Some(u.backtrace).filter(|b| !b.is_empty()) }
        }
        Some(Reason::UserFailure(u)) => TaskError::Input { message: u.message },
        Some(Reason::EngineFailure(e)) => TaskError::Engine { message: e.message },
        Some(Reason::DeterministicFailure(d)) => TaskError::Deterministic { message: d.message },
        Some(Reason::TaskKilled(k)) => TaskError::Killed { reason: k.reason },
        None => TaskError::engine("task failed without a reason"),
    }
}

/// A task's outcome as a backend reports it (in-process values cannot cross).
pub fn outcome_to_proto(task_id: u64, outcome: TaskOutcome) -> pb::TaskStatus {
    use pb::task_status::Outcome;
    use pb::task_success::Output;
    let metrics = metrics_to_proto(&outcome.metrics, outcome.run_time);
    let success = outcome.result.and_then(|s| {
        let mut out = pb::TaskSuccess::default();
        match s.output {
            TaskOutput::Bytes(b) => out.output = Some(Output::Result(b)),
            TaskOutput::MapOutput(summary) => out.output = Some(Output::MapOutput(summary_to_proto(&summary))),
            TaskOutput::Value(_) => return Err(TaskError::engine("in-process result in a backend")),
        }
        for (id, value) in s.accumulators {
            match value {
                AccumulatorValue::Bytes(value) => {
                    out.accumulator_updates.push(pb::AccumulatorUpdate { accumulator_id: id.0, value })
                }
                AccumulatorValue::Local(_) => return Err(TaskError::engine("in-process accumulator in a backend")),
            }
        }
        Ok(out)
    });
    let result_bytes = match &success {
        Ok(pb::TaskSuccess { output: Some(Output::Result(b)), .. }) => b.len() as u64,
        _ => 0,
    };
    let outcome = match success {
        Ok(s) => Outcome::Success(s),
        Err(e) => Outcome::Failure(failure_to_proto(&e)),
    };
    pb::TaskStatus { task_id, outcome: Some(outcome), metrics: Some(pb::TaskMetrics { result_bytes, ..metrics }) }
}

/// A backend's task status as the scheduler's outcome.
pub fn outcome_from_proto(status: pb::TaskStatus) -> TaskOutcome {
    use pb::task_status::Outcome;
    use pb::task_success::Output;
    let m = status.metrics.unwrap_or_default();
    let metrics = metrics_from_proto(&m);
    let result = match status.outcome {
        Some(Outcome::Success(s)) => {
            let output = match s.output {
                Some(Output::MapOutput(summary)) => TaskOutput::MapOutput(summary_from_proto(summary)),
                Some(Output::Result(bytes)) => TaskOutput::Bytes(bytes),
                // A result that encodes to nothing (e.g. `()`).
                None => TaskOutput::Bytes(Vec::new()),
            };
            let accumulators = s
                .accumulator_updates
                .into_iter()
                .map(|a| (AccumulatorId(a.accumulator_id), AccumulatorValue::Bytes(a.value)))
                .collect();
            Ok(TaskSuccess { output, accumulators })
        }
        Some(Outcome::Failure(f)) => Err(failure_from_proto(f)),
        None => Err(TaskError::engine("task status without an outcome")),
    };
    TaskOutcome { result, metrics, run_time: Duration::from_nanos(m.run_nanos) }
}

pub fn block_update_to_proto(u: &BlockUpdate) -> pb::BlockUpdate {
    let location = match u.place {
        BlockPlace::None => pb::BlockLocation::None,
        BlockPlace::Memory => pb::BlockLocation::Memory,
        BlockPlace::Disk => pb::BlockLocation::Disk,
    };
    pb::BlockUpdate {
        rdd_id: u.block.rdd.0,
        partition: u.block.partition as u32,
        location: location as i32,
        size_bytes: u.size_bytes,
    }
}

pub fn block_update_from_proto(u: pb::BlockUpdate) -> BlockUpdate {
    let place = match pb::BlockLocation::try_from(u.location) {
        Ok(pb::BlockLocation::Memory) => BlockPlace::Memory,
        Ok(pb::BlockLocation::Disk) => BlockPlace::Disk,
        _ => BlockPlace::None,
    };
    BlockUpdate {
        block: BlockId { rdd: RddId(u.rdd_id), partition: u.partition as usize },
        place,
        size_bytes: u.size_bytes,
    }
}

/// SHA-256 (hex) of the code this process runs, computed once: the
/// executable, or — in a REPL, where Ember's code is in a cell's shared
/// object loaded by the runner — that object (see `ember_rdd::code_objects`).
/// A driver and its backends must agree on it.
pub fn code_sha256() -> Result<String, std::io::Error> {
    use std::sync::OnceLock;
    static HASH: OnceLock<Result<String, String>> = OnceLock::new();
    let h = HASH.get_or_init(|| {
        if let Some(object) = ember_rdd::code_objects::own_object().map_err(|e| e.to_string())? {
            return Ok(object.sha256.clone());
        }
        let path = std::env::current_exe().map_err(|e| e.to_string())?;
        ember_rdd::code_objects::file_sha256(&path).map_err(|e| e.to_string())
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
            shuffle_fetch_wait_nanos: 12,
            shuffle_write_nanos: 13,
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
            TaskError::UserPanic { message: "boom".into(), backtrace: None },
            TaskError::UserPanic { message: "boom".into(), backtrace: Some("panicked at src/main.rs:3:9".into()) },
            TaskError::Input { message: "bad line".into() },
            TaskError::Engine { message: "oops".into() },
            TaskError::Deterministic { message: "bad.csv:3: 'x' is not a number".into() },
            TaskError::Killed { reason: "job_3 was cancelled".into() },
        ];
        for e in errors {
            assert_eq!(failure_from_proto(failure_to_proto(&e)), e);
        }
    }

    /// Outcomes compared by what the scheduler reads from them.
    fn summary_of(o: &TaskOutcome) -> String {
        let result = match &o.result {
            Ok(s) => {
                let accumulators: Vec<String> = s
                    .accumulators
                    .iter()
                    .map(|(id, v)| match v {
                        AccumulatorValue::Bytes(b) => format!("{id}={b:?}"),
                        AccumulatorValue::Local(_) => format!("{id}=local"),
                    })
                    .collect();
                format!("ok {:?} {accumulators:?}", s.output)
            }
            Err(e) => format!("err {e:?}"),
        };
        format!("{result} {:?} {:?}", o.metrics, o.run_time)
    }

    #[test]
    fn task_outcomes_survive_the_wire() {
        let metrics = TaskMetrics { records_read: 4, shuffle_write_bytes: 9, ..TaskMetrics::default() };
        let summary = MapOutputSummary { bytes: 10, records: 3, non_empty: NonEmptyBlocks::Only(vec![1]) };
        let outcomes = [
            Ok(TaskSuccess {
                output: TaskOutput::Bytes(vec![1, 2, 3]),
                accumulators: vec![(AccumulatorId(7), AccumulatorValue::Bytes(vec![42]))],
            }),
            Ok(TaskSuccess { output: TaskOutput::MapOutput(summary), accumulators: Vec::new() }),
            Ok(TaskSuccess { output: TaskOutput::Bytes(Vec::new()), accumulators: Vec::new() }),
            Err(TaskError::Deterministic { message: "in.txt:3: not valid UTF-8".into() }),
        ];
        for result in outcomes {
            let outcome = TaskOutcome { result, metrics, run_time: Duration::from_micros(1500) };
            let wire = outcome_to_proto(12, outcome_clone(&outcome));
            assert_eq!(wire.task_id, 12);
            assert_eq!(summary_of(&outcome_from_proto(wire)), summary_of(&outcome));
        }
    }

    fn outcome_clone(o: &TaskOutcome) -> TaskOutcome {
        let result = match &o.result {
            Ok(s) => Ok(TaskSuccess {
                output: match &s.output {
                    TaskOutput::Bytes(b) => TaskOutput::Bytes(b.clone()),
                    TaskOutput::MapOutput(m) => TaskOutput::MapOutput(m.clone()),
                    TaskOutput::Value(_) => unreachable!("not used by these tests"),
                },
                accumulators: s
                    .accumulators
                    .iter()
                    .map(|(id, v)| match v {
                        AccumulatorValue::Bytes(b) => (*id, AccumulatorValue::Bytes(b.clone())),
                        AccumulatorValue::Local(_) => unreachable!("not used by these tests"),
                    })
                    .collect(),
            }),
            Err(e) => Err(e.clone()),
        };
        TaskOutcome { result, metrics: o.metrics, run_time: o.run_time }
    }

    #[test]
    fn an_in_process_value_cannot_cross_and_says_so() {
        let outcome = TaskOutcome {
            result: Ok(TaskSuccess { output: TaskOutput::Value(Box::new(1u8)), accumulators: Vec::new() }),
            metrics: TaskMetrics::default(),
            run_time: Duration::ZERO,
        };
        let back = outcome_from_proto(outcome_to_proto(1, outcome));
        assert!(matches!(back.result, Err(TaskError::Engine { .. })));
    }

    #[test]
    fn block_updates_survive_the_wire() {
        for place in [BlockPlace::Memory, BlockPlace::Disk, BlockPlace::None] {
            let u = BlockUpdate { block: BlockId { rdd: RddId(3), partition: 9 }, place, size_bytes: 77 };
            let back = block_update_from_proto(block_update_to_proto(&u));
            assert_eq!((back.block, back.place, back.size_bytes), (u.block, u.place, u.size_bytes));
        }
    }
}
