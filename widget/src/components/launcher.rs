//! The round button that opens and closes the dialog.

use leptos::prelude::*;
use protocol::TextKey;

use super::{Reactive, Words, aria, text};

/// The launcher: `aria-expanded` says whether the dialog is open, its
/// accessible name is the text `open`.
#[component]
pub fn Launcher(
    /// Whether the dialog is open.
    open: impl Reactive<bool>,
    /// The texts in use.
    words: impl Words,
    /// Clicked: open or close.
    on_toggle: impl Fn() + 'static,
) -> impl IntoView {
    view! {
        <button
            class="launcher"
            // Focus returns here when the dialog closes (`Part::Launcher`).
            id="cbw-launcher"
            type="button"
            data-act="toggle"
            aria-haspopup="dialog"
            aria-controls="cbw-dialog"
            aria-expanded=aria(open)
            aria-label=text(words, TextKey::Open)
            on:click=move |_| on_toggle()
        >
            "☎"
        </button>
    }
}
