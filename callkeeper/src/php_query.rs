//! PHP's `http_build_query`, byte for byte, and its inverse.
//!
//! CallKeeper is a PHP service and its documentation builds every request
//! with `http_build_query`, so this is the one place that turns an ordered
//! list of (key path, value) pairs into a request string: nested keys become
//! `calls%5B0%5D%5Bclient%5D`, spaces become `+`, everything but ASCII
//! letters, digits and `-_.` is percent-encoded as UTF-8 with upper-case hex
//! (PHP's `urlencode`, RFC 1738 style). Every client method encodes through
//! here; nothing else in the crate formats a query by hand.
//!
//! The decoder ([`parse_key`]) is the inverse of the key encoding and is what
//! the sandbox uses to read `calls[0][utm][utm_source]` back into a path.
//!
//! This module must never log: the pairs it encodes carry the Profile key.

use std::fmt::Write as _;

/// An ordered list of parameters, encoded the way PHP's `http_build_query`
/// encodes an array.
///
/// ```
/// use callkeeper::php_query::Query;
/// let mut query = Query::new();
/// query.push("unique", "example_company");
/// query.push_path(&["calls", "0", "client"], "79999999999");
/// query.push_path(&["calls", "0", "utm", "utm_source"], "Яндекс Директ");
/// assert_eq!(
///     query.encode(),
///     "unique=example_company&calls%5B0%5D%5Bclient%5D=79999999999\
///      &calls%5B0%5D%5Butm%5D%5Butm_source%5D=%D0%AF%D0%BD%D0%B4%D0%B5%D0%BA%D1%81+%D0%94%D0%B8%D1%80%D0%B5%D0%BA%D1%82"
/// );
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(Vec<String>, Option<String>)>,
}

/// Debug shows only the keys: the values include the Profile key.
impl std::fmt::Debug for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.pairs.iter().map(|(path, _)| path.join(".")))
            .finish()
    }
}

impl Query {
    /// An empty query.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a top-level `key=value`.
    pub fn push(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.pairs.push((vec![key.to_owned()], Some(value.into())));
        self
    }

    /// Appends `key=value` when there is a value; does nothing for `None`,
    /// as `http_build_query` skips `null`.
    pub fn push_opt<V: ToString>(&mut self, key: &str, value: Option<V>) -> &mut Self {
        if let Some(value) = value {
            self.push(key, value.to_string());
        }
        self
    }

    /// Appends a nested value: `["calls", "0", "client"]` becomes
    /// `calls[0][client]` (encoded as `calls%5B0%5D%5Bclient%5D`).
    ///
    /// An empty path is ignored: PHP cannot express it either.
    pub fn push_path(&mut self, path: &[&str], value: impl Into<String>) -> &mut Self {
        if !path.is_empty() {
            self.pairs.push((
                path.iter().map(|segment| (*segment).to_owned()).collect(),
                Some(value.into()),
            ));
        }
        self
    }

    /// Appends a bare key with no `=`: CallKeeper reads `&date` as "all time".
    pub fn push_bare(&mut self, key: &str) -> &mut Self {
        self.pairs.push((vec![key.to_owned()], None));
        self
    }

    /// The pairs in order, keys in PHP's bracket notation, not encoded.
    /// The sandbox's [`RecordedRequest`](crate::sandbox::RecordedRequest)
    /// uses the same notation.
    pub fn decoded_pairs(&self) -> Vec<(String, String)> {
        self.pairs
            .iter()
            .map(|(path, value)| (bracket_key(path), value.clone().unwrap_or_default()))
            .collect()
    }

    /// True when nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The `a=b&c%5Bd%5D=e` string, suitable as a query string or as an
    /// `application/x-www-form-urlencoded` body.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        for (index, (path, value)) in self.pairs.iter().enumerate() {
            if index > 0 {
                out.push('&');
            }
            let mut segments = path.iter();
            if let Some(first) = segments.next() {
                urlencode_into(first, &mut out);
            }
            for segment in segments {
                out.push_str("%5B");
                urlencode_into(segment, &mut out);
                out.push_str("%5D");
            }
            if let Some(value) = value {
                out.push('=');
                urlencode_into(value, &mut out);
            }
        }
        out
    }
}

/// `["calls", "0", "client"]` → `calls[0][client]`.
fn bracket_key(path: &[String]) -> String {
    let mut key = String::new();
    for (index, segment) in path.iter().enumerate() {
        if index == 0 {
            key.push_str(segment);
        } else {
            key.push('[');
            key.push_str(segment);
            key.push(']');
        }
    }
    key
}

/// PHP's `urlencode`: ASCII letters, digits and `-_.` stay, a space becomes
/// `+`, every other byte of the UTF-8 text becomes `%XX` with upper-case hex.
pub fn urlencode(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    urlencode_into(input, &mut out);
    out
}

