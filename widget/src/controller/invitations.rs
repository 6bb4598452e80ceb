//! The controller's part in the proactive invitations (`crate::invite`
//! holds their settings, caps and record): hearing the page for the
//! triggers, showing the teaser, and the visitor's yes or no.

use wasm_bindgen::prelude::*;

use super::{Controller, Focus, Part, Services, WidgetEvent};
use crate::invite::{self, page_time};
use crate::js;

impl Controller {
    /// Hears the page for the triggers (once the site's config has some,
    /// or the page first invites: Escape closes the teaser): one listener
    /// on `window`, and one wait for the time on the page and the inactivity.
    pub(super) fn listen(&self) {
        if self.0.services.invite.listener.borrow().is_some() {
            return;
        }
        let this = self.clone();
        let listener = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            this.on_page_event(&event);
        });
        if let Some(window) = web_sys::window() {
            for kind in invite::EVENTS {
                let _ = window
                    .add_event_listener_with_callback(kind, listener.as_ref().unchecked_ref());
            }
        }
        *self.0.services.invite.listener.borrow_mut() = Some(listener);
        let this = self.clone();
        leptos::task::spawn_local(async move {
            let Services { invite, alive, .. } = &this.0.services;
            let (mut time, idle) = {
                let settings = invite.settings.borrow();
                (settings.time_ms, settings.idle_ms)
            };
            loop {
                let now = page_time();
                let idle_at = idle.map(|ms| invite.last_input.get() + ms);
                if time.is_some_and(|at| at <= now) {
                    time = None;
                    this.invite("time", false);
                } else if idle_at.is_some_and(|at| at <= now) {
                    this.invite("idle", false);
                    return;
                }
                // The next moment either may come; the wait ends with the widget.
                let due = match (time, idle_at) {
                    (Some(a), Some(b)) => a.min(b),
                    (Some(a), None) | (None, Some(a)) => a,
                    (None, None) => return,
                };
                if invite.shown_here.get() || !alive.sleep((due - now) as i32 + 1).await {
                    return;
                }
            }
        });
    }

    /// An event on the page, for the triggers: the pointer leaving through
    /// the top edge, the page scrolled, Escape (closes the teaser), and
    /// any input (for the inactivity).
    fn on_page_event(&self, event: &web_sys::Event) {
        let invite = &self.0.services.invite;
        let now = page_time();
        let (exit_ms, touch_exit, scroll_percent) = {
            let settings = invite.settings.borrow();
            (
                settings.exit_ms,
                settings.touch_exit,
                settings.scroll_percent,
            )
        };
        let exit_ready = exit_ms.is_some_and(|ms| now >= ms);
        match event.type_().as_str() {
            "mouseout" => {
                let mouse: &web_sys::MouseEvent = event.unchecked_ref();
                if exit_ready && mouse.related_target().is_none() && mouse.client_y() <= 0 {
                    self.invite("exit_intent", false);
                }
            }
            "scroll" => {
                let Some(window) = web_sys::window() else {
                    return;
                };
                let y = window.scroll_y().unwrap_or_default();
                let height = window
                    .inner_height()
                    .ok()
                    .and_then(|h| h.as_f64())
                    .unwrap_or_default();
                let page = window
                    .document()
                    .and_then(|d| d.document_element())
                    .map_or(0, |e| e.scroll_height());
                // The share of the page seen: its top to the viewport's bottom.
                if scroll_percent
                    .is_some_and(|percent| (y + height) * 100.0 >= percent * f64::from(page))
                {
                    self.invite("scroll", false);
                }
                // On a touch screen, a fast scroll back up (half a screen
                // within 600 ms) is the visitor heading for the address bar.
                if touch_exit
                    && exit_ready
                    && window
                        .match_media("(pointer:coarse)")
                        .ok()
                        .flatten()
                        .is_some_and(|m| m.matches())
                {
                    let (from_y, from_time) = invite.scroll_from.get();
                    if y >= from_y || now - from_time > 600.0 {
                        invite.scroll_from.set((y, now));
                    } else if from_y - y >= height / 2.0 {
                        self.invite("exit_intent", false);
                    }
                }
            }
            "keydown" => {
                let key: &web_sys::KeyboardEvent = event.unchecked_ref();
                if key.key() == "Escape" {
                    self.dismiss_invite();
                }
            }
            _ => {}
        }
        invite.last_input.set(now);
    }

    /// Shows the teaser, unless a cap says not now (`invite.rs`); `trigger`
    /// is what invited (`exit_intent`, `scroll`, `time`, `idle`, or `api`:
    /// the page's `invite()`), told to the page with `invited`. `force`
    /// (the page's `invite({force: true})`) skips the caps, though never
    /// over the open dialog. It never moves focus.
    pub fn invite(&self, trigger: &'static str, force: bool) {
        let invite = &self.0.services.invite;
        let (ready, busy, closed) = self.with_state(|s| {
            (
                s.ready,
                s.open || !s.invite.is_empty(),
                !s.site.open_now && !invite.settings.borrow().when_closed,
            )
        });
        if !ready {
            // The page's `invite()` before the config: once it is applied.
            if trigger == "api" {
                invite.pending.set(Some(force));
            }
            return;
        }
        if busy || !force && (closed || !invite.allowed(js_sys::Date::now())) {
            return;
        }
        invite.shown_here.set(true);
        invite.change(|record| record.shown += 1.0);
        self.listen();
        self.update(|state| state.invite = trigger);
        self.emit(WidgetEvent::Invited, &trigger_detail(trigger));
    }

    /// "Yes, call me": the dialog opens, with focus in the phone field.
    pub fn accept_invite(&self) {
        self.end_invite(WidgetEvent::InviteAccepted);
        self.set_open(true);
    }

    /// The teaser was closed (its button, Escape): that is "no", and no
    /// other invitation shows in the visit. Focus on the teaser goes to the
    /// launcher; focus on the page stays.
    pub fn dismiss_invite(&self) {
        self.end_invite(WidgetEvent::InviteDismissed);
    }

    fn end_invite(&self, event: WidgetEvent) {
        let trigger = self.update(|state| std::mem::take(&mut state.invite));
        if trigger.is_empty() {
            return;
        }
        if event == WidgetEvent::InviteDismissed {
            self.0.services.invite.change(|record| record.no = true);
            if self.0.root.active_element().is_some() {
                self.focus_soon(Focus::To(Part::Launcher));
            }
        }
        self.emit(event, &trigger_detail(trigger));
    }
}

/// What the page is told about an invitation: `{trigger}`.
fn trigger_detail(trigger: &str) -> JsValue {
    let detail = js_sys::Object::new();
    js::set(&detail, "trigger", &JsValue::from_str(trigger));
    detail.into()
}
