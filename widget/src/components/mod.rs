//! The widget's view: small Leptos components, each drawing one part from
//! reactive values it is given and reporting the visitor's actions through
//! the callbacks it is given. None of them holds state of its own (except
//! the status's clock), so each can be mounted alone with fixed signals (the
//! widget's tests do).
//!
//! A reactive prop is a closure that reads signals ([`Reactive`], [`Words`]),
//! which Leptos re-runs when they change, rather than a `Signal<T>`: each
//! `Signal<T>` type brings its own copy of the reactive machinery into the
//! wasm, and the widget would need nine of them (README, "Widget size").
//!
//! Parts are shown and hidden by the stylesheet (`style.rs`) from a few
//! attributes (`data-state`, `data-when`, `data-open` on the dialog,
//! `hidden`, `aria-expanded`), not by adding and removing subtrees: the DOM
//! is built once, which is smaller in the wasm and keeps every element a
//! test or a screen reader holds. Once means when needed: the launcher at
//! mount, the dialog when it first opens (`App`), so that loading stays one
//! short task on the page's thread. No inline styles: a strict
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
mod teaser;
mod when_to_call;

pub use app::App;
pub use call_status::{CallStatusView, status_text};
pub use consent::ConsentField;
pub use dialog::Dialog;
pub use launcher::Launcher;
pub use messages::Message;
pub use office::OfficeField;
pub use phone_field::PhoneField;
pub use teaser::Teaser;
pub use when_to_call::WhenToCall;

use leptos::prelude::*;
use protocol::TextKey;

use crate::state::State;

/// A value the view follows: a closure that reads signals, re-run by
/// Leptos when they change (`move || state.read().open`).
pub trait Reactive<T>: Fn() -> T + Copy + Send + Sync + 'static {}

impl<T, F: Fn() -> T + Copy + Send + Sync + 'static> Reactive<T> for F {}

/// The texts in use: the text of a key in the current language, read
/// reactively (`move |key| state.read().texts.get(key).to_owned()`).
pub trait Words: Fn(TextKey) -> String + Copy + Send + Sync + 'static {}

impl<F: Fn(TextKey) -> String + Copy + Send + Sync + 'static> Words for F {}

/// A text binding: the text of `key` in the current language, re-read when
/// it changes. Every component makes its bindings here, so that they share
/// one closure type, and the wasm one copy of Leptos's code to render it
/// (README, "Widget size").
pub(crate) fn text<W: Words>(words: W, key: TextKey) -> impl Reactive<String> {
    move || words(key)
}

/// A value `App` reads from the widget's state with a plain function (a
/// closure that captures nothing): every prop of one type it gives is then
/// one closure type, and the parts' bindings built from them share one too
/// (`either`, `text_if`), so the wasm carries one copy of Leptos's code to
/// render each kind of value rather than one per binding (README, "Widget
/// size").
pub(crate) fn from_state<T: 'static>(
    state: RwSignal<State>,
    read: fn(&State) -> T,
) -> impl Reactive<T> {
    move || read(&state.read())
}

/// `on` while `flag` holds, `off` otherwise: an ARIA boolean, a `data-*`
/// switch or a class. A `String`, like the texts' bindings, so that every
/// reactive attribute value is one type and the wasm has one copy of
/// Leptos's render effect for them (0.4 KB brotli less than `&'static str`).
pub(crate) fn either(
    flag: impl Reactive<bool>,
    on: &'static str,
    off: &'static str,
) -> impl Reactive<String> {
    move || if flag() { on } else { off }.to_owned()
}

/// An ARIA boolean (`"true"`, `"false"`).
pub(crate) fn aria(flag: impl Reactive<bool>) -> impl Reactive<String> {
    either(flag, "true", "false")
}

/// The text of `key` while `flag` holds, empty otherwise (a message that
/// comes and goes).
pub(crate) fn text_if<W: Words>(
    words: W,
    key: TextKey,
    flag: impl Reactive<bool>,
) -> impl Reactive<String> {
    move || if flag() { words(key) } else { String::new() }
}

/// Whether a message is there (not empty).
pub(crate) fn said(message: impl Reactive<String>) -> impl Reactive<bool> {
    move || !message().is_empty()
}
