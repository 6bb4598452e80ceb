//! The widget's behaviour: its [`State`], what the visitor's actions and the
//! proxy's answers do to it, and where keyboard focus goes.
//!
//! Every change goes through [`Controller::update`], which changes the state
//! and then paints the view (`view.rs`) from it. The DOM's events reach
//! [`Controller::on_event`] through one listener per event type on the
//! widget's box (delegation), so the widget adds no listener to the page.

use std::cell::RefCell;
use std::rc::Rc;

use protocol::{
    CallState, CallStatus, CallbackRequest, Consent, ErrorCode, PhoneError, PhoneNumber, TextKey,
};
use wasm_bindgen::prelude::*;
use web_sys::{Element, HtmlElement};

use crate::analytics::{Analytics, WidgetEvent};
use crate::api::{ApiClient, ApiFailure};
use crate::capture::{self, Visit};
use crate::i18n::{Locale, Texts};
use crate::js;
use crate::status::{Alive, StatusWatch};
use crate::view::View;
use crate::wire::{self, SiteSettings};

/// Longest pause between retries of a request the proxy did not receive.
const MAX_RETRY_DELAY_MS: i32 = 30_000;
/// Tries of a request that fails while the browser says it is online.
const MAX_ONLINE_TRIES: u32 = 5;
/// Slots older than this are fetched again when they are needed.
const SLOTS_FRESH_MS: f64 = 60_000.0;
/// The DOM events the widget listens to, on its own box.
const EVENTS: [&str; 6] = ["click", "submit", "input", "change", "keydown", "focusout"];

/// What the widget knows and shows. It outlives a change of language, so
/// neither a typed number nor a call's status is lost when the site calls
/// `setLocale`.
#[derive(Debug, Default)]
pub struct State {
    /// Whether the dialog is open.
    pub open: bool,
    /// Whether the site's config has been read (the widget shows from then on).
    pub ready: bool,
    /// Whether the launcher sits on the left.
    pub left: bool,
    /// The language the page chose (`data-locale`, `setLocale`).
    pub chosen_locale: Option<String>,
    /// The language in use.
    pub locale: Locale,
    /// The texts in use.
    pub texts: Texts,
    /// The site's config.
    pub site: SiteSettings,
    /// The accent colour and the side the page chose, which win over the site's.
    pub embed_color: Option<String>,
    /// See `embed_color`.
    pub embed_position: Option<String>,
    /// The coming slots' starts (Unix seconds).
    pub slots: Vec<i64>,
    /// When the slots were fetched (ms since the epoch; 0: never).
    pub slots_at: f64,
    /// The visitor chose "at a time I choose".
    pub later: bool,
    /// What is wrong with the typed number, shown under it.
    pub phone_error: Option<TextKey>,
    /// What is wrong with the chosen time, shown under the list.
    pub slot_error: Option<TextKey>,
    /// The consent box must be ticked.
    pub consent_error: bool,
    /// The message under the submit button: sending, offline, too many requests.
    pub message: Option<TextKey>,
    /// Minutes to wait, for [`TextKey::RateLimited`].
    pub wait_minutes: u32,
    /// Whether a request is on its way.
    pub sending: bool,
    /// Whether the call on its way or followed is for a chosen time (its
    /// estimate, made for a call now, is then not shown).
    pub for_later: bool,
    /// The callback's latest status, once the proxy accepted it.
    pub status: Option<CallStatus>,
    /// When the estimate runs out (ms since the epoch; 0: no estimate).
    pub eta_until: f64,
    /// Whether the countdown's timer runs.
    pub(crate) ticking: bool,
    /// Where focus was before the dialog opened (`None`: the launcher).
    pub(crate) return_focus: Option<HtmlElement>,
}

impl State {
    /// Whether the form offers a time: chosen, or the company is closed.
    pub fn wants_later(&self) -> bool {
        self.later || !self.site.open_now
    }

