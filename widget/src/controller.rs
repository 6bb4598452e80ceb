//! The widget's behaviour: what the visitor's actions, the proxy's answers
//! and the page's API do to its [`State`] (one Leptos signal, the widget's
//! store; `state.rs`), and where keyboard focus goes.
//!
//! The components (`components/`) read the state through signals and call
//! the [`Controller`] from their event handlers; they never change the state
//! themselves. The DOM follows the state on its own (Leptos), so nothing
//! here paints: it only changes the state, and moves focus, once the view
//! has caught up ([`Controller::focus_soon`]).
//!
//! One file past 800 lines: the form's actions, the send loop and focus
//! share the controller's private parts and read best together; the
//! invitations, which touch little of them, are in `controller/invitations.rs`.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use protocol::{
    CallState, CallStatus, CallbackRequest, Consent, ErrorCode, FailureReason, SiteConfig, TextKey,
    WireName,
};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlElement, HtmlInputElement, HtmlSelectElement};

use crate::alive::Alive;
use crate::analytics::{Analytics, WidgetEvent};
use crate::api::{ApiClient, ApiFailure};
use crate::capture::{self, Visit};
use crate::i18n::Locale;
use crate::invite::{self, Invitations, Invite};
use crate::js;
pub use crate::phone::phone_error;
pub use crate::state::State;

mod invitations;
use crate::state::non_empty;
use crate::watch::StatusWatch;

/// Longest pause between retries of a request the proxy did not receive.
const MAX_RETRY_DELAY_MS: i32 = 30_000;
/// Tries of a request that fails while the browser says it is online.
const MAX_ONLINE_TRIES: u32 = 5;
/// Slots older than this are fetched again when they are needed.
const SLOTS_FRESH_MS: f64 = 60_000.0;

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
    /// The proactive invitations: settings, the visit's record, triggers.
    pub invite: Invitations,
}

/// The elements the controller moves focus to or reads, found by their
/// `id` in the widget's shadow root (ids are unique there, whatever the
/// page has). Cheaper in the wasm than a `NodeRef` per element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The widget's box (`.cbw`), where the dialog is mounted.
    Box,
    /// The round button.
    Launcher,
    /// The teaser's "Yes, call me".
    InviteYes,
    /// `role=dialog` (the Tab trap looks inside it).
    Dialog,
    /// The call's status.
    Status,
    /// The phone field.
    Phone,
    /// The office list.
    Office,
    /// The list of times.
    Slot,
    /// The consent box.
    Consent,
    /// The honeypot, hidden from people (`website`).
    Honeypot,
}

impl Part {
    /// The element's `id`.
    pub const fn id(self) -> &'static str {
        match self {
            Self::Box => "cbw-box",
            Self::Launcher => "cbw-launcher",
            Self::InviteYes => "cbw-invite-yes",
            Self::Dialog => "cbw-dialog",
            Self::Status => "cbw-status",
            Self::Phone => "cbw-phone",
            Self::Office => "cbw-office",
            Self::Slot => "cbw-slot",
            Self::Consent => "cbw-consent",
            Self::Honeypot => "cbw-website",
        }
    }
}

/// Where focus goes once the view has caught up ([`Controller::focus_soon`]).
#[derive(Debug)]
enum Focus {
    /// Nowhere.
    Stay,
    /// One of the widget's parts (if it is drawn).
    To(Part),
    /// An element held already (one of the page's, or in the dialog).
    Element(HtmlElement),
}

/// Acts on the widget: from its own controls and from the page's API.
#[derive(Debug, Clone)]
pub struct Controller(Rc<Inner>);

#[derive(Debug)]
struct Inner {
    state: RwSignal<State>,
    services: Services,
    /// Fired once, when the dialog is first opened: the view draws it then
    /// (cheaper in the wasm than a `Show` over the state).
    drawn: Trigger,
    root: web_sys::ShadowRoot,
    sheet: web_sys::CssStyleSheet,
    watch: RefCell<Option<StatusWatch>>,
    /// Where focus was before the dialog opened (`None`: the launcher).
    return_focus: RefCell<Option<HtmlElement>>,
}

