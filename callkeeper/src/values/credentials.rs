//! Who is calling CallKeeper: the Profile key, the widget, the account.

use std::fmt;
use std::str::FromStr;

use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Deserializer, Serialize};

use super::ValueError;

pub(crate) fn is_hex32(s: &str) -> bool {
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

    /// Lends the key's bytes to `use_it`, to derive something from it (the
    /// proxy signs its proof-of-work challenges with a key derived from
    /// this one, so that every replica of a site agrees without a new
    /// secret). The key is not handed out to keep.
    pub fn with_secret<R>(&self, use_it: impl FnOnce(&[u8]) -> R) -> R {
        use_it(self.expose().as_bytes())
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
