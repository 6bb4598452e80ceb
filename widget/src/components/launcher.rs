//! The round button that opens and closes the dialog.

use leptos::html;
use leptos::prelude::*;
use protocol::TextKey;

use super::bool_text;
use crate::i18n::Texts;

/// The launcher: `aria-expanded` says whether the dialog is open, its
/// accessible name is the text `open`.
#[component]
pub fn Launcher(
    /// Whether the dialog is open.
    #[prop(into)]
    open: Signal<bool>,
    /// The texts in use.
    #[prop(into)]
    texts: Signal<Texts>,
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
            aria-expanded=move || bool_text(open.get())
            aria-label=move || texts.read().get(TextKey::Open).to_owned()
            node_ref=button
            on:click=move |_| on_toggle()
        >
            "☎"
        </button>
    }
}
