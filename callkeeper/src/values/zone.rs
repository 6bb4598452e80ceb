//! Time zones as CallKeeper takes them: IANA names or fixed offsets.

use std::fmt;
use std::str::FromStr;

use super::ValueError;

/// Russian zones have kept fixed offsets since 2014, so a small table gives
/// exact offsets for the zones this product's customers use, without a time
/// zone database.
const FIXED_ZONES: &[(&str, i32)] = &[
    ("utc", 0),
    ("etc/utc", 0),
    ("gmt", 0),
    ("etc/gmt", 0),
    ("europe/kaliningrad", 120),
    ("europe/moscow", 180),
    ("europe/simferopol", 180),
    ("europe/kirov", 180),
    ("europe/volgograd", 180),
    ("europe/minsk", 180),
    ("europe/samara", 240),
    ("europe/ulyanovsk", 240),
    ("europe/saratov", 240),
    ("europe/astrakhan", 240),
    ("asia/yekaterinburg", 300),
    ("asia/omsk", 360),
    ("asia/novosibirsk", 420),
    ("asia/barnaul", 420),
    ("asia/tomsk", 420),
    ("asia/novokuznetsk", 420),
    ("asia/krasnoyarsk", 420),
    ("asia/irkutsk", 480),
    ("asia/chita", 540),
    ("asia/yakutsk", 540),
    ("asia/khandyga", 540),
    ("asia/vladivostok", 600),
    ("asia/ust-nera", 600),
    ("asia/magadan", 660),
    ("asia/sakhalin", 660),
    ("asia/srednekolymsk", 660),
    ("asia/kamchatka", 720),
    ("asia/anadyr", 720),
];

/// A time zone as CallKeeper takes it (`utc`, `gmt`, `time_zone`): an IANA
/// name (`Europe/Moscow`, any case) or an offset (`UTC+03:00`, `+0300`).
///
/// Only the shape of an IANA name is checked (there is no time zone database
/// here). `UTC 03:00` is accepted as `UTC+03:00`, because that is what an
/// unencoded `+` in a query string becomes.
///
/// ```
/// use callkeeper::Utc;
/// assert_eq!(Utc::parse("UTC+03:00").unwrap().offset_minutes(), Some(180));
/// assert_eq!(Utc::parse("UTC 03:00").unwrap().to_string(), "UTC+03:00");
/// assert_eq!(Utc::parse("-0530").unwrap().offset_minutes(), Some(-330));
/// assert_eq!(Utc::parse("europe/moscow").unwrap().offset_minutes(), Some(180));
/// assert_eq!(Utc::parse("America/New_York").unwrap().offset_minutes(), None);
/// assert!(Utc::parse("Moscow time").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Utc {
    /// An IANA Time Zone Database name, as given.
    Iana(String),
    /// A fixed offset from UTC in minutes (−720 … +840).
    Offset(i16),
}

impl Utc {
    /// Parses an IANA name or an offset.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim_matches(|c: char| c == '\t' || c == '\n' || c == '\r');
        let bad = || ValueError::TimeZone(s.chars().take(60).collect());
        let upper = s.to_ascii_uppercase();
        let rest = upper
            .strip_prefix("UTC")
            .or_else(|| upper.strip_prefix("GMT"));
        let offset_text = match rest {
            Some("") => return Ok(Self::Offset(0)),
            Some(rest) => Some(rest),
            None if s.starts_with(['+', '-']) => Some(upper.as_str()),
            None => None,
        };
        if let Some(text) = offset_text {
            return Self::parse_offset(text).map(Self::Offset).ok_or_else(bad);
        }
        let s = s.trim();
        let valid_segment = |segment: &str| {
            !segment.is_empty()
                && segment.len() <= 30
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-+".contains(&b))
        };
        let segments: Vec<&str> = s.split('/').collect();
        let shaped = (2..=3).contains(&segments.len())
            && segments.iter().all(|segment| valid_segment(segment))
            && segments[0].bytes().all(|b| b.is_ascii_alphabetic());
        if shaped {
            Ok(Self::Iana(s.to_owned()))
        } else {
            Err(bad())
        }
    }

    /// `+03:00`, ` 03:00` (a decoded `+`), `-0530`, `+3`.
    pub(super) fn parse_offset(text: &str) -> Option<i16> {
        let (sign, digits) = match text.chars().next()? {
            '+' | ' ' => (1, &text[1..]),
            '-' => (-1, &text[1..]),
            _ => return None,
        };
        if !digits.is_ascii() {
            return None;
        }
        let (hours, minutes) = match digits.split_once(':') {
            Some((h, m)) => (h, m),
            None if digits.len() > 2 => digits.split_at(digits.len() - 2),
            None => (digits, "0"),
        };
        let all_digits =
            |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(hours) || !all_digits(minutes) {
            return None;
        }
        let (hours, minutes): (i16, i16) = (hours.parse().ok()?, minutes.parse().ok()?);
        let total = sign * (hours * 60 + minutes);
        (minutes < 60 && (-720..=840).contains(&total)).then_some(total)
    }

    /// The offset from UTC in minutes when it is fixed: always for an
    /// offset, and for the Russian zones (and UTC) listed in this crate,
    /// which have no daylight saving time. `None` for other IANA names.
    pub fn offset_minutes(&self) -> Option<i32> {
        match self {
            Self::Offset(minutes) => Some(i32::from(*minutes)),
            Self::Iana(name) => {
                let lower = name.to_ascii_lowercase();
                FIXED_ZONES
                    .iter()
                    .find(|(zone, _)| *zone == lower)
                    .map(|(_, offset)| *offset)
            }
        }
    }
}

/// The wire form: the IANA name as given, or `UTC±hh:mm`.
impl fmt::Display for Utc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Iana(name) => f.write_str(name),
            Self::Offset(minutes) => {
                let sign = if *minutes < 0 { '-' } else { '+' };
                let abs = minutes.unsigned_abs();
                write!(f, "UTC{sign}{:02}:{:02}", abs / 60, abs % 60)
            }
        }
    }
}

impl FromStr for Utc {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