    /// Chooses the language again and rebuilds the texts.
    fn localize(&mut self) {
        self.locale = Locale::choose(self.chosen_locale.as_deref(), self.site.locale.as_deref());
        let site_texts = js::get(&self.site.texts, self.locale.tag());
        self.texts = Texts::new(self.locale, &site_texts, self.site.title.as_deref());
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

/// Acts on the widget: from its own controls and from the page's API.
#[derive(Debug, Clone)]
pub struct Controller(Rc<Inner>);

#[derive(Debug)]
struct Inner {
    services: Services,
    view: View,
    root: web_sys::ShadowRoot,
    sheet: web_sys::CssStyleSheet,
    state: RefCell<State>,
    watch: RefCell<Option<StatusWatch>>,
    listener: RefCell<Option<Listener>>,
}

/// The one function that hears every DOM event of the widget. It is a `Fn`,
/// which may be entered again while it runs (an `FnMut` would throw "closure
/// invoked recursively" into the page), though [`focus_soon`] keeps the
/// widget's own focus moves out of it.
type Listener = Closure<dyn Fn(web_sys::Event)>;

impl Controller {
    /// A controller for a built view in `root`; it listens to the view's
    /// events until [`Controller::destroy`].
    pub(crate) fn new(
        view: View,
        root: web_sys::ShadowRoot,
        sheet: web_sys::CssStyleSheet,
        services: Services,
        state: State,
    ) -> Self {
        let this = Self(Rc::new(Inner {
            services,
            view,
            root,
            sheet,
            state: RefCell::new(state),
            watch: RefCell::default(),
            listener: RefCell::default(),
        }));
        this.0.state.borrow_mut().localize();
        let handler = this.clone();
        let listener = Listener::new(move |event: web_sys::Event| {
            handler.on_event(&event);
        });
        for kind in EVENTS {
            let _ = this
                .0
                .view
                .container
                .add_event_listener_with_callback(kind, listener.as_ref().unchecked_ref());
        }
        *this.0.listener.borrow_mut() = Some(listener);
        this.paint();
        this
    }

    /// The services (the visit's context, for tests).
    pub fn services(&self) -> &Services {
        &self.0.services
    }

    /// Reads the state.
    pub fn with_state<R>(&self, read: impl FnOnce(&State) -> R) -> R {
        read(&self.0.state.borrow())
    }

    /// Changes the state, then paints the view.
    fn update<R>(&self, change: impl FnOnce(&mut State) -> R) -> R {
        let result = change(&mut self.0.state.borrow_mut());
        self.paint();
        result
    }

    fn paint(&self) {
        self.0.view.paint(&self.0.state.borrow());
    }

    /// Applies the site's config (`GET /v1/sites/{site}/config`, or
    /// `undefined` when it could not be read): language and texts, colour,
    /// side, offices, consent, the country code. The widget shows from then on.
    pub fn configure(&self, config: &JsValue) {
        let site = wire::site_settings(config);
        let view = &self.0.view;
        let colour = self
            .with_state(|s| s.embed_color.clone())
            .or_else(|| site.color.clone());
        let _ = crate::style::apply(&self.0.sheet, colour.as_deref());
        let offices: Vec<(String, String)> = site
            .offices
            .iter()
            .enumerate()
            .map(|(index, name)| (crate::i18n::number(index as u32), name.clone()))
            .collect();
        View::fill(&view.office, &offices);
        view.office_field
            .toggle_attribute_with_force("hidden", offices.len() < 2)
            .ok();
        if let Some(consent) = &site.consent {
            let _ = view.consent_field.remove_attribute("hidden");
            let _ = view
                .consent
                .toggle_attribute_with_force("required", consent.required);
            match &consent.link {
                Some(link) => view.consent_link.set_attribute("href", link).ok(),
                None => view.consent_link.set_attribute("hidden", "").ok(),
            };
        }
        if let Some(code) = &site.country_code
            && view.phone.value().is_empty()
        {
            let mut prefix = String::from("+");
            prefix.push_str(code);
            prefix.push(' ');
            view.phone.set_value(&prefix);
        }
        let open = self.update(|state| {
            state.left =
                state.embed_position.as_deref().or(site.position.as_deref()) == Some("left");
            state.site = site;
            state.localize();
            state.ready = true;
            state.open
        });
        if open {
            self.focus_in();
        }
    }

    /// Uses `tag`'s language (`ru`, `en`) from now on, whatever the site's is.
    pub fn set_locale(&self, tag: &str) {
        if Locale::from_tag(tag).is_none() {
            return;
        }
        self.update(|state| {
            state.chosen_locale = Some(tag.to_owned());
            state.localize();
        });
        self.0.view.fill_slots(&self.0.state.borrow());
    }

    /// Opens or closes the dialog, moving focus in (to the first thing to
    /// do) or back (to where it was), and tells the page. Opening is not the
    /// visitor's interaction (a page may open it on a timer): see `on_event`
    /// and `WidgetHandle::command`.
    pub fn set_open(&self, open: bool) {
        let view = &self.0.view;
        let document = view.container.owner_document();
        let focus_was_inside = self.0.root.active_element().is_some();
        let changed = self.update(|state| {
            if state.open == open {
                return false;
            }
            state.open = open;
            if open {
                // The element that had focus, unless it was inside the widget.
                let host = self.0.root.host();
                state.return_focus = document
                    .and_then(|d| d.active_element())
                    .filter(|active| *active != host)
                    .and_then(|active| active.dyn_into().ok());
            }
            true
        });
        if !changed {
            return;
        }
        if open {
            self.focus_in();
            self.load_slots(false);
        } else if focus_was_inside {
            let back = self.update(|state| state.return_focus.take());
            match back {
                Some(element) if element.is_connected() => focus_soon(&element),
                _ => focus_soon(&view.launcher),
            }
        }
        let event = if open {
            WidgetEvent::Opened
        } else {
            WidgetEvent::Closed
        };
        self.emit(event, &js_sys::Object::new());
    }

    /// Moves focus into the open dialog: to the phone field, or to the status.
    fn focus_in(&self) {
        let view = &self.0.view;
        if self.with_state(|s| s.status.is_some()) {
            focus_soon(&view.status);
        } else {
            focus_soon(&view.phone);
        }
    }

    /// Tells the page, unless the widget is gone (a page's handler may
    /// destroy it).
    fn emit(&self, event: WidgetEvent, detail: &js_sys::Object) {
        if self.alive() {
            self.0.services.analytics.emit(event, detail);
        }
    }

    fn alive(&self) -> bool {
        self.0.services.alive.is_alive()
    }

    /// Every DOM event of the widget, by kind and target.
    fn on_event(&self, event: &web_sys::Event) {
        let Some(target) = event.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        let id = target.id();
        let kind = event.type_();
        // The visitor's own action on the widget (not a page script's, nor
        // focus leaving it) allows storage under strict privacy.
        if event.is_trusted() && kind != "focusout" {
            self.0.services.visit.interacted();
        }
        match kind.as_str() {
            "click" => {
                let action = target
                    .closest("[data-act]")
                    .ok()
                    .flatten()
                    .and_then(|button| button.get_attribute("data-act"));
                match action.as_deref() {
                    Some("toggle") => self.set_open(!self.with_state(|s| s.open)),
                    Some("close") => self.set_open(false),
                    Some("again") => self.back_to_form(false),
                    Some("pick") => self.back_to_form(true),
                    _ => {}
                }
            }
            "submit" => {
                event.prevent_default();
                self.submit();
            }
            "input" if id == "cbw-phone" => self.check_phone(false),
            "focusout" if id == "cbw-phone" => self.check_phone(true),
            "change" => {
                let later = js::string(&target, "value").as_deref() == Some("later");
                match target.get_attribute("name").as_deref() {
                    Some("when") => {
                        self.update(|state| {
                            state.later = later;
                            state.slot_error = None;
                        });
                        if later {
                            self.load_slots(false);
                        }
                    }
                    Some("consent") => self.update(|state| state.consent_error = false),
                    Some("slot") => self.update(|state| state.slot_error = None),
                    _ => {}
                }
            }
            "keydown" => self.on_key(event.unchecked_ref()),
            _ => {}
        }
    }

    /// Escape closes; Tab and Shift+Tab stay inside the open dialog.
    fn on_key(&self, event: &web_sys::KeyboardEvent) {
        if !self.with_state(|s| s.open) {
            return;
        }
        match event.key().as_str() {
            "Escape" => self.set_open(false),
            "Tab" => {
                let view = &self.0.view;
                let Ok(candidates) = view
                    .dialog
                    .query_selector_all("button,input,select,a[href]")
                else {
                    return;
                };
                // Those shown (a hidden part has no box) and not disabled.
                let focusable: Vec<HtmlElement> = (0..candidates.length())
                    .filter_map(|i| candidates.get(i)?.dyn_into::<HtmlElement>().ok())
                    .filter(|e| e.offset_width() > 0 && !e.has_attribute("disabled"))
                    .collect();
                let (Some(first), Some(last)) = (focusable.first(), focusable.last()) else {
                    return;
                };
                let active = self.0.root.active_element();
                let at = |element: &HtmlElement| active.as_ref() == Some(element.as_ref());
                // Focus on none of the controls (outside the dialog, on the
                // dialog itself or on the status) wraps too: the browser's
                // next stop would be outside the dialog.
                let outside = !focusable.iter().any(at);
                let wrap_to = if event.shift_key() && (at(first) || outside) {
                    last
                } else if !event.shift_key() && (at(last) || outside) {
                    first
                } else {
                    return;
                };
                event.prevent_default();
                focus_soon(wrap_to);
            }
            _ => {}
        }
    }

    /// Validates the typed number as the visitor types (`leaving`: as they
    /// leave the field). A character that can never be right, an extension or
    /// too many digits are said at once; too few only once the visitor has
    /// left the field or tried to send, and from then on the message follows
    /// every keystroke until the number is right.
    fn check_phone(&self, leaving: bool) {
        let typed = self.0.view.phone.value();
        self.update(|state| {
            let error = phone_error(&typed, state.site.country_code.as_deref()).err();
            let certain = matches!(
                error,
                Some(TextKey::PhoneInvalidChar | TextKey::PhoneExtension | TextKey::PhoneLong)
            );
            let started = error != Some(TextKey::PhoneEmpty);
            if certain || state.phone_error.is_some() || (leaving && started) {
                state.phone_error = error;
            }
        });
    }

    /// Back from a failed call to the form, with the number kept: to order
    /// again now, or (`later`) to choose a time.
    fn back_to_form(&self, later: bool) {
        self.0.watch.take();
        self.update(|state| {
            state.status = None;
            state.eta_until = 0.0;
            state.later = later;
            state.message = None;
        });
        let view = &self.0.view;
        if later {
            self.load_slots(false);
            focus_soon(&view.slot);
        } else {
            focus_soon(&view.phone);
        }
    }

    /// Fetches the coming slots (and whether the company is open now),
    /// unless they are fresh; `force` fetches them anyway. A fetch that fails
    /// says so and is tried again while the dialog is open (after 2, 4 and
    /// 8 s), then on the next opening or submit.
    fn load_slots(&self, force: bool) {
        let now = js_sys::Date::now();
        if !force && now - self.with_state(|s| s.slots_at) < SLOTS_FRESH_MS {
            return;
        }
        self.update(|state| state.slots_at = now);
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let alive = &this.0.services.alive;
            let mut delay = 2_000;
            let (open_now, slots) = loop {
                let result = this.0.services.api.slots().await;
                if !alive.is_alive() {
                    return;
                }
                if let Ok(answer) = result {
                    break answer;
                }
                let open = this.update(|state| {
                    state.slots_at = 0.0;
                    state.slot_error = Some(TextKey::SlotsUnavailable);
                    state.open
                });
                // Given up, closed, destroyed, or another fetch has begun.
                if delay > 8_000
                    || !open
                    || !alive.sleep(delay).await
                    || !this.with_state(|s| s.open && s.slots_at == 0.0)
                {
                    return;
                }
                this.update(|state| state.slots_at = js_sys::Date::now());
                delay *= 2;
            };
            this.update(|state| {
                state.site.open_now = open_now;
                let none = slots.is_empty();
                state.slots = slots;
                if none {
                    state.slot_error = Some(TextKey::NoSlots);
                } else if matches!(
                    state.slot_error,
                    Some(TextKey::NoSlots | TextKey::SlotsUnavailable)
                ) {
                    state.slot_error = None;
                }
            });
            this.0.view.fill_slots(&this.0.state.borrow());
        });
    }

