//! The widget's DOM: built once with `createElement`, then painted from the
//! [`State`] after every change.
//!
//! There is no framework here, on purpose: the widget is one launcher and
//! one dialog, and a UI framework's runtime alone would take most of the
//! 60 KB budget (README, "Widget size"). The view has two halves that a
//! newcomer can read top to bottom: [`View::build`] (the tree, with every
//! static attribute) and [`View::paint`] (every attribute and text that
//! changes, written from the state; writing the same value twice is skipped,
//! so a live region is not announced again).
//!
//! Parts are shown and hidden by the stylesheet from a few attributes of the
//! dialog (`data-state`, `data-when`, `data-open`), never with inline styles:
//! a strict Content-Security-Policy forbids them.

use protocol::{CallState, CallStatus, FailureReason, TextKey};
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, HtmlElement, HtmlInputElement, HtmlSelectElement};

use crate::controller::State;
use crate::i18n::{Texts, format_time, number};
use crate::wire;

/// The elements the widget changes after building them.
#[derive(Debug)]
pub(crate) struct View {
    /// The fixed box holding everything (`.cbw`).
    pub container: HtmlElement,
    /// The round button that opens the dialog.
    pub launcher: HtmlElement,
    /// `role=dialog`.
    pub dialog: HtmlElement,
    /// The call's status (`role=status`, so it is announced).
    pub status: HtmlElement,
    /// The estimated countdown (not a live region: it changes every second).
    eta: Element,
    pub phone: HtmlInputElement,
    phone_message: Element,
    /// The office choice's wrapper, hidden unless the site has several.
    pub office_field: Element,
    pub office: HtmlSelectElement,
    now: HtmlInputElement,
    later: HtmlInputElement,
    pub slot: HtmlSelectElement,
    slot_message: Element,
    /// The consent checkbox's wrapper, hidden unless the site asks for consent.
    pub consent_field: Element,
    pub consent: HtmlInputElement,
    pub consent_link: Element,
    consent_message: Element,
    /// Sending, offline, too many requests.
    message: Element,
    /// Elements whose text (or attribute) is a text: element, text, attribute
    /// (empty for the element's own text).
    labels: Vec<(Element, TextKey, &'static str)>,
}

/// Builds elements and remembers which ones carry texts.
struct Builder {
    document: Document,
    labels: Vec<(Element, TextKey, &'static str)>,
}

impl Builder {
    /// A new `tag` element with `attributes`, appended to `parent`.
    fn el(
        &self,
        parent: &Element,
        tag: &str,
        attributes: &[(&str, &str)],
    ) -> Result<Element, JsValue> {
        let element = self.document.create_element(tag)?;
        for (name, value) in attributes {
            element.set_attribute(name, value)?;
        }
        parent.append_child(&element)?;
        Ok(element)
    }

