//! A message under a field or the form: a polite live region, so a screen
//! reader says it when it appears or changes (and not again when it does
//! not: Leptos skips writing the same text twice).

use leptos::prelude::*;

use super::Reactive;

/// `<p id aria-live=polite>` with the message, or empty (then the
/// stylesheet takes it out of the layout).
#[component]
pub fn Message(
    /// The element's id (fields point at it with `aria-describedby`).
    id: &'static str,
    /// `msg` for a field's message (red, small), empty for the form's.
    #[prop(optional)]
    class: &'static str,
    /// The message; empty when there is none.
    text: impl Reactive<String>,
) -> impl IntoView {
    view! { <p class=class id=id aria-live="polite">{text}</p> }
}
