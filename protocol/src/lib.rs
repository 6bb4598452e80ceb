//! The words the widget and the proxy share.
//!
//! This crate is compiled twice: natively into the proxy and to wasm into the
//! widget, so it must stay light (serde, thiserror and sha2 for the
//! proof-of-work challenge; never serde_json, regex or url). Everything that crosses the wire between the visitor's
//! browser and the proxy is defined here, once.

mod api;
pub mod challenge;
mod colour;
mod locale;
mod phone;
mod position;
mod strings;
mod wire_name;

pub use api::{
    ApiError, CallState, CallStatus, CallbackAccepted, CallbackRequest, Consent, ConsentConfig,
    ErrorBody, ErrorCode, FailureReason, INVITE_KEYS, SiteConfig, SiteTexts, Slot, Slots,
    TEXT_KEYS, TextKey, Utm, VisitContext, paths,
};
pub use colour::{HexColour, HexColourError};
pub use locale::{Locale, LocaleError};
pub use phone::{PhoneError, PhoneNumber};
pub use position::{Position, PositionError};
pub use strings::Strings;
pub use wire_name::WireName;
