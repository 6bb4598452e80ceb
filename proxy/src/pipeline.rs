//! The background workers that move a lead along.
//!
//! - The forwarder sends stored leads to CallKeeper with `orderCall`, retrying
//!   transport failures and 5xx with exponential backoff and jitter.
//! - The tracker follows each ordered call with `getCallInfo` until it is
//!   final: one upstream request per call per interval, whoever is watching.
//!
//! Both read their work from the store, so a restart resumes where the last
//! process stopped. Neither logs a phone number or the key.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use callkeeper::{CallId, Client, ErrorClass, Manager, OrderCall, UnixTime};
use protocol::{FailureReason, PhoneNumber};
use rand::Rng;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::Site;
use crate::events::Events;
use crate::status::{classify, reason_name};
use crate::store::{Lead, LeadState, Store, Transition};

/// Leads a worker takes per round.
const BATCH: i64 = 32;
/// The longest pause between two orderCall attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What the workers share.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The lead store.
    pub store: Store,
    /// The change bus.
    pub events: Events,
    /// Wakes the forwarder when a lead arrives.
    pub wake: Arc<Notify>,
    /// Per site: its config and its CallKeeper client.
    pub sites: Arc<HashMap<String, (Site, Client)>>,
    /// How often a call's status is asked of CallKeeper.
    pub poll_interval: Duration,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

