//! The event log: every listener event of an application as one JSON line
//! (as `serde_json` writes it; task events by hand, see [`super::event_line`]),
//! so that `ember-history` can rebuild the UI after the program ends.
//!
//! Files: `<ember.eventLog.dir>/<app id>.inprogress` while the application
//! runs, renamed to `<app id>` when it stops (as Spark does), so a reader
//! knows a log is complete. Lines are buffered and flushed at every job end
//! and at the end. The writer is a listener: it runs on the bus thread, never
//! on the scheduler's. A write error is reported once and ends the log; the
//! application goes on.
//!
//! A task whose start and end reach the writer in the same batch (nearly
//! every task: the bus delivers a millisecond's events at once) is written as
//! one `TaskRun` line instead of two, which halves what tasks cost the log;
//! replay expands it into the same two events, so `ember-history` rebuilds
//! the state the live UI had. (An `ember-history` older than `TaskRun` lines
//! reports them as bad lines and shows those tasks missing.)
//!
//! Reading tolerates a truncated last line (a program killed mid-write).
//!
//! On an object store (`ember.eventLog.dir=s3://bucket/logs`), which has no
//! appends nor renames, the log is written to a local spool file and
//! uploaded as `<dir>/<app id>` when the application stops.

use super::event_line::{task_run_events, write_line, write_task_run};
use super::server::UiError;
use crate::listener::TaskEndInfo;
use crate::listener::{Listener, ListenerEvent, UnixMillis};
use ember_rdd::ids::TaskId;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Bytes buffered before a write (a task adds about 300).
const WRITE_BUFFER: usize = 64 * 1024;

/// The suffix of a log still being written.
pub const IN_PROGRESS_SUFFIX: &str = ".inprogress";

/// Writes one application's events to its log file.
pub struct EventLogWriter {
    out: Mutex<Option<OpenLog>>,
    in_progress: PathBuf,
    complete: PathBuf,
    /// Where the complete log goes when the directory is an object store.
    upload: Option<(ember_rdd::io::Location, ember_rdd::io::StoreOptions)>,
}

/// The file and the lines not yet written to it. Events are serialized into
/// a plain `Vec` (cheaper per token than a `BufWriter`) and written in chunks.
struct OpenLog {
    file: File,
    pending: Vec<u8>,
}

impl OpenLog {
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.write_all(&self.pending)?;
        self.pending.clear();
        Ok(())
    }

    /// Flushes when the buffer is full, and after a job or the application
    /// ends (so that a finished job is in the file).
    fn flush_if_due(&mut self, event: &ListenerEvent) -> std::io::Result<()> {
        if self.pending.len() >= WRITE_BUFFER
            || matches!(event, ListenerEvent::JobEnd { .. } | ListenerEvent::ApplicationEnd { .. })
        {
            self.flush()?;
        }
        Ok(())
    }
}

/// How a batch's task events are written: a start whose end comes later in
/// the same batch (same task, stage attempt, partition and executor) is
/// skipped, and that end is written as a `TaskRun` carrying the start.
#[derive(Clone, Copy, PartialEq)]
enum Line {
    AsIs,
    Skip,
    /// A `TaskRun`: the end, with its start's attempt and launch time.
    Run {
        attempt: u32,
        launched: UnixMillis,
    },
}

/// The [`Line`] of every event of a batch. Each end pairs with at most one
/// start and only one that came before it, so no start is lost or written
/// twice, whatever order the events come in.
fn pair_starts_with_ends(events: &[ListenerEvent]) -> Vec<Line> {
    let mut lines = vec![Line::AsIs; events.len()];
    let mut ends: Vec<(TaskId, usize)> = events
        .iter()
        .enumerate()
        .filter_map(
            |(i, e)| if let ListenerEvent::TaskEnd(TaskEndInfo { task, .. }) = e { Some((*task, i)) } else { None },
        )
        .collect();
    if ends.is_empty() {
        return lines;
    }
    ends.sort_unstable();
    for (i, event) in events.iter().enumerate() {
        let ListenerEvent::TaskStart { task, attempt, time, .. } = event else { continue };
        let first = ends.partition_point(|&(t, _)| t < *task);
        let end = ends[first..]
            .iter()
            .take_while(|&&(t, _)| t == *task)
            .map(|&(_, j)| j)
            .find(|&j| j > i && lines[j] == Line::AsIs && same_task(event, &events[j]));
        if let Some(j) = end {
            lines[i] = Line::Skip;
            lines[j] = Line::Run { attempt: *attempt, launched: *time };
        }
    }
    lines
}

