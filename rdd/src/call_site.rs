//! Where the driver program made an RDD or started a job, and with which
//! operation: Spark's "map at Main.scala:14", which names the UI's DAG
//! nodes, stages and jobs.
//!
//! The line comes from `#[track_caller]`, which every transformation,
//! source and action carries down to [`crate::rdd::RddMeta::new`] and to
//! the result root, so it is the user's line, never one inside Ember.
//! The operation comes from an [`OperationScope`] that each public
//! operation enters first (Spark's `withScope`): a thread-local name, where
//! the outermost scope wins, so the RDDs `distinct` builds from `map` and
//! `reduce_by_key` are all "distinct", as the user wrote it. An RDD made
//! outside any scope (a custom node) has no operation, and is named by its
//! kind instead.

use std::cell::Cell;
use std::fmt;
use std::panic::Location;

thread_local! {
    /// The outermost operation running on this thread, if any.
    static OPERATION: Cell<Option<&'static str>> = const { Cell::new(None) };
}

/// While alive, names the RDDs and jobs made on this thread after its
/// operation, unless an outer scope named them already.
#[must_use = "the scope ends when the guard is dropped"]
pub struct OperationScope {
    outer: Option<&'static str>,
}

impl OperationScope {
    /// Enters operation `name` ("map", "count", ...).
    pub fn enter(name: &'static str) -> Self {
        OperationScope::resume(Some(name))
    }

    /// Enters `operation` if there is one: a future that starts its jobs
    /// later takes its caller's operation along and resumes it there.
    pub fn resume(operation: Option<&'static str>) -> Self {
        let outer = OPERATION.with(Cell::get);
        if outer.is_none() {
            OPERATION.with(|o| o.set(operation));
        }
        OperationScope { outer }
    }

    /// The operation of the outermost scope on this thread.
    pub fn current() -> Option<&'static str> {
        OPERATION.with(Cell::get)
    }
}

impl Drop for OperationScope {
    fn drop(&mut self) {
        OPERATION.with(|o| o.set(self.outer));
    }
}

/// An operation and the line of the driver program it was called at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallSite {
    pub operation: Option<&'static str>,
    pub location: &'static Location<'static>,
}

impl CallSite {
    /// The caller's line, with the current operation.
    #[track_caller]
    pub fn caller() -> Self {
        CallSite { operation: OperationScope::current(), location: Location::caller() }
    }

    /// "src/main.rs:14".
    pub fn line(&self) -> String {
        format!("{}:{}", self.location.file(), self.location.line())
    }
}

impl fmt::Display for CallSite {
    /// "map at src/main.rs:14" (or "at src/main.rs:14" without an operation).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.operation {
            Some(op) => write!(f, "{op} at {}:{}", self.location.file(), self.location.line()),
            None => write!(f, "at {}:{}", self.location.file(), self.location.line()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outermost_operation_names_what_inner_ones_make() {
        assert_eq!(OperationScope::current(), None);
        {
            let _outer = OperationScope::enter("distinct");
            let _inner = OperationScope::enter("map");
            let site = CallSite::caller();
            assert_eq!(site.operation, Some("distinct"));
            assert_eq!(site.to_string(), format!("distinct at {}:{}", file!(), line!() - 2));
        }
        assert_eq!(OperationScope::current(), None, "scopes end with their guards");
        let _resumed = OperationScope::resume(Some("take"));
        assert_eq!(CallSite::caller().operation, Some("take"));
    }
}
