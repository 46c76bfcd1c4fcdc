//! The console progress bar: one line per running stage on stderr, as
//! Spark's `[Stage 3:=====>        (12 + 2) / 40]` (completed + running, of
//! all tasks), cleared when the stage ends.
//!
//! Two halves, so that the drawing is testable without a terminal or timing:
//! - [`ConsoleProgressState`] follows listener events and renders the lines
//!   for a width and a time ([`ConsoleProgressState::lines`], a pure function);
//! - [`ConsoleProgress`] is the listener that feeds it, with a thread that
//!   every [`REFRESH`] draws the lines through indicatif. Like Spark, a stage
//!   shows only once it has run for [`SHOW_AFTER_MS`], so short jobs leave no
//!   flicker, and the lines are cleared as an action returns
//!   ([`ConsoleProgress::finish_all`]), before the program prints its result.
//!   It runs only when stderr is a terminal and `ember.ui.showConsoleProgress`
//!   is on.

use crate::listener::TaskEndInfo;
use crate::listener::{Listener, ListenerEvent, UnixMillis};
use ember_rdd::ids::StageId;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the lines are redrawn.
pub const REFRESH: Duration = Duration::from_millis(200);
/// A stage appears once it has run this long.
pub const SHOW_AFTER_MS: u64 = 500;

#[derive(Clone, Debug, PartialEq, Eq)]
struct RunningStage {
    total: usize,
    completed: usize,
    running: usize,
    submitted: UnixMillis,
}

/// Running stage attempts and their task counts, from listener events.
#[derive(Clone, Debug, Default)]
pub struct ConsoleProgressState {
    stages: BTreeMap<(StageId, u32), RunningStage>,
}

impl ConsoleProgressState {
    pub fn apply(&mut self, event: &ListenerEvent) {
        match event {
            ListenerEvent::StageSubmitted { stage, attempt, tasks, time, .. } => {
                let s = RunningStage { total: *tasks, completed: 0, running: 0, submitted: *time };
                self.stages.insert((*stage, *attempt), s);
            }
            ListenerEvent::StageCompleted { stage, attempt, .. } => {
                self.stages.remove(&(*stage, *attempt));
            }
            ListenerEvent::TaskStart { stage, stage_attempt, .. } => {
                if let Some(s) = self.stages.get_mut(&(*stage, *stage_attempt)) {
                    s.running += 1;
                }
            }
            ListenerEvent::TaskEnd(TaskEndInfo { stage, stage_attempt, succeeded, .. }) => {
                if let Some(s) = self.stages.get_mut(&(*stage, *stage_attempt)) {
                    s.running = s.running.saturating_sub(1);
                    if *succeeded {
                        s.completed += 1;
                    }
                }
            }
            ListenerEvent::ApplicationEnd { .. } => self.stages.clear(),
            _ => {}
        }
    }

    /// One line per stage that has run for [`SHOW_AFTER_MS`] by `now`, each
    /// `width` characters wide (when the width allows a bar), by stage id.
    pub fn lines(&self, width: usize, now: UnixMillis) -> Vec<String> {
        self.stages
            .iter()
            .filter(|(_, s)| now.since(s.submitted) >= SHOW_AFTER_MS)
            .map(|((stage, _), s)| render_line(*stage, s.completed, s.running, s.total, width))
            .collect()
    }
}

/// `[Stage 3:=====>        (12 + 2) / 40]`, `width` characters wide if it fits.
pub fn render_line(stage: StageId, completed: usize, running: usize, total: usize, width: usize) -> String {
    let header = format!("[Stage {}:", stage.0);
    let tailer = format!("({completed} + {running}) / {total}]");
    let bar_width = width.saturating_sub(header.len() + tailer.len());
    let filled = (bar_width * completed.min(total)).checked_div(total).unwrap_or(bar_width);
    let bar: String = (0..bar_width)
        .map(|i| match i.cmp(&filled) {
            std::cmp::Ordering::Less => '=',
            std::cmp::Ordering::Equal => '>',
            std::cmp::Ordering::Greater => ' ',
        })
        .collect();
    format!("{header}{bar}{tailer}")
}

/// The width of the terminal on stderr, or 80.
fn terminal_width() -> usize {
    // SAFETY: TIOCGWINSZ writes a `winsize` into the struct we pass, which
    // lives for the call; on failure it writes nothing and we fall back.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    if ok && size.ws_col > 0 { usize::from(size.ws_col) } else { 80 }
}

/// What is on the terminal: one bar per line, and when drawing may resume.
struct Screen {
    multi: MultiProgress,
    style: ProgressStyle,
    bars: Vec<ProgressBar>,
    /// After an action returned, nothing is drawn until then: the bus may not
    /// have delivered the end of its stages yet (as Spark's `finishAll`).
    quiet_until: Option<Instant>,
}

impl Screen {
    fn show(&mut self, lines: Vec<String>) {
        if self.quiet_until.is_some_and(|t| Instant::now() < t) {
            return;
        }
        while self.bars.len() < lines.len() {
            self.bars.push(self.multi.add(ProgressBar::new(1).with_style(self.style.clone())));
        }
        while self.bars.len() > lines.len() {
            if let Some(bar) = self.bars.pop() {
                bar.finish_and_clear();
                self.multi.remove(&bar);
            }
        }
        for (bar, line) in self.bars.iter().zip(lines) {
            bar.set_message(line);
        }
    }

    fn clear(&mut self) {
        for bar in self.bars.drain(..) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        let _ = self.multi.clear();
    }
}

