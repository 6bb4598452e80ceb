//! What the visitor is told: CallKeeper's status pairs mapped to
//! [`protocol::CallState`]s, with messages in the site's language.
//!
//! Only what CallKeeper reported is shown; CallKeeper's call id and its raw
//! reasons never reach the widget.

use callkeeper::{Outcome, StatusPair};
use protocol::{CallState, CallStatus, FailureReason, Locale};

use crate::lead::{Lead, LeadState};

/// Seconds from an accepted order until the visitor's phone usually rings:
/// CallKeeper dials the company first and the visitor once someone answers.
const ETA_AFTER_ORDER: u32 = 20;
/// Seconds from the start of the call until the visitor's phone usually rings.
const ETA_IN_PROGRESS: u32 = 8;

/// How long past the expected next attempt a failure still counts as "to be
/// retried" before it is taken as final (CallKeeper does not retry every kind
/// of failure, and does not say which it will).
const RETRY_GRACE_MS: i64 = 120_000;

/// What a `getCallInfo` reading means for the lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// The lead's new state.
    pub state: LeadState,
    /// Why the call (or its last attempt) failed.
    pub reason: Option<FailureReason>,
    /// When CallKeeper's next attempt is expected (unix ms), between retries.
    pub next_call_at: Option<i64>,
    /// For operators: why a lead is halted.
    pub note: Option<String>,
}

impl Reading {
    /// The stored reason: the operator's note, else the visitor's reason.
    pub fn stored_reason(&self) -> Option<String> {
        self.note
            .clone()
            .or_else(|| self.reason.map(|r| reason_name(r).to_owned()))
    }
}

/// Reads a call's status pair and attempt number, given the site's retry
/// intervals (`interval`, minutes between attempts) and what we knew before.
///
/// A failed attempt is not final while attempts remain: it is shown as
/// scheduled, with the reason and when the next attempt should come.
pub fn read_call(
    pair: StatusPair,
    attempt: u32,
    lead: &Lead,
    retries: &[u32],
    now_ms: i64,
) -> Reading {
    let (state, reason) = classify(pair, lead.request.time.is_some());
    let retry_in = retries
        .get(attempt.saturating_sub(1) as usize)
        .map_or(0, |minutes| i64::from(*minutes) * 60_000);
    // Keep the first estimate for an attempt, so the visitor's "next call at" does not drift.
    let expected = match lead.next_call_at {
        Some(at) if lead.call_attempt == attempt => at,
        _ => now_ms + retry_in,
    };
    let attempts_remain = attempt >= 1 && (attempt as usize) <= retries.len();
    // The account (balance, paid period, cost cap) or a disabled widget: an
    // operator's problem, and the lead can be resent once it is fixed.
    if pair.outcome() == Outcome::Billing || pair.code == 710 {
        let what = pair.info().map_or("", |info| info.short);
        return Reading {
            state: LeadState::Halted,
            reason: Some(FailureReason::NotOrdered),
            next_call_at: None,
            note: Some(format!("CallKeeper ended the call with {pair}: {what}")),
        };
    }
    match pair.outcome() {
        Outcome::Scheduled if attempt >= 1 => Reading {
            state: LeadState::Scheduled,
            reason: None,
            next_call_at: Some(expected),
            note: None,
        },
        Outcome::VisitorSideFailure | Outcome::ManagerSideFailure
            if attempts_remain && now_ms <= expected + RETRY_GRACE_MS =>
        {
            Reading {
                state: LeadState::Scheduled,
                reason,
                next_call_at: Some(expected),
                note: None,
            }
        }
        _ => Reading {
            state,
            reason,
            next_call_at: None,
            note: None,
        },
    }
}

/// The lead state and failure reason a CallKeeper status pair means.
pub fn classify(pair: StatusPair, scheduled_for_later: bool) -> (LeadState, Option<FailureReason>) {
    use FailureReason as R;
    match pair.outcome() {
        Outcome::InProgress => (LeadState::InProgress, None),
        Outcome::Scheduled if scheduled_for_later => (LeadState::Scheduled, None),
        Outcome::Scheduled => (LeadState::Ordered, None),
        Outcome::Success | Outcome::Test => (LeadState::Succeeded, None),
        Outcome::VisitorSideFailure => {
            let reason = match (pair.code, pair.code2) {
                (_, 486 | 600) => R::Busy,
                (709 | 718, _) | (_, 404 | 410 | 484) => R::InvalidNumber,
                _ => R::NoAnswer,
            };
            (LeadState::Failed, Some(reason))
        }
        Outcome::ManagerSideFailure => (LeadState::Failed, Some(R::CompanyUnavailable)),
        Outcome::CancelledOrBlocked => {
            let reason = match pair.code {
                702 => R::Closed,
                _ => R::Cancelled,
            };
            (LeadState::Failed, Some(reason))
        }
        Outcome::Billing => (LeadState::Failed, Some(R::NotOrdered)),
        // A pair the table does not know: keep following the call.
        Outcome::Unknown => (LeadState::Ordered, None),
    }
}

