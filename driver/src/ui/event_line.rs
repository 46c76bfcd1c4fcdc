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
//!
//! One line kind is the log's own: `TaskRun`, a task's start and end in one
//! line (the end's fields plus the start's `attempt` and `launched` time),
//! which the writer uses when it writes both at once; replay turns it back
//! into the two events.

use crate::listener::TaskEndInfo;
use crate::listener::{ListenerEvent, UnixMillis};
use std::time::Duration;

/// Appends `event` as a JSON line (with its `\n`) to `out`.
pub fn write_line(out: &mut Vec<u8>, event: &ListenerEvent) -> serde_json::Result<()> {
    match event {
        ListenerEvent::TaskStart { task, stage, stage_attempt, partition, attempt, executor, time } => {
            out.extend_from_slice(br#"{"event":"TaskStart","task":"#);
            int(out, task.0);
            key_int(out, br#","stage":"#, stage.0);
            key_int(out, br#","stage_attempt":"#, u64::from(*stage_attempt));
            key_int(out, br#","partition":"#, *partition as u64);
            key_int(out, br#","attempt":"#, u64::from(*attempt));
            out.extend_from_slice(br#","executor":"#);
            string(out, &executor.0)?;
            key_int(out, br#","time":"#, time.0);
            out.push(b'}');
        }
        ListenerEvent::TaskEnd(TaskEndInfo { .. }) => task_end(out, event, None)?,
        other => serde_json::to_writer(&mut *out, other)?,
    }
    out.push(b'\n');
    Ok(())
}

/// Appends a task's start and end as one `TaskRun` line: the `TaskEnd` line
/// with the start's `launched` time and `attempt` added, which is all of the
/// `TaskStart` that the end does not repeat. [`EventLogWriter`] writes it for
/// a task whose start and end it writes together; replay expands it back
/// into the two events (see [`task_run_events`]).
///
/// [`EventLogWriter`]: super::event_log::EventLogWriter
pub fn write_task_run(
    out: &mut Vec<u8>,
    end: &ListenerEvent,
    attempt: u32,
    launched: UnixMillis,
) -> serde_json::Result<()> {
    task_end(out, end, Some((attempt, launched)))?;
    out.push(b'\n');
    Ok(())
}

/// The `TaskStart` and `TaskEnd` a `TaskRun` line stands for.
pub fn task_run_events(line: &str) -> serde_json::Result<[ListenerEvent; 2]> {
    use serde_json::Value;
    let mut fields: serde_json::Map<String, Value> = serde_json::from_str(line)?;
    let launched = fields.remove("launched").unwrap_or(Value::Null);
    let mut start = fields.clone();
    start.insert("event".into(), "TaskStart".into());
    start.insert("time".into(), launched);
    fields.insert("event".into(), "TaskEnd".into());
    fields.remove("attempt");
    // Keys a variant does not have are ignored: the end's in the start, the
    // start's attempt was removed from the end.
    Ok([serde_json::from_value(Value::Object(start))?, serde_json::from_value(Value::Object(fields))?])
}

/// The line of a `TaskEnd` (without its `\n`), or of a `TaskRun` when
/// `started` holds the start's attempt and time.
fn task_end(out: &mut Vec<u8>, event: &ListenerEvent, started: Option<(u32, UnixMillis)>) -> serde_json::Result<()> {
    let ListenerEvent::TaskEnd(TaskEndInfo {
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
    }) = event
    else {
        // Not a task end: written as any other event, nothing dropped.
        return serde_json::to_writer(&mut *out, event);
    };
    match started {
        None => out.extend_from_slice(br#"{"event":"TaskEnd","task":"#),
        Some(_) => out.extend_from_slice(br#"{"event":"TaskRun","task":"#),
    }
    int(out, task.0);
    if let Some((attempt, launched)) = started {
        key_int(out, br#","attempt":"#, u64::from(attempt));
        key_int(out, br#","launched":"#, launched.0);
    }
    key_int(out, br#","stage":"#, stage.0);
    key_int(out, br#","stage_attempt":"#, u64::from(*stage_attempt));
    key_int(out, br#","rdd":"#, rdd.0);
    key_int(out, br#","partition":"#, *partition as u64);
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
        (br#","shuffle_write_records":"#, metrics.shuffle_write_records),
        (br#","memory_bytes_spilled":"#, metrics.memory_bytes_spilled),
        (br#","disk_bytes_spilled":"#, metrics.disk_bytes_spilled),
        (br#","spill_nanos":"#, metrics.spill_nanos),
        (br#","shuffle_fetch_wait_nanos":"#, metrics.shuffle_fetch_wait_nanos),
        (br#","shuffle_write_nanos":"#, metrics.shuffle_write_nanos),
        (br#","peak_execution_memory":"#, metrics.peak_execution_memory),
        (br#","result_size_bytes":"#, *result_size_bytes),
    ] {
        if n != 0 {
            key_int(out, key, n);
        }
    }
    key_int(out, br#","time":"#, time.0);
    out.push(b'}');
    Ok(())
}

/// A duration as the log has it: whole microseconds (as `duration_micros`).
fn micros(d: Duration) -> u64 {
    d.as_micros().min(u128::from(u64::MAX)) as u64
}

/// Inlined, like [`key_int`]: with the key's length a constant, its copy
/// compiles to a few moves instead of a call to `memcpy`.
#[inline(always)]
fn int(out: &mut Vec<u8>, n: u64) {
    // Attempts, partitions and small ids are mostly one digit.
    match n {
        0..=9 => out.push(b'0' + n as u8),
        _ => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
    }
}

/// `key` is the comma, the quoted key and the colon.
#[inline(always)]
fn key_int(out: &mut Vec<u8>, key: &[u8], n: u64) {
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
        let spills = (metric(), metric(), metric(), metric(), metric());
        let waits = (metric(), metric());
        (ids, outcome, metrics, spills, waits).prop_map(
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
                (shuffle_write_records, memory_bytes_spilled, disk_bytes_spilled, spill_nanos, peak_execution_memory),
                (shuffle_fetch_wait_nanos, shuffle_write_nanos),
            )| {
                ListenerEvent::TaskEnd(TaskEndInfo {
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
                        shuffle_write_records,
                        memory_bytes_spilled,
                        disk_bytes_spilled,
                        spill_nanos,
                        peak_execution_memory,
                        shuffle_fetch_wait_nanos,
                        shuffle_write_nanos,
                    },
                    result_size_bytes,
                    time: UnixMillis(time),
                })
            },
        )
    }

    /// A task's start and end: the start takes the end's task, stage,
    /// partition and executor.
    fn task_start_and_end() -> impl Strategy<Value = (ListenerEvent, ListenerEvent)> {
        (task_start(), task_end()).prop_map(|(start, end)| {
            let ListenerEvent::TaskStart { attempt, time, .. } = start else { unreachable!() };
            let ListenerEvent::TaskEnd(TaskEndInfo { task, stage, stage_attempt, partition, ref executor, .. }) = end
            else {
                unreachable!()
            };
            let start = ListenerEvent::TaskStart {
                task,
                stage,
                stage_attempt,
                partition,
                attempt,
                executor: executor.clone(),
                time,
            };
            (start, end)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn task_lines_are_what_serde_json_writes(event in prop_oneof![task_start(), task_end()]) {
            prop_assert_eq!(our_line(&event), serde_line(&event));
        }

        #[test]
        fn a_task_run_line_expands_to_the_start_and_end_it_replaced((start, end) in task_start_and_end()) {
            let ListenerEvent::TaskStart { attempt, time, .. } = start else { unreachable!() };
            let mut out = Vec::new();
            write_task_run(&mut out, &end, attempt, time).unwrap();
            let line = String::from_utf8(out).unwrap();
            let well_formed = line.starts_with(r#"{"event":"TaskRun""#) && line.ends_with('\n');
            prop_assert!(well_formed, "{}", line);
            let [got_start, got_end] = task_run_events(line.trim_end()).unwrap();
            prop_assert_eq!(serde_line(&got_start), serde_line(&start));
            prop_assert_eq!(serde_line(&got_end), serde_line(&end));
        }
    }

    #[test]
    fn a_task_end_from_a_log_older_than_input_bytes_still_parses() {
        let old = "{\"event\":\"TaskEnd\",\"task\":7,\"stage\":2,\"stage_attempt\":1,\"rdd\":4,\"partition\":3,\
                   \"executor\":\"1\",\"succeeded\":true,\"run_micros\":2,\"records_read\":5,\
                   \"shuffle_read_bytes\":9,\"time\":1700000000000}";
        match serde_json::from_str::<ListenerEvent>(old).unwrap() {
            ListenerEvent::TaskEnd(TaskEndInfo { metrics, .. }) => {
                let TaskMetrics { records_read, bytes_read, shuffle_read_records, shuffle_read_bytes, .. } = metrics;
                assert_eq!((records_read, bytes_read, shuffle_read_records, shuffle_read_bytes), (5, 0, 0, 9));
            }
            other => panic!("not a task end: {other:?}"),
        }
    }

    #[test]
    fn a_typical_task_end_and_other_events() {
        let end = ListenerEvent::TaskEnd(TaskEndInfo {
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
        });
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