/// The listener that draws the progress bars.
pub struct ConsoleProgress {
    state: Arc<Mutex<ConsoleProgressState>>,
    screen: Arc<Mutex<Screen>>,
    stop: Mutex<Option<mpsc::Sender<()>>>,
    drawer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl ConsoleProgress {
    /// Starts the drawing thread.
    pub fn start() -> std::io::Result<ConsoleProgress> {
        let state = Arc::new(Mutex::new(ConsoleProgressState::default()));
        let screen = Arc::new(Mutex::new(Screen {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            style: ProgressStyle::with_template("{msg}").unwrap_or_else(|_| ProgressStyle::default_bar()),
            bars: Vec::new(),
            quiet_until: None,
        }));
        let (stop, stopped) = mpsc::channel::<()>();
        let (shared_state, shared_screen) = (state.clone(), screen.clone());
        let drawer = std::thread::Builder::new().name("ember-progress".into()).spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(REFRESH) {
                let width = terminal_width().saturating_sub(1);
                let lines = shared_state.lock().unwrap_or_else(|p| p.into_inner()).lines(width, UnixMillis::now());
                shared_screen.lock().unwrap_or_else(|p| p.into_inner()).show(lines);
            }
            shared_screen.lock().unwrap_or_else(|p| p.into_inner()).clear();
        })?;
        Ok(ConsoleProgress { state, screen, stop: Mutex::new(Some(stop)), drawer: Mutex::new(Some(drawer)) })
    }

    /// Clears the lines now, and draws nothing for [`SHOW_AFTER_MS`]: called
    /// when an action returns, so that what the program prints next does not
    /// land after a stale bar.
    pub fn finish_all(&self) {
        let mut screen = self.screen.lock().unwrap_or_else(|p| p.into_inner());
        screen.clear();
        screen.quiet_until = Some(Instant::now() + Duration::from_millis(SHOW_AFTER_MS));
    }

    /// Clears the lines and stops drawing.
    pub fn stop(&self) {
        drop(self.stop.lock().unwrap_or_else(|p| p.into_inner()).take());
        if let Some(drawer) = self.drawer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = drawer.join();
        }
    }
}

impl Listener for ConsoleProgress {
    fn on_event(&self, event: &ListenerEvent) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).apply(event);
    }
    fn on_events(&self, events: &[ListenerEvent]) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        events.iter().for_each(|e| state.apply(e));
    }
}

impl Drop for ConsoleProgress {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executors::ExecutorId;
    use crate::listener::TaskMetrics;
    use ember_rdd::ids::{RddId, TaskId};

    fn submitted(stage: u64, tasks: usize, at: u64) -> ListenerEvent {
        ListenerEvent::StageSubmitted {
            stage: StageId(stage),
            attempt: 1,
            rdd: RddId(0),
            tasks,
            name: String::new(),
            time: UnixMillis(at),
        }
    }

    fn task(stage: u64, id: u64, end: Option<bool>) -> ListenerEvent {
        let (task, stage, executor) = (TaskId(id), StageId(stage), ExecutorId("e".into()));
        match end {
            None => ListenerEvent::TaskStart {
                task,
                stage,
                stage_attempt: 1,
                partition: 0,
                attempt: 0,
                executor,
                time: UnixMillis(0),
            },
            Some(succeeded) => ListenerEvent::TaskEnd(TaskEndInfo {
                task,
                stage,
                stage_attempt: 1,
                rdd: RddId(0),
                partition: 0,
                executor,
                succeeded,
                error: None,
                run_time: Duration::ZERO,
                metrics: TaskMetrics::default(),
                result_size_bytes: 0,
                time: UnixMillis(0),
            }),
        }
    }

    #[test]
    fn a_line_is_sparks_bar() {
        assert_eq!(render_line(StageId(3), 12, 2, 40, 40), "[Stage 3:=====>           (12 + 2) / 40]");
        assert_eq!(render_line(StageId(3), 40, 0, 40, 30), "[Stage 3:=======(40 + 0) / 40]");
        assert_eq!(render_line(StageId(12), 1, 1, 4, 10), "[Stage 12:(1 + 1) / 4]");
    }

    #[test]
    fn lines_follow_events_one_per_running_stage() {
        let mut state = ConsoleProgressState::default();
        for e in [submitted(0, 4, 1000), submitted(1, 2, 1400), task(0, 0, None), task(0, 1, None)] {
            state.apply(&e);
        }
        assert!(state.lines(40, UnixMillis(1499)).is_empty(), "nothing before 500 ms");
        assert_eq!(state.lines(40, UnixMillis(1500)), vec!["[Stage 0:>                  (0 + 2) / 4]"]);
        for e in [task(0, 0, Some(true)), task(0, 1, Some(false)), task(1, 2, None)] {
            state.apply(&e);
        }
        assert_eq!(
            state.lines(40, UnixMillis(1900)),
            vec!["[Stage 0:====>              (1 + 0) / 4]", "[Stage 1:>                  (0 + 1) / 2]"]
        );
        state.apply(&ListenerEvent::StageCompleted {
            stage: StageId(0),
            attempt: 1,
            failure: None,
            time: UnixMillis(2000),
        });
        assert_eq!(state.lines(40, UnixMillis(2000)), vec!["[Stage 1:>                  (0 + 1) / 2]"]);
        state.apply(&ListenerEvent::ApplicationEnd { time: UnixMillis(2100) });
        assert!(state.lines(40, UnixMillis(3000)).is_empty(), "cleared when done");
    }
}
