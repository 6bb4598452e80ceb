//! The dialog's frame: its title, the close button, and what it shows.

use leptos::prelude::*;
use protocol::TextKey;

use super::{Reactive, Words, either, text};

/// `role=dialog`, modal, labelled by its title. Which of its parts show is
/// the stylesheet's business, from the three `data-*` switches.
///
/// Its children keep their type (`TypedChildren`): `Children` would erase it
/// into an `AnyView`, whose code to update in place the wasm would carry.
#[component]
pub fn Dialog<C: IntoView + 'static>(
    /// The texts in use (its title and the close button's name).
    words: impl Words,
    /// `form`, or the call's state (`queued`, `failed`, …).
    data_state: impl Reactive<String>,
    /// Whether the form offers a time (`later`) or a call now (`now`).
    later: impl Reactive<bool>,
    /// Whether the company takes calls now.
    open_now: impl Reactive<bool>,
    /// The close button was clicked.
    on_close: impl Fn() + 'static,
    /// The status and the form.
    children: TypedChildren<C>,
) -> impl IntoView {
    view! {
        <div
            class="dialog"
            id="cbw-dialog"
            role="dialog"
            aria-modal="true"
            aria-labelledby="cbw-title"
            tabindex="-1"
            data-state=data_state
            data-when=either(later, "later", "now")
            data-open=either(open_now, "1", "0")
        >
            <h2 id="cbw-title">{text(words, TextKey::Title)}</h2>
            <button
                class="close"
                type="button"
                data-act="close"
                aria-label=text(words, TextKey::Close)
                on:click=move |_| on_close()
            >
                "×"
            </button>
            {children.into_inner()()}
        </div>
    }
}
