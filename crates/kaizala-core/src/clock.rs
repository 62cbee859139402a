//! Time, injected. The core never reads a clock: callers pass `now` in, and
//! transports get it from a [`Clock`] so tests can use a [`ManualClock`].

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Wall-clock time (token expiries, `Retry-After` dates).
    fn now(&self) -> SystemTime;
    /// Monotonic time (throttle windows, backoff).
    fn instant(&self) -> Instant;
}

/// The system's clocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn instant(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to, for deterministic tests.
#[derive(Debug)]
pub struct ManualClock {
    wall: SystemTime,
    mono: Instant,
    elapsed: Mutex<Duration>,
}

impl ManualClock {
    /// A clock reading `wall` now.
    pub fn new(wall: SystemTime) -> Self {
        ManualClock {
            wall,
            mono: Instant::now(),
            elapsed: Mutex::new(Duration::ZERO),
        }
    }

    /// Moves time forward.
    pub fn advance(&self, by: Duration) {
        *self.elapsed.lock().unwrap_or_else(|e| e.into_inner()) += by;
    }

    fn elapsed(&self) -> Duration {
        *self.elapsed.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        self.wall + self.elapsed()
    }
    fn instant(&self) -> Instant {
        self.mono + self.elapsed()
    }
}
