//! The time, as something the proxy is handed rather than something it reads.
//!
//! Everything that needs "now" takes the one [`Clock`] the application was
//! built with: the handlers (opening hours, slots, stored times, limits,
//! token expiry), the pipeline (due leads, backoff, deadlines), retention,
//! metrics, health and the operator CLI. Tests pin or move time with a
//! [`FixedClock`] instead of backdating rows. Only [`SystemClock`] reads
//! the real time.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where "now" comes from.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant.
    fn now(&self) -> SystemTime;

    /// The current instant in milliseconds since the Unix epoch, as leads
    /// store their times.
    fn now_ms(&self) -> i64 {
        unix_millis(self.now())
    }
}

/// Milliseconds since the Unix epoch of `at` (0 before it).
pub fn unix_millis(at: SystemTime) -> i64 {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// A duration in milliseconds, as leads store their times (saturating).
pub fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The real time, for the running proxy.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that stands still until a test moves it.
#[derive(Debug)]
pub struct FixedClock(Mutex<SystemTime>);

impl FixedClock {
    /// A clock stopped at `at`.
    pub fn new(at: SystemTime) -> Self {
        Self(Mutex::new(at))
    }

    /// A clock stopped at `secs` seconds after the Unix epoch.
    pub fn at_unix(secs: u64) -> Self {
        Self::new(UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// A clock stopped at the real time of the call.
    pub fn at_system_time() -> Self {
        Self::new(SystemTime::now())
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut at = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *at += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_never_moves() {
        let clock: &dyn Clock = &FixedClock::at_unix(1_750_000_000);
        assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_secs(1_750_000_000));
        assert_eq!(clock.now(), clock.now());
    }

    #[test]
    fn a_fixed_clock_moves_only_when_told_and_counts_in_unix_millis() {
        let clock = FixedClock::at_unix(1_750_000_000);
        assert_eq!(clock.now_ms(), 1_750_000_000_000);
        clock.advance(Duration::from_millis(1_500));
        assert_eq!(clock.now_ms(), 1_750_000_001_500);
        assert_eq!(unix_millis(UNIX_EPOCH - Duration::from_secs(1)), 0);
    }
}
