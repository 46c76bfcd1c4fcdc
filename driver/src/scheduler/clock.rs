//! Time as the scheduler sees it. The loop never calls `Instant::now()`
//! itself: it asks its [`Clock`], so the process-free harness can drive
//! heartbeat timeouts, locality waits and executor-replacement deadlines by
//! advancing a clock instead of sleeping.

use std::time::Instant;
#[cfg(test)]
use std::{sync::Mutex, time::Duration};

/// Where the scheduler reads the time.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

/// The wall clock (monotonic), for real contexts.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to (tests).
#[cfg(test)]
pub struct ManualClock {
    start: Instant,
    offset: Mutex<Duration>,
}

#[cfg(test)]
impl Default for ManualClock {
    fn default() -> Self {
        ManualClock { start: Instant::now(), offset: Mutex::new(Duration::ZERO) }
    }
}

#[cfg(test)]
impl ManualClock {
    pub fn advance(&self, by: Duration) {
        *self.offset.lock().unwrap_or_else(|p| p.into_inner()) += by;
    }
}

#[cfg(test)]
impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + *self.offset.lock().unwrap_or_else(|p| p.into_inner())
    }
}
