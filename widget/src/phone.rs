//! The number the visitor typed: what is wrong with it, and what they
//! meant when they typed a whole number after the pre-filled country code.

use protocol::{PhoneError, PhoneNumber, TextKey};

/// The typed number, or the text that says what is wrong with it. Only the
/// pre-filled country code counts as nothing typed.
pub fn phone_error(typed: &str, country_code: Option<&str>) -> Result<PhoneNumber, TextKey> {
    let typed = own_number(typed, country_code);
    let digits: String = typed.chars().filter(char::is_ascii_digit).collect();
    if country_code.is_some_and(|code| digits == code) {
        return Err(TextKey::PhoneEmpty);
    }
    PhoneNumber::parse(typed).map_err(|error| match error {
        PhoneError::Empty => TextKey::PhoneEmpty,
        PhoneError::InvalidCharacter(_) => TextKey::PhoneInvalidChar,
        PhoneError::Extension => TextKey::PhoneExtension,
        PhoneError::TooShort(_) => TextKey::PhoneShort,
        PhoneError::TooLong(_) => TextKey::PhoneLong,
    })
}

/// What the visitor meant, when they typed or pasted a whole number after
/// the pre-filled `+7 `: `+7 +7 999…`, `+7 8 (999)…` or `+7 7999…` is the
/// number after the prefix. A number that only continues the prefix is
/// left as it is.
fn own_number<'a>(typed: &'a str, country_code: Option<&str>) -> &'a str {
    let Some(rest) = country_code.and_then(|code| {
        typed
            .trim_start()
            .strip_prefix('+')?
            .strip_prefix(code)
            .map(|rest| (code, rest.trim_start()))
    }) else {
        return typed;
    };
    let (code, rest) = rest;
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    let whole = digits.len() > 10 && (digits.starts_with(code) || digits.starts_with('8'));
    if rest.starts_with('+') || whole {
        rest
    } else {
        typed
    }
}
