//! The background workers that move a lead along.
//!
//! - The forwarder sends stored leads to CallKeeper with `orderCall`, retrying
//!   transport failures and 5xx with exponential backoff and jitter.
//! - The tracker follows each ordered call with `getCallInfo` until it is
//!   final: one upstream request per call per interval, whoever is watching.
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
//! send began): a call found there is adopted instead of ordered twice.
//!
//! The remaining window: a call CallKeeper placed but does not yet list in
//! `getCallsInfo` when we look, or a second lead for the same number ordered
//! by other means in that minute, can still lead to a duplicate; CallKeeper
//! itself refuses a repeat within the hour (815), so the visitor is not
//! called twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use callkeeper::{CallId, Client, DateRange, ErrorClass, Manager, OrderCall, UnixTime, W3cDate};
use protocol::{FailureReason, PhoneNumber};
use rand::Rng;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::Site;
use crate::events::Events;
use crate::lead::{Lead, LeadState, Transition};
use crate::metrics::UpstreamMethod;
use crate::status::{read_call, reason_name};
use crate::store::Store;

/// Leads a worker takes per round.
const BATCH: i64 = 32;
/// Upstream requests in flight at once, per worker.
const FORWARD_CONCURRENCY: usize = 8;
/// The states the tracker follows (and may change).
const FOLLOWED: &[LeadState] = &[
    LeadState::Ordered,
    LeadState::Scheduled,
    LeadState::InProgress,
];
/// A call not final this long after it was due is given up on.
const TRACK_DEADLINE: Duration = Duration::from_secs(24 * 3600);
/// The pause after CallKeeper failed to answer about a call.
const TRACK_ERROR_PAUSE: Duration = Duration::from_secs(30);
/// CallKeeper's window for repeated orders of one number (813/815).
const REPEAT_WINDOW_MS: i64 = 3_600_000;
/// How long a claim to send a lead holds: longer than one orderCall can take
/// (the client's request timeout), so only a dead sender's claim runs out.
const SEND_LEASE: Duration = Duration::from_secs(45);
/// How long shutdown waits for upstream requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// The longest pause between two orderCall attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How far before the send we look for an in-doubt order in CallKeeper's
/// records (clocks differ; CallKeeper stamps the call when it takes it).
const RECONCILE_SLACK_MS: i64 = 60_000;

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
    /// How long a lead is retried while CallKeeper is unreachable.
    pub upstream_deadline: Duration,
    /// How long personal data is kept.
    pub retention: Duration,
    /// Counters for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// How often the retention job runs.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    millis_since_epoch(std::time::SystemTime::now())
}

