//! Moments and periods: Unix times (`time_to_call`), W3C dates and the
//! statistics methods' date ranges, and the calendar arithmetic under them.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{Utc, ValueError};

/// A moment as whole seconds since 1970-01-01 UTC (`time_to_call`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UnixTime(u64);

impl UnixTime {
    /// From seconds since the epoch.
    pub fn from_secs(secs: u64) -> Self {
        Self(secs)
    }

    /// Seconds since the epoch.
    pub fn as_secs(self) -> u64 {
        self.0
    }

    /// From a [`SystemTime`]; times before 1970 become 0.
    pub fn from_system_time(time: SystemTime) -> Self {
        Self(time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
    }

    /// As a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.0)
    }

    /// Parses a decimal number of seconds.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValueError::UnixTime(s.chars().take(30).collect()));
        }
        s.parse()
            .map(Self)
            .map_err(|_| ValueError::UnixTime(s.to_owned()))
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for UnixTime {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let month = i64::from(month);
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD HH:MM:SS` in UTC, the form the sandbox writes call dates in.
pub(crate) fn format_utc(secs: i64) -> String {
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// A W3C date (`2017-05-01`) or date-time (`2005-08-15T23:59:59`, optionally
/// with `Z` or `±hh:mm`), as the statistics methods take in `date[from]` and
/// `date[to]`. `T24:00:00` is accepted and means the end of that day.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct W3cDate {
    year: i64,
    month: u32,
    day: u32,
    /// Seconds after midnight (0–86400) when a time was given.
    time: Option<u32>,
    /// Minutes east of UTC when the text carried a zone designator.
    zone: Option<i32>,
    text: String,
}

impl W3cDate {
    /// Parses a date or a date-time.
    ///
    /// ```
    /// use callkeeper::W3cDate;
    /// let end = W3cDate::parse("2005-08-16T24:00:00").unwrap();
    /// let next = W3cDate::parse("2005-08-17").unwrap();
    /// assert_eq!(end.start_unix(0), next.start_unix(0));
    /// assert!(W3cDate::parse("2005-02-30").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        let bad = || ValueError::Date(s.chars().take(40).collect());
        let num = |part: Option<&str>, len: usize| -> Result<u32, ValueError> {
            part.filter(|p| p.len() == len && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse().ok())
                .ok_or_else(bad)
        };
        let (date_part, time_part) = match s.split_once(['T', 't']) {
            Some((date, time)) => (date, Some(time)),
            None => (s, None),
        };
        let mut fields = date_part.split('-');
        let year = num(fields.next(), 4)?;
        let month = num(fields.next(), 2)?;
        let day = num(fields.next(), 2)?;
        if fields.next().is_some() || !(1..=12).contains(&month) || day == 0 {
            return Err(bad());
        }
        let year = i64::from(year);
        if day > days_in_month(year, month) {
            return Err(bad());
        }
        let (time, zone) = match time_part {
            None => (None, None),
            Some(time) => {
                let (clock, zone) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
                    (clock, Some(0))
                } else if let Some(at) = time.rfind(['+', '-']) {
                    let offset = Utc::parse_offset(&time[at..]).ok_or_else(bad)?;
                    (&time[..at], Some(i32::from(offset)))
                } else {
                    (time, None)
                };
                let mut parts = clock.split(':');
                let hours = num(parts.next(), 2)?;
                let minutes = num(parts.next(), 2)?;
                let seconds = match parts.next() {
                    Some(sec) => {
                        // Fractions of a second are allowed by W3C; whole seconds are enough here.
                        let whole = sec.split_once('.').map_or(sec, |(whole, _)| whole);
                        num(Some(whole), 2)?
                    }
                    None => 0,
                };
                if parts.next().is_some() || minutes > 59 || seconds > 59 || hours > 24 {
                    return Err(bad());
                }
                if hours == 24 && (minutes != 0 || seconds != 0) {
                    return Err(bad());
                }
                (Some(hours * 3600 + minutes * 60 + seconds), zone)
            }
        };
        Ok(Self {
            year,
            month,
            day,
            time,
            zone,
            text: s.to_owned(),
        })
    }

    /// The UTC date-time of a Unix second, written with a `Z` designator.
    ///
    /// ```
    /// use callkeeper::W3cDate;
    /// assert_eq!(W3cDate::from_unix(1_700_000_000).start_unix(180), 1_700_000_000);
    /// ```
    pub fn from_unix(secs: i64) -> Self {
        let text = format!("{}Z", format_utc(secs).replacen(' ', "T", 1));
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        let time = u32::try_from(secs.rem_euclid(86_400)).unwrap_or(0);
        Self {
            year,
            month,
            day,
            time: Some(time),
            zone: Some(0),
            text,
        }
    }

    /// A plain date.
    pub fn date(year: u16, month: u8, day: u8) -> Result<Self, ValueError> {
        Self::parse(&format!("{year:04}-{month:02}-{day:02}"))
    }

    /// True when only a date was given (no time of day).
    pub fn is_date_only(&self) -> bool {
        self.time.is_none()
    }

    /// The Unix second this date (its midnight) or date-time starts at, read
    /// in the zone written in the text, else at `offset_minutes` east of UTC.
    pub fn start_unix(&self, offset_minutes: i32) -> i64 {
        let offset = self.zone.unwrap_or(offset_minutes);
        days_from_civil(self.year, self.month, self.day) * 86_400
            + i64::from(self.time.unwrap_or(0))
            - i64::from(offset) * 60
    }

    /// The last Unix second this bound covers when used as an end: the whole
    /// day for a plain date, the second itself for a date-time, and the end
    /// of the day for `T24:00:00`.
    pub fn end_unix_inclusive(&self, offset_minutes: i32) -> i64 {
        match self.time {
            None => self.start_unix(offset_minutes) + 86_399,
            Some(86_400) => self.start_unix(offset_minutes) - 1,
            Some(_) => self.start_unix(offset_minutes),
        }
    }
}

