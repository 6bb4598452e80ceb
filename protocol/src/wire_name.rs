//! [`WireName`]: the contract's enums, which the wire writes as one of
//! their names (`"in_progress"`), read by matching the name.

use serde::de::{Deserialize, Deserializer, Error};

/// An enum the wire writes as a name. It is read by looking the name up in
/// [`WireName::NAMES`] rather than through serde's derived enum visitor,
/// which the widget's wasm would carry once per enum (about 1 KB brotli for
/// the three; README, "Widget size"). Written by serde's derived
/// `Serialize` (whose `rename_all` the OpenAPI document reads too); a test
/// checks that both agree on every name.
pub trait WireName: Copy + PartialEq + Sized + 'static {
    /// Every value, in the order of [`WireName::NAMES`].
    const ALL: &'static [Self];
    /// Every value's name on the wire.
    const NAMES: &'static [&'static str];

    /// This value's name on the wire.
    fn name(self) -> &'static str {
        let at = Self::ALL.iter().position(|value| *value == self);
        at.and_then(|at| Self::NAMES.get(at))
            .copied()
            .unwrap_or_default()
    }

    /// The value of `name`, if it is one.
    fn from_name(name: &str) -> Option<Self> {
        let at = Self::NAMES.iter().position(|known| *known == name)?;
        Self::ALL.get(at).copied()
    }
}

/// Reads a [`WireName`] enum: a string that is one of its names.
pub(crate) fn deserialize<'de, T: WireName, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    let name = String::deserialize(deserializer)?;
    T::from_name(&name).ok_or_else(|| D::Error::unknown_variant(&name, T::NAMES))
}

/// Implements [`WireName`] and `Deserialize` for an enum of unit variants.
/// Every variant must be listed: a variant added to the enum and not here
/// fails to compile (the `match` below), so no value is left without a name.
macro_rules! wire_names {
    ($enum:ident { $($variant:ident = $name:literal,)* }) => {
        const _: fn($enum) = |value| match value {
            $($enum::$variant => (),)*
        };

        impl $crate::WireName for $enum {
            const ALL: &'static [Self] = &[$(Self::$variant,)*];
            const NAMES: &'static [&'static str] = &[$($name,)*];
        }

        impl<'de> serde::Deserialize<'de> for $enum {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $crate::wire_name::deserialize(deserializer)
            }
        }
    };
}
pub(crate) use wire_names;