    /// Sends the form: the number, the office, the time and the consent,
    /// after checking each where the visitor can see it. A request the proxy
    /// cannot be reached with is kept and retried (see `send`),
    /// and the visitor is told so.
    pub fn submit(&self) {
        let view = &self.0.view;
        let typed = view.phone.value();
        let consent_ticked = view.consent.checked();
        let slot = view.slot.value();
        let office = view.office.selected_index();
        let checked = self.update(|state| -> Result<CallbackRequest, Option<HtmlElement>> {
            if state.sending {
                return Err(None);
            }
            let number = phone_error(&typed, state.site.country_code.as_deref());
            state.phone_error = number.as_ref().err().copied();
            let consent = state.site.consent.as_ref();
            state.consent_error = consent.is_some_and(|c| c.required) && !consent_ticked;
            let time = if state.wants_later() {
                let time = slot.parse::<i64>().ok();
                // Times that could not be loaded are not "no times".
                if time.is_none() && state.slot_error != Some(TextKey::SlotsUnavailable) {
                    state.slot_error = Some(TextKey::NoSlots);
                }
                time
            } else {
                None
            };
            let number = number.map_err(|_| Some(view.phone.clone().unchecked_into()))?;
            if state.consent_error {
                return Err(Some(view.consent.clone().unchecked_into()));
            }
            if state.wants_later() && time.is_none() {
                return Err(Some(view.slot.clone().unchecked_into()));
            }
            state.message = Some(TextKey::Sending);
            state.sending = true;
            state.for_later = time.is_some();
            Ok(CallbackRequest {
                // With its `+`: the proxy parses it again, and "84…" without one
                // would be a Russian number written with the trunk prefix 8.
                phone: ["+", number.as_str()].concat(),
                office: (state.site.offices.len() > 1 && office >= 0).then_some(office as u32),
                time,
                consent: consent.filter(|_| consent_ticked).map(|c| Consent {
                    accepted: true,
                    version: c.version.clone(),
                }),
                ..Default::default()
            })
        });
        let mut request = match checked {
            Ok(request) => request,
            Err(field) => {
                if let Some(field) = field {
                    focus_soon(&field);
                }
                // Times that could not be loaded are tried again.
                if self.with_state(|s| s.slot_error == Some(TextKey::SlotsUnavailable)) {
                    self.load_slots(false);
                }
                return;
            }
        };
        // Forget a call that failed before.
        self.0.watch.take();
        let services = &self.0.services;
        services.visit.interacted();
        request.context = services.visit.context();
        let body = wire::request_json(&request, &services.visit.site_values()).unwrap_or_default();
        self.send(body, idempotency_key(), js_sys::Date::now(), false);
    }

