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
//! Reading tolerates a truncated last line (a program killed mid-write).

use super::event_line::write_line;
use super::server::UiError;
use crate::listener::{Listener, ListenerEvent};
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
}

impl EventLogWriter {
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
    }

    fn write(out: &mut OpenLog, event: &ListenerEvent) -> std::io::Result<()> {
        write_line(&mut out.pending, event)?;
        if out.pending.len() >= WRITE_BUFFER
            || matches!(event, ListenerEvent::JobEnd { .. } | ListenerEvent::ApplicationEnd { .. })
        {
            out.flush()?;
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
        if let Err(e) = events.iter().try_for_each(|event| Self::write(out, event)) {
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
    use crate::listener::UnixMillis;

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
    }
}