/// Whether a start and an end are of the same task run.
fn same_task(start: &ListenerEvent, end: &ListenerEvent) -> bool {
    match (start, end) {
        (
            ListenerEvent::TaskStart { task, stage, stage_attempt, partition, executor, .. },
            ListenerEvent::TaskEnd(TaskEndInfo {
                task: t, stage: s, stage_attempt: a, partition: p, executor: e, ..
            }),
        ) => (task, stage, stage_attempt, partition, executor) == (t, s, a, p, e),
        _ => false,
    }
}

impl EventLogWriter {
    /// [`create`](Self::create) for a directory that may be an `s3://` URL
    /// (then spooled locally and uploaded when finished).
    pub fn create_at(
        dir: &Path,
        app_id: &str,
        options: &ember_rdd::io::StoreOptions,
    ) -> Result<EventLogWriter, UiError> {
        use ember_rdd::io::{AsLocation, Location};
        let invalid = |e: ember_rdd::EmberError| UiError::Io {
            path: dir.display().to_string(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()),
        };
        match dir.as_location().map_err(invalid)? {
            Location::Local(path) => EventLogWriter::create(&path, app_id),
            remote => {
                let spool = std::env::temp_dir().join("ember-event-spool");
                let mut writer = EventLogWriter::create(&spool, app_id)?;
                writer.upload = Some((remote.join(app_id), options.clone()));
                Ok(writer)
            }
        }
    }

    /// Creates `dir` if needed and starts `<dir>/<app_id>.inprogress`.
    pub fn create(dir: &Path, app_id: &str) -> Result<EventLogWriter, UiError> {
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| UiError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let complete = dir.join(app_id);
        let in_progress = dir.join(format!("{app_id}{IN_PROGRESS_SUFFIX}"));
        let file = File::create(&in_progress).map_err(io(&in_progress))?;
        Ok(EventLogWriter {
            out: Mutex::new(Some(OpenLog { file, pending: Vec::with_capacity(WRITE_BUFFER + 4096) })),
            in_progress,
            complete,
            upload: None,
        })
    }

    /// Where the log will be once complete.
    pub fn path(&self) -> &Path {
        &self.complete
    }

    /// Flushes the log and gives it its final name. Later events are dropped.
    pub fn finish(&self) {
        let Some(mut out) = self.out.lock().unwrap_or_else(|p| p.into_inner()).take() else { return };
        if let Err(e) = out.flush() {
            tracing::warn!(path = %self.in_progress.display(), error = %e, "cannot write the event log");
        }
        drop(out);
        if let Err(e) = std::fs::rename(&self.in_progress, &self.complete) {
            tracing::warn!(path = %self.complete.display(), error = %e, "cannot complete the event log");
        }
        if let Some((target, options)) = &self.upload {
            let uploaded = std::fs::read(&self.complete)
                .map_err(|e| e.to_string())
                .and_then(|bytes| ember_rdd::io::store::write_all(target, options, bytes).map_err(|e| e.to_string()));
            match uploaded {
                Ok(()) => {
                    let _ = std::fs::remove_file(&self.complete);
                }
                Err(e) => tracing::warn!(
                    spool = %self.complete.display(), error = %e, "cannot upload the event log; it stays in the spool file"
                ),
            }
        }
    }

