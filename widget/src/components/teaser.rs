//! The invitation: a small, non-modal teaser beside the launcher.

use leptos::prelude::*;
use protocol::TextKey;

use super::{Message, Reactive, Words, either, text, text_if};

/// The invitation's words in a polite live region (there, empty, before
/// they come, so a screen reader says them when they do), "Yes, call me"
/// and a close button. The stylesheet shows the box and its buttons only
/// while `shown` (the class `on`); it never takes focus, and Escape on the
/// page closes it (the controller hears it).
#[component]
pub fn Teaser(
    /// The texts in use.
    words: impl Words,
    /// Whether an invitation shows.
    shown: impl Reactive<bool>,
    /// "Yes, call me" was clicked.
    on_yes: impl Fn() + 'static,
    /// The close button was clicked: "no".
    on_no: impl Fn() + 'static,
) -> impl IntoView {
    view! {
        <div class=either(shown, "teaser on", "teaser")>
            <Message
                id="cbw-invite"
                text=text_if(words, TextKey::Invite, shown)
            />
            <button class="primary" type="button" id="cbw-invite-yes" on:click=move |_| on_yes()>
                {text(words, TextKey::InviteYes)}
            </button>
            <button
                class="close"
                type="button"
                data-act="invite-no"
                aria-label=text(words, TextKey::Close)
                on:click=move |_| on_no()
            >
                "×"
            </button>
        </div>
    }
}
