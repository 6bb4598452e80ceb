//! The phone number: label, field, and what is wrong with it.

use leptos::prelude::*;
use protocol::TextKey;

use super::{Message, Reactive, Words, aria, said, text};

/// A `tel` field (the phone's keypad, autofill, 16 px so iOS does not zoom),
/// `aria-invalid` while its message says what is wrong.
#[component]
pub fn PhoneField(
    /// The texts in use.
    words: impl Words,
    /// The number as typed (or pre-filled with the country code).
    value: impl Reactive<String>,
    /// What is wrong with it (empty: nothing).
    error: impl Reactive<String>,
    /// The field's value changed (`false`: typing) or the visitor left it
    /// (`true`). The value is read from the field each time: a script (a
    /// password manager, WebDriver's clear) may change it without `input`.
    on_change: impl Fn(String, bool) + Clone + 'static,
) -> impl IntoView {
    let (on_leave, on_set) = (on_change.clone(), on_change.clone());
    view! {
        <label for="cbw-phone">{text(words, TextKey::Phone)}</label>
        <input
            id="cbw-phone"
            name="phone"
            type="tel"
            inputmode="tel"
            autocomplete="tel"
            aria-describedby="cbw-phone-msg"
            aria-invalid=aria(said(error))
            prop:value=value
            on:input=move |event| on_change(event_target_value(&event), false)
            on:change=move |event| on_set(event_target_value(&event), false)
            on:focusout=move |event| on_leave(event_target_value(&event), true)
        />
        <Message
            id="cbw-phone-msg"
            class="msg"
            text=error
        />
    }
}
