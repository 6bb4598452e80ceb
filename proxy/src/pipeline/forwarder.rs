//! The forwarder: sends each stored lead to CallKeeper with `orderCall`,
//! once, claiming it first, reconciling a send left in doubt, and retrying
//! what is worth retrying (see the delivery notes in [`super`]).

use std::time::Duration;

use callkeeper::{Client, DateRange, ErrorClass, W3cDate};
use protocol::{FailureReason, PhoneNumber};
use tokio_util::sync::CancellationToken;

use super::order::order_for;
use super::{BATCH, InFlight, Pipeline, backoff, fail};
use crate::clock::millis;
use crate::lead::{Lead, LeadState, Transition};
use crate::metrics::UpstreamMethod;
use crate::site::SiteRuntime;
use crate::store::SendClaim;

/// Time left in a lease after the slowest upstream answer, to write the outcome.
const WRITE_MARGIN: Duration = Duration::from_secs(15);

/// The deadlines and leases of one send, from the site's CallKeeper
/// timeout (`upstream_timeout_seconds`).
#[derive(Debug, Clone, Copy)]
struct SendDeadlines {
    /// The longest a reconciliation (getCallsInfo) or an orderCall may take
    /// here: the client's request timeout, enforced again around the call so
    /// the leases hold whatever the client does.
    request: Duration,
}

impl SendDeadlines {
    fn for_timeout(upstream_timeout: Duration) -> Self {
        Self {
            request: upstream_timeout.saturating_add(Duration::from_secs(2)),
        }
    }

    /// A claim's first lease: one in-doubt send's reconciliation and its
    /// orderCall, each at its deadline, and the write. Renewed to
    /// [`Self::order_lease`] right before the orderCall, so a sender whose
    /// lease ran out never starts an orderCall, and one that started
    /// finishes within its lease. Only a dead (or frozen) sender's claim
    /// runs out, and its writes are then refused by the claim's fence.
    fn claim_lease(self) -> Duration {
        self.request
            .saturating_add(self.request)
            .saturating_add(WRITE_MARGIN)
    }

    /// The lease from the start of an orderCall.
    fn order_lease(self) -> Duration {
        self.request.saturating_add(WRITE_MARGIN)
    }
}

/// How long a claim on a lead of a site whose CallKeeper requests may take
/// `upstream_timeout` holds at most: after it, a sender that died is
/// replaced (its lead reconciled and sent again).
pub fn send_lease(upstream_timeout: Duration) -> Duration {
    SendDeadlines::for_timeout(upstream_timeout).claim_lease()
}

/// When a send whose lease ends at `lease_until` can no longer be under
/// way: every upstream request it may have started has passed its
/// deadline (the lease keeps [`WRITE_MARGIN`] beyond the last one). Until
/// then, a call its orderCall placed may not be listed yet.
pub(super) fn in_doubt_until(lease_until: i64) -> i64 {
    lease_until.saturating_sub(millis(WRITE_MARGIN))
}
/// How far before the send we look for an in-doubt order in CallKeeper's
/// records (clocks differ; CallKeeper stamps the call when it takes it).
pub(super) const RECONCILE_SLACK_MS: i64 = 60_000;