impl Pipeline {
    /// Runs the forwarder and the tracker until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) {
        // A lead caught mid-send by a crash is in doubt; put it back in line.
        // (Reconciling it with getCallsInfo before resending is the forwarder's
        // job in a later version; today it is resent.)
        if let Ok(in_doubt) = self
            .store
            .due(&[LeadState::Sending], i64::MAX, i64::MAX)
            .await
        {
            for lead in in_doubt {
                let change = Transition {
                    state: Some(LeadState::Queued),
                    next_attempt_at: now_ms(),
                    ..Default::default()
                };
                let _ = self.store.transition(&lead.id, &change, now_ms()).await;
            }
        }
        let forwarder = self.clone().forward_loop(shutdown.clone());
        let tracker = self.track_loop(shutdown);
        tokio::join!(forwarder, tracker);
    }

    async fn forward_loop(self, shutdown: CancellationToken) {
        loop {
            let due = self
                .store
                .due(&[LeadState::Received, LeadState::Queued], now_ms(), BATCH)
                .await;
            match due {
                Ok(leads) => {
                    for lead in leads {
                        self.forward(lead).await;
                    }
                }
                Err(error) => tracing::error!(%error, "forwarder cannot read the store"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    }

    /// Sends one lead with orderCall and records the outcome.
    async fn forward(&self, lead: Lead) {
        let Some((site, client)) = self.sites.get(&lead.site) else {
            self.apply(&lead.id, halt("the site is no longer configured"))
                .await;
            return;
        };
        let Ok(phone) = PhoneNumber::parse(&lead.phone) else {
            self.apply(&lead.id, fail(FailureReason::InvalidNumber))
                .await;
            return;
        };
        let sending = Transition {
            state: Some(LeadState::Sending),
            next_attempt_at: i64::MAX,
            ..Default::default()
        };
        self.apply(&lead.id, sending).await;
        let order = order_for(&lead, site, phone);
        let change = match client.order_call(&order).await {
            Ok(ordered) => {
                tracing::info!(lead = %lead.id, site = %lead.site, "CallKeeper accepted the order");
                Transition {
                    state: Some(if lead.request.time.is_some() {
                        LeadState::Scheduled
                    } else {
                        LeadState::Ordered
                    }),
                    upstream_id: Some(ordered.id.as_str().to_owned()),
                    count_attempt: true,
                    next_attempt_at: now_ms() + millis(self.poll_interval),
                    ..Default::default()
                }
            }
            Err(error) => match error.class() {
                ErrorClass::Retryable => {
                    let delay = backoff(lead.attempts);
                    tracing::warn!(lead = %lead.id, %error, retry_in = ?delay, "CallKeeper unreachable; the lead stays queued");
                    Transition {
                        state: Some(LeadState::Queued),
                        count_attempt: true,
                        next_attempt_at: now_ms() + millis(delay),
                        ..Default::default()
                    }
                }
                ErrorClass::InvalidPhone => Transition {
                    count_attempt: true,
                    ..fail(FailureReason::InvalidNumber)
                },
                ErrorClass::Configuration => {
                    tracing::error!(lead = %lead.id, site = %lead.site, %error,
                        "CallKeeper refused the order: fix the site's configuration or account, then resend the lead");
                    Transition {
                        count_attempt: true,
                        ..halt(&error.to_string())
                    }
                }
            },
        };
        self.apply(&lead.id, change).await;
    }

    async fn track_loop(self, shutdown: CancellationToken) {
        let states = [
            LeadState::Ordered,
            LeadState::Scheduled,
            LeadState::InProgress,
        ];
        loop {
            match self.store.due(&states, now_ms(), BATCH).await {
                Ok(leads) => {
                    for lead in leads {
                        self.track(lead).await;
                    }
                }
                Err(error) => tracing::error!(%error, "tracker cannot read the store"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.poll_interval.min(Duration::from_millis(500))) => {}
            }
        }
    }

    /// Asks CallKeeper once about one call.
    async fn track(&self, lead: Lead) {
        let next = now_ms() + millis(self.poll_interval);
        let (Some((_, client)), Some(Ok(id))) = (
            self.sites.get(&lead.site),
            lead.upstream_id.as_deref().map(CallId::parse),
        ) else {
            self.apply(&lead.id, halt("the call cannot be followed"))
                .await;
            return;
        };
        let change = match client.get_call_info(&id).await {
            Ok(info) => {
                let (state, reason) = classify(info.status, lead.request.time.is_some());
                Transition {
                    state: Some(state),
                    reason: reason.map(|r| reason_name(r).to_owned()),
                    status: Some((info.status.code, info.status.code2)),
                    next_attempt_at: next,
                    ..Default::default()
                }
            }
            Err(error) => {
                tracing::warn!(lead = %lead.id, %error, "cannot read the call's status; will ask again");
                Transition {
                    next_attempt_at: next + millis(backoff(0)),
                    ..Default::default()
                }
            }
        };
        self.apply(&lead.id, change).await;
    }

    /// Writes a transition and tells the watchers.
    async fn apply(&self, id: &str, change: Transition) {
        match self.store.transition(id, &change, now_ms()).await {
            Ok(_) => self.events.publish(id),
            Err(error) => tracing::error!(lead = %id, %error, "cannot record the lead's new state"),
        }
    }
}

/// The orderCall for a lead: every field the visit gave us.
fn order_for(lead: &Lead, site: &Site, phone: PhoneNumber) -> OrderCall {
    let request = &lead.request;
    let context = &request.context;
    let mut order = OrderCall::new(phone);
    order.manager = request.office.map(Manager::Office);
    order.office_name = request
        .office
        .and_then(|i| site.offices.get(i as usize).cloned());
    order.time_to_call = request
        .time
        .and_then(|t| u64::try_from(t).ok())
        .map(UnixTime::from_secs);
    order.site = Some(site.display_name.clone());
    order.current_page = context.current_page.clone();
    order.referrer = context.referrer.clone();
    order.entry_point = context.entry_page.clone();
    order.user_agent = context.user_agent.clone();
    order.utm_source = context.utm.source.clone();
    order.utm_medium = context.utm.medium.clone();
    order.utm_campaign = context.utm.campaign.clone();
    order.utm_content = context.utm.content.clone();
    order.utm_term = context.utm.term.clone();
    order.ga_client_id = context.ga_client_id.clone();
    order.roistat_id = context.roistat_visit.clone();
    order.calltouch_session_id = context.calltouch_session.clone();
    order.client_email = request.email.clone();
    order.ip_client = lead.ip.as_deref().and_then(|ip| ip.parse().ok());
    order.external_service_identifier = Some(lead.id.clone());
    order.tool_name = Some("callback-widget".to_owned());
    order
}

fn fail(reason: FailureReason) -> Transition {
    Transition {
        state: Some(LeadState::Failed),
        reason: Some(reason_name(reason).to_owned()),
        next_attempt_at: i64::MAX,
        ..Default::default()
    }
}

fn halt(why: &str) -> Transition {
    Transition {
        state: Some(LeadState::Halted),
        reason: Some(why.to_owned()),
        next_attempt_at: i64::MAX,
        ..Default::default()
    }
}

/// 1 s, 2 s, 4 s … up to five minutes, with up to 25 % jitter so that
/// replicas and leads do not retry in lockstep.
fn backoff(attempts: u32) -> Duration {
    let base = Duration::from_secs(1)
        .saturating_mul(1 << attempts.min(16))
        .min(MAX_BACKOFF);
    let jitter = rand::rng().random_range(0.0..0.25);
    base.mul_f64(1.0 + jitter)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
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
