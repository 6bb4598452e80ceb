//! The values CallKeeper's parameters carry, each parsed once into a type
//! that cannot be invalid: the Profile key, widget references, opening
//! hours, time zones, Unix times, retry intervals and statistics date ranges.
//!
//! Every type here parses the documented wire form and prints it back
//! (`Display` is the wire form), so the client never formats these by hand.
//! The Profile key ([`ApiKey`]) must never be printed: its `Debug` and
//! `Display` show `ApiKey(***)`.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a value was refused. The messages name the parameter and say what a
/// valid one looks like, because a person fixing a config file reads them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// The Profile key is not 32 hexadecimal characters.
    #[error(
        "the CallKeeper API key must be 32 hexadecimal characters (copy it from the Profile tab)"
    )]
    ApiKey,
    /// The widget hash is not 32 hexadecimal characters.
    #[error(
        "the widget hash must be 32 hexadecimal characters (copy it from the widget's edit page)"
    )]
    WidgetHash,
    /// The widget alias is empty or has characters CallKeeper does not use.
    #[error("the widget alias must be 1 to 64 letters, digits, '-' or '_'")]
    WidgetAlias,
    /// The call id is empty or not the kind of token CallKeeper issues.
    #[error("a call id must be 1 to 64 letters or digits, got {0:?}")]
    CallId(String),
    /// The manager number is neither an office index nor a phone number.
    #[error(
        "the manager must be an office index (0, 1, …) or a phone number with an optional ^extension, got {0:?}"
    )]
    Manager(String),
    /// Opening hours are not `HHMMHHMM` once or seven times.
    #[error(
        "opening hours must be HHMMHHMM (e.g. 09001800) or seven such groups, Monday first: {0}"
    )]
    OpeningHours(String),
    /// A time zone is neither an IANA name nor a UTC offset.
    #[error(
        "a time zone must be an IANA name like Europe/Moscow or an offset like UTC+03:00, got {0:?}"
    )]
    TimeZone(String),
    /// A Unix time is not a non-negative whole number of seconds.
    #[error("a Unix time must be a non-negative whole number of seconds, got {0:?}")]
    UnixTime(String),
    /// Retry intervals are not a comma-separated list of minutes.
    #[error(
        "the retry interval must be 1 to 10 comma-separated minute counts between 1 and 1440, e.g. 5,10,15; got {0:?}"
    )]
    Interval(String),
    /// A statistics date is not a W3C date or date-time.
    #[error("a date must look like 2017-05-01 or 2005-08-15T23:59:59, got {0:?}")]
    Date(String),
    /// A call status pair is not `code/code2`.
    #[error("a call status must look like 200/486, got {0:?}")]
    StatusPair(String),
}

fn is_hex32(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The Profile key ("ключ … во вкладке Профиль"): 32 hexadecimal characters.
///
/// Held in a [`SecretString`] so it is zeroed on drop and never printed.
/// It is sent as `apiak` to the ordering and widget methods and as `api_key`
/// to the statistics methods; the client decides which, callers never see it
/// again after [`ApiKey::parse`].
#[derive(Clone)]
pub struct ApiKey(SecretString);

impl ApiKey {
    /// Checks the shape CallKeeper checks (answering 417 otherwise).
    ///
    /// ```
    /// use callkeeper::ApiKey;
    /// let key = ApiKey::parse("eb2cee1bc1b8d1b6e4282486af09e078").unwrap();
    /// assert_eq!(format!("{key:?}"), "ApiKey(***)");
    /// assert!(ApiKey::parse("not-a-key").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        if is_hex32(s) {
            Ok(Self(SecretString::from(s)))
        } else {
            Err(ValueError::ApiKey)
        }
    }

    /// The key itself, for the one place that puts it on the wire.
    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Whether `candidate` is this key, without handing the key out
    /// (for a proxy that must compare a configured key, e.g. on reload).
    pub fn matches(&self, candidate: &str) -> bool {
        let ours = self.expose().as_bytes();
        let theirs = candidate.trim().as_bytes();
        // Constant-time in the length of the key; the length is public (32).
        ours.len() == theirs.len()
            && ours.iter().zip(theirs).fold(0u8, |acc, (a, b)| {
                acc | (a.to_ascii_lowercase() ^ b.to_ascii_lowercase())
            }) == 0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl FromStr for ApiKey {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Deserializes from a string (e.g. a config file) through [`ApiKey::parse`].
impl<'de> Deserialize<'de> for ApiKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Which widget a call is ordered through: its hash (`whash`) or the alias
/// that maps an external service to it (`walias`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WidgetRef {
    /// `whash`: 32 hexadecimal characters.
    Hash(String),
    /// `walias`.
    Alias(String),
}

impl WidgetRef {
    /// A widget hash, checked for CallKeeper's 32-hex shape.
    pub fn hash(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        if is_hex32(s) {
            Ok(Self::Hash(s.to_owned()))
        } else {
            Err(ValueError::WidgetHash)
        }
    }

    /// A widget alias: 1–64 letters, digits, `-` or `_`.
    pub fn alias(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        let valid = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid {
            Ok(Self::Alias(s.to_owned()))
        } else {
            Err(ValueError::WidgetAlias)
        }
    }

    /// The parameter name and value this reference is sent as.
    pub(crate) fn param(&self) -> (&'static str, &str) {
        match self {
            Self::Hash(hash) => ("whash", hash),
            Self::Alias(alias) => ("walias", alias),
        }
    }
}

/// Everything that identifies a CallKeeper account and widget.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// `unique`: the company name, letters, digits and `_`.
    pub unique: String,
    /// The Profile key.
    pub key: ApiKey,
    /// The widget calls are ordered through.
    pub widget: WidgetRef,
}

