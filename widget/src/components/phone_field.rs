//! The phone number: label, field, and what is wrong with it.

use leptos::html;
use leptos::prelude::*;
use protocol::TextKey;

use super::{Message, Reactive, Words, bool_text};

/// A `tel` field (the phone's keypad, autofill, 16 px so iOS does not zoom),
/// `aria-invalid` while its message says what is wrong.
#[component]
pub fn PhoneField(
    /// The texts in use.
    words: impl Words,
    /// The number as typed (or pre-filled with the country code).
    value: impl Reactive<String>,
    /// What is wrong with it, if anything.
    error: impl Reactive<Option<TextKey>>,
    /// Focus goes here when the dialog opens or the number is wrong.
    input: NodeRef<html::Input>,
    /// The visitor typed (`Some(value)`, `false`) or left the field (`None`, `true`).
    on_change: impl Fn(Option<String>, bool) + Clone + 'static,
) -> impl IntoView {
    let on_leave = on_change.clone();
    view! {
        <label for="cbw-phone">{move || words(TextKey::Phone)}</label>
        <input
            id="cbw-phone"
            name="phone"
            type="tel"
            inputmode="tel"
            autocomplete="tel"
            aria-describedby="cbw-phone-msg"
            aria-invalid=move || bool_text(error().is_some())
            prop:value=value
            node_ref=input
            on:input=move |event| on_change(Some(event_target_value(&event)), false)
            on:focusout=move |_| on_leave(None, true)
        />
        <Message
            id="cbw-phone-msg"
            class="msg"
            text=move || error().map(words).unwrap_or_default()
        />
    }
}
