//! What the visitor is told: CallKeeper's status pairs mapped to
//! [`protocol::CallState`]s, with messages in the site's language.
//!
//! Only what CallKeeper reported is shown; CallKeeper's call id and its raw
//! reasons never reach the widget.

use callkeeper::{Outcome, StatusPair};
use protocol::{CallState, CallStatus, FailureReason};

use crate::store::{Lead, LeadState};

/// Seconds from an accepted order until the visitor's phone usually rings:
/// CallKeeper dials the company first and the visitor once someone answers.
const ETA_AFTER_ORDER: u32 = 20;
/// Seconds from the start of the call until the visitor's phone usually rings.
const ETA_IN_PROGRESS: u32 = 8;

/// The lead state and failure reason a CallKeeper status pair means.
pub fn classify(pair: StatusPair, scheduled_for_later: bool) -> (LeadState, Option<FailureReason>) {
    use FailureReason as R;
    match pair.outcome() {
        Outcome::InProgress => (LeadState::InProgress, None),
        Outcome::Scheduled if scheduled_for_later => (LeadState::Scheduled, None),
        Outcome::Scheduled => (LeadState::Ordered, None),
        Outcome::Success | Outcome::Test => (LeadState::Succeeded, None),
        Outcome::VisitorSideFailure => {
            let reason = match pair.code2 {
                486 | 600 => R::Busy,
                404 | 410 | 484 => R::InvalidNumber,
                _ => R::NoAnswer,
            };
            (LeadState::Failed, Some(reason))
        }
        Outcome::ManagerSideFailure => (LeadState::Failed, Some(R::CompanyUnavailable)),
        Outcome::CancelledOrBlocked => {
            let reason = match pair.code {
                702 => R::Closed,
                709 | 718 => R::InvalidNumber,
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
pub fn visitor_status(lead: &Lead, locale: &str) -> CallStatus {
    let (state, reason) = match lead.state {
        LeadState::Received | LeadState::Sending => (CallState::Received, None),
        LeadState::Queued => (CallState::Queued, None),
        LeadState::Ordered => (CallState::Ordered, None),
        LeadState::Scheduled => (CallState::Scheduled, None),
        LeadState::InProgress => (CallState::InProgress, None),
        LeadState::Succeeded => (CallState::Succeeded, None),
        LeadState::Failed => (
            CallState::Failed,
            lead.reason.as_deref().and_then(parse_reason),
        ),
        LeadState::Halted => (CallState::Failed, Some(FailureReason::NotOrdered)),
    };
    let eta_seconds = match state {
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
        at: lead.request.time,
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

fn message(state: CallState, reason: Option<FailureReason>, locale: &str) -> &'static str {
    use FailureReason as R;
    let en = locale == "en";
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
        (CallState::Scheduled, _) => pick("Звонок запланирован", "Call scheduled"),
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