/// CallKeeper's id of a call (`id`, `id_call`, `call_id`), kept as text
/// because the API sends it sometimes as a string, sometimes as a number.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(String);

impl CallId {
    /// Checks the id is 1–64 ASCII letters or digits.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        if !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ValueError::CallId(s.chars().take(70).collect()))
        }
    }

    /// The id as CallKeeper wrote it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CallId {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl From<u64> for CallId {
    fn from(id: u64) -> Self {
        Self(id.to_string())
    }
}

impl Serialize for CallId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Accepts `"123456"` and `123456`: CallKeeper uses both.
impl<'de> Deserialize<'de> for CallId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = serde_json::Value::deserialize(deserializer)?;
        let text = match raw {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            other => {
                return Err(serde::de::Error::custom(format!(
                    "a call id must be a string or number, got {other}"
                )));
            }
        };
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Who receives the call first: an office of the widget (numbered from 0)
/// or a phone number with an optional extension (`74642512525^4342`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Manager {
    /// The widget's office by index, counted from 0.
    Office(u32),
    /// A phone number (digits only) and an optional extension (digits).
    Phone {
        /// Digits, country code first.
        number: String,
        /// The extension dialled after the connection, if any.
        extension: Option<String>,
    },
}

impl Manager {
    /// Parses an office index (`0`) or a phone number that may carry the
    /// documented punctuation and a `^` extension (`+7 (464) 251-25-25^4342`).
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        let bad = || ValueError::Manager(s.chars().take(40).collect());
        if !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit()) {
            return s.parse().map(Self::Office).map_err(|_| bad());
        }
        let (number, extension) = match s.split_once('^') {
            Some((number, extension)) => (number, Some(extension.trim())),
            None => (s, None),
        };
        let number = protocol::PhoneNumber::parse(number).map_err(|_| bad())?;
        let extension = match extension {
            Some(ext)
                if !ext.is_empty()
                    && ext.len() <= 10
                    && ext.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Some(ext.to_owned())
            }
            Some(_) => return Err(bad()),
            None => None,
        };
        Ok(Self::Phone {
            number: number.as_str().to_owned(),
            extension,
        })
    }
}

/// The wire form: `0`, `74642512525` or `74642512525^4342`.
impl fmt::Display for Manager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Office(index) => write!(f, "{index}"),
            Self::Phone {
                number,
                extension: Some(ext),
            } => write!(f, "{number}^{ext}"),
            Self::Phone {
                number,
                extension: None,
            } => f.write_str(number),
        }
    }
}