/// Milliseconds since the Unix epoch of `at`.
pub fn millis_since_epoch(at: std::time::SystemTime) -> i64 {
    let since = at.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

impl Pipeline {
    /// Runs the forwarder and the tracker until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) {
        // A lead caught mid-send by a crash stays marked in doubt; put it back
        // in line at once, where the forwarder reconciles it before sending
        // again. Safe because one proxy process owns a SQLite file; proxies
        // sharing a database would wait for the send lease to run out instead.
        match self
            .store
            .due(&[LeadState::Sending], i64::MAX, i64::MAX)
            .await
        {
            Ok(caught) => {
                for lead in caught {
                    tracing::warn!(lead = %lead.id, "a send was interrupted; reconciling before resending");
                    let change = Transition {
                        state: Some(LeadState::Queued),
                        in_doubt: Some(true),
                        next_attempt_at: now_ms(),
                        ..Default::default()
                    };
                    self.apply_from(&lead.id, &[LeadState::Sending], change)
                        .await;
                }
            }
            Err(error) => tracing::error!(%error, "cannot read interrupted sends"),
        }
        let forwarder = self.clone().forward_loop(shutdown.clone());
        let retention = self.clone().retention_loop(shutdown.clone());
        let tracker = self.track_loop(shutdown);
        tokio::join!(forwarder, tracker, retention);
    }

    /// Erases personal data past the retention period, at start and hourly.
    async fn retention_loop(self, shutdown: CancellationToken) {
        loop {
            let now = now_ms();
            match self
                .store
                .erase_personal_data(now - millis(self.retention), now)
                .await
            {
                Ok(0) => {}
                Ok(erased) => {
                    tracing::info!(erased, "erased personal data past the retention period")
                }
                Err(error) => tracing::error!(%error, "the retention job failed; will try again"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(RETENTION_EVERY) => {}
            }
        }
    }

    async fn forward_loop(self, shutdown: CancellationToken) {
        let mut in_flight = InFlight::new(shutdown.clone());
        loop {
            let due = self
                .store
                // Sending leads are due only once their lease ran out: their sender died.
                .due(
                    &[LeadState::Received, LeadState::Queued, LeadState::Sending],
                    now_ms(),
                    BATCH,
                )
                .await;
            match due {
                Ok(leads) => {
                    for lead in leads {
                        let this = self.clone();
                        in_flight
                            .spawn(async move { this.forward(lead).await })
                            .await;
                    }
                }
                Err(error) => tracing::error!(%error, "forwarder cannot read the store"),
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
        in_flight.finish("orderCall").await;
    }

    /// Sends one lead with orderCall and records the outcome.
    async fn forward(&self, lead: Lead) {
        let Some((site, client)) = self.sites.get(&lead.site) else {
            self.apply(&lead.id, halt("the site is no longer configured"))
                .await;
            return;
        };
        let Ok(phone) = PhoneNumber::from_digits(&lead.phone) else {
            self.apply(&lead.id, fail(FailureReason::InvalidNumber))
                .await;
            return;
        };
        // Claim first: of several workers or replicas that picked the lead,
        // one goes on, and it holds the lead while it reconciles and sends.
        let lease_until = now_ms() + millis(SEND_LEASE);
        match self
            .store
            .claim_for_sending(&lead.id, now_ms(), lease_until)
            .await
        {
            Ok(true) => self.events.publish(&lead.id),
            Ok(false) => return,
            Err(error) => {
                tracing::error!(lead = %lead.id, %error, "cannot claim the lead for sending");
                return;
            }
        }
        if lead.in_doubt {
            match self.reconcile(&lead, client).await {
                Ok(Some(id)) => {
                    self.metrics.order_reconciled(&lead.site);
                    tracing::info!(lead = %lead.id, "an interrupted order had reached CallKeeper; following it");
                    self.apply_sent(&lead.id, self.ordered(&lead, id)).await;
                    return;
                }
                Ok(None) => {}
                Err(error) if error.class() == ErrorClass::Configuration => {
                    tracing::error!(lead = %lead.id, %error, "cannot reconcile an interrupted order: CallKeeper refuses the account");
                    self.apply_sent(
                        &lead.id,
                        Transition {
                            count_attempt: true,
                            in_doubt: Some(true),
                            ..halt(&error.to_string())
                        },
                    )
                    .await;
                    return;
                }
                Err(error) => {
                    let delay = backoff(lead.attempts);
                    tracing::warn!(lead = %lead.id, %error, retry_in = ?delay, "cannot reconcile an interrupted order yet");
                    let change = Transition {
                        count_attempt: true,
                        ..self.retry_or_halt(&lead, delay, true)
                    };
                    self.apply_sent(&lead.id, change).await;
                    return;
                }
            }
        }
        let order = order_for(&lead, site, phone);
        let change = match self
            .metrics
            .order_call(&lead, client.order_call(&order))
            .await
        {
            Ok(ordered) => {
                tracing::info!(lead = %lead.id, site = %lead.site, "CallKeeper accepted the order");
                Transition {
                    count_attempt: true,
                    ..self.ordered(&lead, ordered.id.as_str().to_owned())
                }
            }
            Err(error) => match error.class() {
                ErrorClass::Retryable => {
                    let delay = backoff(lead.attempts);
                    tracing::warn!(lead = %lead.id, %error, retry_in = ?delay, "CallKeeper unreachable; the lead stays queued");
                    Transition {
                        count_attempt: true,
                        ..self.retry_or_halt(&lead, delay, error.is_in_doubt())
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
        self.apply_sent(&lead.id, change).await;
    }

    /// Records the outcome of a send, only while this worker still holds the lead.
    async fn apply_sent(&self, id: &str, change: Transition) {
        self.apply_from(id, &[LeadState::Sending], change).await;
    }

    /// The transition to "ordered" (or "scheduled") with CallKeeper's id.
    fn ordered(&self, lead: &Lead, upstream_id: String) -> Transition {
        Transition {
            state: Some(if lead.request.time.is_some() {
                LeadState::Scheduled
            } else {
                LeadState::Ordered
            }),
            upstream_id: Some(upstream_id),
            next_attempt_at: now_ms() + millis(self.poll_interval),
            in_doubt: Some(false),
            ..Default::default()
        }
    }

    /// Back in the queue after `delay`, or halted once the deadline has passed.
    fn retry_or_halt(&self, lead: &Lead, delay: Duration, in_doubt: bool) -> Transition {
        let deadline = lead.deadline_at.unwrap_or_else(|| {
            lead.created_at
                .saturating_add(millis(self.upstream_deadline))
        });
        if now_ms() > deadline {
            tracing::error!(lead = %lead.id, site = %lead.site,
                "CallKeeper stayed unreachable past the deadline; the lead is halted (resend it with `proxy leads resend`)");
            return Transition {
                in_doubt: Some(in_doubt),
                ..halt("CallKeeper was unreachable until the deadline")
            };
        }
        Transition {
            state: Some(LeadState::Queued),
            next_attempt_at: now_ms() + millis(delay),
            in_doubt: Some(in_doubt),
            ..Default::default()
        }
    }

    /// Looks for the call an interrupted order may have placed: the visitor's
    /// number, dated from a minute before the send began.
    async fn reconcile(
        &self,
        lead: &Lead,
        client: &Client,
    ) -> Result<Option<String>, callkeeper::Error> {
        let since = lead.sent_at.unwrap_or(lead.created_at) - RECONCILE_SLACK_MS;
        let calls = self.calls_to(lead, client, since).await?;
        Ok(calls
            .into_iter()
            .next()
            .map(|call| call.id.as_str().to_owned()))
    }

    /// CallKeeper's calls to the lead's number dated from `since_ms` on
    /// (getCallsInfo), the newest first.
    async fn calls_to(
        &self,
        lead: &Lead,
        client: &Client,
        since_ms: i64,
    ) -> Result<Vec<callkeeper::CallInfo>, callkeeper::Error> {
        let since = since_ms.div_euclid(1000);
        let until = now_ms().div_euclid(1000) + RECONCILE_SLACK_MS / 1000;
        let range = DateRange::between(W3cDate::from_unix(since), W3cDate::from_unix(until));
        let answer = self.metrics.upstream(
            &lead.site,
            UpstreamMethod::GetCallsInfo,
            client.get_calls_info(&range),
        );
        let dated = |call: &callkeeper::CallInfo| {
            call.date_unix()
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        };
        let mut calls: Vec<_> = answer
            .await?
            .into_iter()
            .filter(|call| {
                call.client_digits() == lead.phone && dated(call).is_some_and(|at| at >= since)
            })
            .collect();
        calls.sort_by_key(|call| std::cmp::Reverse(dated(call)));
        Ok(calls)
    }

    async fn track_loop(self, shutdown: CancellationToken) {
        let states = FOLLOWED;
        let mut in_flight = InFlight::new(shutdown.clone());
        loop {
            match self.store.due(states, now_ms(), BATCH).await {
                Ok(leads) => {
                    for lead in leads {
                        let this = self.clone();
                        in_flight.spawn(async move { this.track(lead).await }).await;
                    }
                }
                Err(error) => tracing::error!(%error, "tracker cannot read the store"),
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(self.poll_interval.min(Duration::from_millis(500))) => {}
            }
        }
        in_flight.finish("getCallInfo").await;
    }

    /// Asks CallKeeper once about one call.
    async fn track(&self, lead: Lead) {
        let next = now_ms() + millis(self.poll_interval);
        // One upstream request per call per interval, across workers and replicas.
        match self
            .store
            .claim_poll(&lead.id, lead.next_attempt_at, next)
            .await
        {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::error!(lead = %lead.id, %error, "cannot claim the call for polling");
                return;
            }
        }
        let (Some((site, client)), Some(Ok(id))) = (
            self.sites.get(&lead.site),
            lead.upstream_id.as_deref().map(CallId::parse),
        ) else {
            self.apply(&lead.id, halt("the call cannot be followed"))
                .await;
            return;
        };
        // A call that has not ended a day after it was due is not followed for ever.
        let due_at = lead
            .request
            .time
            .map_or(lead.created_at, |t| t.saturating_mul(1000))
            .max(lead.created_at);
        if now_ms() > due_at.saturating_add(millis(TRACK_DEADLINE)) {
            tracing::error!(lead = %lead.id, "the call never reached a final status; no longer followed");
            self.apply_from(
                &lead.id,
                FOLLOWED,
                halt("the call never reached a final status"),
            )
            .await;
            return;
        }
        let answer = self
            .metrics
            .upstream(
                &lead.site,
                UpstreamMethod::GetCallInfo,
                client.get_call_info(&id),
            )
            .await;
        let change = match answer {
            Ok(info) if matches!(info.status.code, 813 | 815) => {
                // CallKeeper refused this order as a repeat of an earlier one for the
                // same number (ours, in doubt, or the visitor's previous request):
                // follow that call instead of telling the visitor it was cancelled.
                match self.earlier_call(&lead, client, &id).await {
                    Some(earlier) => {
                        tracing::info!(lead = %lead.id, "CallKeeper merged the order into an earlier call; following that");
                        Transition {
                            state: Some(LeadState::Ordered),
                            upstream_id: Some(earlier),
                            next_attempt_at: next,
                            ..Default::default()
                        }
                    }
                    None => self.reading_to_transition(&lead, site, &info, next),
                }
            }
            Ok(info) => self.reading_to_transition(&lead, site, &info, next),
            Err(error) => {
                tracing::warn!(lead = %lead.id, %error, "cannot read the call's status; will ask again");
                Transition {
                    next_attempt_at: now_ms() + millis(self.poll_interval.max(TRACK_ERROR_PAUSE)),
                    ..Default::default()
                }
            }
        };
        self.apply_from(&lead.id, FOLLOWED, change).await;
    }

    /// What a getCallInfo answer changes.
    fn reading_to_transition(
        &self,
        lead: &Lead,
        site: &Site,
        info: &callkeeper::CallInfo,
        next: i64,
    ) -> Transition {
        let retries = site.interval.as_ref().map_or(&[][..], |i| i.minutes());
        let reading = read_call(info.status, info.attempt, lead, retries, now_ms());
        if reading.state == LeadState::Halted {
            tracing::error!(lead = %lead.id, site = %lead.site, status = %info.status,
                "CallKeeper ended the call for an account reason: fix it, then resend the lead");
        }
        // A call scheduled for later is asked about again shortly before it is due.
        let wake = match reading.state {
            LeadState::Scheduled => reading
                .next_call_at
                .or(lead.request.time.map(|t| t.saturating_mul(1000)))
                .map_or(next, |at| next.max(at - 60_000)),
            _ => next,
        };
        Transition {
            state: Some(reading.state),
            reason: reading.stored_reason(),
            status: Some((info.status.code, info.status.code2)),
            call_attempt: Some(info.attempt),
            next_call_at: reading.next_call_at,
            next_attempt_at: if reading.state.is_final() {
                i64::MAX
            } else {
                wake
            },
            ..Default::default()
        }
    }

    /// The most recent other call to this lead's number since shortly before it was made.
    async fn earlier_call(&self, lead: &Lead, client: &Client, this: &CallId) -> Option<String> {
        let calls = self
            .calls_to(lead, client, lead.created_at - REPEAT_WINDOW_MS)
            .await
            .ok()?;
        calls
            .into_iter()
            .find(|call| call.id != *this && !call.status.is_final())
            .map(|call| call.id.as_str().to_owned())
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
            .transition_from(id, from, &change, now_ms())
            .await
        {
            Ok(_) => self.events.publish(id),
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
    order.external_service_identifier = Some(external_id(&lead.id));
    order.tool_name = Some(
        site.tool_name
            .clone()
            .unwrap_or_else(|| "callback-widget".to_owned()),
    );
    order.notification = site.notification.clone();
    order.utc = site.utc.clone();
    order.opening_hours = site.opening_hours;
    order.interval = site.interval.clone();
    let page = context.current_page.as_deref();
    let office = order.office_name.clone();
    order.text_to_manager = site
        .text_to_manager
        .as_deref()
        .map(|t| site.ivr_text(t, page, office.as_deref()));
    order.info_to_manager = site
        .info_to_manager
        .as_deref()
        .map(|t| site.ivr_text(t, page, office.as_deref()));
    order
}

/// Our id for a lead in CallKeeper (`external_service_identifier`): derived
/// from the status token, not the token itself, which is the visitor's key
/// to the call's status and has no business in another system.
pub fn external_id(token: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(format!("lead:{token}").as_bytes())[..12])
}

fn fail(reason: FailureReason) -> Transition {
    Transition {
        state: Some(LeadState::Failed),
        reason: Some(reason_name(reason).to_owned()),
        next_attempt_at: i64::MAX,
        in_doubt: Some(false),
        ..Default::default()
    }
}

fn halt(why: &str) -> Transition {
    Transition {
        state: Some(LeadState::Halted),
        reason: Some(why.to_owned()),
        next_attempt_at: i64::MAX,
        in_doubt: Some(false),
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
