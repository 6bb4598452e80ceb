//! The lead: one visitor's callback request, where it is in its life, and
//! the changes the workers make to it.
//!
//! These are the words the rest of the proxy speaks (HTTP, pipeline,
//! metrics, the operator CLI); how a lead is kept is [`crate::store`]'s
//! business, and nothing here knows about SQL.

use std::str::FromStr;

use protocol::CallbackRequest;

/// Where a lead is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadState {
    /// Stored; the forwarder has not sent it yet.
    Received,
    /// A send failed for a reason worth retrying; waiting for `next_attempt_at`.
    Queued,
    /// Being sent to CallKeeper; if the proxy dies now, the send is in doubt.
    Sending,
    /// CallKeeper accepted it; the tracker follows the call.
    Ordered,
    /// CallKeeper scheduled the call.
    Scheduled,
    /// The call is happening.
    InProgress,
    /// The call went through.
    Succeeded,
    /// The call did not go through (final).
    Failed,
    /// Not sent because of a configuration or account problem; an operator resends it.
    Halted,
}

impl LeadState {
    const ALL: [(Self, &'static str); 9] = [
        (Self::Received, "received"),
        (Self::Queued, "queued"),
        (Self::Sending, "sending"),
        (Self::Ordered, "ordered"),
        (Self::Scheduled, "scheduled"),
        (Self::InProgress, "in_progress"),
        (Self::Succeeded, "succeeded"),
        (Self::Failed, "failed"),
        (Self::Halted, "halted"),
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("received", |(_, n)| n)
    }

    /// Whether the lead will not change any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Halted)
    }
}

/// A name that is not one of [`LeadState`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown lead state {0:?}")]
pub struct UnknownLeadState(pub String);

impl FromStr for LeadState {
    type Err = UnknownLeadState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .find(|(_, name)| *name == s)
            .map(|(state, _)| *state)
            .ok_or_else(|| UnknownLeadState(s.to_owned()))
    }
}

/// A lead as stored. Times are Unix milliseconds.
#[derive(Debug, Clone)]
pub struct Lead {
    /// The status token.
    pub id: String,
    /// The site it came from.
    pub site: String,
    /// Hash of the body it was created with.
    pub body_hash: String,
    /// The visitor's number, digits only.
    pub phone: String,
    /// The visitor's address.
    pub ip: Option<String>,
    /// The validated request.
    pub request: CallbackRequest,
    /// Where it is.
    pub state: LeadState,
    /// Why it failed or halted.
    pub reason: Option<String>,
    /// CallKeeper's call id.
    pub upstream_id: Option<String>,
    /// CallKeeper's last `status_code`/`status2_code`.
    pub status: Option<(u16, u16)>,
    /// orderCall attempts so far.
    pub attempts: u32,
    /// When a worker looks at it next.
    pub next_attempt_at: i64,
    /// Bumped on every visible change.
    pub version: i64,
    /// When it was stored.
    pub created_at: i64,
    /// When the last orderCall began.
    pub sent_at: Option<i64>,
    /// Whether the last orderCall may have been placed without our knowing.
    pub in_doubt: bool,
    /// Until when the lead is retried while CallKeeper is unreachable;
    /// unset means the configured deadline after `created_at`.
    pub deadline_at: Option<i64>,
    /// Which of CallKeeper's attempts the call is on (0 before the first).
    pub call_attempt: u32,
    /// When CallKeeper's next attempt is expected.
    pub next_call_at: Option<i64>,
    /// When it last changed.
    pub updated_at: i64,
    /// Ordered from the console's install preview, not by a visitor.
    pub test: bool,
}

impl Lead {
    /// The consent the visitor gave, if any: (text version, when given).
    pub fn consent(&self) -> Option<(&str, i64)> {
        self.request
            .consent
            .as_ref()
            .filter(|c| c.accepted)
            .map(|c| (c.version.as_str(), self.created_at))
    }
}

/// `request` without the visitor's personal data (number, name, e-mail,
/// user agent, analytics ids, the site's extra keys); what the business
/// needs (pages, UTM tags, the consent given) stays. The retention job keeps
/// this and nothing more of an old lead.
pub fn without_personal_data(mut request: CallbackRequest) -> CallbackRequest {
    // A page's query string can carry anything (an e-mail, a click id);
    // the page itself is business data and stays.
    for url in [
        &mut request.context.current_page,
        &mut request.context.referrer,
    ]
    .into_iter()
    .flatten()
    {
        url.truncate(url.find(['?', '#']).unwrap_or(url.len()));
    }
    request.phone.clear();
    request.name = None;
    request.email = None;
    request.context.user_agent = None;
    request.context.ga_client_id = None;
    request.context.roistat_visit = None;
    request.context.calltouch_session = None;
    request.context.extra.clear();
    request
}

/// A lead to insert.
#[derive(Debug, Clone)]
pub struct NewLead {
    /// The status token.
    pub id: String,
    /// The site.
    pub site: String,
    /// The widget's `Idempotency-Key`.
    pub idempotency_key: String,
    /// Hash of the body.
    pub body_hash: String,
    /// Digits.
    pub phone: String,
    /// The visitor's address.
    pub ip: Option<String>,
    /// The validated request.
    pub request: CallbackRequest,
    /// When it arrived (Unix ms).
    pub now: i64,
    /// Ordered from the console's install preview (a page of the console's
    /// origin), not by a visitor of the site.
    pub test: bool,
}

/// A change of a lead's state, written by the forwarder or the tracker.
/// Times are Unix milliseconds; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct Transition {
    /// The new state.
    pub state: Option<LeadState>,
    /// Why (for failed and halted).
    pub reason: Option<String>,
    /// CallKeeper's call id, once known.
    pub upstream_id: Option<String>,
    /// CallKeeper's status pair.
    pub status: Option<(u16, u16)>,
    /// Count one more orderCall attempt.
    pub count_attempt: bool,
    /// When to look again.
    pub next_attempt_at: i64,
    /// When an orderCall begins.
    pub sent_at: Option<i64>,
    /// Mark (or clear) the send as in doubt.
    pub in_doubt: Option<bool>,
    /// CallKeeper's attempt number.
    pub call_attempt: Option<u32>,
    /// When CallKeeper's next attempt is expected.
    pub next_call_at: Option<i64>,
}

impl Transition {
    /// Final: the call did not go through, for `reason` (the visitor's word for it).
    pub fn failed(reason: &str) -> Self {
        Self {
            state: Some(LeadState::Failed),
            reason: Some(reason.to_owned()),
            next_attempt_at: i64::MAX,
            in_doubt: Some(false),
            ..Default::default()
        }
    }

    /// Final until an operator resends it: `why` is for the operator.
    pub fn halted(why: &str) -> Self {
        Self {
            state: Some(LeadState::Halted),
            reason: Some(why.to_owned()),
            next_attempt_at: i64::MAX,
            in_doubt: Some(false),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_from_its_stored_name() {
        for (state, name) in LeadState::ALL {
            assert_eq!(state.as_str(), name);
            assert_eq!(name.parse::<LeadState>(), Ok(state));
        }
        assert_eq!(
            "lost".parse::<LeadState>(),
            Err(UnknownLeadState("lost".to_owned()))
        );
    }
}
