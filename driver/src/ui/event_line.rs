//! One event as one line of the event log.
//!
//! Task starts and ends are nearly all of a log (two per task), and the
//! event log writer runs on the listener bus thread, which competes with the
//! task threads for cores. So these two are written by hand: the same bytes
//! `serde_json` writes for them (the tests compare the two), but with their
//! keys as pre-escaped constants and integers by `itoa`, which costs a tenth
//! of what `serde_json` spends escaping every key byte by byte. Every other
//! event goes through `serde_json`, and the format stays what
//! [`ListenerEvent`]'s serde attributes say: a change there must be made
//! here too, or the tests fail.

use crate::listener::ListenerEvent;
use std::time::Duration;

/// Appends `event` as a JSON line (with its `\n`) to `out`.
pub fn write_line(out: &mut Vec<u8>, event: &ListenerEvent) -> serde_json::Result<()> {
    match event {
        ListenerEvent::TaskStart { task, stage, stage_attempt, partition, attempt, executor, time } => {
            out.extend_from_slice(br#"{"event":"TaskStart","task":"#);
            int(out, task.0);
            key_int(out, br#","stage":"#, stage.0);
            key_int(out, br#","stage_attempt":"#, *stage_attempt);
            key_int(out, br#","partition":"#, *partition);
            key_int(out, br#","attempt":"#, *attempt);
            out.extend_from_slice(br#","executor":"#);
            string(out, &executor.0)?;
            key_int(out, br#","time":"#, time.0);
            out.push(b'}');
        }
        ListenerEvent::TaskEnd {
            task,
            stage,
            stage_attempt,
            rdd,
            partition,
            executor,
            succeeded,
            error,
            run_time,
            metrics,
            result_size_bytes,
            time,
        } => {
            out.extend_from_slice(br#"{"event":"TaskEnd","task":"#);
            int(out, task.0);
            key_int(out, br#","stage":"#, stage.0);
            key_int(out, br#","stage_attempt":"#, *stage_attempt);
            key_int(out, br#","rdd":"#, rdd.0);
            key_int(out, br#","partition":"#, *partition);
            out.extend_from_slice(br#","executor":"#);
            string(out, &executor.0)?;
            out.extend_from_slice(if *succeeded { br#","succeeded":true"# } else { br#","succeeded":false"# });
            if let Some(error) = error {
                out.extend_from_slice(br#","error":"#);
                string(out, error)?;
            }
            key_int(out, br#","run_micros":"#, micros(*run_time));
            // Zero metrics are left out, as `skip_serializing_if = "is_zero"` does.
            for (key, n) in [
                (&br#","records_read":"#[..], metrics.records_read),
                (br#","bytes_read":"#, metrics.bytes_read),
                (br#","shuffle_read_records":"#, metrics.shuffle_read_records),
                (br#","shuffle_read_bytes":"#, metrics.shuffle_read_bytes),
                (br#","shuffle_write_bytes":"#, metrics.shuffle_write_bytes),
                (br#","result_size_bytes":"#, *result_size_bytes),
            ] {
                if n != 0 {
                    key_int(out, key, n);
                }
            }
            key_int(out, br#","time":"#, time.0);
            out.push(b'}');
        }
        other => serde_json::to_writer(&mut *out, other)?,
    }
    out.push(b'\n');
    Ok(())
}

/// A duration as the log has it: whole microseconds (as `duration_micros`).
fn micros(d: Duration) -> u64 {
    d.as_micros().min(u128::from(u64::MAX)) as u64
}

fn int(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// `key` is the comma, the quoted key and the colon.
fn key_int(out: &mut Vec<u8>, key: &[u8], n: impl itoa::Integer) {
    out.extend_from_slice(key);
    int(out, n);
}

/// A JSON string: copied as is when nothing in it needs escaping (executor
/// ids always, errors mostly), else escaped by `serde_json`.
fn string(out: &mut Vec<u8>, s: &str) -> serde_json::Result<()> {
    // serde_json escapes exactly these: control characters, quote, backslash.
    if s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        return serde_json::to_writer(&mut *out, s);
    }
    out.reserve(s.len() + 2);
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executors::ExecutorId;
    use crate::listener::{TaskMetrics, UnixMillis};
    use ember_rdd::ids::{RddId, StageId, TaskId};
    use proptest::prelude::*;

    fn serde_line(event: &ListenerEvent) -> String {
        serde_json::to_string(event).unwrap() + "\n"
    }

    fn our_line(event: &ListenerEvent) -> String {
        let mut out = Vec::new();
        write_line(&mut out, event).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![Just(String::new()), "[a-z0-9-]{1,12}", any::<String>(), "[\"\\\\\n\t\u{1}\u{7f}é€😀 a]{0,8}"]
    }

    fn task_start() -> impl Strategy<Value = ListenerEvent> {
        (any::<u64>(), any::<u64>(), any::<u32>(), any::<usize>(), any::<u32>(), text(), any::<u64>()).prop_map(
            |(task, stage, stage_attempt, partition, attempt, executor, time)| ListenerEvent::TaskStart {
                task: TaskId(task),
                stage: StageId(stage),
                stage_attempt,
                partition,
                attempt,
                executor: ExecutorId(executor),
                time: UnixMillis(time),
            },
        )
    }

    /// A metric: zero (left out) half the time.
    fn metric() -> impl Strategy<Value = u64> {
        prop_oneof![Just(0u64), any::<u64>()]
    }

    fn task_end() -> impl Strategy<Value = ListenerEvent> {
        let ids = (any::<u64>(), any::<u64>(), any::<u32>(), any::<u64>(), any::<usize>(), text());
        let outcome = (any::<bool>(), proptest::option::of(text()), any::<u64>(), any::<u32>());
        let metrics = (metric(), metric(), metric(), metric(), metric(), metric(), any::<u64>());
        (ids, outcome, metrics).prop_map(
            |(
                (task, stage, stage_attempt, rdd, partition, executor),
                (succeeded, error, secs, nanos),
                (
                    records_read,
                    bytes_read,
                    shuffle_read_records,
                    shuffle_read_bytes,
                    shuffle_write_bytes,
                    result_size_bytes,
                    time,
                ),
            )| ListenerEvent::TaskEnd {
                task: TaskId(task),
                stage: StageId(stage),
                stage_attempt,
                rdd: RddId(rdd),
                partition,
                executor: ExecutorId(executor),
                succeeded,
                error,
                run_time: Duration::new(secs, nanos % 1_000_000_000),
                metrics: TaskMetrics {
                    records_read,
                    bytes_read,
                    shuffle_read_records,
                    shuffle_read_bytes,
                    shuffle_write_bytes,
                },
                result_size_bytes,
                time: UnixMillis(time),
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn task_lines_are_what_serde_json_writes(event in prop_oneof![task_start(), task_end()]) {
            prop_assert_eq!(our_line(&event), serde_line(&event));
        }
    }

    #[test]
    fn a_task_end_from_a_log_older_than_input_bytes_still_parses() {
        let old = "{\"event\":\"TaskEnd\",\"task\":7,\"stage\":2,\"stage_attempt\":1,\"rdd\":4,\"partition\":3,\
                   \"executor\":\"1\",\"succeeded\":true,\"run_micros\":2,\"records_read\":5,\
                   \"shuffle_read_bytes\":9,\"time\":1700000000000}";
        match serde_json::from_str::<ListenerEvent>(old).unwrap() {
            ListenerEvent::TaskEnd { metrics, .. } => {
                let TaskMetrics { records_read, bytes_read, shuffle_read_records, shuffle_read_bytes, .. } = metrics;
                assert_eq!((records_read, bytes_read, shuffle_read_records, shuffle_read_bytes), (5, 0, 0, 9));
            }
            other => panic!("not a task end: {other:?}"),
        }
    }

    #[test]
    fn a_typical_task_end_and_other_events() {
        let end = ListenerEvent::TaskEnd {
            task: TaskId(7),
            stage: StageId(2),
            stage_attempt: 1,
            rdd: RddId(4),
            partition: 3,
            executor: ExecutorId("driver".into()),
            succeeded: true,
            error: None,
            run_time: Duration::from_nanos(2_345),
            metrics: TaskMetrics { shuffle_write_bytes: 30, ..TaskMetrics::default() },
            result_size_bytes: 0,
            time: UnixMillis(1_700_000_000_000),
        };
        let line = our_line(&end);
        assert_eq!(
            line,
            "{\"event\":\"TaskEnd\",\"task\":7,\"stage\":2,\"stage_attempt\":1,\"rdd\":4,\"partition\":3,\
             \"executor\":\"driver\",\"succeeded\":true,\"run_micros\":2,\"shuffle_write_bytes\":30,\
             \"time\":1700000000000}\n"
        );
        assert_eq!(line, serde_line(&end));
        let other = ListenerEvent::JobEnd {
            job: ember_rdd::ids::JobId(1),
            succeeded: false,
            error: Some("a \"quoted\"\nerror".into()),
            time: UnixMillis(5),
        };
        assert_eq!(our_line(&other), serde_line(&other));
    }
}
