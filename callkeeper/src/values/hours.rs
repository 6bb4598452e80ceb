//! When the company takes calls: weekdays, a day's hours, the week's opening hours.

use std::fmt;
use std::str::FromStr;

use super::ValueError;

/// A day of the week, in CallKeeper's order (Monday first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Weekday {
    /// Понедельник.
    Monday,
    /// Вторник.
    Tuesday,
    /// Среда.
    Wednesday,
    /// Четверг.
    Thursday,
    /// Пятница.
    Friday,
    /// Суббота.
    Saturday,
    /// Воскресенье.
    Sunday,
}

impl Weekday {
    /// All seven, Monday first.
    pub const ALL: [Self; 7] = [
        Self::Monday,
        Self::Tuesday,
        Self::Wednesday,
        Self::Thursday,
        Self::Friday,
        Self::Saturday,
        Self::Sunday,
    ];

    /// 0 for Monday … 6 for Sunday.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The day before (Sunday before Monday).
    pub fn previous(self) -> Self {
        Self::ALL[(self.index() + 6) % 7]
    }

    /// The weekday of a Unix time at the given UTC offset.
    pub fn of_unix(secs: i64, offset_minutes: i32) -> Self {
        let local_days = (secs + i64::from(offset_minutes) * 60).div_euclid(86_400);
        // 1970-01-01 was a Thursday (index 3).
        let index = usize::try_from((local_days + 3).rem_euclid(7)).unwrap_or(0);
        Self::ALL[index]
    }
}

/// One day of [`OpeningHours`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DayHours {
    /// `00000000`: no calls that day.
    Closed,
    /// Open from `start_minute` to `end_minute` after midnight (0–1440).
    /// `00002400` is `0..1440`. When `end_minute < start_minute` the hours
    /// span midnight into the next day (`22000600`).
    Open {
        /// Minute of the day the company starts taking calls.
        start_minute: u16,
        /// Minute of the day it stops (exclusive); may be less than the start.
        end_minute: u16,
    },
}

impl DayHours {
    fn parse(group: &str) -> Result<Self, String> {
        let number = |range: std::ops::Range<usize>| -> Result<u16, String> {
            group
                .get(range)
                .and_then(|s| s.parse::<u16>().ok())
                .ok_or_else(|| format!("{group:?} is not eight digits"))
        };
        let (sh, sm, eh, em) = (number(0..2)?, number(2..4)?, number(4..6)?, number(6..8)?);
        if sm > 59 || em > 59 || sh > 23 || eh > 24 || (eh == 24 && em != 0) {
            return Err(format!("{group:?} has an hour or minute out of range"));
        }
        let (start, end) = (sh * 60 + sm, eh * 60 + em);
        match (start, end) {
            (0, 0) => Ok(Self::Closed),
            (s, e) if s == e => Err(format!(
                "{group:?} starts and ends at the same time; use 00000000 for closed or 00002400 for all day"
            )),
            (s, 1440) => Ok(Self::Open {
                start_minute: s,
                end_minute: 1440,
            }),
            (s, e) => Ok(Self::Open {
                start_minute: s,
                end_minute: e,
            }),
        }
    }

    fn write(self, out: &mut String) {
        let (start, end) = match self {
            Self::Closed => (0, 0),
            Self::Open {
                start_minute,
                end_minute,
            } => (start_minute, end_minute),
        };
        out.push_str(&format!(
            "{:02}{:02}{:02}{:02}",
            start / 60,
            start % 60,
            end / 60,
            end % 60
        ));
    }
}

/// When the company takes calls (`opening_hours`, `schedule`): `09001800`
/// for every day, or seven such groups, Monday first.
///
/// ```
/// use callkeeper::{DayHours, OpeningHours, Weekday};
/// let hours: OpeningHours = "09001800".parse().unwrap();
/// assert!(hours.is_open_at(Weekday::Monday, 9 * 60));
/// assert!(!hours.is_open_at(Weekday::Monday, 18 * 60));
///
/// let night: OpeningHours = "22000600".parse().unwrap();
/// assert!(night.is_open_at(Weekday::Tuesday, 3 * 60)); // Monday's shift, after midnight
/// assert_eq!(night.day(Weekday::Friday), DayHours::Open { start_minute: 1320, end_minute: 360 });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OpeningHours {
    days: [DayHours; 7],
}

impl OpeningHours {
    /// Parses the documented wire form.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        let err = |why: String| ValueError::OpeningHours(why);
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(format!(
                "{:?} has characters other than digits",
                s.chars().take(60).collect::<String>()
            )));
        }
        match s.len() {
            8 => Ok(Self::every_day(DayHours::parse(s).map_err(err)?)),
            56 => {
                let mut days = [DayHours::Closed; 7];
                for (index, day) in days.iter_mut().enumerate() {
                    *day = DayHours::parse(&s[index * 8..index * 8 + 8]).map_err(err)?;
                }
                Ok(Self { days })
            }
            n => Err(err(format!("expected 8 or 56 digits, got {n}"))),
        }
    }

    /// The same hours every day.
    pub fn every_day(hours: DayHours) -> Self {
        Self { days: [hours; 7] }
    }

    /// Hours per day, Monday first.
    pub fn from_days(days: [DayHours; 7]) -> Self {
        Self { days }
    }

    /// The hours of one day.
    pub fn day(&self, weekday: Weekday) -> DayHours {
        self.days[weekday.index()]
    }

    /// All seven days, Monday first.
    pub fn days(&self) -> [DayHours; 7] {
        self.days
    }

    /// True when no day has any hours (CallKeeper cancels such calls, 702).
    pub fn is_always_closed(&self) -> bool {
        self.days.iter().all(|day| *day == DayHours::Closed)
    }

    /// Whether calls are taken at `minute` (0–1439) of `weekday`, counting
    /// the previous day's hours that run past midnight.
    pub fn is_open_at(&self, weekday: Weekday, minute: u16) -> bool {
        let today = match self.day(weekday) {
            DayHours::Closed => false,
            DayHours::Open {
                start_minute,
                end_minute,
            } if end_minute > start_minute => (start_minute..end_minute).contains(&minute),
            DayHours::Open { start_minute, .. } => minute >= start_minute,
        };
        let spill = match self.day(weekday.previous()) {
            DayHours::Open {
                start_minute,
                end_minute,
            } if end_minute < start_minute => minute < end_minute,
            _ => false,
        };
        today || spill
    }
}

/// The wire form: eight digits when every day is the same, else 56.
impl fmt::Display for OpeningHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::with_capacity(56);
        if self.days.iter().all(|day| *day == self.days[0]) {
            self.days[0].write(&mut out);
        } else {
            for day in self.days {
                day.write(&mut out);
            }
        }
        f.write_str(&out)
    }
}

impl FromStr for OpeningHours {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
