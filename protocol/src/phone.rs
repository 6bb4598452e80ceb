//! The visitor's phone number, parsed once at the edge.
//!
//! The rules are CallKeeper's (see `shared/callkeeper-api.md`): a number may
//! carry `+ ( ) - _` and spaces but must have enough digits to be dialled, and
//! the visitor's number may not carry an extension (`^`). A Russian number
//! written with a leading 8 is the same number as +7, so it is normalised.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Fewest digits a dialable international number has (e.g. a Russian number
/// without its country code is 10 digits, which we complete with 7).
const MIN_DIGITS: usize = 10;
/// E.164 allows at most 15 digits.
const MAX_DIGITS: usize = 15;

/// A visitor's phone number: digits only, country code first, 10 to 15 digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

/// Why a phone number was refused. The messages are shown to developers; the
/// widget shows its own localised texts keyed by the variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing was typed.
    #[error("the phone number is empty")]
    Empty,
    /// A character other than digits, spaces and `+ ( ) - _`.
    #[error("the phone number may contain only digits, spaces and + ( ) - _ (found {0:?})")]
    InvalidCharacter(char),
    /// The visitor's number may not have an extension.
    #[error("the phone number may not have an extension (^)")]
    Extension,
    /// Fewer than 10 digits.
    #[error("the phone number has {0} digits; at least {MIN_DIGITS} are needed")]
    TooShort(usize),
    /// More than 15 digits.
    #[error("the phone number has {0} digits; at most {MAX_DIGITS} are allowed")]
    TooLong(usize),
}

impl PhoneNumber {
    /// Parses what a visitor typed or pasted.
    ///
    /// ```
    /// use protocol::PhoneNumber;
    /// assert_eq!(PhoneNumber::parse("8 (999) 123-45-67").unwrap().as_str(), "79991234567");
    /// assert_eq!(PhoneNumber::parse("+44 20 7946 0018").unwrap().as_str(), "442079460018");
    /// assert!(PhoneNumber::parse("+7 999 123-45-67^12").is_err());
    /// ```
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(PhoneError::Empty);
        }
        let mut digits = String::with_capacity(MAX_DIGITS);
        for c in input.chars() {
            match c {
                '0'..='9' => digits.push(c),
                '+' | '(' | ')' | '-' | '_' | ' ' | '\u{a0}' => {}
                '^' => return Err(PhoneError::Extension),
                other => return Err(PhoneError::InvalidCharacter(other)),
            }
        }
        match digits.len() {
            n if n < MIN_DIGITS => Err(PhoneError::TooShort(n)),
            n if n > MAX_DIGITS => Err(PhoneError::TooLong(n)),
            // Russian domestic format: 8 is the trunk prefix for +7. Not after a
            // `+`: +84… is Vietnam, +86… China.
            11 if digits.starts_with('8') && !input.starts_with('+') => {
                digits.replace_range(0..1, "7");
                Ok(Self(digits))
            }
            // Ten digits starting with 9 is a Russian mobile typed without its code.
            10 if digits.starts_with('9') && !input.starts_with('+') => {
                digits.insert(0, '7');
                Ok(Self(digits))
            }
            _ => Ok(Self(digits)),
        }
    }

    /// A number stored as [`PhoneNumber::as_str`] gave it: digits, country
    /// code first. Read as international, so it comes back unchanged.
    ///
    /// ```
    /// use protocol::PhoneNumber;
    /// let vietnam = PhoneNumber::parse("+84 912 345 678").unwrap();
    /// assert_eq!(PhoneNumber::from_digits(vietnam.as_str()), Ok(vietnam));
    /// ```
    pub fn from_digits(digits: &str) -> Result<Self, PhoneError> {
        Self::parse(&["+", digits].concat())
    }

    /// The digits, country code first, as CallKeeper expects them.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with all but the last four digits hidden, for logs.
    pub fn masked(&self) -> String {
        let keep = 4.min(self.0.len());
        let hidden = self.0.len() - keep;
        format!("{}{}", "*".repeat(hidden), &self.0[hidden..])
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "+{}", self.0)
    }
}

/// Debug masks the number so that a stray `{:?}` in a log does not leak it.
impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

impl std::str::FromStr for PhoneNumber {
    type Err = PhoneError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for PhoneNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PhoneNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_documented_punctuation() {
        for input in [
            "+7 (999) 123-45-67",
            "7_999_123_45_67",
            "+7(999)1234567",
            " 79991234567 ",
        ] {
            assert_eq!(
                PhoneNumber::parse(input).map(|p| p.0),
                Ok("79991234567".to_owned()),
                "{input}"
            );
        }
    }

    #[test]
    fn a_russian_leading_eight_becomes_seven() {
        assert_eq!(
            PhoneNumber::parse("8 999 123 45 67").map(|p| p.0),
            Ok("79991234567".to_owned())
        );
    }

    #[test]
    fn an_international_number_starting_with_8_is_kept() {
        assert_eq!(
            PhoneNumber::parse("+84 912 345 678").map(|p| p.0),
            Ok("84912345678".to_owned())
        );
        assert_eq!(
            PhoneNumber::parse("+86 139 1234 5678").map(|p| p.0),
            Ok("8613912345678".to_owned())
        );
    }

    #[test]
    fn a_ten_digit_russian_mobile_gets_its_country_code() {
        assert_eq!(
            PhoneNumber::parse("999 123 45 67").map(|p| p.0),
            Ok("79991234567".to_owned())
        );
    }

    #[test]
    fn refuses_extensions_letters_and_wrong_lengths() {
        assert_eq!(
            PhoneNumber::parse("+7 999 123 45 67^123"),
            Err(PhoneError::Extension)
        );
        assert_eq!(
            PhoneNumber::parse("+7 999 CALL-ME"),
            Err(PhoneError::InvalidCharacter('C'))
        );
        assert_eq!(
            PhoneNumber::parse("123-45-67"),
            Err(PhoneError::TooShort(7))
        );
        assert_eq!(
            PhoneNumber::parse("1234567890123456"),
            Err(PhoneError::TooLong(16))
        );
        assert_eq!(PhoneNumber::parse("   "), Err(PhoneError::Empty));
    }

    #[test]
    fn debug_and_masked_hide_the_number() {
        let phone = PhoneNumber::parse("+7 999 123 45 67").expect("valid");
        assert_eq!(phone.masked(), "*******4567");
        assert!(!format!("{phone:?}").contains("999"));
    }

    proptest! {
        #[test]
        fn never_panics(input in ".{0,40}") {
            let _ = PhoneNumber::parse(&input);
        }

        #[test]
        fn parsed_numbers_are_valid_and_stable(digits in "[1-79][0-9]{9,14}") {
            let phone = PhoneNumber::parse(&digits).expect("digits of a valid length");
            prop_assert!(phone.0.chars().all(|c| c.is_ascii_digit()));
            prop_assert!((MIN_DIGITS..=MAX_DIGITS).contains(&phone.0.len()));
            // Reading the stored form back gives the same number.
            prop_assert_eq!(PhoneNumber::from_digits(phone.as_str()), Ok(phone.clone()));
        }
    }
}
