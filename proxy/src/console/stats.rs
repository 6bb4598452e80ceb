//! The console's numbers: today's counts of a site and the last 14 days,
//! counted from [`LeadOutcome`]s the store read (no personal data). Days
//! are UTC days, said so on the page: one rule for every site and every
//! owner, and the same days as the CSV's UTC times.

use std::collections::BTreeMap;

use crate::lead::LeadState;
use crate::store::LeadOutcome;

/// A day in milliseconds.
pub(super) const DAY_MS: i64 = 24 * 3600 * 1000;
/// How many days the charts show.
pub(super) const CHART_DAYS: usize = 14;

/// The start of the UTC day `at` falls in (Unix ms).
pub(super) fn day_start(at: i64) -> i64 {
    at.div_euclid(DAY_MS) * DAY_MS
}

/// One site's leads of one period, by what became of them. Test leads (from
/// the install preview) are counted apart, never as visitors'.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Counts {
    /// Every visitor's lead stored in the period.
    pub(super) ordered: u64,
    /// The call went through.
    pub(super) succeeded: u64,
    /// The call did not go through, by reason.
    pub(super) failed: BTreeMap<String, u64>,
    /// CallKeeper scheduled the call.
    pub(super) scheduled: u64,
    /// Waiting for an operator's resend.
    pub(super) halted: u64,
    /// Still on its way (received … in progress).
    pub(super) in_flight: u64,
    /// Leads ordered from the console's preview.
    pub(super) tests: u64,
}

impl Counts {
    /// Counts `outcomes`.
    pub(super) fn of<'a>(outcomes: impl IntoIterator<Item = &'a LeadOutcome>) -> Self {
        let mut counts = Self::default();
        for outcome in outcomes {
            if outcome.test {
                counts.tests += 1;
                continue;
            }
            counts.ordered += 1;
            match outcome.state {
                LeadState::Succeeded => counts.succeeded += 1,
                LeadState::Failed => {
                    let reason = outcome.reason.clone().unwrap_or_default();
                    *counts.failed.entry(reason).or_default() += 1;
                }
                LeadState::Scheduled => counts.scheduled += 1,
                LeadState::Halted => counts.halted += 1,
                LeadState::Received
                | LeadState::Queued
                | LeadState::Sending
                | LeadState::Ordered
                | LeadState::InProgress => counts.in_flight += 1,
            }
        }
        counts
    }

    /// Every failed lead, whatever the reason.
    pub(super) fn failed_total(&self) -> u64 {
        self.failed.values().sum()
    }
}

/// The counts of each of the [`CHART_DAYS`] UTC days up to and including
/// `now`'s, oldest first, with each day's start.
pub(super) fn by_day(outcomes: &[LeadOutcome], now: i64) -> Vec<(i64, Counts)> {
    let today = day_start(now);
    (0..CHART_DAYS as i64)
        .rev()
        .map(|back| {
            let start = today - back * DAY_MS;
            let counts = Counts::of(
                outcomes
                    .iter()
                    .filter(|o| (start..start + DAY_MS).contains(&o.created_at)),
            );
            (start, counts)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(created_at: i64, state: LeadState, reason: Option<&str>, test: bool) -> LeadOutcome {
        LeadOutcome {
            site: "shop".to_owned(),
            created_at,
            state,
            reason: reason.map(str::to_owned),
            test,
        }
    }

    #[test]
    fn leads_are_counted_by_outcome_and_tests_apart() {
        let outcomes = [
            outcome(1, LeadState::Succeeded, None, false),
            outcome(2, LeadState::Failed, Some("busy"), false),
            outcome(3, LeadState::Failed, Some("busy"), false),
            outcome(4, LeadState::Failed, Some("no answer"), false),
            outcome(5, LeadState::Halted, Some("key refused"), false),
            outcome(6, LeadState::Ordered, None, false),
            outcome(7, LeadState::Succeeded, None, true),
        ];
        let counts = Counts::of(&outcomes);
        assert_eq!(counts.ordered, 6);
        assert_eq!(counts.succeeded, 1);
        assert_eq!(counts.failed.get("busy"), Some(&2));
        assert_eq!(counts.failed_total(), 3);
        assert_eq!((counts.halted, counts.in_flight, counts.tests), (1, 1, 1));
    }

    #[test]
    fn days_are_utc_days_ending_today() {
        let now = 20 * DAY_MS + 5_000;
        let outcomes = [
            outcome(20 * DAY_MS, LeadState::Succeeded, None, false),
            outcome(20 * DAY_MS - 1, LeadState::Failed, Some("busy"), false),
            outcome(6 * DAY_MS, LeadState::Succeeded, None, false),
        ];
        let days = by_day(&outcomes, now);
        assert_eq!(days.len(), CHART_DAYS);
        assert_eq!(days[CHART_DAYS - 1].0, 20 * DAY_MS);
        assert_eq!(days[CHART_DAYS - 1].1.succeeded, 1);
        assert_eq!(days[CHART_DAYS - 2].1.failed_total(), 1);
        assert_eq!(days[0].0, 7 * DAY_MS, "day 6 is 15 days back: not shown");
        assert_eq!(days.iter().map(|(_, c)| c.ordered).sum::<u64>(), 2);
    }
}
