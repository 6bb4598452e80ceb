//! The store's heartbeat: proof for `/readyz` that the store takes writes.
//!
//! A background task writes one row (the `heartbeat` table) every
//! [`HEARTBEAT_EVERY`], each write bounded by [`WRITE_DEADLINE`], and keeps
//! the outcome; `/readyz` only reads that outcome. So a monitor polling
//! `/readyz` every second costs nothing, and never competes with lead
//! inserts for SQLite's one writer (it used to write on every hit).
//!
//! How old the last beat is, is measured on the monotonic clock, not on the
//! injected [`crate::clock::Clock`]: it watches the task itself (a stuck or
//! dead task is not ready), not the time of day that leads and limits read.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::store::Store;

/// How often the heartbeat row is written.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);
/// How long one write may take before the store counts as stuck.
pub const WRITE_DEADLINE: Duration = Duration::from_secs(2);
/// A last beat older than this means the task is stuck or gone.
const STALE_AFTER: Duration = Duration::from_secs(10);
/// The heartbeat row's name.
const ROW: &str = "readyz";

/// What `/readyz` says of the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreHealth {
    /// The last heartbeat write succeeded, recently.
    pub writable: bool,
    /// Why not, in words for an operator (details are in the log).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug)]
struct Beat {
    at: Instant,
    outcome: Result<(), String>,
}

/// The last heartbeat's outcome, shared by the task and `/readyz`.
#[derive(Debug, Default)]
pub struct StoreHeartbeat {
    last: Mutex<Option<Beat>>,
}

impl StoreHeartbeat {
    /// Writes the heartbeat now and every [`HEARTBEAT_EVERY`] until `shutdown`.
    pub async fn run(
        self: Arc<Self>,
        store: Store,
        clock: Arc<dyn Clock>,
        shutdown: CancellationToken,
    ) {
        loop {
            let write = tokio::time::timeout(WRITE_DEADLINE, store.heartbeat(ROW, clock.now_ms()));
            let outcome = tokio::select! {
                () = shutdown.cancelled() => return,
                outcome = write => match outcome {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(error)) => {
                        tracing::debug!(%error, "heartbeat write refused");
                        Err("the store refused a write (see the log)".to_owned())
                    }
                    Err(_) => Err(format!(
                        "no write within {} s (locked or stuck disk?)",
                        WRITE_DEADLINE.as_secs()
                    )),
                },
            };
            self.record(outcome);
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(HEARTBEAT_EVERY) => {}
            }
        }
    }

    /// Keeps `outcome`, logging only when the store's health changes (not
    /// once a second while it stays bad).
    fn record(&self, outcome: Result<(), String>) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let was_ok = last.as_ref().is_none_or(|beat| beat.outcome.is_ok());
        match (&outcome, was_ok) {
            (Err(error), true) => {
                tracing::error!(%error, "readiness: the lead store takes no writes")
            }
            (Ok(()), false) => tracing::info!("readiness: the lead store takes writes again"),
            _ => {}
        }
        *last = Some(Beat {
            at: Instant::now(),
            outcome,
        });
    }

    /// The store's health from the last beat; no write is made here.
    pub fn health(&self) -> StoreHealth {
        self.health_at(Instant::now())
    }

    fn health_at(&self, now: Instant) -> StoreHealth {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let error = match last.as_ref() {
            None => Some("not checked yet".to_owned()),
            Some(beat) if now.saturating_duration_since(beat.at) > STALE_AFTER => Some(format!(
                "no heartbeat for {} s",
                now.saturating_duration_since(beat.at).as_secs()
            )),
            Some(Beat {
                outcome: Err(error),
                ..
            }) => Some(error.clone()),
            Some(_) => None,
        };
        StoreHealth {
            writable: error.is_none(),
            error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_is_the_last_beat_and_goes_stale() {
        let heartbeat = StoreHeartbeat::default();
        assert!(!heartbeat.health().writable, "unknown until the first beat");
        heartbeat.record(Ok(()));
        assert_eq!(
            heartbeat.health(),
            StoreHealth {
                writable: true,
                error: None
            }
        );
        heartbeat.record(Err("stuck".to_owned()));
        assert_eq!(heartbeat.health().error.as_deref(), Some("stuck"));
        heartbeat.record(Ok(()));
        let later = Instant::now() + STALE_AFTER + Duration::from_secs(1);
        let stale = heartbeat.health_at(later);
        assert!(!stale.writable);
        assert!(
            stale.error.is_some_and(|e| e.starts_with("no heartbeat")),
            "a dead task is not ready"
        );
    }
}
