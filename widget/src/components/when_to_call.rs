//! When to call: now, or at a time the visitor picks from the coming slots.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use protocol::TextKey;
use send_wrapper::SendWrapper;

use super::{Message, Reactive, Words, text};
use crate::i18n::{Locale, format_time, number};

/// "Now" or "at a time I choose", and the list of times. The stylesheet
/// shows the list when the dialog's `data-when` is `later`, and only the
/// list (with why) when the company is closed (`data-open="0"`).
#[component]
pub fn WhenToCall(
    /// The texts in use.
    words: impl Words,
    /// Their language, for the times.
    locale: impl Reactive<Locale>,
    /// Whether a time is to be picked (chosen, or the company is closed).
    later: impl Reactive<bool>,
    /// The coming slots' starts (Unix seconds).
    slots: impl Reactive<Vec<i64>>,
    /// What is wrong with the times (none free, not loaded, taken), in
    /// words; empty: nothing.
    error: impl Reactive<String>,
    /// The visitor chose now (`false`) or later (`true`).
    on_choose: impl Fn(bool) + Clone + 'static,
    /// The visitor picked a time.
    on_pick: impl Fn() + 'static,
) -> impl IntoView {
    // The list's value: set as the visitor changes it and as the list is
    // drawn (its first time when the pick is no longer offered, as the
    // browser shows), so that the visitor's pick stays when the times are
    // fetched again. Not a `NodeRef` to read it back: that brings a signal
    // type of its own into the wasm (0.9 KB brotli; README, "Widget size").
    let shown = SendWrapper::new(Rc::new(RefCell::new(String::new())));
    let changed = shown.clone();
    let choice = move |value: &'static str, key: TextKey| {
        let on_choose = on_choose.clone();
        let is_later = value == "later";
        view! {
            <label class="choice">
                <input
                    type="radio"
                    name="when"
                    value=value
                    prop:checked=move || later() == is_later
                    on:change=move |_| on_choose(is_later)
                />
                <span>{text(words, key)}</span>
            </label>
        }
    };
    // The options, keeping the visitor's pick when it is still offered.
    let options = move || {
        let locale = locale();
        let slots = slots();
        let mut shown = shown.borrow_mut();
        if !slots.iter().any(|&start| number(start as u64) == *shown) {
            *shown = slots
                .first()
                .map(|&start| number(start as u64))
                .unwrap_or_default();
        }
        slots
            .into_iter()
            .map(|start| {
                let value = number(start as u64);
                let selected = value == *shown;
                view! { <option value=value selected=selected>{format_time(start, locale)}</option> }
            })
            .collect_view()
    };
    view! {
        <fieldset>
            <legend>{text(words, TextKey::When)}</legend>
            {choice("now", TextKey::Now)}
            {choice("later", TextKey::Later)}
            <p class="closed">{text(words, TextKey::Closed)}</p>
            <div class="pick">
                <label for="cbw-slot">{text(words, TextKey::Slot)}</label>
                <select
                    id="cbw-slot"
                    name="slot"
                    aria-describedby="cbw-slot-msg"
                    on:change=move |event| {
                        *changed.borrow_mut() = event_target_value(&event);
                        on_pick();
                    }
                >
                    {options}
                </select>
                <Message
                    id="cbw-slot-msg"
                    class="msg"
                    text=error
                />
            </div>
        </fieldset>
    }
}