/// What the page is told about a status (`callbackwidget:status`, `failed`).
#[derive(Serialize)]
struct StatusDetail {
    state: CallState,
    #[serde(rename = "final")]
    is_final: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<FailureReason>,
}

impl Controller {
    /// A controller with `state`; its signal belongs to the current
    /// reactive owner (the mounted widget's), and goes with it.
    pub(crate) fn new(
        root: web_sys::ShadowRoot,
        sheet: web_sys::CssStyleSheet,
        services: Services,
        mut state: State,
    ) -> Self {
        state.localize();
        Self(Rc::new(Inner {
            state: RwSignal::new(state),
            services,
            drawn: Trigger::new(),
            root,
            sheet,
            watch: RefCell::default(),
            return_focus: RefCell::default(),
        }))
    }

    /// The services (the visit's context, for tests).
    pub fn services(&self) -> &Services {
        &self.0.services
    }

    /// The state's signal, for the view.
    pub fn state(&self) -> RwSignal<State> {
        self.0.state
    }

    /// Fires when the dialog is first opened (then `State::drawn` is true).
    pub fn drawn(&self) -> Trigger {
        self.0.drawn
    }

    /// Reads the state.
    pub fn with_state<R>(&self, read: impl FnOnce(&State) -> R) -> R {
        self.0.state.with_untracked(read)
    }

    /// Changes the state; the view follows.
    fn update<R>(&self, change: impl FnOnce(&mut State) -> R) -> R {
        let mut result = None;
        self.0.state.update(|state| result = Some(change(state)));
        result.expect("update runs its closure")
    }

    /// Applies the site's config (`GET /v1/sites/{site}/config`, or
    /// `undefined` when it could not be read): language and texts, colour,
    /// side, offices, consent, the country code. The widget shows from then on.
    pub fn configure(&self, config: JsValue) {
        let site = js::from_js::<SiteConfig>(config).unwrap_or_else(|| State::initial().site);
        let colour = self
            .with_state(|s| s.embed_color.clone())
            .or_else(|| non_empty(&site.color).map(str::to_owned));
        let _ = crate::style::apply(&self.0.sheet, colour.as_deref());
        let services = &self.0.services;
        *services.invite.settings.borrow_mut() = Invite::read(&site.invite, &services.invite.page);
        let open = self.update(|state| {
            if state.phone.is_empty() && !site.country_code.is_empty() {
                state.phone = ["+", &site.country_code, " "].concat();
            }
            state.left = state.embed_position.as_deref().unwrap_or(&site.position) == "left";
            state.site = site;
            state.localize();
            state.ready = true;
            state.open
        });
        if open {
            self.focus_in();
        }
        if services.invite.settings.borrow().any_trigger() {
            self.listen();
        }
        if let Some(force) = services.invite.pending.take() {
            self.invite("api", force);
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
    }

    /// Opens or closes the dialog, moving focus in (to the first thing to
    /// do) or back (to where it was), and tells the page. Opening is not the
    /// visitor's interaction (a page may open it on a timer): see
    /// [`Controller::interacted`] and `WidgetHandle::command`.
    pub fn set_open(&self, open: bool) {
        if self.with_state(|s| s.open) == open {
            return;
        }
        let focus_was_inside = self.0.root.active_element().is_some();
        if open {
            // The element that had focus, unless it was inside the widget.
            let host = self.0.root.host();
            *self.0.return_focus.borrow_mut() = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.active_element())
                .filter(|active| *active != host)
                .and_then(|active| active.dyn_into().ok());
        }
        if open {
            // No invitation for a while after the dialog opened.
            let now = js_sys::Date::now();
            self.0
                .services
                .invite
                .change(|record| record.engaged_at = now);
        }
        let first = self.update(|state| {
            state.open = open;
            if open {
                state.invite = "";
            }
            let first = open && !state.drawn();
            if first {
                state.opened_at = js_sys::Date::now();
            }
            first
        });
        if first {
            self.0.drawn.notify();
        }
        if open {
            self.focus_in();
            self.load_slots(false);
        } else if focus_was_inside {
            match self.0.return_focus.take() {
                Some(element) if element.is_connected() => {
                    self.focus_soon(Focus::Element(element));
                }
                _ => self.focus_soon(Focus::To(Part::Launcher)),
            }
        }
        let event = if open {
            WidgetEvent::Opened
        } else {
            WidgetEvent::Closed
        };
        self.emit(event, &js_sys::Object::new());
    }