impl FromStr for Manager {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

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
    fn parse_offset(text: &str) -> Option<i16> {
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

/// Minutes to wait before each further attempt when a call fails
/// (`interval=5,10,15`: retry after 5, then 10, then 15 minutes).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Interval(Vec<u32>);

impl Interval {
    /// At most this many retries.
    pub const MAX_RETRIES: usize = 10;

    /// From minute counts; each must be 1–1440 and there must be 1–10.
    pub fn new(minutes: Vec<u32>) -> Result<Self, ValueError> {
        let valid = !minutes.is_empty()
            && minutes.len() <= Self::MAX_RETRIES
            && minutes.iter().all(|m| (1..=1440).contains(m));
        if valid {
            Ok(Self(minutes))
        } else {
            Err(ValueError::Interval(
                minutes
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ))
        }
    }

    /// Parses `5,10,15` (spaces allowed).
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let bad = || ValueError::Interval(s.chars().take(60).collect());
        let minutes = s
            .split(',')
            .map(|part| {
                let part = part.trim();
                if part.is_empty() || part.len() > 4 || !part.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                part.parse::<u32>().map_err(|_| bad())
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(minutes).map_err(|_| bad())
    }

    /// The waits, in minutes, in order.
    pub fn minutes(&self) -> &[u32] {
        &self.0
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: Vec<String> = self.0.iter().map(u32::to_string).collect();
        f.write_str(&text.join(","))
    }
}

impl FromStr for Interval {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn api_key_refuses_wrong_shapes_and_never_prints() {
        assert_eq!(
            ApiKey::parse("eb2cee1bc1b8d1b6e4282486af09e07").err(),
            Some(ValueError::ApiKey)
        );
        assert_eq!(
            ApiKey::parse("eb2cee1bc1b8d1b6e4282486af09e07g").err(),
            Some(ValueError::ApiKey)
        );
        let key = ApiKey::parse("EB2CEE1BC1B8D1B6E4282486AF09E078").expect("upper-case hex is hex");
        assert_eq!(key.to_string(), "ApiKey(***)");
        assert!(key.matches("eb2cee1bc1b8d1b6e4282486af09e078"));
        assert!(!key.matches("eb2cee1bc1b8d1b6e4282486af09e079"));
        let credentials = Credentials {
            unique: "u".to_owned(),
            key,
            widget: WidgetRef::Alias("a".to_owned()),
        };
        assert!(!format!("{credentials:?}").to_lowercase().contains("eb2cee"));
    }

    #[test]
    fn manager_takes_offices_and_phones_with_extensions() {
        assert_eq!(Manager::parse("0"), Ok(Manager::Office(0)));
        assert_eq!(
            Manager::parse("+7 (464) 251-25-25^4342"),
            Ok(Manager::Phone {
                number: "74642512525".to_owned(),
                extension: Some("4342".to_owned())
            })
        );
        assert_eq!(
            Manager::parse("89165240212").map(|m| m.to_string()),
            Ok("79165240212".to_owned())
        );
        assert!(Manager::parse("74642512525^").is_err());
        assert!(Manager::parse("12345").is_err());
    }

    #[test]
    fn opening_hours_cover_the_documented_forms() {
        let week = OpeningHours::parse("09001800100018000900200009001800090018000900180000000000")
            .expect("documented example");
        assert_eq!(
            week.day(Weekday::Tuesday),
            DayHours::Open {
                start_minute: 600,
                end_minute: 1080
            }
        );
        assert_eq!(week.day(Weekday::Sunday), DayHours::Closed);
        assert_eq!(
            week.to_string(),
            "09001800100018000900200009001800090018000900180000000000"
        );
        let always = OpeningHours::parse("00002400").expect("all day");
        assert!(always.is_open_at(Weekday::Sunday, 0) && always.is_open_at(Weekday::Sunday, 1439));
        assert_eq!(always.to_string(), "00002400");
        assert!(
            OpeningHours::parse("00000000")
                .expect("closed")
                .is_always_closed()
        );
        for bad in [
            "0900180",
            "09601800",
            "25001800",
            "09002401",
            "09000900",
            "0900-1800",
            "",
        ] {
            assert!(OpeningHours::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hours_past_midnight_belong_to_the_next_morning() {
        let mut days = [DayHours::Closed; 7];
        days[Weekday::Sunday.index()] = DayHours::Open {
            start_minute: 22 * 60,
            end_minute: 2 * 60,
        };
        let hours = OpeningHours::from_days(days);
        assert!(hours.is_open_at(Weekday::Monday, 60));
        assert!(!hours.is_open_at(Weekday::Monday, 23 * 60));
        assert!(hours.is_open_at(Weekday::Sunday, 23 * 60));
    }

    #[test]
    fn weekday_of_unix_knows_the_epoch_was_a_thursday() {
        assert_eq!(Weekday::of_unix(0, 0), Weekday::Thursday);
        assert_eq!(Weekday::of_unix(-1, 0), Weekday::Wednesday);
        // 2024-01-01 00:30 Moscow is a Monday, 2023-12-31 21:30 UTC a Sunday.
        assert_eq!(Weekday::of_unix(1_704_061_800, 180), Weekday::Monday);
        assert_eq!(Weekday::of_unix(1_704_061_800, 0), Weekday::Sunday);
    }

    #[test]
    fn utc_parses_names_and_offsets() {
        assert_eq!(Utc::parse("UTC+03:00"), Ok(Utc::Offset(180)));
        assert_eq!(Utc::parse("utc-03:30"), Ok(Utc::Offset(-210)));
        assert_eq!(Utc::parse("+0300"), Ok(Utc::Offset(180)));
        assert_eq!(Utc::parse("UTC"), Ok(Utc::Offset(0)));
        assert_eq!(Utc::parse("GMT+3"), Ok(Utc::Offset(180)));
        assert_eq!(
            Utc::parse("Europe/Moscow"),
            Ok(Utc::Iana("Europe/Moscow".to_owned()))
        );
        assert_eq!(
            Utc::parse("America/Argentina/Buenos_Aires").map(|z| z.offset_minutes()),
            Ok(None)
        );
        for bad in [
            "UTC+15:00",
            "UTC+03:60",
            "Europe",
            "Europe/",
            "1/2",
            "UTC*3",
            "Europe/Mos cow",
        ] {
            assert!(Utc::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn interval_and_unix_time_parse_their_wire_forms() {
        assert_eq!(
            Interval::parse("5, 10,15").map(|i| i.to_string()),
            Ok("5,10,15".to_owned())
        );
        assert!(Interval::parse("").is_err());
        assert!(Interval::parse("0").is_err());
        assert!(Interval::parse("5,,10").is_err());
        assert_eq!(
            UnixTime::parse("1479732377"),
            Ok(UnixTime::from_secs(1_479_732_377))
        );
        assert!(UnixTime::parse("-5").is_err());
        assert!(UnixTime::parse("1.5").is_err());
    }

    #[test]
    fn w3c_dates_cover_dates_times_and_midnight_24() {
        let from = W3cDate::parse("2017-05-01").expect("date");
        assert_eq!(from.start_unix(0), 1_493_596_800);
        assert_eq!(from.start_unix(180), 1_493_596_800 - 3 * 3600);
        assert_eq!(from.end_unix_inclusive(0), 1_493_596_800 + 86_399);
        let evening = W3cDate::parse("2005-08-15T23:59:59").expect("date-time");
        let midnight = W3cDate::parse("2005-08-16T24:00:00").expect("end of day");
        assert_eq!(
            midnight.end_unix_inclusive(0),
            W3cDate::parse("2005-08-17").expect("date").start_unix(0) - 1
        );
        assert_eq!(
            W3cDate::parse("2005-08-15T23:59:59Z").map(|d| d.start_unix(180)),
            Ok(evening.start_unix(0))
        );
        assert_eq!(
            W3cDate::parse("2005-08-15T23:59:59+03:00").map(|d| d.start_unix(0)),
            Ok(evening.start_unix(180))
        );
        for bad in [
            "2017-13-01",
            "2017-02-29",
            "17-05-01",
            "2017-05-01T24:00:01",
            "2017-05-01T12",
            "2017/05/01",
        ] {
            assert!(W3cDate::parse(bad).is_err(), "{bad}");
        }
        assert!(W3cDate::parse("2016-02-29").is_ok());
    }

    #[test]
    fn utc_formatting_matches_the_calendar() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00");
        assert_eq!(format_utc(1_493_596_800 + 3661), "2017-05-01 01:01:01");
    }

    proptest! {
        #[test]
        fn civil_round_trips(days in -1_000_000i64..1_000_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(y, m, d), days);
        }

        #[test]
        fn opening_hours_round_trip(groups in proptest::collection::vec((0u16..24, 0u16..60, 0u16..24, 0u16..60), 7)) {
            let text: String = groups.iter().map(|(a, b, c, d)| format!("{a:02}{b:02}{c:02}{d:02}")).collect();
            if let Ok(hours) = OpeningHours::parse(&text) {
                prop_assert_eq!(OpeningHours::parse(&hours.to_string()), Ok(hours));
            }
        }

        #[test]
        fn utc_offsets_round_trip(minutes in -720i16..=840) {
            let zone = Utc::Offset(minutes);
            prop_assert_eq!(Utc::parse(&zone.to_string()), Ok(zone));
        }

        #[test]
        fn parsers_never_panic(input in ".{0,70}") {
            let _ = ApiKey::parse(&input);
            let _ = OpeningHours::parse(&input);
            let _ = Utc::parse(&input);
            let _ = Interval::parse(&input);
            let _ = UnixTime::parse(&input);
            let _ = W3cDate::parse(&input);
            let _ = Manager::parse(&input);
            let _ = CallId::parse(&input);
        }
    }
}