    /// Sends again, in the background, the request an earlier page of the
    /// tab could not get to the proxy (see [`capture::pending`]), with its
    /// Idempotency-Key: the proxy stores it once. Once accepted it is
    /// `submitted` and its status is followed, shown if the dialog is open.
    pub(crate) fn resume(&self) {
        let Some((since, key, body)) = capture::pending() else {
            return;
        };
        let for_later = wire::parse(&body).is_some_and(|b| !js::get(&b, "time").is_undefined());
        self.update(|state| {
            state.message = Some(TextKey::Sending);
            state.sending = true;
            state.for_later = for_later;
        });
        self.send(body, key, since, true);
    }

    /// Posts a request's `body` until the proxy answers it, then shows the
    /// answer. The request is kept and retried while the proxy is
    /// unreachable (in memory, and in `sessionStorage` for the next page, as
    /// submitted at `since`): a lead is not dropped because the visitor's
    /// network blinked. While the browser says it is online, it is given up
    /// after a few tries: it may never get through (a site CORS blocks, say).
    /// A `resumed` request's failure is told to the page, not the visitor.
    fn send(&self, body: String, key: String, since: f64, resumed: bool) {
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let Services {
                api, alive, visit, ..
            } = &this.0.services;
            let mut delay = 1_000;
            let mut online_tries = 0;
            let outcome = loop {
                let result = api.create_callback(&body, &key).await;
                if !alive.is_alive() {
                    return;
                }
                let wait = match &result {
                    Err(ApiFailure::Unreachable) => delay,
                    Err(ApiFailure::Refused {
                        code: ErrorCode::Unavailable,
                        retry_after,
                        ..
                    }) => retry_after.map_or(delay, |s| {
                        s.saturating_mul(1000).min(MAX_RETRY_DELAY_MS as u32) as i32
                    }),
                    _ => break result,
                };
                visit.keep_pending(since, &key, &body);
                if web_sys::window().is_none_or(|w| w.navigator().on_line()) {
                    online_tries += 1;
                    if online_tries >= MAX_ONLINE_TRIES {
                        break result;
                    }
                }
                this.update(|state| state.message = Some(TextKey::Offline));
                // Back online: at once.
                if !alive.sleep_or_online(wait).await {
                    return;
                }
                delay = (delay * 2).min(MAX_RETRY_DELAY_MS);
            };
            let refused_for_good = match &outcome {
                Err(ApiFailure::Refused { code, .. }) if !retryable(*code) => Some(*code),
                _ => None,
            };
            // The proxy answered: the request is stored, or refused for good.
            if outcome.is_ok() || refused_for_good.is_some() {
                capture::drop_pending(&key);
            }
            this.update(|state| {
                state.sending = false;
                state.message = None;
            });
            match outcome {
                Ok(accepted) => this.accepted(accepted),
                Err(failure) if !resumed => this.refused(failure),
                // A resumed request's refusal is told to the page, not the
                // visitor; one not answered is tried again by the next page.
                Err(_) => {
                    if let Some(code) = refused_for_good {
                        this.failed(Some(code));
                    }
                }
            }
        });
    }

    /// The proxy stored the request: show its status and follow it.
    fn accepted(&self, accepted: protocol::CallbackAccepted) {
        let detail = js_sys::Object::new();
        js::set(&detail, "id", &JsValue::from_str(&accepted.id));
        self.emit(WidgetEvent::Submitted, &detail);
        if !self.alive() {
            return;
        }
        let is_final = accepted.status.is_final;
        self.show_status(accepted.status);
        // The form is gone: keyboard and screen reader go to the status.
        if self.with_state(|s| s.open) {
            focus_soon(&self.0.view.status);
        }
        if !is_final {
            let watcher = self.clone();
            let services = &self.0.services;
            let watch = StatusWatch::start(
                services.api.clone(),
                accepted.id,
                services.alive.clone(),
                move |status| watcher.show_status(status),
            );
            *self.0.watch.borrow_mut() = Some(watch);
        }
    }

    /// The proxy refused the request: say why where it belongs.
    fn refused(&self, failure: ApiFailure) {
        let view = &self.0.view;
        // `None`: the proxy could not be reached.
        let (code, focus): (Option<ErrorCode>, Option<HtmlElement>) = match failure {
            ApiFailure::Refused {
                code: ErrorCode::InvalidInput,
                field,
                ..
            } => {
                let field = field.unwrap_or_default();
                let focus = self.update(|state| match field.as_str() {
                    "time" => {
                        state.slot_error = Some(TextKey::SlotTaken);
                        view.slot.clone().unchecked_into()
                    }
                    "consent" => {
                        state.consent_error = true;
                        view.consent.clone().unchecked_into()
                    }
                    "phone" => {
                        state.phone_error = Some(TextKey::PhoneShort);
                        view.phone.clone().unchecked_into()
                    }
                    _ => {
                        state.message = Some(TextKey::FailedToSend);
                        view.phone.clone().unchecked_into()
                    }
                });
                if field == "time" {
                    self.load_slots(true);
                }
                (Some(ErrorCode::InvalidInput), Some(focus))
            }
            ApiFailure::Refused {
                code: ErrorCode::RateLimited,
                retry_after,
                ..
            } => {
                self.update(|state| {
                    state.message = Some(TextKey::RateLimited);
                    state.wait_minutes = retry_after.unwrap_or(60).div_ceil(60).max(1);
                });
                (Some(ErrorCode::RateLimited), None)
            }
            ApiFailure::Refused { code, .. } => {
                self.update(|state| state.message = Some(TextKey::FailedToSend));
                (Some(code), None)
            }
            ApiFailure::Unreachable => {
                self.update(|state| state.message = Some(TextKey::FailedToSend));
                (None, None)
            }
        };
        if let Some(field) = focus {
            focus_soon(&field);
        }
        self.failed(code);
    }

    /// Tells the page a request failed: `code`'s name, or `unreachable`.
    fn failed(&self, code: Option<ErrorCode>) {
        let detail = js_sys::Object::new();
        let name = code.map_or("unreachable", |code| {
            wire::ERROR_CODES
                .iter()
                .find(|(_, c)| *c == code)
                .map_or("", |(name, _)| name)
        });
        js::set(&detail, "error", &JsValue::from_str(name));
        self.emit(WidgetEvent::Failed, &detail);
    }

    /// Shows a status and tells the page; a final failure is also `failed`.
    /// An estimate starts (or restarts) the countdown.
    pub fn show_status(&self, status: CallStatus) {
        if !self.alive() {
            return;
        }
        let detail = js_sys::Object::new();
        js::set(
            &detail,
            "state",
            &JsValue::from_str(wire::state_name(status.state)),
        );
        js::set(&detail, "final", &JsValue::from(status.is_final));
        js::set_opt(&detail, "reason", status.reason.map(wire::reason_name));
        let failed = status.is_final && status.state == CallState::Failed;
        let start_ticking = self.update(|state| {
            state.eta_until = match status.eta_seconds {
                Some(seconds) if !state.for_later => {
                    js_sys::Date::now() + f64::from(seconds.saturating_mul(1000))
                }
                _ => 0.0,
            };
            let start = state.eta_until > 0.0 && !status.is_final && !state.ticking;
            state.ticking |= start;
            state.status = Some(status);
            start
        });
        if start_ticking {
            self.tick();
        }
        self.emit(WidgetEvent::StatusChanged, &detail);
        if failed {
            self.emit(WidgetEvent::Failed, &detail);
        }
    }

    /// Repaints the countdown every second while there is one.
    fn tick(&self) {
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            while this.0.services.alive.sleep(1_000).await {
                let going = this.update(|state| {
                    state.ticking =
                        state.eta_until > 0.0 && state.status.as_ref().is_some_and(|s| !s.is_final);
                    state.ticking
                });
                if !going {
                    break;
                }
            }
        });
    }

    /// Removes the widget's nodes, listeners, timers and connections.
    pub fn destroy(&self) {
        let inner = &self.0;
        inner.services.alive.end();
        inner.watch.take();
        if let Some(listener) = inner.listener.take() {
            for kind in EVENTS {
                let _ = inner
                    .view
                    .container
                    .remove_event_listener_with_callback(kind, listener.as_ref().unchecked_ref());
            }
        }
        inner.view.container.remove();
    }
}

