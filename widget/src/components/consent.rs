//! The consent box, when the site asks for one.

use leptos::prelude::*;
use protocol::{ConsentConfig, TextKey};

use super::{Message, Reactive, Words, aria, text, text_if};

/// A checkbox with its label and a link to the full text, hidden when the
/// site asks for no consent; `required` when the form cannot go without it.
#[component]
pub fn ConsentField(
    /// The texts in use.
    words: impl Words,
    /// The site's consent settings; `None`: no box.
    consent: impl Reactive<Option<ConsentConfig>>,
    /// Whether the form was sent without the required tick.
    error: impl Reactive<bool>,
    /// The visitor ticked (`true`) or unticked the box.
    on_tick: impl Fn(bool) + 'static,
) -> impl IntoView {
    let link = move || consent().and_then(|c| c.link);
    view! {
        <div class="consent" hidden=move || consent().is_none()>
            <input
                type="checkbox"
                id="cbw-consent"
                name="consent"
                aria-describedby="cbw-consent-msg"
                required=move || consent().is_some_and(|c| c.required)
                aria-invalid=aria(error)
                on:change=move |event| on_tick(event_target_checked(&event))
            />
            <label for="cbw-consent">{text(words, TextKey::Consent)}</label>
            <a
                target="_blank"
                rel="noopener"
                href=move || link().unwrap_or_default()
                hidden=move || link().is_none()
            >
                {text(words, TextKey::ConsentLink)}
            </a>
            <Message
                id="cbw-consent-msg"
                class="msg"
                text=text_if(words, TextKey::ConsentRequired, error)
            />
        </div>
    }
}
