//! The background workers that move a lead along.
//!
//! - The forwarder (`forwarder.rs`) sends stored leads to CallKeeper with `orderCall`, retrying
//!   transport failures and 5xx with exponential backoff and jitter.
//! - The tracker (`tracker.rs`) follows each ordered call with `getCallInfo` until it is
//!   final: one upstream request per call per interval, whoever is watching.
//! - The retention job (`retention.rs`) erases personal data past its time.
//! - `order.rs` turns a lead into CallKeeper's `orderCall`.
//!
//! Both read their work from the store, so a restart resumes where the last
//! process stopped. Neither logs a phone number or the key.
//!
//! # Delivery: at least once, duplicates made rare
//! Before each `orderCall` the lead is marked in doubt with the time the send
//! began. A definite answer clears the mark. If the proxy dies mid-send, or
//! the answer is lost (a timeout after sending, a 5xx, a garbled body), the
//! lead stays in doubt, and before it is sent again the forwarder looks the
//! call up with `getCallsInfo` (the visitor's number, from a minute before the
//! send began): a call found there is adopted instead of ordered twice. A
//! send cut off by a crash is looked up only once its orderCall is past its
//! deadline (the site's `upstream_timeout_seconds` and 2 s): CallKeeper
//! goes on with an order whose sender died, and one still being taken when
//! a quick restart looked would not be listed yet.
//!
//! # One sender at a time: a lease, and a fence
//! A sender claims a lead before anything else (`Store::claim_for_sending`);
//! the claim is a lease long enough for one in-doubt send at its slowest (a
//! reconciliation and an orderCall, each bounded by the client's timeout,
//! enforced again here), renewed right before the orderCall. So while a
//! sender lives, no other can take the lead; only a dead or frozen sender's
//! lease runs out. And each claim writes a new token (`sent_at`, which moves
//! forward with every claim) that every later write of its sender must
//! match (`Store::transition_claimed`, `Store::renew_claim`): a sender whose
//! lease ran out and whose lead another claimed writes nothing and, failing
//! to renew, never starts its orderCall. A claim also requires the lead's
//! `sent_at` as the sender read it, so a sender holding a copy read before
//! another's send (which does not say the lead is now in doubt) cannot claim
//! it and order it again unreconciled.
//!
//! The remaining window: a call CallKeeper placed but does not yet list in
//! `getCallsInfo` when we look (past the orderCall's deadline), or a second
//! lead for the same number ordered by other means in that minute, can
//! still lead to a duplicate; CallKeeper itself refuses a repeat within the
//! hour (815), so the visitor is not called twice.

mod forwarder;
mod order;
mod retention;
mod tracker;

use std::sync::Arc;
use std::time::Duration;

use protocol::FailureReason;
use rand::Rng;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use forwarder::send_lease;
pub use order::external_id;

use crate::call_state::reason_name;
use crate::changes::LeadChanges;
use crate::clock::Clock;
use crate::lead::{LeadState, Transition};
use crate::site::Sites;
use crate::store::{SendClaim, Store};

/// Leads a worker takes per round.
const BATCH: i64 = 32;
/// Upstream requests in flight at once, per worker.
const FORWARD_CONCURRENCY: usize = 8;
/// How long shutdown waits for upstream requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// What the workers share.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The lead store.
    pub store: Store,
    /// Tells the status streams that a lead changed.
    pub changes: LeadChanges,
    /// Wakes the forwarder when a lead arrives.
    pub wake: Arc<Notify>,
    /// The sites, each with its CallKeeper client.
    pub sites: Sites,
    /// How often a call's status is asked of CallKeeper.
    pub poll_interval: Duration,
    /// How long a lead is retried while CallKeeper is unreachable.
    pub upstream_deadline: Duration,
    /// How long personal data is kept.
    pub retention: Duration,
    /// Counters for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// "Now".
    pub clock: Arc<dyn Clock>,
}