/// The text as it was given (the wire form).
impl fmt::Display for W3cDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for W3cDate {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The period a statistics method covers (`date[from]`, `date[to]`,
/// `time_zone`), or all time (a bare `date`).
///
/// ```
/// use callkeeper::{DateRange, W3cDate};
/// let may = DateRange::between(W3cDate::parse("2017-05-01").unwrap(), W3cDate::parse("2017-06-01").unwrap())
///     .with_time_zone("Europe/Moscow".parse().unwrap());
/// let all = DateRange::all_time();
/// # let _ = (may, all);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct DateRange {
    /// First day (or moment) included; `None` with `to: None` means all time.
    pub from: Option<W3cDate>,
    /// Last day (or moment) included.
    pub to: Option<W3cDate>,
    /// The zone `from` and `to` are read in (`time_zone`).
    pub time_zone: Option<Utc>,
}

impl DateRange {
    /// Every call ever made (`&date` with no value).
    pub fn all_time() -> Self {
        Self::default()
    }

    /// From `from` to `to`, both included.
    pub fn between(from: W3cDate, to: W3cDate) -> Self {
        Self {
            from: Some(from),
            to: Some(to),
            time_zone: None,
        }
    }

    /// The same range read in another zone.
    #[must_use]
    pub fn with_time_zone(mut self, time_zone: Utc) -> Self {
        self.time_zone = Some(time_zone);
        self
    }

    /// True when neither bound is set.
    pub fn is_all_time(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }

    pub(crate) fn push_to(&self, query: &mut crate::php_query::Query) {
        if self.is_all_time() {
            query.push_bare("date");
        } else {
            if let Some(from) = &self.from {
                query.push_path(&["date", "from"], from.to_string());
            }
            if let Some(to) = &self.to {
                query.push_path(&["date", "to"], to.to_string());
            }
        }
        query.push_opt("time_zone", self.time_zone.as_ref());
    }
}