impl Pipeline {
    pub(super) async fn forward_loop(self, shutdown: CancellationToken) {
        let mut in_flight = InFlight::new(shutdown.clone());
        loop {
            let due = self
                .store
                // Sending leads are due only once their lease ran out: their sender died.
                .due(
                    &[LeadState::Received, LeadState::Queued, LeadState::Sending],
                    self.clock.now_ms(),
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
        let Some(runtime) = self.sites.get(&lead.site) else {
            self.apply(
                &lead.id,
                Transition::halted("the site is no longer configured"),
            )
            .await;
            return;
        };
        let SiteRuntime { site, client, .. } = &*runtime;
        let deadlines = SendDeadlines::for_timeout(site.upstream_timeout);
        let Ok(phone) = PhoneNumber::from_digits(&lead.phone) else {
            self.apply(&lead.id, fail(FailureReason::InvalidNumber))
                .await;
            return;
        };
        // Claim first: of several workers or replicas that picked the lead,
        // one goes on, and it holds the lead while it reconciles and sends.
        let lease_until = self.clock.now_ms() + millis(deadlines.claim_lease());
        let claim = match self
            .store
            .claim_for_sending(&lead.id, self.clock.now_ms(), lease_until, lead.sent_at)
            .await
        {
            Ok(Some(claim)) => {
                if lead.state == LeadState::Sending {
                    // Only a send whose lease ran out is claimable: its
                    // sender (another replica, or this one's last life) died.
                    tracing::warn!(lead = %lead.id, "a send was interrupted (its lease ran out); reconciling before resending");
                }
                self.changes.publish(&lead.id);
                claim
            }
            Ok(None) => return,
            Err(error) => {
                tracing::error!(lead = %lead.id, %error, "cannot claim the lead for sending");
                return;
            }
        };
        if lead.in_doubt {
            let reconciled = tokio::time::timeout(deadlines.request, self.reconcile(&lead, client))
                .await
                .unwrap_or(Err(callkeeper::Error::Timeout));
            match reconciled {
                Ok(Some(id)) => {
                    self.metrics.order_reconciled(&lead.site);
                    tracing::info!(lead = %lead.id, "an interrupted order had reached CallKeeper; following it");
                    self.apply_sent(&lead.id, claim, self.ordered(&lead, id))
                        .await;
                    return;
                }
                Ok(None) => {}
                Err(error) if error.class() == ErrorClass::Configuration => {
                    tracing::error!(lead = %lead.id, %error, "cannot reconcile an interrupted order: CallKeeper refuses the account");
                    self.apply_sent(
                        &lead.id,
                        claim,
                        Transition {
                            count_attempt: true,
                            in_doubt: Some(true),
                            ..Transition::halted(&error.to_string())
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
                    self.apply_sent(&lead.id, claim, change).await;
                    return;
                }
            }
        }
        // Renew the lease for the orderCall: if another sender took the
        // lead meanwhile (this one was too slow), do not send.
        let lease_until = self.clock.now_ms() + millis(deadlines.order_lease());
        match self.store.renew_claim(&lead.id, claim, lease_until).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(lead = %lead.id, "the send lease ran out before orderCall; another sender has the lead");
                return;
            }
            Err(error) => {
                // Unknown whether the claim still holds: do not send; the
                // lease runs out and the lead is reconciled and sent then.
                tracing::error!(lead = %lead.id, %error, "cannot renew the send lease; not sending now");
                return;
            }
        }
        let order = order_for(&lead, site, phone);
        let answer = tokio::time::timeout(
            deadlines.request,
            self.metrics.order_call(&lead, client.order_call(&order)),
        )
        .await
        .unwrap_or(Err(callkeeper::Error::Timeout));
        let change = match answer {
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
                        ..Transition::halted(&error.to_string())
                    }
                }
            },
        };
        self.apply_sent(&lead.id, claim, change).await;
    }

    /// Records the outcome of a send, only while this sender's claim holds:
    /// a sender whose lease ran out and whose lead another sender claimed
    /// writes nothing (the other's outcome stands).
    async fn apply_sent(&self, id: &str, claim: SendClaim, change: Transition) {
        let state = change.state;
        match self
            .store
            .transition_claimed(id, claim, &change, self.clock.now_ms())
            .await
        {
            Ok(true) => {
                self.metrics.transition(state);
                self.changes.publish(id);
            }
            Ok(false) => tracing::warn!(lead = %id,
                "a send's outcome came after its lease ran out and another sender took the lead; it was not written"),
            Err(error) => tracing::error!(lead = %id, %error, "cannot record the lead's new state"),
        }
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
            next_attempt_at: self.clock.now_ms() + millis(self.poll_interval),
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
        if self.clock.now_ms() > deadline {
            tracing::error!(lead = %lead.id, site = %lead.site,
                "CallKeeper stayed unreachable past the deadline; the lead is halted (resend it with `proxy leads resend`)");
            return Transition {
                in_doubt: Some(in_doubt),
                ..Transition::halted("CallKeeper was unreachable until the deadline")
            };
        }
        Transition {
            state: Some(LeadState::Queued),
            next_attempt_at: self.clock.now_ms() + millis(delay),
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
    pub(super) async fn calls_to(
        &self,
        lead: &Lead,
        client: &Client,
        since_ms: i64,
    ) -> Result<Vec<callkeeper::CallInfo>, callkeeper::Error> {
        let since = since_ms.div_euclid(1000);
        let until = self.clock.now_ms().div_euclid(1000) + RECONCILE_SLACK_MS / 1000;
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
                crate::phone_policy::same_number(&lead.phone, &call.client_digits())
                    && dated(call).is_some_and(|at| at >= since)
            })
            .collect();
        calls.sort_by_key(|call| std::cmp::Reverse(dated(call)));
        Ok(calls)
    }
}