/// The visitor's view of a lead.
pub fn visitor_status(lead: &Lead, locale: Locale) -> CallStatus {
    let (state, reason) = match lead.state {
        LeadState::Received | LeadState::Sending => (CallState::Received, None),
        LeadState::Queued => (CallState::Queued, None),
        LeadState::Ordered => (CallState::Ordered, None),
        LeadState::Scheduled => (
            CallState::Scheduled,
            lead.reason.as_deref().and_then(parse_reason),
        ),
        LeadState::InProgress => (CallState::InProgress, None),
        LeadState::Succeeded => (CallState::Succeeded, None),
        LeadState::Failed => (
            CallState::Failed,
            lead.reason.as_deref().and_then(parse_reason),
        ),
        LeadState::Halted => (CallState::Failed, Some(FailureReason::NotOrdered)),
    };
    let eta_seconds = match state {
        // A call for a chosen time has no countdown: it rings at that time.
        CallState::Received | CallState::Ordered if lead.request.time.is_some() => None,
        CallState::Received | CallState::Ordered => Some(ETA_AFTER_ORDER),
        CallState::InProgress => Some(ETA_IN_PROGRESS),
        _ => None,
    };
    CallStatus {
        state,
        is_final: state.is_final(),
        reason,
        message: message(state, reason, locale).to_owned(),
        eta_seconds,
        at: match state {
            CallState::Scheduled => lead
                .next_call_at
                .map(|ms| ms.div_euclid(1000))
                .or(lead.request.time),
            _ => None,
        },
    }
}

/// The stored name of a failure reason.
pub fn reason_name(reason: FailureReason) -> &'static str {
    REASONS
        .iter()
        .find(|(r, _)| *r == reason)
        .map_or("cancelled", |(_, n)| n)
}

fn parse_reason(name: &str) -> Option<FailureReason> {
    REASONS.iter().find(|(_, n)| *n == name).map(|(r, _)| *r)
}

const REASONS: [(FailureReason, &str); 7] = [
    (FailureReason::Busy, "busy"),
    (FailureReason::NoAnswer, "no_answer"),
    (FailureReason::InvalidNumber, "invalid_number"),
    (FailureReason::CompanyUnavailable, "company_unavailable"),
    (FailureReason::Closed, "closed"),
    (FailureReason::Cancelled, "cancelled"),
    (FailureReason::NotOrdered, "not_ordered"),
];

