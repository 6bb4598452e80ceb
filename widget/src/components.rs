//! The widget's component and the controller behind it.
//!
//! The view is one static tree whose parts are shown and hidden with the
//! `hidden` attribute rather than `<Show>`: every reactive branch costs wasm,
//! and the budget is 60 KB for everything (see `xtask/src/size.rs`).

use std::rc::Rc;

use leptos::prelude::*;
use protocol::{CallState, CallStatus, CallbackRequest, ErrorCode, PhoneNumber};
use wasm_bindgen::JsValue;

use crate::analytics::{Analytics, WidgetEvent};
use crate::api::{ApiClient, ApiFailure};
use crate::capture::Visit;
use crate::i18n::{Message, Texts};
use crate::js;
use crate::status::{Alive, StatusWatch};
use crate::wire;

/// Longest pause between retries of a request the proxy did not receive.
const MAX_RETRY_DELAY_MS: i32 = 30_000;

/// The widget's reactive state. It outlives a re-render (a new language), so
/// a typed number or a call's status is not lost when the site calls `setLocale`.
#[derive(Debug, Clone, Copy)]
pub struct State {
    /// Whether the dialog is open.
    pub open: RwSignal<bool>,
    /// The message under the form: what is wrong with the number, or how
    /// sending goes.
    pub message: RwSignal<Option<Message>>,
    /// Whether a request is on its way (not shown: the message says so).
    pub sending: StoredValue<bool>,
    /// The callback's latest status, once the proxy accepted it.
    pub status: RwSignal<Option<CallStatus>>,
    watch: StoredValue<Option<StatusWatch>, LocalStorage>,
}

impl State {
    /// Creates the signals in the current reactive owner.
    pub fn new() -> Self {
        Self {
            open: RwSignal::new(false),
            message: RwSignal::new(None),
            sending: StoredValue::new(false),
            status: RwSignal::new(None),
            watch: StoredValue::new_local(None),
        }
    }
}

impl Default for State {
    fn default() -> Self {
        Self::new()
    }
}

/// What the widget works with besides its state.
#[derive(Debug)]
pub struct Services {
    /// The proxy.
    pub api: ApiClient,
    /// The visit's context.
    pub visit: Visit,
    /// Where events go.
    pub analytics: Analytics,
    /// Ends pending waits when the widget is destroyed.
    pub alive: Alive,
}

/// Acts on the widget: from its own buttons and from the page's API.
#[derive(Debug, Clone)]
pub struct Controller {
    /// The reactive state.
    pub state: State,
    /// The services.
    pub services: Rc<Services>,
}

impl Controller {
    /// Opens or closes the dialog, telling the page when it changes.
    pub fn set_open(&self, open: bool) {
        if self.state.open.get_untracked() == open {
            return;
        }
        self.state.open.set(open);
        if open {
            self.services.visit.interacted();
        }
        let event = if open {
            WidgetEvent::Opened
        } else {
            WidgetEvent::Closed
        };
        self.emit(event, &js_sys::Object::new());
    }

    fn emit(&self, event: WidgetEvent, detail: &js_sys::Object) {
        self.services.analytics.emit(event, detail);
    }

    /// Sends the typed number, retrying while the proxy cannot be reached.
    pub fn submit(&self, typed: &str) {
        let state = self.state;
        let number = match PhoneNumber::parse(typed) {
            Ok(number) => number,
            Err(error) => {
                state.message.set(Some(Message::for_phone(&error)));
                return;
            }
        };
        if state.sending.get_value() {
            return;
        }
        // A new request after a failed call: forget the old one.
        state.watch.set_value(None);
        state.status.set(None);
        state.message.set(Some(Message::Sending));
        state.sending.set_value(true);
        let services = &self.services;
        services.visit.interacted();
        let request = CallbackRequest {
            phone: number.as_str().to_owned(),
            context: services.visit.context(),
            ..Default::default()
        };
        let site_values = services.visit.site_values();
        let key = idempotency_key();
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let Services { api, alive, .. } = &*this.services;
            let mut delay = 1_000;
            // The request is kept and retried while the proxy is unreachable:
            // a lead is not dropped because the visitor's network blinked.
            let outcome = loop {
                let result = api.create_callback(&request, &site_values, &key).await;
                if !alive.is_alive() {
                    return;
                }
                let wait = match result {
                    Err(ApiFailure::Unreachable) => delay,
                    Err(ApiFailure::Refused {
                        code: ErrorCode::Unavailable,
                        retry_after,
                        ..
                    }) => retry_after.map_or(delay, |s| s.saturating_mul(1000) as i32),
                    other => break other,
                };
                state.message.set(Some(Message::Offline));
                if !alive.sleep(wait).await {
                    return;
                }
                delay = (delay * 2).min(MAX_RETRY_DELAY_MS);
            };
            state.sending.set_value(false);
            match outcome {
                Ok(accepted) => {
                    state.message.set(None);
                    let detail = js_sys::Object::new();
                    js::set(&detail, "id", &JsValue::from_str(&accepted.id));
                    this.emit(WidgetEvent::Submitted, &detail);
                    let is_final = accepted.status.is_final;
                    this.show_status(accepted.status);
                    if !is_final {
                        let watcher = this.clone();
                        let watch = StatusWatch::start(
                            api.clone(),
                            accepted.id,
                            alive.clone(),
                            move |status| watcher.show_status(status),
                        );
                        state.watch.set_value(Some(watch));
                    }
                }
                Err(failure) => {
                    let (message, code) = match failure {
                        ApiFailure::Refused {
                            code: code @ ErrorCode::InvalidInput,
                            ..
                        } => (Message::PhoneShort, code),
                        ApiFailure::Refused {
                            code: code @ ErrorCode::RateLimited,
                            ..
                        } => (Message::RateLimited, code),
                        ApiFailure::Refused { code, .. } => (Message::FailedToSend, code),
                        ApiFailure::Unreachable => (Message::FailedToSend, ErrorCode::Internal),
                    };
                    state.message.set(Some(message));
                    let detail = js_sys::Object::new();
                    let name = wire::ERROR_CODES
                        .iter()
                        .find(|(_, c)| *c == code)
                        .map_or("", |(name, _)| name);
                    js::set(&detail, "error", &JsValue::from_str(name));
                    this.emit(WidgetEvent::Failed, &detail);
                }
            }
        });
    }

    /// Shows a status and tells the page; a final failure is also `failed`.
    fn show_status(&self, status: CallStatus) {
        let detail = js_sys::Object::new();
        js::set(
            &detail,
            "state",
            &JsValue::from_str(wire::state_name(status.state)),
        );
        js::set(&detail, "final", &JsValue::from(status.is_final));
        js::set_opt(&detail, "reason", status.reason.map(wire::reason_name));
        let failed = status.is_final && status.state == CallState::Failed;
        self.state.status.set(Some(status));
        self.emit(WidgetEvent::StatusChanged, &detail);
        if failed {
            self.emit(WidgetEvent::Failed, &detail);
        }
    }
}

