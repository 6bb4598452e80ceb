//! The values CallKeeper's parameters carry, each parsed once into a type
//! that cannot be invalid: the Profile key, widget references, opening
//! hours, time zones, Unix times, retry intervals and statistics date ranges.
//!
//! Every type here parses the documented wire form and prints it back
//! (`Display` is the wire form), so the client never formats these by hand.
//! The Profile key ([`ApiKey`]) must never be printed: its `Debug` and
//! `Display` show `ApiKey(***)`.
//!
//! One file per family: `credentials.rs` (the key, the widget, the
//! account), `call.rs` (call ids, managers), `hours.rs` (opening hours),
//! `zone.rs` (time zones), `time.rs` (Unix times, W3C dates, date ranges)
//! and `interval.rs` (retry intervals).

mod call;
mod credentials;
mod hours;
mod interval;
#[cfg(test)]
mod tests;
mod time;
mod zone;

pub use call::{CallId, Manager};
pub(crate) use credentials::is_hex32;
pub use credentials::{ApiKey, Credentials, WidgetRef};
pub use hours::{DayHours, OpeningHours, Weekday};
pub use interval::Interval;
pub(crate) use time::format_utc;
pub use time::{DateRange, UnixTime, W3cDate};
#[cfg(test)]
use time::{civil_from_days, days_from_civil};
pub use zone::Utc;

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