    /// Writes a batch, a task whose start and end are both in it as one
    /// `TaskRun` line (at the end's place).
    fn write_batch(out: &mut OpenLog, events: &[ListenerEvent]) -> std::io::Result<()> {
        let lines = pair_starts_with_ends(events);
        for (event, line) in events.iter().zip(lines) {
            match line {
                Line::Skip => continue,
                Line::Run { attempt, launched } => write_task_run(&mut out.pending, event, attempt, launched)?,
                Line::AsIs => write_line(&mut out.pending, event)?,
            }
            out.flush_if_due(event)?;
        }
        Ok(())
    }
}

impl Listener for EventLogWriter {
    fn on_event(&self, event: &ListenerEvent) {
        self.on_events(std::slice::from_ref(event));
    }
    fn on_events(&self, events: &[ListenerEvent]) {
        let mut guard = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let Some(out) = guard.as_mut() else { return };
        if let Err(e) = Self::write_batch(out, events) {
            tracing::warn!(path = %self.in_progress.display(), error = %e, "cannot write the event log; it ends here");
            *guard = None;
        }
    }
}

/// What reading a log found besides its events.
#[derive(Debug, Default)]
pub struct ReplayReport {
    pub events: usize,
    /// Lines that were not events (1-based line numbers, first few).
    pub bad_lines: Vec<usize>,
}

/// How a `TaskRun` line starts (the writer always puts `event` first).
const TASK_RUN_PREFIX: &str = r#"{"event":"TaskRun""#;