/// The whole widget: a launcher button and the callback dialog it opens.
///
/// The dialog follows the launcher in the DOM (and is drawn above it), so
/// that the stylesheet can show it only when the launcher is expanded. The
/// dialog's `data-state` is `form` until the proxy accepts a request, then
/// the call's state; the stylesheet shows the form or the status from it (and
/// both after a failed call, so that the visitor can try again). One reactive
/// attribute instead of a `hidden` per part keeps the wasm small.
#[component]
pub fn Widget(
    /// Acts on the widget.
    controller: Controller,
    /// The texts in the current language.
    texts: &'static Texts,
) -> impl IntoView {
    let State {
        open,
        message,
        status,
        ..
    } = controller.state;
    let (on_close, on_escape, on_launcher, on_submit) = (
        controller.clone(),
        controller.clone(),
        controller.clone(),
        controller,
    );

    view! {
        <button
            class="launcher"
            aria-label=texts.open
            aria-expanded=move || if open.get() { "true" } else { "false" }
            on:click=move |_| on_launcher.set_open(!open.get_untracked())
        >
            "☎"
        </button>
        <div
            class="dialog"
            role="dialog"
            aria-labelledby="cbw-title"
            data-state=move || status.with(|s| s.as_ref().map_or("form", |s| wire::state_name(s.state)))
            on:keydown=move |ev| {
                if ev.key() == "Escape" {
                    on_escape.set_open(false);
                }
            }
        >
            <h2 id="cbw-title">{texts.title}</h2>
            <button class="close" aria-label=texts.close on:click=move |_| on_close.set_open(false)>
                "×"
            </button>
            <p class="status" role="status">
                {move || status.with(|s| s.as_ref().map(|s| status_text(s, texts)))}
            </p>
            <form on:submit=move |ev| {
                ev.prevent_default();
                let form: JsValue = ev.target().map(Into::into).unwrap_or_default();
                let typed = js::get(&js::get(&form, "phone"), "value").as_string();
                on_submit.submit(&typed.unwrap_or_default());
            }>
                <label for="cbw-phone">{texts.phone_label}</label>
                <input
                    id="cbw-phone"
                    name="phone"
                    type="tel"
                    autocomplete="tel"
                    placeholder="+7 (999) 123-45-67"
                    aria-describedby="cbw-message"
                    aria-invalid=move || if message.get().is_some_and(Message::is_about_phone) { "true" } else { "false" }
                />
                <button class="primary">{texts.submit}</button>
                <p id="cbw-message" aria-live="polite">{move || message.get().map(|m| texts.message(m))}</p>
            </form>
        </div>
    }
}

/// The proxy's message for the visitor, with the estimate when there is one.
fn status_text(status: &CallStatus, texts: &Texts) -> String {
    let mut text = status.message.clone();
    if let Some(eta) = status.eta_seconds {
        text.push_str(" ≈ ");
        text.push_str(&eta.to_string());
        text.push_str(texts.seconds);
    }
    text
}

/// A fresh idempotency key for one callback request (retries reuse it):
/// 128 random bits in hex. `getRandomValues` works on plain-HTTP pages too,
/// where `crypto.randomUUID` does not exist.
fn idempotency_key() -> String {
    let mut bytes = [0u8; 16];
    let random = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .and_then(|c| c.get_random_values_with_u8_array(&mut bytes).ok());
    if random.is_none() {
        for byte in &mut bytes {
            *byte = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]])
        .map(char::from)
        .collect()
}
