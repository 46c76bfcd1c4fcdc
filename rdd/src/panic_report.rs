//! Where a task's panic happened: its location, and a backtrace when the
//! program asked for backtraces (`RUST_BACKTRACE` or `RUST_LIB_BACKTRACE`,
//! as `std::backtrace::Backtrace::capture` reads them).
//!
//! A panic's payload holds only its message, so [`catch_task_panic`] runs
//! the task with a thread-local flag set, and a process-wide panic hook
//! (installed once, in front of the one that was there, which still runs
//! and still prints) records the location and backtrace of a panic on a
//! flagged thread. Panics outside tasks are left to the previous hook alone.
//! The cost falls on panics only: a task that does not panic pays for two
//! thread-local writes.

use std::any::Any;
use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

thread_local! {
    /// Set while a task runs on this thread.
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
    /// What the hook recorded of the task's panic.
    static REPORT: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

fn install_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_TASK.with(Cell::get) {
                let mut report = match info.location() {
                    Some(at) => format!("panicked at {}:{}:{}", at.file(), at.line(), at.column()),
                    None => "panicked at an unknown location".to_string(),
                };
                let backtrace = Backtrace::capture();
                if backtrace.status() == BacktraceStatus::Captured {
                    report.push_str(&format!("\nstack backtrace:\n{backtrace}"));
                }
                REPORT.with(|r| *r.borrow_mut() = Some(report));
            }
            previous(info);
        }));
    });
}

/// A caught panic: its payload, and where it happened (see the module doc).
pub struct CaughtPanic {
    pub payload: Box<dyn Any + Send>,
    /// "panicked at src/main.rs:14:5", then the backtrace if one was captured.
    pub report: Option<String>,
}

/// Runs `f`, catching a panic with its location (and backtrace).
pub fn catch_task_panic<R>(f: impl FnOnce() -> R) -> Result<R, CaughtPanic> {
    install_hook();
    let was_in_task = IN_TASK.with(|t| t.replace(true));
    REPORT.with(|r| r.borrow_mut().take());
    let ran = catch_unwind(AssertUnwindSafe(f));
    IN_TASK.with(|t| t.set(was_in_task));
    ran.map_err(|payload| CaughtPanic { payload, report: REPORT.with(|r| r.borrow_mut().take()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_caught_with_its_location() {
        let line = line!() + 1;
        let caught = catch_task_panic(|| -> u8 { panic!("cursed") }).expect_err("it panicked");
        assert_eq!(crate::panic_message(&*caught.payload), "cursed");
        let report = caught.report.expect("a report");
        assert!(report.starts_with(&format!("panicked at {}:{line}:", file!())), "{report}");
        assert_eq!(catch_task_panic(|| 7).ok(), Some(7));
    }
}
