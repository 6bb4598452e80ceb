//! What can go wrong talking to CallKeeper, one variant per documented
//! failure, and how a caller should react to each ([`ErrorClass`]).
//!
//! Answers are matched by their documented `reason` text first (the HTTP
//! code is shared by several reasons), then by HTTP status. Nothing here may
//! ever hold the Profile key: transport errors are stored without their URL.

use crate::values::ValueError;

/// The documented `reason` texts, exactly as CallKeeper sends them.
pub mod reasons {
    /// 400.
    pub const MISSING_UNIQUE: &str = "Key 'unique' is not defined!";
    /// 400.
    pub const MISSING_APIAK: &str = "Key 'apiak' is not defined!";
    /// 400.
    pub const MISSING_WIDGET: &str = "Key 'whash' and 'walias' are not defined!";
    /// 400.
    pub const MISSING_CALLS: &str = "Key 'calls' is not defined!";
    /// 401.
    pub const UNAUTHORIZED_HOST: &str = "Unauthorized host!";
    /// 403.
    pub const WRONG_KEY: &str = "Not the correct key api";
    /// 404.
    pub const MISMATCHED: &str = "Mismatched request!";
    /// 405.
    pub const UNKNOWN_METHOD: &str = "Unknown request method!";
    /// 406.
    pub const WRONG_DATA_TYPE: &str = "Wrong data type!";
    /// 406.
    pub const DATE_NOT_ARRAY: &str = "Date is not array";
    /// 409.
    pub const NOT_ENOUGH_VALUES: &str = "Not enough values";
    /// 409, ordering methods.
    pub const INVALID_PHONE: &str = "Invalid manager or client phone number";
    /// 409, `createWidget`.
    pub const PHONE_NOT_PROVIDED: &str = "Phone not provided or invalid";
    /// 412.
    pub const UNKNOWN_USER: &str = "Unknown user";
    /// 417 (the document's spelling, "then", is CallKeeper's).
    pub const MALFORMED_KEY_OR_HASH: &str =
        "Apiak or Hash shorter or longer then was required or not hexadecimal";
    /// 424.
    pub const WRONG_PAIR: &str = "Wrong pair whash or walias and apiak!";
    /// 710.
    pub const WIDGET_DISABLED: &str = "The widget is disabled";
}

/// A failed CallKeeper request. `Display` says what happened and, for the
/// configuration errors, what to fix; it never contains the key.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400 "Key 'unique' is not defined!".
    #[error("CallKeeper: the company name ('unique') was not sent (400)")]
    MissingUnique,
    /// 400 "Key 'apiak' is not defined!".
    #[error("CallKeeper: the API key ('apiak') was not sent (400)")]
    MissingApiak,
    /// 400 "Key 'whash' and 'walias' are not defined!".
    #[error("CallKeeper: neither a widget hash nor an alias was sent (400)")]
    MissingWidget,
    /// 400 "Key 'calls' is not defined!".
    #[error("CallKeeper: no calls were sent (400)")]
    MissingCalls,
    /// 401 "Unauthorized host!".
    #[error(
        "CallKeeper: this server's address is not an authorised host; add it in the CallKeeper Profile or turn the host check off (401)"
    )]
    UnauthorizedHost,
    /// 403 "Not the correct key api".
    #[error("CallKeeper: the API key is not correct; copy it again from the Profile tab (403)")]
    WrongKey,
    /// 404 "Mismatched request!".
    #[error("CallKeeper: the request did not match anything (404)")]
    Mismatched,
    /// 405 "Unknown request method!".
    #[error("CallKeeper: unknown API method (405)")]
    UnknownMethod,
    /// 406 "Wrong data type!".
    #[error("CallKeeper: a parameter had the wrong type (406)")]
    WrongDataType,
    /// 406 "Date is not array".
    #[error("CallKeeper: 'date' must be a range or empty (406)")]
    DateNotArray,
    /// 409 "Not enough values".
    #[error("CallKeeper: a required value is missing (409)")]
    NotEnoughValues,
    /// 409 "Invalid manager or client phone number" or "Phone not provided
    /// or invalid".
    #[error("CallKeeper refused a phone number: {reason} (409)")]
    InvalidPhone {
        /// Which of the two documented reasons.
        reason: String,
    },
    /// 412 "Unknown user".
    #[error("CallKeeper: no user has this API key; copy it again from the Profile tab (412)")]
    UnknownUser,
    /// 417 "Apiak or Hash shorter or longer then was required or not hexadecimal".
    #[error("CallKeeper: the API key or widget hash is not 32 hexadecimal characters (417)")]
    MalformedKeyOrHash,
    /// 424 "Wrong pair whash or walias and apiak!".
    #[error("CallKeeper: the widget does not belong to this API key's account (424)")]
    WrongPair,
    /// 710 "The widget is disabled".
    #[error("CallKeeper: the widget is disabled; enable it in the CallKeeper dashboard (710)")]
    WidgetDisabled,
    /// A `{"status":"fail"}` answer with an undocumented reason, or an error
    /// status without a readable body.
    #[error("CallKeeper failed with status {status}: {reason}")]
    OtherFail {
        /// HTTP status.
        status: u16,
        /// CallKeeper's `reason`, or a description of the body.
        reason: String,
    },
    /// No answer: refused connection, DNS failure, timeout, broken body.
    #[error("could not reach CallKeeper: {0}")]
    Transport(#[source] reqwest::Error),
    /// No answer within the caller's own deadline (which a caller sets
    /// around a request when it must know the longest one can take; the
    /// request may have arrived).
    #[error("CallKeeper did not answer in time")]
    Timeout,
    /// A 5xx answer that is not a documented failure.
    #[error("CallKeeper's server failed with status {status}")]
    Server {
        /// HTTP status.
        status: u16,
    },
    /// A success status whose body is not the documented JSON.
    #[error("CallKeeper answered {status} with an unexpected body: {detail}")]
    Malformed {
        /// HTTP status.
        status: u16,
        /// What did not fit (never the body itself, which may be large).
        detail: String,
    },
    /// A value given to the client was refused before sending.
    #[error("not sent to CallKeeper: {0}")]
    Value(#[from] ValueError),
}

/// How a caller should treat an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Try again later: CallKeeper or the network is having trouble.
    Retryable,
    /// Retrying will not help until someone fixes the credentials, the
    /// widget or the account.
    Configuration,
    /// The visitor's (or manager's) number was refused; ask for another.
    InvalidPhone,
}

