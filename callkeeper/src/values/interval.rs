//! Minutes between CallKeeper's attempts at a failed call.

use std::fmt;
use std::str::FromStr;

use super::ValueError;

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
