//! Which side of the page the widget's launcher sits on.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The launcher's side of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Position {
    /// Bottom right, the default.
    #[default]
    Right,
    /// Bottom left.
    Left,
}

/// A side that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a side of the page; use \"right\" or \"left\"")]
pub struct PositionError(pub String);

impl Position {
    /// The name on the wire and in configs: `right` or `left`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Right => "right",
            Self::Left => "left",
        }
    }
}

impl FromStr for Position {
    type Err = PositionError;
    fn from_str(side: &str) -> Result<Self, Self::Err> {
        match side {
            "right" => Ok(Self::Right),
            "left" => Ok(Self::Left),
            _ => Err(PositionError(side.to_owned())),
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Position {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Position {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let side = String::deserialize(deserializer)?;
        side.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_is_right_or_left() {
        assert_eq!("right".parse(), Ok(Position::Right));
        assert_eq!("left".parse(), Ok(Position::Left));
        assert_eq!(Position::default(), Position::Right);
        assert!("top".parse::<Position>().is_err());
        assert_eq!(
            serde_json::to_string(&Position::Left).ok().as_deref(),
            Some("\"left\"")
        );
    }
}
