//! The tracker: follows each ordered call with `getCallInfo` until it is
//! final, one upstream request per call per interval however many visitors
//! watch it, and records what CallKeeper says in the lead.

use std::time::Duration;

use callkeeper::{CallId, Client};
use tokio_util::sync::CancellationToken;

use super::{BATCH, InFlight, Pipeline};
use crate::call_state::read_call;
use crate::clock::millis;
use crate::config::Site;
use crate::lead::{Lead, LeadState, Transition};
use crate::metrics::UpstreamMethod;
use crate::site::SiteRuntime;

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

impl Pipeline {
    pub(super) async fn track_loop(self, shutdown: CancellationToken) {
        let states = FOLLOWED;
        let mut in_flight = InFlight::new(shutdown.clone());
        loop {
            match self.store.due(states, self.clock.now_ms(), BATCH).await {
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
        let next = self.clock.now_ms() + millis(self.poll_interval);
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
        let (Some(runtime), Some(Ok(id))) = (
            self.sites.get(&lead.site),
            lead.upstream_id.as_deref().map(CallId::parse),
        ) else {
            self.apply(&lead.id, Transition::halted("the call cannot be followed"))
                .await;
            return;
        };
        let SiteRuntime { site, client, .. } = &*runtime;
        // A call that has not ended a day after it was due is not followed for ever.
        let due_at = lead
            .request
            .time
            .map_or(lead.created_at, |t| t.saturating_mul(1000))
            .max(lead.created_at);
        if self.clock.now_ms() > due_at.saturating_add(millis(TRACK_DEADLINE)) {
            tracing::error!(lead = %lead.id, "the call never reached a final status; no longer followed");
            self.apply_from(
                &lead.id,
                FOLLOWED,
                Transition::halted("the call never reached a final status"),
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
                    next_attempt_at: self.clock.now_ms()
                        + millis(self.poll_interval.max(TRACK_ERROR_PAUSE)),
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
        let reading = read_call(
            info.status,
            info.attempt,
            lead,
            retries,
            self.clock.now_ms(),
        );
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
}
