//! The round button that opens and closes the dialog.

use leptos::html;
use leptos::prelude::*;
use protocol::TextKey;

use super::{Reactive, Words, bool_text};

/// The launcher: `aria-expanded` says whether the dialog is open, its
/// accessible name is the text `open`.
#[component]
pub fn Launcher(
    /// Whether the dialog is open.
    open: impl Reactive<bool>,
    /// The texts in use.
    words: impl Words,
    /// Focus returns here when the dialog closes.
    button: NodeRef<html::Button>,
    /// Clicked: open or close.
    on_toggle: impl Fn() + 'static,
) -> impl IntoView {
    view! {
        <button
            class="launcher"
            type="button"
            data-act="toggle"
            aria-haspopup="dialog"
            aria-controls="cbw-dialog"
            aria-expanded=move || bool_text(open())
            aria-label=move || words(TextKey::Open)
            node_ref=button
            on:click=move |_| on_toggle()
        >
            "☎"
        </button>
    }
}
