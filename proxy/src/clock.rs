//! The time, as something the proxy is handed rather than something it reads.
//!
//! Code that needs "now" (opening hours, callback slots) takes a
//! [`Clock`], so tests pin time with a [`FixedClock`] and never depend on the
//! wall clock. Only [`SystemClock`] reads the real time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where "now" comes from.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant.
    fn now(&self) -> SystemTime;
}

/// The real time, for the running proxy.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Always the same instant, for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub SystemTime);

impl FixedClock {
    /// A clock stopped at `secs` seconds after the Unix epoch.
    pub fn at_unix(secs: u64) -> Self {
        Self(UNIX_EPOCH + Duration::from_secs(secs))
    }
}

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.0
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
}
