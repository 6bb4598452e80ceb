//! The languages the widget speaks.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A language of the widget's texts and the proxy's status messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Locale {
    /// Russian, the default.
    #[default]
    Ru,
    /// English.
    En,
}

/// A language the widget does not speak.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a language of the widget; use \"ru\" or \"en\"")]
pub struct LocaleError(pub String);

impl Locale {
    /// Every language, in the order the widget prefers them.
    pub const ALL: [Self; 2] = [Self::Ru, Self::En];

    /// The code on the wire and in configs: `ru` or `en`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ru => "ru",
            Self::En => "en",
        }
    }
}

impl FromStr for Locale {
    type Err = LocaleError;
    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|locale| locale.as_str() == code)
            .ok_or_else(|| LocaleError(code.to_owned()))
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Locale {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Locale {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        code.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_russian_and_english_are_locales() {
        assert_eq!("ru".parse(), Ok(Locale::Ru));
        assert_eq!("en".parse(), Ok(Locale::En));
        assert_eq!("de".parse::<Locale>(), Err(LocaleError("de".to_owned())));
        assert_eq!("EN".parse::<Locale>(), Err(LocaleError("EN".to_owned())));
        assert_eq!(
            serde_json::to_string(&Locale::En).ok().as_deref(),
            Some("\"en\"")
        );
        assert!(serde_json::from_str::<Locale>("\"fr\"").is_err());
    }
}
