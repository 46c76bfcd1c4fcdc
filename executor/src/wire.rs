//! Conversions between Ember's types and the protobuf messages. A
//! [`TaskError::FetchFailed`] crosses the wire as the `FetchFailed` message of
//! the `TaskFailure.reason` oneof, never as text to be parsed.

use ember_proto::v1 as pb;
use ember_rdd::TaskError;
use ember_rdd::ids::ShuffleId;

pub fn failure_to_proto(e: &TaskError) -> pb::TaskFailure {
    use pb::task_failure::Reason;
    let reason = match e {
        TaskError::FetchFailed { executor, shuffle, map_index, reduce_index, message } => {
            Reason::FetchFailed(pb::FetchFailed {
                executor_id: executor.clone(),
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
    };
    pb::TaskFailure { reason: Some(reason) }
}

pub fn failure_from_proto(f: pb::TaskFailure) -> TaskError {
    use pb::task_failure::Reason;
    match f.reason {
        Some(Reason::FetchFailed(f)) => TaskError::FetchFailed {
            executor: f.executor_id,
            shuffle: ShuffleId(f.shuffle_id),
            map_index: f.map_index as usize,
            reduce_index: f.reduce_index as usize,
            message: f.message,
        },
        Some(Reason::UserFailure(u)) if u.panicked => TaskError::UserPanic { message: u.message },
        Some(Reason::UserFailure(u)) => TaskError::Input { message: u.message },
        Some(Reason::EngineFailure(e)) => TaskError::Engine { message: e.message },
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
        ];
        for e in errors {
            assert_eq!(failure_from_proto(failure_to_proto(&e)), e);
        }
    }
}
