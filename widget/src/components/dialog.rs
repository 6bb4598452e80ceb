//! The dialog's frame: its title, the close button, and what it shows.

use leptos::html;
use leptos::prelude::*;
use protocol::TextKey;

use crate::i18n::Texts;

/// `role=dialog`, modal, labelled by its title. Which of its parts show is
/// the stylesheet's business, from the three `data-*` switches.
#[component]
pub fn Dialog(
    /// The texts in use (its title and the close button's name).
    #[prop(into)]
    texts: Signal<Texts>,
    /// `form`, or the call's state (`queued`, `failed`, …).
    #[prop(into)]
    data_state: Signal<String>,
    /// Whether the form offers a time (`later`) or a call now (`now`).
    #[prop(into)]
    later: Signal<bool>,
    /// Whether the company takes calls now.
    #[prop(into)]
    open_now: Signal<bool>,
    /// For the Tab trap, which looks for what can take focus inside.
    dialog: NodeRef<html::Div>,
    /// The close button was clicked.
    on_close: impl Fn() + 'static,
    /// The status and the form.
    children: Children,
) -> impl IntoView {
    let text = move |key: TextKey| move || texts.read().get(key).to_owned();
    view! {
        <div
            class="dialog"
            id="cbw-dialog"
            role="dialog"
            aria-modal="true"
            aria-labelledby="cbw-title"
            tabindex="-1"
            data-state=data_state
            data-when=move || if later.get() { "later" } else { "now" }
            data-open=move || if open_now.get() { "1" } else { "0" }
            node_ref=dialog
        >
            <h2 id="cbw-title">{text(TextKey::Title)}</h2>
            <button
                class="close"
                type="button"
                data-act="close"
                aria-label=text(TextKey::Close)
                on:click=move |_| on_close()
            >
                "×"
            </button>
            {children()}
        </div>
    }
}