    /// One of the widget's elements, if it is drawn.
    pub fn element(&self, part: Part) -> Option<HtmlElement> {
        find(&self.0.root, part)
    }

    /// Focuses `target` once the view has caught up with the state: Leptos
    /// applies a change in a microtask, a hidden element cannot take focus,
    /// and a dialog opened for the first time is only drawn then. (It also
    /// keeps the focus move, and the `focusout` it fires, out of the event
    /// handler that asked for it.)
    fn focus_soon(&self, target: Focus) {
        let root = self.0.root.clone();
        leptos::task::spawn_local(async move {
            let _ = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&JsValue::NULL))
                .await;
            let element = match target {
                Focus::Stay => None,
                Focus::To(part) => find(&root, part),
                Focus::Element(element) => Some(element),
            };
            if let Some(element) = element {
                let _ = element.focus();
            }
        });
    }

    /// The launcher: opens or closes.
    pub fn toggle(&self) {
        self.set_open(!self.with_state(|s| s.open));
    }

    /// Moves focus into the open dialog: to the phone field, or to the status.
    fn focus_in(&self) {
        // Read once the view has caught up: a dialog opened for the first
        // time is drawn then.
        let part = if self.with_state(|s| s.status.is_some()) {
            Part::Status
        } else {
            Part::Phone
        };
        self.focus_soon(Focus::To(part));
    }

    /// Tells the page, unless the widget is gone (a page's handler may
    /// destroy it).
    fn emit(&self, event: WidgetEvent, detail: &JsValue) {
        if self.alive() {
            self.0.services.analytics.emit(event, detail);
        }
    }

    fn alive(&self) -> bool {
        self.0.services.alive.is_alive()
    }

    /// A DOM event on the widget: the visitor's own action (not a page
    /// script's, nor focus leaving it) allows storage under strict privacy.
    pub fn interacted(&self, event: &web_sys::Event) {
        if event.is_trusted() {
            self.0.services.visit.interacted();
        }
    }

    /// Escape closes; Tab and Shift+Tab stay inside the open dialog.
    pub fn on_key(&self, event: &web_sys::KeyboardEvent) {
        if !self.with_state(|s| s.open) {
            return;
        }
        match event.key().as_str() {
            "Escape" => self.set_open(false),
            "Tab" => {
                let Some(dialog) = self.element(Part::Dialog) else {
                    return;
                };
                let Ok(candidates) = dialog.query_selector_all("button,input,select,a[href]")
                else {
                    return;
                };
                // Those shown (a hidden part has no box) and not disabled.
                let focusable: Vec<HtmlElement> = (0..candidates.length())
                    .filter_map(|i| candidates.get(i)?.dyn_into::<HtmlElement>().ok())
                    .filter(|e| {
                        e.offset_width() > 0 && e.tab_index() >= 0 && !e.has_attribute("disabled")
                    })
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
                self.focus_soon(Focus::Element(wrap_to.clone()));
            }
            _ => {}
        }
    }

    /// The visitor typed (`leaving`: left the field). A character that can
    /// never be right, an extension or too many digits are said at once;
    /// too few only once the visitor has left the field or tried to send,
    /// and from then on the message follows every keystroke until the
    /// number is right.
    pub fn phone_typed(&self, typed: String, leaving: bool) {
        self.update(|state| {
            state.phone = typed;
            state.phone_refusal = None;
            let error = phone_error(&state.phone, non_empty(&state.site.country_code)).err();
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

    /// The visitor chose "now" or (`later`) "at a time I choose".
    pub fn choose_later(&self, later: bool) {
        self.update(|state| {
            state.later = later;
            state.slot_error = None;
        });
        if later {
            self.load_slots(false);
        }
    }

    /// The visitor chose a time.
    pub fn slot_chosen(&self) {
        self.update(|state| state.slot_error = None);
    }

    /// The visitor ticked or unticked the consent box.
    pub fn consent_ticked(&self, ticked: bool) {
        self.update(|state| {
            state.consent_ticked = ticked;
            state.consent_error = false;
        });
    }

    /// Back from a failed call to the form, with the number kept: to order
    /// again now, or (`later`) to choose a time.
    pub fn back_to_form(&self, later: bool) {
        self.0.watch.take();
        self.update(|state| {
            state.status = None;
            state.eta_until = 0.0;
            state.later = later;
            state.message = None;
        });
        if later {
            self.load_slots(false);
        }
        self.focus_soon(Focus::To(if later { Part::Slot } else { Part::Phone }));
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
        leptos::task::spawn_local(async move {
            let alive = &this.0.services.alive;
            let mut delay = 2_000;
            let answer = loop {
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
                state.site.open_now = answer.open_now;
                state.slots = answer.slots.iter().map(|slot| slot.start).collect();
                if state.slots.is_empty() {
                    state.slot_error = Some(TextKey::NoSlots);
                } else if matches!(
                    state.slot_error,
                    Some(TextKey::NoSlots | TextKey::SlotsUnavailable)
                ) {
                    state.slot_error = None;
                }
            });
        });
    }

    /// Sends the form: the number, the office, the time and the consent,
    /// after checking each where the visitor can see it. A request the proxy
    /// cannot be reached with is kept and retried (see `send`),
    /// and the visitor is told so.
    pub fn submit(&self) {
        // The view's own elements, so their types are known (no casts to
        // check, whose imports the wasm would carry).
        let slot = self
            .element(Part::Slot)
            .map(|s| s.unchecked_into::<HtmlSelectElement>().value())
            .unwrap_or_default();
        let office = self.element(Part::Office).map_or(-1, |s| {
            s.unchecked_into::<HtmlSelectElement>().selected_index()
        });
        let website = self
            .element(Part::Honeypot)
            .map(|h| h.unchecked_into::<HtmlInputElement>().value())
            .filter(|v| !v.is_empty());
        let checked = self.update(|state| -> Result<CallbackRequest, Focus> {
            if state.sending {
                return Err(Focus::Stay);
            }
            let number = phone_error(&state.phone, non_empty(&state.site.country_code));
            state.phone_error = number.as_ref().err().copied();
            let consent = state.site.consent.as_ref();
            state.consent_error = consent.is_some_and(|c| c.required) && !state.consent_ticked;
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
            let number = number.map_err(|_| Focus::To(Part::Phone))?;
            if state.consent_error {
                return Err(Focus::To(Part::Consent));
            }
            if state.wants_later() && time.is_none() {
                return Err(Focus::To(Part::Slot));
            }
            state.message = Some(TextKey::Sending);
            state.sending = true;
            state.for_later = time.is_some();
            let ticked = state.consent_ticked;
            Ok(CallbackRequest {
                // With its `+`: the proxy parses it again, and "84…" without one
                // would be a Russian number written with the trunk prefix 8.
                phone: ["+", number.as_str()].concat(),
                office: (state.site.offices.len() > 1 && office >= 0).then_some(office as u32),
                time,
                consent: consent.filter(|_| ticked).map(|c| Consent {
                    accepted: true,
                    version: c.version.clone(),
                }),
                website,
                ..Default::default()
            })
        });
        let mut request = match checked {
            Ok(request) => request,
            Err(field) => {
                self.focus_soon(field);
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
        // A request quicker than the site's least fill time is held back
        // until then (autofill and a quick click), not refused.
        let now = js_sys::Date::now();
        let (opened_at, min_fill) = self.with_state(|s| (s.opened_at, s.site.min_fill_ms as f64));
        let elapsed = if opened_at > 0.0 {
            now - opened_at
        } else {
            0.0
        };
        let hold = (min_fill - elapsed).max(0.0);
        request.elapsed_ms = Some((elapsed + hold) as u64);
        self.send(js::to_json(&request), idempotency_key(), now, hold as i32);
    }

    /// Sends again, in the background, the request an earlier page of the
    /// tab could not get to the proxy (see [`capture::pending`]), with its
    /// Idempotency-Key: the proxy stores it once. Once accepted it is
    /// `submitted` and its status is followed, shown if the dialog is open.
    pub(crate) fn resume(&self) {
        let Some((since, key, body)) = capture::pending() else {
            return;
        };
        let for_later = js_sys::JSON::parse(&body)
            .is_ok_and(|request| !js::get(&request, "time").is_undefined());
        self.update(|state| {
            state.message = Some(TextKey::Sending);
            state.sending = true;
            state.for_later = for_later;
        });
        self.send(body, key, since, RESUMED);
    }

    /// Posts a request's `body` until the proxy answers it, then shows the
    /// answer. The request is kept and retried while the proxy is
    /// unreachable (in memory, and in `sessionStorage` for the next page, as
    /// submitted at `since`): a lead is not dropped because the visitor's
    /// network blinked. While the browser says it is online, it is given up
    /// after a few tries: it may never get through (a site CORS blocks, say).
    /// A `resumed` request's failure is told to the page, not the visitor.
    /// `hold_ms` (at least 0) is how long to wait before the first try;
    /// [`RESUMED`] marks a request of an earlier page.
    fn send(&self, body: String, key: String, since: f64, hold_ms: i32) {
        let resumed = hold_ms == RESUMED;
        let this = self.clone();
        leptos::task::spawn_local(async move {
            let Services {
                api, alive, visit, ..
            } = &this.0.services;
            if hold_ms > 0 && !alive.sleep(hold_ms).await {
                return;
            }
            let mut delay = 1_000;
            let mut online_tries = 0;
            let mut proof: Option<String> = None;
            let mut challenges = 0;
            let outcome = loop {
                let language = this.with_state(|s| s.texts.locale.tag());
                let result = api
                    .create_callback(&body, &key, language, proof.as_deref())
                    .await;
                if !alive.is_alive() {
                    return;
                }
                // A site under attack asks for a proof of work: solved in
                // slices, then sent again at once (a few times at most).
                if let Err(ApiFailure::Refused {
                    code: ErrorCode::ChallengeRequired,
                    challenge: Some(challenge),
                    ..
                }) = &result
                    && challenges < MAX_CHALLENGES
                {
                    challenges += 1;
                    proof = crate::proof::solve(challenge, alive).await;
                    if proof.is_none() {
                        return;
                    }
                    continue;
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
        #[derive(Serialize)]
        struct Submitted<'a> {
            id: &'a str,
        }
        self.emit(
            WidgetEvent::Submitted,
            &js::to_js(&Submitted { id: &accepted.id }),
        );
        if !self.alive() {
            return;
        }
        let now = js_sys::Date::now();
        self.0
            .services
            .invite
            .change(|record| record.engaged_at = now);
        let is_final = accepted.status.is_final;
        self.show_status(accepted.status);
        // The form is gone: keyboard and screen reader go to the status.
        if self.with_state(|s| s.open) {
            self.focus_soon(Focus::To(Part::Status));
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
        // `None`: the proxy could not be reached.
        let (code, focus): (Option<ErrorCode>, Focus) = match failure {
            ApiFailure::Refused {
                code: ErrorCode::InvalidInput,
                field,
                message,
                ..
            } => {
                let field = field.unwrap_or_default();
                let focus = self.update(|state| match field.as_str() {
                    "time" => {
                        state.slot_error = Some(TextKey::SlotTaken);
                        Part::Slot
                    }
                    "consent" => {
                        state.consent_error = true;
                        Part::Consent
                    }
                    "phone" => {
                        // The proxy says why (a country or a kind of number
                        // the site does not call), in the widget's language.
                        state.phone_error = Some(TextKey::PhoneShort);
                        state.phone_refusal = message.filter(|m| !m.is_empty());
                        Part::Phone
                    }
                    _ => {
                        state.message = Some(TextKey::FailedToSend);
                        Part::Phone
                    }
                });
                if field == "time" {
                    self.load_slots(true);
                }
                (Some(ErrorCode::InvalidInput), Focus::To(focus))
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
                (Some(ErrorCode::RateLimited), Focus::Stay)
            }
            ApiFailure::Refused { code, .. } => {
                self.update(|state| state.message = Some(TextKey::FailedToSend));
                (Some(code), Focus::Stay)
            }
            ApiFailure::Unreachable => {
                self.update(|state| state.message = Some(TextKey::FailedToSend));
                (None, Focus::Stay)
            }
        };
        self.focus_soon(focus);
        self.failed(code);
    }

    /// Tells the page a request failed: `code`'s wire name, or `unreachable`.
    fn failed(&self, code: Option<ErrorCode>) {
        #[derive(Serialize)]
        struct Failed {
            error: &'static str,
        }
        let error = code.map_or("unreachable", ErrorCode::name);
        self.emit(WidgetEvent::Failed, &js::to_js(&Failed { error }));
    }

    /// Shows a status and tells the page; a final failure is also `failed`.
    /// An estimate starts (or restarts) the countdown.
    pub fn show_status(&self, status: CallStatus) {
        if !self.alive() {
            return;
        }
        let detail = js::to_js(&StatusDetail {
            state: status.state,
            is_final: status.is_final,
            reason: status.reason,
        });
        let failed = status.is_final && status.state == CallState::Failed;
        self.update(|state| {
            state.eta_until = match status.eta_seconds {
                Some(seconds) if !state.for_later => {
                    js_sys::Date::now() + f64::from(seconds.saturating_mul(1000))
                }
                _ => 0.0,
            };
            state.status = Some(status);
        });
        self.emit(WidgetEvent::StatusChanged, &detail);
        if failed {
            self.emit(WidgetEvent::Failed, &detail);
        }
    }

    /// Ends the widget's waits and its status stream (the view goes with
    /// its reactive owner, in `WidgetHandle::destroy`).
    pub fn destroy(&self) {
        self.0.services.alive.end();
        self.0.watch.take();
        if let (Some(listener), Some(window)) =
            (self.0.services.invite.listener.take(), web_sys::window())
        {
            for kind in invite::EVENTS {
                let _ = window
                    .remove_event_listener_with_callback(kind, listener.as_ref().unchecked_ref());
            }
        }
    }
}

/// How many challenges in a row one request solves before giving up (a
/// proxy that keeps refusing proofs is broken, not busy).
const MAX_CHALLENGES: u32 = 3;

/// `send`'s `hold_ms` for a request an earlier page of the tab could not send.
const RESUMED: i32 = -1;

/// Whether a refusal is worth sending again later (408, 5xx, 429): the
/// proxy did not take the request, nor refuse it for good.
fn retryable(code: ErrorCode) -> bool {
    matches!(code, ErrorCode::Unavailable | ErrorCode::RateLimited)
}

/// The element of `part` in the widget's shadow root.
fn find(root: &web_sys::ShadowRoot, part: Part) -> Option<HtmlElement> {
    root.get_element_by_id(part.id())?.dyn_into().ok()
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
