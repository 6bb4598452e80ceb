//! The office to call from, when the site has several.

use leptos::prelude::*;
use protocol::TextKey;

use super::{Reactive, Words, text};
use crate::i18n::number;

/// A list of the site's offices (value: the index), hidden unless there
/// are at least two to choose from.
#[component]
pub fn OfficeField(
    /// The texts in use.
    words: impl Words,
    /// The offices' names, in the site's order.
    offices: impl Reactive<Vec<String>>,
) -> impl IntoView {
    view! {
        <div hidden=move || offices().len() < 2>
            <label for="cbw-office">{text(words, TextKey::Office)}</label>
            <select id="cbw-office" name="office">
                {move || {
                    offices()
                        .into_iter()
                        .enumerate()
                        .map(|(index, name)| {
                            // `selected` as the times' options have it: one
                            // type of option, one copy of its code.
                            view! { <option value=number(index as u64) selected=false>{name}</option> }
                        })
                        .collect_view()
                }}
            </select>
        </div>
    }
}
