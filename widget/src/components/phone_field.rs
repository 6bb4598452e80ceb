//! The phone number: label, field, and what is wrong with it.

use leptos::html;
use leptos::prelude::*;
use protocol::TextKey;

use super::{Message, bool_text};
use crate::i18n::Texts;

/// A `tel` field (the phone's keypad, autofill, 16 px so iOS does not zoom),
/// `aria-invalid` while its message says what is wrong.
#[component]
pub fn PhoneField(
    /// The texts in use.
    #[prop(into)]
    texts: Signal<Texts>,
    /// The number as typed (or pre-filled with the country code).
    #[prop(into)]
    value: Signal<String>,
    /// What is wrong with it, if anything.
    #[prop(into)]
    error: Signal<Option<TextKey>>,
    /// Focus goes here when the dialog opens or the number is wrong.
    input: NodeRef<html::Input>,
    /// The visitor typed (`false`) or left the field (`true`).
    on_change: impl Fn(Option<String>, bool) + Clone + 'static,
) -> impl IntoView {
    let on_leave = on_change.clone();
    view! {
        <label for="cbw-phone">{move || texts.read().get(TextKey::Phone).to_owned()}</label>
        <input
            id="cbw-phone"
            name="phone"
            type="tel"
            inputmode="tel"
            autocomplete="tel"
            aria-describedby="cbw-phone-msg"
            aria-invalid=move || bool_text(error.read().is_some())
            prop:value=value
            node_ref=input
            on:input=move |event| on_change(Some(event_target_value(&event)), false)
            on:focusout=move |_| on_leave(None, true)
        />
        <Message
            id="cbw-phone-msg"
            class="msg"
            text=Signal::derive(move || error.get().map(|key| texts.read().get(key).to_owned()).unwrap_or_default())
        />
    }
}