impl Error {
    /// How to react to this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Transport(_) | Self::Timeout | Self::Server { .. } | Self::Malformed { .. } => {
                ErrorClass::Retryable
            }
            Self::InvalidPhone { .. } => ErrorClass::InvalidPhone,
            Self::OtherFail { status, .. }
                if *status >= 500 || *status == 429 || *status == 408 =>
            {
                ErrorClass::Retryable
            }
            Self::OtherFail { status: 409, .. } => ErrorClass::InvalidPhone,
            Self::MissingUnique
            | Self::MissingApiak
            | Self::MissingWidget
            | Self::MissingCalls
            | Self::UnauthorizedHost
            | Self::WrongKey
            | Self::Mismatched
            | Self::UnknownMethod
            | Self::WrongDataType
            | Self::DateNotArray
            | Self::NotEnoughValues
            | Self::UnknownUser
            | Self::MalformedKeyOrHash
            | Self::WrongPair
            | Self::WidgetDisabled
            | Self::OtherFail { .. }
            | Self::Value(_) => ErrorClass::Configuration,
        }
    }

    /// True when an order may have reached CallKeeper and been placed even
    /// though no success was read: a timeout or broken connection after the
    /// request went out, a 5xx, or an unreadable answer. Such an order must
    /// be reconciled (e.g. with `getCallsInfo`) before it is sent again, or
    /// CallKeeper will mark the second one as a duplicate (815).
    pub fn is_in_doubt(&self) -> bool {
        match self {
            Self::Transport(err) => !err.is_connect() && !err.is_builder(),
            Self::Timeout | Self::Server { .. } | Self::Malformed { .. } => true,
            Self::OtherFail { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// The error for a `{"status":"fail","reason":…}` answer.
    pub(crate) fn from_fail(status: u16, reason: &str) -> Self {
        use reasons::*;
        match reason.trim() {
            MISSING_UNIQUE => Self::MissingUnique,
            MISSING_APIAK => Self::MissingApiak,
            MISSING_WIDGET => Self::MissingWidget,
            MISSING_CALLS => Self::MissingCalls,
            UNAUTHORIZED_HOST => Self::UnauthorizedHost,
            WRONG_KEY => Self::WrongKey,
            MISMATCHED => Self::Mismatched,
            UNKNOWN_METHOD => Self::UnknownMethod,
            WRONG_DATA_TYPE => Self::WrongDataType,
            DATE_NOT_ARRAY => Self::DateNotArray,
            NOT_ENOUGH_VALUES => Self::NotEnoughValues,
            INVALID_PHONE | PHONE_NOT_PROVIDED => Self::InvalidPhone {
                reason: reason.trim().to_owned(),
            },
            UNKNOWN_USER => Self::UnknownUser,
            MALFORMED_KEY_OR_HASH => Self::MalformedKeyOrHash,
            WRONG_PAIR => Self::WrongPair,
            WIDGET_DISABLED => Self::WidgetDisabled,
            other => Self::OtherFail {
                status,
                reason: other.chars().take(200).collect(),
            },
        }
    }
}

impl From<reqwest::Error> for Error {
    fn from(err: reqwest::Error) -> Self {
        // The URL never carries the key (keys go in the body), but strip it
        // anyway so a future GET cannot leak one into a log line.
        Self::Transport(err.without_url())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_reason_maps_to_its_variant() {
        let cases = [
            (400, reasons::MISSING_UNIQUE, ErrorClass::Configuration),
            (401, reasons::UNAUTHORIZED_HOST, ErrorClass::Configuration),
            (409, reasons::INVALID_PHONE, ErrorClass::InvalidPhone),
            (409, reasons::PHONE_NOT_PROVIDED, ErrorClass::InvalidPhone),
            (710, reasons::WIDGET_DISABLED, ErrorClass::Configuration),
            (503, "Maintenance", ErrorClass::Retryable),
            (418, "Teapot", ErrorClass::Configuration),
        ];
        for (status, reason, class) in cases {
            assert_eq!(Error::from_fail(status, reason).class(), class, "{reason}");
        }
        assert!(matches!(
            Error::from_fail(710, reasons::WIDGET_DISABLED),
            Error::WidgetDisabled
        ));
        assert!(matches!(
            Error::from_fail(424, reasons::WRONG_PAIR),
            Error::WrongPair
        ));
        assert!(matches!(
            Error::from_fail(499, "Something new"),
            Error::OtherFail { status: 499, ref reason } if reason == "Something new"
        ));
    }

    #[test]
    fn server_trouble_is_in_doubt_but_refusals_are_not() {
        assert!(Error::Server { status: 502 }.is_in_doubt());
        assert!(!Error::WrongKey.is_in_doubt());
        assert!(!Error::from_fail(409, reasons::INVALID_PHONE).is_in_doubt());
    }
}
