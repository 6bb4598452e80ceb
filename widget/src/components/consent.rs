//! The consent box, when the site asks for one.

use leptos::html;
use leptos::prelude::*;
use protocol::{ConsentConfig, TextKey};

use super::{Message, bool_text};
use crate::i18n::Texts;

/// A checkbox with its label and a link to the full text, hidden when the
/// site asks for no consent; `required` when the form cannot go without it.
#[component]
pub fn ConsentField(
    /// The texts in use.
    #[prop(into)]
    texts: Signal<Texts>,
    /// The site's consent settings; `None`: no box.
    #[prop(into)]
    consent: Signal<Option<ConsentConfig>>,
    /// Whether the form was sent without the required tick.
    #[prop(into)]
    error: Signal<bool>,
    /// Focus goes here when the tick is missing.
    input: NodeRef<html::Input>,
    /// The visitor ticked (`true`) or unticked the box.
    on_tick: impl Fn(bool) + 'static,
) -> impl IntoView {
    let text = move |key: TextKey| move || texts.read().get(key).to_owned();
    let link = move || consent.read().as_ref().and_then(|c| c.link.clone());
    view! {
        <div class="consent" hidden=move || consent.read().is_none()>
            <input
                type="checkbox"
                id="cbw-consent"
                name="consent"
                aria-describedby="cbw-consent-msg"
                required=move || consent.read().as_ref().is_some_and(|c| c.required)
                aria-invalid=move || bool_text(error.get())
                node_ref=input
                on:change=move |event| on_tick(event_target_checked(&event))
            />
            <label for="cbw-consent">{text(TextKey::Consent)}</label>
            <a target="_blank" rel="noopener" href=link hidden=move || link().is_none()>
                {text(TextKey::ConsentLink)}
            </a>
            <Message
                id="cbw-consent-msg"
                class="msg"
                text=Signal::derive(move || {
                    if error.get() { texts.read().get(TextKey::ConsentRequired).to_owned() } else { String::new() }
                })
            />
        </div>
    }
}