/// Reads the events of a log, in order, passing each to `sink`. A bad last
/// line (cut short) is skipped silently; other bad lines are reported.
pub fn replay(path: &Path, mut sink: impl FnMut(&ListenerEvent)) -> Result<ReplayReport, UiError> {
    let io = |source| UiError::Io { path: path.display().to_string(), source };
    let reader = BufReader::new(File::open(path).map_err(io)?);
    let mut report = ReplayReport::default();
    let mut pending_bad = None;
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(io)?;
        if let Some(bad) = pending_bad.take() {
            report.bad_lines.push(bad);
        }
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with(TASK_RUN_PREFIX) {
            match task_run_events(&line) {
                Ok(events) => {
                    events.iter().for_each(&mut sink);
                    report.events += 2;
                }
                Err(_) => pending_bad = Some(i + 1),
            }
            continue;
        }
        match serde_json::from_str::<ListenerEvent>(&line) {
            Ok(event) => {
                sink(&event);
                report.events += 1;
            }
            Err(_) => pending_bad = Some(i + 1),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executors::ExecutorId;
    use crate::listener::{TaskMetrics, UnixMillis};
    use ember_rdd::ids::{RddId, StageId};
    use std::time::Duration;

    fn start(task: u64, time: u64) -> ListenerEvent {
        ListenerEvent::TaskStart {
            task: TaskId(task),
            stage: StageId(1),
            stage_attempt: 0,
            partition: task as usize,
            attempt: (task % 2) as u32,
            executor: ExecutorId(format!("e{task}")),
            time: UnixMillis(time),
        }
    }

    fn end(task: u64, time: u64) -> ListenerEvent {
        ListenerEvent::TaskEnd(TaskEndInfo {
            task: TaskId(task),
            stage: StageId(1),
            stage_attempt: 0,
            rdd: RddId(3),
            partition: task as usize,
            executor: ExecutorId(format!("e{task}")),
            succeeded: task != 4,
            error: (task == 4).then(|| "boom".to_string()),
            run_time: Duration::from_micros(task * 10),
            metrics: TaskMetrics { records_read: task, ..TaskMetrics::default() },
            result_size_bytes: 0,
            time: UnixMillis(time),
        })
    }

    fn lines(events: &[ListenerEvent]) -> Vec<String> {
        events.iter().map(|e| serde_json::to_string(e).unwrap()).collect()
    }

    #[test]
    fn starts_and_ends_in_one_batch_become_task_runs_and_replay_as_both() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLogWriter::create(dir.path(), "app-2").unwrap();
        // Batch 1: task 1 starts and ends; task 2 starts only; 3 and 4 (out
        // of id order) start and end. Batch 2: task 2 ends, 5 starts and ends.
        let first = [start(1, 10), start(2, 11), end(1, 12), start(4, 13), start(3, 14), end(3, 15), end(4, 16)];
        let second = [end(2, 20), start(5, 21), end(5, 22)];
        // Batch 3, orders this scheduler never posts: task 6 ends before it
        // starts, task 7 ends twice, task 8's end names another executor.
        let mut other_executor = end(8, 35);
        if let ListenerEvent::TaskEnd(TaskEndInfo { executor, .. }) = &mut other_executor {
            *executor = ExecutorId("elsewhere".into());
        }
        let third =
            [end(6, 30), start(6, 31), start(7, 32), end(7, 33), end(7, 34), start(8, 35), other_executor.clone()];
        log.on_events(&first);
        log.on_events(&second);
        log.on_events(&third);
        log.finish();
        let text = std::fs::read_to_string(log.path()).unwrap();
        let kinds: Vec<&str> = text.lines().map(|l| l.split('"').nth(3).unwrap()).collect();
        let want_kinds = ["TaskStart", "TaskRun", "TaskRun", "TaskRun", "TaskEnd", "TaskRun"];
        let want_third = ["TaskEnd", "TaskStart", "TaskRun", "TaskEnd", "TaskStart", "TaskEnd"];
        assert_eq!(kinds, [&want_kinds[..], &want_third[..]].concat(), "{text}");
        let mut replayed = Vec::new();
        let report = replay(log.path(), |e| replayed.push(e.clone())).unwrap();
        assert_eq!(report.events, 17);
        assert!(report.bad_lines.is_empty());
        // Every event comes back; a start held for its end comes right before it.
        let want = [
            start(2, 11),
            start(1, 10),
            end(1, 12),
            start(3, 14),
            end(3, 15),
            start(4, 13),
            end(4, 16),
            end(2, 20),
            start(5, 21),
            end(5, 22),
            end(6, 30),
            start(6, 31),
            start(7, 32),
            end(7, 33),
            end(7, 34),
            start(8, 35),
            other_executor,
        ];
        assert_eq!(lines(&replayed), lines(&want));
    }

    #[test]
    fn a_log_is_written_renamed_and_read_back_even_when_cut_short() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLogWriter::create(&dir.path().join("logs"), "app-1").unwrap();
        for t in 0..3 {
            log.on_event(&ListenerEvent::ApplicationEnd { time: UnixMillis(t) });
        }
        assert!(dir.path().join("logs/app-1.inprogress").exists());
        log.finish();
        log.on_event(&ListenerEvent::ApplicationEnd { time: UnixMillis(9) });
        let path = dir.path().join("logs/app-1");
        assert_eq!(log.path(), path);
        let mut text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3);
        text.push_str("{\"event\":\"JobEnd\",\"jo");
        std::fs::write(&path, &text).unwrap();
        let mut times = Vec::new();
        let report = replay(&path, |e| {
            if let ListenerEvent::ApplicationEnd { time } = e {
                times.push(time.0)
            }
        })
        .unwrap();
        assert_eq!(times, vec![0, 1, 2]);
        assert!(report.bad_lines.is_empty(), "{report:?}");
        std::fs::write(&path, format!("garbage\n{text}")).unwrap();
        assert_eq!(replay(&path, |_| {}).unwrap().bad_lines, vec![1]);
        // A TaskRun line without its launch time is a bad line, not a panic.
        let run = r#"{"event":"TaskRun","task":1,"attempt":0,"stage":1,"stage_attempt":0,"rdd":3,"partition":1,"executor":"e","succeeded":true,"run_micros":1,"time":5}"#;
        std::fs::write(&path, format!("{run}\n{text}")).unwrap();
        let report = replay(&path, |_| {}).unwrap();
        assert_eq!((report.bad_lines, report.events), (vec![1], 3));
        let with_launch = run.replace(r#""attempt":0,"#, r#""attempt":0,"launched":4,"#);
        std::fs::write(&path, format!("{with_launch}\n{text}")).unwrap();
        let report = replay(&path, |_| {}).unwrap();
        assert_eq!((report.bad_lines, report.events), (vec![], 5));
    }
}