fn message(state: CallState, reason: Option<FailureReason>, locale: Locale) -> &'static str {
    use FailureReason as R;
    let en = locale == Locale::En;
    let pick = |ru: &'static str, english: &'static str| if en { english } else { ru };
    match (state, reason) {
        (CallState::Received, _) => pick("Заявка принята", "Request received"),
        (CallState::Queued, _) => pick(
            "Заявка сохранена, соединяемся с телефонией…",
            "Request saved; connecting to the phone service…",
        ),
        (CallState::Ordered, _) => pick(
            "Звонок заказан, сейчас перезвоним",
            "Call ordered, we'll ring you shortly",
        ),
        (CallState::Scheduled, Some(R::Busy)) => pick(
            "Ваш номер был занят. Позвоним ещё раз",
            "Your line was busy. We'll call again",
        ),
        (CallState::Scheduled, Some(R::NoAnswer)) => pick(
            "Вы не ответили. Позвоним ещё раз",
            "You didn't answer. We'll call again",
        ),
        (CallState::Scheduled, Some(_)) => pick(
            "Не удалось соединить. Позвоним ещё раз",
            "We couldn't connect the call. We'll try again",
        ),
        (CallState::Scheduled, None) => pick("Звонок запланирован", "Call scheduled"),
        (CallState::InProgress, _) => pick(
            "Соединяем, ожидайте звонка",
            "Connecting, your phone will ring",
        ),
        (CallState::Succeeded, _) => pick(
            "Звонок состоялся. Спасибо!",
            "The call went through. Thank you!",
        ),
        (CallState::Failed, Some(R::Busy)) => pick("Ваш номер был занят", "Your line was busy"),
        (CallState::Failed, Some(R::NoAnswer)) => {
            pick("Вы не ответили на звонок", "You didn't answer the call")
        }
        (CallState::Failed, Some(R::InvalidNumber)) => pick(
            "Не удалось дозвониться: проверьте номер",
            "We couldn't call this number: please check it",
        ),
        (CallState::Failed, Some(R::CompanyUnavailable)) => pick(
            "Сотрудники сейчас не смогли ответить",
            "Our staff couldn't take the call just now",
        ),
        (CallState::Failed, Some(R::Closed)) => {
            pick("Сейчас нерабочее время", "We're closed right now")
        }
        (CallState::Failed, Some(R::NotOrdered)) => pick(
            "Не удалось заказать звонок. Мы уже разбираемся",
            "The call could not be ordered. We're on it",
        ),
        (CallState::Failed, _) => pick("Звонок отменён", "The call was cancelled"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(code: u16, code2: u16) -> StatusPair {
        StatusPair { code, code2 }
    }

    #[test]
    fn documented_pairs_map_to_visitor_states() {
        assert_eq!(classify(pair(1, 0), false), (LeadState::InProgress, None));
        assert_eq!(classify(pair(2, 0), true), (LeadState::Scheduled, None));
        assert_eq!(
            classify(pair(200, 200), false),
            (LeadState::Succeeded, None)
        );
        assert_eq!(
            classify(pair(200, 486), false),
            (LeadState::Failed, Some(FailureReason::Busy))
        );
        assert_eq!(
            classify(pair(200, 487), false),
            (LeadState::Failed, Some(FailureReason::NoAnswer))
        );
        assert_eq!(
            classify(pair(487, 0), false),
            (LeadState::Failed, Some(FailureReason::CompanyUnavailable))
        );
        assert_eq!(
            classify(pair(811, 0), false),
            (LeadState::Failed, Some(FailureReason::NotOrdered))
        );
        for invalid in [pair(709, 0), pair(718, 0), pair(200, 404), pair(200, 484)] {
            assert_eq!(
                classify(invalid, false),
                (LeadState::Failed, Some(FailureReason::InvalidNumber))
            );
        }
    }

    fn lead_with(call_attempt: u32, next_call_at: Option<i64>) -> Lead {
        Lead {
            id: String::new(),
            site: String::new(),
            body_hash: String::new(),
            phone: String::new(),
            ip: None,
            request: protocol::CallbackRequest::default(),
            state: LeadState::Ordered,
            reason: None,
            upstream_id: None,
            status: None,
            attempts: 1,
            next_attempt_at: 0,
            version: 1,
            created_at: 0,
            sent_at: None,
            in_doubt: false,
            deadline_at: None,
            call_attempt,
            next_call_at,
            updated_at: 0,
            test: false,
        }
    }

    #[test]
    fn a_failure_with_attempts_left_is_a_scheduled_retry_until_its_time_has_long_passed() {
        let retries = [5, 10];
        let busy = pair(200, 486);
        let reading = read_call(busy, 1, &lead_with(0, None), &retries, 1_000);
        assert_eq!(reading.state, LeadState::Scheduled);
        assert_eq!(reading.reason, Some(FailureReason::Busy));
        assert_eq!(
            reading.next_call_at,
            Some(1_000 + 5 * 60_000),
            "the first interval after attempt 1"
        );

        // The estimate stays put for the same attempt.
        let later = read_call(busy, 1, &lead_with(1, Some(301_000)), &retries, 60_000);
        assert_eq!(later.next_call_at, Some(301_000));

        // Long after the expected retry, the failure is final after all.
        let stale = read_call(
            busy,
            1,
            &lead_with(1, Some(301_000)),
            &retries,
            301_000 + RETRY_GRACE_MS + 1,
        );
        assert_eq!(stale.state, LeadState::Failed);

        // The last attempt failing is final.
        let last = read_call(busy, 3, &lead_with(2, None), &retries, 1_000);
        assert_eq!(
            (last.state, last.reason),
            (LeadState::Failed, Some(FailureReason::Busy))
        );

        // Between attempts CallKeeper says 2/0 with the attempt count: a retry, not a new order.
        let waiting = read_call(pair(2, 0), 2, &lead_with(1, None), &retries, 1_000);
        assert_eq!(waiting.state, LeadState::Scheduled);
        assert_eq!(waiting.next_call_at, Some(1_000 + 10 * 60_000));

        // Without intervals nothing is retried.
        assert_eq!(
            read_call(busy, 1, &lead_with(0, None), &[], 1_000).state,
            LeadState::Failed
        );
    }

    #[test]
    fn an_unknown_pair_is_not_final() {
        let (state, _) = classify(pair(999, 7), false);
        assert!(!state.is_final());
    }

    #[test]
    fn reason_names_round_trip() {
        for (reason, name) in REASONS {
            assert_eq!(reason_name(reason), name);
            assert_eq!(parse_reason(name), Some(reason));
        }
    }
}