/// Whether a refusal is worth sending again later (408, 5xx, 429): the
/// proxy did not take the request, nor refuse it for good.
fn retryable(code: ErrorCode) -> bool {
    matches!(code, ErrorCode::Unavailable | ErrorCode::RateLimited)
}

/// Focuses `element` once the event being handled is over (in a microtask):
/// a focus move fires `focusout`, which bubbles to the widget's box and would
/// otherwise reach its listener while that listener still runs.
fn focus_soon(element: &Element) {
    let element: HtmlElement = element.clone().unchecked_into();
    wasm_bindgen_futures::spawn_local(async move {
        let _ = element.focus();
    });
}

/// The typed number, or the text that says what is wrong with it. Only the
/// pre-filled country code counts as nothing typed.
pub fn phone_error(typed: &str, country_code: Option<&str>) -> Result<PhoneNumber, TextKey> {
    let typed = own_number(typed, country_code);
    let digits: String = typed.chars().filter(char::is_ascii_digit).collect();
    if country_code.is_some_and(|code| digits == code) {
        return Err(TextKey::PhoneEmpty);
    }
    PhoneNumber::parse(typed).map_err(|error| match error {
        PhoneError::Empty => TextKey::PhoneEmpty,
        PhoneError::InvalidCharacter(_) => TextKey::PhoneInvalidChar,
        PhoneError::Extension => TextKey::PhoneExtension,
        PhoneError::TooShort(_) => TextKey::PhoneShort,
        PhoneError::TooLong(_) => TextKey::PhoneLong,
    })
}

/// What the visitor meant, when they typed or pasted a whole number after
/// the pre-filled `+7 `: `+7 +7 999…`, `+7 8 (999)…` or `+7 7999…` is the
/// number after the prefix. A number that only continues the prefix is
/// left as it is.
fn own_number<'a>(typed: &'a str, country_code: Option<&str>) -> &'a str {
    let Some(rest) = country_code.and_then(|code| {
        typed
            .trim_start()
            .strip_prefix('+')?
            .strip_prefix(code)
            .map(|rest| (code, rest.trim_start()))
    }) else {
        return typed;
    };
    let (code, rest) = rest;
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    let whole = digits.len() > 10 && (digits.starts_with(code) || digits.starts_with('8'));
    if rest.starts_with('+') || whole {
        rest
    } else {
        typed
    }
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
