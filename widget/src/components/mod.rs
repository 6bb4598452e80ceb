//! The widget's view: small Leptos components, each drawing one part from
//! signals it is given and reporting the visitor's actions through the
//! callbacks it is given. None of them holds state of its own (except the
//! status's clock), so each can be mounted alone with fixed signals (the
//! widget's tests do).
//!
//! Parts are shown and hidden by the stylesheet (`style.rs`) from a few
//! attributes (`data-state`, `data-when`, `data-open` on the dialog,
//! `hidden`, `aria-expanded`), not by adding and removing subtrees: the DOM
//! is built once, which is smaller in the wasm and keeps every element a
//! test or a screen reader holds. No inline styles: a strict
//! Content-Security-Policy forbids them.

// The props structs `#[component]` generates have no `Debug`.
#![allow(
    missing_debug_implementations,
    unreachable_pub,
    reason = "`#[component]` generates props structs without `Debug`, and its functions trip `unreachable_pub` though `lib.rs` exports them"
)]

mod app;
mod call_status;
mod consent;
mod dialog;
mod launcher;
mod messages;
mod office;
mod phone_field;
mod when_to_call;

pub use app::App;
pub use call_status::{CallStatusView, status_text};
pub use consent::ConsentField;
pub use dialog::Dialog;
pub use launcher::Launcher;
pub use messages::Message;
pub use office::OfficeField;
pub use phone_field::PhoneField;
pub use when_to_call::WhenToCall;

/// An ARIA boolean.
pub(crate) fn bool_text(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}
