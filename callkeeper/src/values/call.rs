//! A call's id, and who receives the call first (the manager).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ValueError;

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
