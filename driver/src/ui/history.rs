//! The history server's catalog (`ember-history`): every application of an
//! event log directory, each replayed into its own state store, served by
//! the same routes as the live UI.
//!
//! A log is replayed when first seen and again when its size or
//! modification time changes (a running application's `.inprogress` log
//! grows; it is renamed when the application ends), on every
//! [`HistoryIndex::rescan`]. Applications are listed by start time.

use super::event_log::{IN_PROGRESS_SUFFIX, replay};
use super::format::{duration_ms, esc, page_date};
use super::server::{AppCatalog, UiError};
use super::state::{AppStore, Retention};
use crate::listener::Listener;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

struct LoadedLog {
    store: Arc<AppStore>,
    len: u64,
    modified: Option<SystemTime>,
}

/// The applications of one event log directory.
pub struct HistoryIndex {
    dir: PathBuf,
    retention: Retention,
    /// Replayed logs, by file path.
    path_to_log: RwLock<BTreeMap<PathBuf, LoadedLog>>,
}

impl HistoryIndex {
    /// Replays every log of `dir` (which must exist).
    pub fn load(dir: &Path, retention: Retention) -> Result<HistoryIndex, UiError> {
        std::fs::read_dir(dir).map_err(|source| UiError::Io { path: dir.display().to_string(), source })?;
        let index = HistoryIndex { dir: dir.to_path_buf(), retention, path_to_log: RwLock::new(BTreeMap::new()) };
        index.rescan()?;
        Ok(index)
    }

    /// Replays new and changed logs and forgets deleted ones; returns how many
    /// were (re)loaded.
    pub fn rescan(&self) -> Result<usize, UiError> {
        let io = |source| UiError::Io { path: self.dir.display().to_string(), source };
        let mut found = BTreeMap::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let Ok(meta) = entry.metadata() else { continue };
            let name = entry.file_name();
            if meta.is_file() && !name.to_string_lossy().starts_with('.') {
                found.insert(entry.path(), (meta.len(), meta.modified().ok()));
            }
        }
        let mut logs = self.path_to_log.write().unwrap_or_else(|p| p.into_inner());
        logs.retain(|path, _| found.contains_key(path));
        let mut loaded = 0;
        for (path, (len, modified)) in found {
            if logs.get(&path).is_some_and(|l| l.len == len && l.modified == modified) {
                continue;
            }
            let store = Arc::new(AppStore::new(self.retention, false));
            match replay(&path, |e| store.on_event(e)) {
                Ok(report) if report.events > 0 && !store.app_id().is_empty() => {
                    if !report.bad_lines.is_empty() {
                        tracing::warn!(path = %path.display(), lines = ?report.bad_lines, "skipped lines that are not events");
                    }
                    logs.insert(path, LoadedLog { store, len, modified });
                    loaded += 1;
                }
                Ok(_) => tracing::debug!(path = %path.display(), "not an event log"),
                Err(e) => tracing::warn!(error = %e, "cannot read an event log"),
            }
        }
        // A log renamed at its application's end replaces its in-progress self.
        let complete: Vec<String> = logs
            .keys()
            .filter(|p| !p.to_string_lossy().ends_with(IN_PROGRESS_SUFFIX))
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        logs.retain(|p, _| {
            let p = p.to_string_lossy();
            p.strip_suffix(IN_PROGRESS_SUFFIX).is_none_or(|base| !complete.iter().any(|c| c == base))
        });
        Ok(loaded)
    }
}

impl AppCatalog for HistoryIndex {
    fn apps(&self) -> Vec<Arc<AppStore>> {
        let logs = self.path_to_log.read().unwrap_or_else(|p| p.into_inner());
        let mut apps: Vec<(u64, String, Arc<AppStore>)> = logs
            .values()
            .map(|l| {
                let (start, id) = l.store.read(|s| (s.app.started.0, s.app.id.clone()));
                (start, id, l.store.clone())
            })
            .collect();
        apps.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        apps.into_iter().map(|(_, _, s)| s).collect()
    }
    fn is_live(&self) -> bool {
        false
    }
}

/// `/` of the history server: the applications, newest first.
pub fn index_page(apps: &[Arc<AppStore>]) -> String {
    let rows: Vec<Vec<String>> = apps
        .iter()
        .rev()
        .map(|a| {
            a.read(|s| {
                let end = s.app.ended.unwrap_or(s.app.last_event);
                vec![
                    format!(r#"<a href="/history/{0}/jobs/">{0}</a>"#, esc(&s.app.id)),
                    esc(&s.app.name),
                    page_date(s.app.started),
                    s.app.ended.map(page_date).unwrap_or_else(|| "incomplete".into()),
                    duration_ms(end.since(s.app.started) as f64),
                    esc(&s.app.user),
                ]
            })
        })
        .collect();
    let table = super::pages::table(&["App ID", "App Name", "Started", "Completed", "Duration", "User"], rows);
    let count = applications_count(apps.len());
    format!(
        r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title>Ember History Server</title><style>{}</style></head><body><nav><span class="brand">Ember</span><a href="/" class="current">History Server</a></nav><main><h1>Ember History Server</h1><p>{count}</p>{table}</main></body></html>"#,
        super::pages::STYLE
    )
}

/// "1 application", "3 applications".
pub fn applications_count(n: usize) -> String {
    if n == 1 { "1 application".into() } else { format!("{n} applications") }
}