fn urlencode_into(input: &str, out: &mut String) {
    for byte in input.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                out.push(char::from(byte))
            }
            b' ' => out.push('+'),
            other => {
                // Writing to a String cannot fail.
                let _ = write!(out, "%{other:02X}");
            }
        }
    }
}

/// Decodes an `application/x-www-form-urlencoded` string into (key, value)
/// pairs in order, keys left in bracket notation (`calls[0][client]`). A bare
/// `date` decodes as `("date", "")`, as PHP reads it.
pub fn decode(input: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(input.as_bytes())
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

/// Splits a decoded key the way PHP does: `calls[0][utm][utm_source]` →
/// `["calls", "0", "utm", "utm_source"]`. Returns `None` for a key PHP would
/// not read as a path (empty name, or text after a closing bracket that does
/// not open another).
///
/// ```
/// use callkeeper::php_query::parse_key;
/// assert_eq!(parse_key("date[from]"), Some(vec!["date".to_owned(), "from".to_owned()]));
/// assert_eq!(parse_key("client"), Some(vec!["client".to_owned()]));
/// assert_eq!(parse_key("[x]"), None);
/// ```
pub fn parse_key(key: &str) -> Option<Vec<String>> {
    let (name, mut rest) = match key.find('[') {
        Some(open) => (&key[..open], &key[open..]),
        None => (key, ""),
    };
    if name.is_empty() {
        return None;
    }
    let mut path = vec![name.to_owned()];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let close = inner.find(']')?;
        path.push(inner[..close].to_owned());
        rest = &inner[close + 1..];
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_like_php_http_build_query() {
        // Reference output of PHP 8 `http_build_query` for the same array.
        let mut query = Query::new();
        query
            .push("unique", "example_company")
            .push("office_name", "My office")
            .push("current_page", "https://site.ru/page/widget.html?a=1&b=2")
            .push("utc", "UTC+03:00")
            .push("tilde", "~*'()!")
            .push_path(&["calls", "0", "client"], "79999999999")
            .push_path(&["emails", "1"], "test@yandex.ru");
        assert_eq!(
            query.encode(),
            "unique=example_company&office_name=My+office\
             &current_page=https%3A%2F%2Fsite.ru%2Fpage%2Fwidget.html%3Fa%3D1%26b%3D2\
             &utc=UTC%2B03%3A00&tilde=%7E%2A%27%28%29%21\
             &calls%5B0%5D%5Bclient%5D=79999999999&emails%5B1%5D=test%40yandex.ru"
        );
    }

    #[test]
    fn cyrillic_is_percent_encoded_utf8() {
        assert_eq!(urlencode("Тест"), "%D0%A2%D0%B5%D1%81%D1%82");
    }

    #[test]
    fn a_bare_key_has_no_equals_sign() {
        let mut query = Query::new();
        query.push("api_key", "k").push_bare("date");
        assert_eq!(query.encode(), "api_key=k&date");
        assert_eq!(
            decode("api_key=k&date"),
            vec![
                ("api_key".into(), "k".into()),
                ("date".into(), String::new())
            ]
        );
    }

    #[test]
    fn debug_does_not_show_values() {
        let mut query = Query::new();
        query.push("apiak", "eb2cee1bc1b8d1b6e4282486af09e078");
        assert!(!format!("{query:?}").contains("eb2cee"));
    }

    #[test]
    fn parse_key_refuses_what_php_would_not_nest() {
        assert_eq!(parse_key(""), None);
        assert_eq!(parse_key("a[b"), None);
        assert_eq!(parse_key("a[b]c"), None);
        assert_eq!(parse_key("a[]"), Some(vec!["a".to_owned(), String::new()]));
    }

    proptest! {
        #[test]
        fn encode_then_decode_round_trips(
            pairs in proptest::collection::vec(
                (proptest::collection::vec("[^\\[\\]]{1,8}", 1..4), ".{0,20}"),
                0..6,
            )
        ) {
            let mut query = Query::new();
            for (path, value) in &pairs {
                let path: Vec<&str> = path.iter().map(String::as_str).collect();
                query.push_path(&path, value.clone());
            }
            let decoded = decode(&query.encode());
            prop_assert_eq!(&decoded, &query.decoded_pairs());
            for ((path, value), (key, decoded_value)) in pairs.iter().zip(&decoded) {
                prop_assert_eq!(parse_key(key), Some(path.clone()));
                prop_assert_eq!(value, decoded_value);
            }
        }

        #[test]
        fn encoded_text_uses_only_safe_characters(input in ".{0,40}") {
            let encoded = urlencode(&input);
            prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.+%".contains(&b)));
        }

        #[test]
        fn parse_key_never_panics(input in ".{0,40}") {
            let _ = parse_key(&input);
        }
    }
}