    /// Like [`Builder::el`], with `text` as its content (or its `attribute`).
    fn labelled(
        &mut self,
        parent: &Element,
        tag: &str,
        attributes: &[(&str, &str)],
        text: TextKey,
        attribute: &'static str,
    ) -> Result<Element, JsValue> {
        let element = self.el(parent, tag, attributes)?;
        self.labels.push((element.clone(), text, attribute));
        Ok(element)
    }
}

impl View {
    /// Builds the launcher and the dialog in a new `.cbw` box (not yet in the page).
    pub(crate) fn build(document: Document) -> Result<Self, JsValue> {
        let mut b = Builder {
            document,
            labels: Vec::new(),
        };
        let container = b.document.create_element("div")?;
        container.set_class_name("cbw");
        let launcher = b.labelled(
            &container,
            "button",
            &[
                ("class", "launcher"),
                ("type", "button"),
                ("data-act", "toggle"),
                ("aria-haspopup", "dialog"),
                ("aria-controls", "cbw-dialog"),
                ("aria-expanded", "false"),
            ],
            TextKey::Open,
            "aria-label",
        )?;
        launcher.set_text_content(Some("☎"));

        let dialog = b.el(
            &container,
            "div",
            &[
                ("class", "dialog"),
                ("id", "cbw-dialog"),
                ("role", "dialog"),
                ("aria-modal", "true"),
                ("aria-labelledby", "cbw-title"),
                ("tabindex", "-1"),
            ],
        )?;
        b.labelled(&dialog, "h2", &[("id", "cbw-title")], TextKey::Title, "")?;
        let close = b.labelled(
            &dialog,
            "button",
            &[
                ("class", "close"),
                ("type", "button"),
                ("data-act", "close"),
            ],
            TextKey::Close,
            "aria-label",
        )?;
        close.set_text_content(Some("×"));
        let status = b.el(
            &dialog,
            "p",
            &[("class", "status"), ("role", "status"), ("tabindex", "-1")],
        )?;
        let eta = b.el(&dialog, "p", &[("class", "eta")])?;
        let again = b.el(&dialog, "div", &[("class", "again")])?;
        b.labelled(
            &again,
            "button",
            &[
                ("class", "primary"),
                ("type", "button"),
                ("data-act", "again"),
            ],
            TextKey::TryAgain,
            "",
        )?;
        b.labelled(
            &again,
            "button",
            &[
                ("class", "secondary"),
                ("type", "button"),
                ("data-act", "pick"),
            ],
            TextKey::PickTime,
            "",
        )?;

        let form = b.el(&dialog, "form", &[("novalidate", "")])?;
        b.labelled(&form, "label", &[("for", "cbw-phone")], TextKey::Phone, "")?;
        let phone = b.el(
            &form,
            "input",
            &[
                ("id", "cbw-phone"),
                ("name", "phone"),
                ("type", "tel"),
                ("inputmode", "tel"),
                ("autocomplete", "tel"),
                ("aria-describedby", "cbw-phone-msg"),
            ],
        )?;
        let phone_message = b.el(
            &form,
            "p",
            &[
                ("class", "msg"),
                ("id", "cbw-phone-msg"),
                ("aria-live", "polite"),
            ],
        )?;

        let office_field = b.el(&form, "div", &[("hidden", "")])?;
        b.labelled(
            &office_field,
            "label",
            &[("for", "cbw-office")],
            TextKey::Office,
            "",
        )?;
        let office = b.el(
            &office_field,
            "select",
            &[("id", "cbw-office"), ("name", "office")],
        )?;

        let when = b.el(&form, "fieldset", &[])?;
        b.labelled(&when, "legend", &[], TextKey::When, "")?;
        let mut choice = |value: &str, text: TextKey| -> Result<HtmlInputElement, JsValue> {
            let label = b.el(&when, "label", &[("class", "choice")])?;
            let radio = b.el(
                &label,
                "input",
                &[("type", "radio"), ("name", "when"), ("value", value)],
            )?;
            b.labelled(&label, "span", &[], text, "")?;
            Ok(radio.unchecked_into())
        };
        let now = choice("now", TextKey::Now)?;
        let later = choice("later", TextKey::Later)?;
        b.labelled(&when, "p", &[("class", "closed")], TextKey::Closed, "")?;
        let pick = b.el(&when, "div", &[("class", "pick")])?;
        b.labelled(&pick, "label", &[("for", "cbw-slot")], TextKey::Slot, "")?;
        let slot = b.el(
            &pick,
            "select",
            &[
                ("id", "cbw-slot"),
                ("name", "slot"),
                ("aria-describedby", "cbw-slot-msg"),
            ],
        )?;
        let slot_message = b.el(
            &pick,
            "p",
            &[
                ("class", "msg"),
                ("id", "cbw-slot-msg"),
                ("aria-live", "polite"),
            ],
        )?;

        let consent_field = b.el(&form, "div", &[("class", "consent"), ("hidden", "")])?;
        let consent = b.el(
            &consent_field,
            "input",
            &[
                ("type", "checkbox"),
                ("id", "cbw-consent"),
                ("name", "consent"),
                ("aria-describedby", "cbw-consent-msg"),
            ],
        )?;
        b.labelled(
            &consent_field,
            "label",
            &[("for", "cbw-consent")],
            TextKey::Consent,
            "",
        )?;
        let consent_link = b.labelled(
            &consent_field,
            "a",
            &[("target", "_blank"), ("rel", "noopener")],
            TextKey::ConsentLink,
            "",
        )?;
        let consent_message = b.el(
            &consent_field,
            "p",
            &[
                ("class", "msg"),
                ("id", "cbw-consent-msg"),
                ("aria-live", "polite"),
            ],
        )?;

        b.labelled(
            &form,
            "button",
            &[("class", "primary"), ("type", "submit")],
            TextKey::Submit,
            "",
        )?;
        let message = b.el(
            &form,
            "p",
            &[("id", "cbw-message"), ("aria-live", "polite")],
        )?;

        Ok(Self {
            container: container.unchecked_into(),
            launcher: launcher.unchecked_into(),
            dialog: dialog.unchecked_into(),
            status: status.unchecked_into(),
            eta,
            phone: phone.unchecked_into(),
            phone_message,
            office_field,
            office: office.unchecked_into(),
            now,
            later,
            slot: slot.unchecked_into(),
            slot_message,
            consent_field,
            consent: consent.unchecked_into(),
            consent_link,
            consent_message,
            message,
            labels: b.labels,
        })
    }

