//! An accent colour written `#rrggbb`, checked in one place for the widget
//! and the proxy alike.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A colour `#rrggbb` (either case), kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HexColour(String);

/// A colour not written `#rrggbb`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a colour like \"#0b6bcb\"")]
pub struct HexColourError(pub String);

impl HexColour {
    /// Checks that `value` is `#` and six hexadecimal digits.
    pub fn parse(value: &str) -> Result<Self, HexColourError> {
        // No slicing: the widget checks colours too, and a string slice
        // brings its panic's formatting into the wasm.
        let digits = value.strip_prefix('#').filter(|d| d.len() == 6);
        if digits.is_some_and(|d| d.chars().all(|c| c.is_ascii_hexdigit())) {
            Ok(Self(value.to_owned()))
        } else {
            Err(HexColourError(value.to_owned()))
        }
    }

    /// As written, `#rrggbb`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Red, green and blue, 0 to 255.
    pub fn rgb(&self) -> [u8; 3] {
        let channel = |at: usize| u8::from_str_radix(&self.0[at..at + 2], 16).unwrap_or(0);
        [channel(1), channel(3), channel(5)]
    }
}

impl FromStr for HexColour {
    type Err = HexColourError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

impl fmt::Display for HexColour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for HexColour {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for HexColour {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Self::parse(&value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hash_and_six_hex_digits_is_a_colour() {
        assert_eq!(
            HexColour::parse("#0b6bcb").map(|c| c.rgb()),
            Ok([0x0b, 0x6b, 0xcb])
        );
        assert_eq!(
            HexColour::parse("#FFD700").map(|c| c.to_string()),
            Ok("#FFD700".to_owned())
        );
        for bad in ["blue", "#fff", "0b6bcb", "#0b6bcg", "#0b6bcb0", "", "#ÿÿÿ"] {
            assert_eq!(
                HexColour::parse(bad),
                Err(HexColourError(bad.to_owned())),
                "{bad}"
            );
        }
        assert!(serde_json::from_str::<HexColour>("\"red\"").is_err());
    }
}