impl Pipeline {
    /// Runs the forwarder and the tracker until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) {
        // A lead caught mid-send by a crash stays marked in doubt; put it back
        // in line, where the forwarder reconciles it before sending again.
        // One proxy process owns a SQLite file, so every send is this
        // process's last life's: released now, to be reconciled once its
        // requests are past their deadlines. Replicas share a PostgreSQL
        // database, and a live replica may be sending: only sends whose
        // lease ran out (their sender died) are released.
        let interrupted_before = if self.store.is_shared() {
            self.clock.now_ms()
        } else {
            i64::MAX
        };
        match self
            .store
            .due(&[LeadState::Sending], interrupted_before, i64::MAX)
            .await
        {
            Ok(caught) => {
                for lead in caught {
                    tracing::warn!(lead = %lead.id, "a send was interrupted; reconciling before resending");
                    self.release_interrupted(&lead).await;
                }
            }
            Err(error) => tracing::error!(%error, "cannot read interrupted sends"),
        }
        let forwarder = self.clone().forward_loop(shutdown.clone());
        let retention = self.clone().retention_loop(shutdown.clone());
        let tracker = self.track_loop(shutdown);
        tokio::join!(forwarder, tracker, retention);
    }

    /// Puts an interrupted send back in line, marked in doubt, fenced by
    /// the claim it was read with: a replica that claimed the lead since
    /// keeps it.
    ///
    /// It is reconciled only once the interrupted orderCall can no longer
    /// be under way: CallKeeper may still be taking an order whose sender
    /// died (a restart is quicker than a slow answer), and a call it has not
    /// listed yet would be found missing and ordered twice.
    async fn release_interrupted(&self, lead: &crate::lead::Lead) {
        let Some(sent_at) = lead.sent_at else {
            return;
        };
        let change = Transition {
            state: Some(LeadState::Queued),
            in_doubt: Some(true),
            next_attempt_at: forwarder::in_doubt_until(lead.next_attempt_at)
                .max(self.clock.now_ms()),
            ..Default::default()
        };
        match self
            .store
            .transition_claimed(&lead.id, SendClaim(sent_at), &change, self.clock.now_ms())
            .await
        {
            Ok(true) => {
                self.metrics.transition(change.state);
                self.changes.publish(&lead.id);
            }
            Ok(false) => {}
            Err(error) => {
                tracing::error!(lead = %lead.id, %error, "cannot release the interrupted send")
            }
        }
    }

    /// Writes a transition and tells the watchers.
    async fn apply(&self, id: &str, change: Transition) {
        self.apply_from(id, &[], change).await;
    }

    /// Writes a transition if the lead is still in one of `from` (any state
    /// when empty), and tells the watchers.
    async fn apply_from(&self, id: &str, from: &[LeadState], change: Transition) {
        self.metrics.transition(change.state);
        match self
            .store
            .transition_from(id, from, &change, self.clock.now_ms())
            .await
        {
            Ok(_) => self.changes.publish(id),
            Err(error) => tracing::error!(lead = %id, %error, "cannot record the lead's new state"),
        }
    }
}

/// Upstream requests running in their own tasks, at most
/// [`FORWARD_CONCURRENCY`] at once, so that one slow answer does not hold up
/// the queue.
#[derive(Debug)]
struct InFlight {
    tasks: tokio::task::JoinSet<()>,
    permits: Arc<tokio::sync::Semaphore>,
    shutdown: CancellationToken,
}

impl InFlight {
    fn new(shutdown: CancellationToken) -> Self {
        Self {
            tasks: tokio::task::JoinSet::new(),
            permits: Arc::new(tokio::sync::Semaphore::new(FORWARD_CONCURRENCY)),
            shutdown,
        }
    }

    /// Starts `work` once a slot is free; not at all once shutdown began
    /// (the lead stays in the store for the next start).
    async fn spawn(&mut self, work: impl Future<Output = ()> + Send + 'static) {
        // Reap finished tasks so the set does not grow.
        while self.tasks.try_join_next().is_some() {}
        let permit = tokio::select! {
            permit = self.permits.clone().acquire_owned() => permit,
            () = self.shutdown.cancelled() => return,
        };
        let Ok(permit) = permit else {
            return;
        };
        self.tasks.spawn(async move {
            work.await;
            drop(permit);
        });
    }

    /// On shutdown: lets requests in flight finish for a while. One cut off
    /// stays marked in doubt and is reconciled by the next start.
    async fn finish(mut self, what: &str) {
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                what,
                "requests still in flight at shutdown; they are reconciled at the next start"
            );
        }
    }
}

/// Final: the call failed, for a reason the visitor is told.
fn fail(reason: FailureReason) -> Transition {
    Transition::failed(reason_name(reason))
}

/// The longest pause between two orderCall attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// 1 s, 2 s, 4 s … up to five minutes, with up to 25 % jitter so that
/// replicas and leads do not retry in lockstep.
fn backoff(attempts: u32) -> Duration {
    let base = Duration::from_secs(1)
        .saturating_mul(1 << attempts.min(16))
        .min(MAX_BACKOFF);
    let jitter = rand::rng().random_range(0.0..0.25);
    base.mul_f64(1.0 + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(0) >= Duration::from_secs(1) && backoff(0) < Duration::from_millis(1_250));
        assert!(backoff(3) >= Duration::from_secs(8));
        assert!(backoff(40) <= MAX_BACKOFF.mul_f64(1.25));
    }
}