    /// Writes everything that depends on the state.
    pub(crate) fn paint(&self, state: &State) {
        let texts = &state.texts;
        for (element, key, attribute) in &self.labels {
            if attribute.is_empty() {
                set_text(element, texts.get(*key));
            } else {
                set_attribute(element, attribute, texts.get(*key));
            }
        }
        let mut class = String::from("cbw");
        if state.left {
            class.push_str(" left");
        }
        if state.ready {
            class.push_str(" ready");
        }
        set_attribute(&self.container, "class", &class);
        set_attribute(&self.launcher, "aria-expanded", bool_text(state.open));

        let dialog = &self.dialog;
        let status = state.status.as_ref();
        set_attribute(
            dialog,
            "data-state",
            status.map_or("form", |s| wire::state_name(s.state)),
        );
        let later = state.wants_later();
        set_attribute(dialog, "data-when", if later { "later" } else { "now" });
        set_attribute(
            dialog,
            "data-open",
            if state.site.open_now { "1" } else { "0" },
        );
        // Properties, not attributes: the visitor's clicks change these.
        self.now.set_checked(!later);
        self.later.set_checked(later);

        set_text(
            &self.status,
            &status.map(|s| status_text(s, state)).unwrap_or_default(),
        );
        set_text(&self.eta, &eta_text(state));
        let say = |element: &Element, key: Option<TextKey>| {
            set_text(element, key.map_or("", |key| texts.get(key)));
        };
        say(&self.phone_message, state.phone_error);
        set_attribute(
            &self.phone,
            "aria-invalid",
            bool_text(state.phone_error.is_some()),
        );
        say(&self.slot_message, state.slot_error);
        say(
            &self.consent_message,
            state.consent_error.then_some(TextKey::ConsentRequired),
        );
        set_attribute(
            &self.consent,
            "aria-invalid",
            bool_text(state.consent_error),
        );
        match state.message {
            Some(TextKey::RateLimited) => set_text(
                &self.message,
                &texts.fill(TextKey::RateLimited, &number(state.wait_minutes)),
            ),
            key => say(&self.message, key),
        }
    }

    /// Replaces the options of `select` with `(value, label)` pairs, keeping
    /// the selected value when it is still there.
    pub(crate) fn fill(select: &HtmlSelectElement, options: &[(String, String)]) {
        let selected = select.value();
        select.set_text_content(None);
        let Some(document) = select.owner_document() else {
            return;
        };
        for (value, label) in options {
            if let Ok(option) = document.create_element("option") {
                let _ = option.set_attribute("value", value);
                option.set_text_content(Some(label));
                let _ = select.append_child(&option);
            }
        }
        if options.iter().any(|(value, _)| *value == selected) {
            select.set_value(&selected);
        }
    }

    /// The slots as options: each start, in the visitor's time and language.
    pub(crate) fn fill_slots(&self, state: &State) {
        let options: Vec<(String, String)> = state
            .slots
            .iter()
            .map(|&start| (number(start as u32), format_time(start, state.locale)))
            .collect();
        Self::fill(&self.slot, &options);
    }
}

/// What the visitor reads about the call: the state (or why it failed) in
/// plain words, and when a scheduled call comes.
pub(crate) fn status_text(status: &CallStatus, state: &State) -> String {
    let texts: &Texts = &state.texts;
    let reason = status.reason.map(|reason| match reason {
        FailureReason::Busy => TextKey::Busy,
        FailureReason::NoAnswer => TextKey::NoAnswer,
        FailureReason::InvalidNumber => TextKey::InvalidNumber,
        FailureReason::CompanyUnavailable => TextKey::CompanyUnavailable,
        FailureReason::Closed => TextKey::Closed,
        FailureReason::Cancelled => TextKey::Cancelled,
        FailureReason::NotOrdered => TextKey::NotOrdered,
    });
    let key = match status.state {
        CallState::Received => TextKey::Received,
        CallState::Queued => TextKey::Queued,
        CallState::Ordered => TextKey::Ordered,
        CallState::InProgress => TextKey::InProgress,
        CallState::Succeeded => TextKey::Succeeded,
        CallState::Failed => reason.unwrap_or(TextKey::Cancelled),
        CallState::Scheduled => {
            let time = status
                .at
                .map(|at| format_time(at, state.locale))
                .unwrap_or_default();
            return match reason {
                // A failed attempt that CallKeeper will repeat.
                Some(reason) => {
                    let mut text = texts.get(reason).to_owned();
                    text.push_str(". ");
                    text.push_str(&texts.fill(TextKey::Retry, &time));
                    text
                }
                // The call the visitor chose the time of…
                None if state.for_later => texts.fill(TextKey::Scheduled, &time),
                // …or, for a call ordered for now, CallKeeper's next attempt.
                None => texts.fill(TextKey::Retry, &time),
            };
        }
    };
    texts.get(key).to_owned()
}

/// The estimate's countdown while the call is being set up, or nothing.
fn eta_text(state: &State) -> String {
    if state.eta_until <= 0.0 || state.status.as_ref().is_none_or(|s| s.is_final) {
        return String::new();
    }
    let left = ((state.eta_until - js_sys::Date::now()) / 1000.0).ceil();
    if left >= 1.0 {
        state.texts.fill(TextKey::Eta, &number(left as u32))
    } else {
        state.texts.get(TextKey::EtaSoon).to_owned()
    }
}

fn bool_text(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

/// Sets an element's text unless it already is that (a live region
/// re-announces a rewrite).
pub(crate) fn set_text(element: &Element, text: &str) {
    if element.text_content().as_deref() != Some(text) {
        element.set_text_content(Some(text));
    }
}

fn set_attribute(element: &Element, name: &str, value: &str) {
    if element.get_attribute(name).as_deref() != Some(value) {
        let _ = element.set_attribute(name, value);
    }
}
