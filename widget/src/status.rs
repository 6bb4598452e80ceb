//! Following a callback's status: Server-Sent Events, polling as the fallback;
//! and [`Alive`], which ends the widget's waits when it is destroyed.
//!
//! A [`StatusWatch`] is an RAII handle: dropping it closes the stream and stops
//! the polling, so an unmounted widget leaves no connection or timer behind.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use protocol::{CallStatus, ErrorCode};
use wasm_bindgen::prelude::*;

use crate::api::{ApiClient, ApiFailure};
use crate::wire;

/// How often the fallback polls, in milliseconds.
const POLL_INTERVAL_MS: i32 = 2_000;
/// The longest pause between polls that fail.
const MAX_POLL_INTERVAL_MS: i32 = 30_000;

/// Whether the widget still exists; its pending [`Alive::sleep`]s end when it goes.
#[derive(Debug, Clone, Default)]
pub struct Alive(Rc<AliveInner>);

#[derive(Debug, Default)]
struct AliveInner {
    ended: Cell<bool>,
    /// Pending timers: their ids and the functions that end their sleeps early.
    timers: RefCell<Vec<(i32, js_sys::Function)>>,
}

impl Alive {
    /// Whether the widget has not been destroyed.
    pub fn is_alive(&self) -> bool {
        !self.0.ended.get()
    }

    /// Clears every pending timer and wakes its sleeper, which then sees the end.
    pub fn end(&self) {
        self.0.ended.set(true);
        let window = web_sys::window();
        for (id, wake) in self.0.timers.take() {
            if let Some(window) = &window {
                window.clear_timeout_with_handle(id);
            }
            let _ = wake.call0(&JsValue::NULL);
        }
    }

    /// Waits `ms` milliseconds, or until the widget is destroyed; returns
    /// whether it is still alive.
    pub async fn sleep(&self, ms: i32) -> bool {
        self.wait(ms, false).await
    }

    /// As [`Alive::sleep`], but ends early too when the browser comes back
    /// online (the window's `online` event).
    pub async fn sleep_or_online(&self, ms: i32) -> bool {
        self.wait(ms, true).await
    }

    async fn wait(&self, ms: i32, or_online: bool) -> bool {
        if !self.is_alive() {
            return false;
        }
        let mut timer = None;
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(Ok(id)) = web_sys::window()
                .map(|w| w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms))
            {
                timer = Some((id, resolve));
            }
        });
        let Some((id, resolve)) = timer else {
            return false;
        };
        let window = web_sys::window().filter(|_| or_online);
        if let Some(window) = &window {
            let _ = window.add_event_listener_with_callback("online", &resolve);
        }
        self.0.timers.borrow_mut().push((id, resolve.clone()));
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        self.0.timers.borrow_mut().retain(|(t, _)| *t != id);
        if let Some(window) = &window {
            window.clear_timeout_with_handle(id);
            let _ = window.remove_event_listener_with_callback("online", &resolve);
        }
        self.is_alive()
    }
}

/// A live subscription to one callback's status.
#[must_use = "dropping a StatusWatch stops watching"]
#[derive(Debug)]
pub(crate) struct StatusWatch {
    source: Option<web_sys::EventSource>,
    stopped: Rc<Cell<bool>>,
    _on_status: Closure<dyn FnMut(web_sys::MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl StatusWatch {
    /// Calls `on_status` with each new status until a final one arrives.
    pub(crate) fn start(
        api: ApiClient,
        id: String,
        alive: Alive,
        on_status: impl Fn(CallStatus) + 'static,
    ) -> Self {
        let stopped = Rc::new(Cell::new(false));
        let on_status = Rc::new(on_status);
        let source = web_sys::EventSource::new(&api.events_url(&id)).ok();

        let deliver = {
            let (on_status, stopped) = (on_status.clone(), stopped.clone());
            let source = source.clone();
            move |event: web_sys::MessageEvent| {
                let Some(status) = event
                    .data()
                    .as_string()
                    .and_then(|d| wire::parse(&d))
                    .and_then(|json| wire::status(&json))
                else {
                    return;
                };
                if status.is_final {
                    stopped.set(true);
                    if let Some(source) = &source {
                        source.close();
                    }
                }
                on_status(status);
            }
        };
        let on_status_closure = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(deliver);

        // When the stream fails for good (blocked by a proxy, say), poll instead.
        let fallback = {
            let (stopped, source) = (stopped.clone(), source.clone());
            move |_event: web_sys::Event| {
                let closed = source
                    .as_ref()
                    .is_none_or(|s| s.ready_state() == web_sys::EventSource::CLOSED);
                if closed && !stopped.get() {
                    let stopped = stopped.clone();
                    poll(
                        api.clone(),
                        id.clone(),
                        on_status.clone(),
                        stopped,
                        alive.clone(),
                    );
                }
            }
        };
        let on_error_closure = Closure::<dyn FnMut(web_sys::Event)>::new(fallback);

        match &source {
            Some(source) => {
                let _ = source.add_event_listener_with_callback(
                    "status",
                    on_status_closure.as_ref().unchecked_ref(),
                );
                source.set_onerror(Some(on_error_closure.as_ref().unchecked_ref()));
            }
            None => {
                let _ = on_error_closure
                    .as_ref()
                    .unchecked_ref::<js_sys::Function>()
                    .call1(&JsValue::NULL, &JsValue::NULL);
            }
        }
        Self {
            source,
            stopped,
            _on_status: on_status_closure,
            _on_error: on_error_closure,
        }
    }
}

impl Drop for StatusWatch {
    fn drop(&mut self) {
        self.stopped.set(true);
        if let Some(source) = &self.source {
            source.set_onerror(None);
            source.close();
        }
    }
}

/// Polls until a final status, until the watch is dropped or the widget destroyed.
fn poll(
    api: ApiClient,
    id: String,
    on_status: Rc<dyn Fn(CallStatus)>,
    stopped: Rc<Cell<bool>>,
    alive: Alive,
) {
    wasm_bindgen_futures::spawn_local(async move {
        let mut interval = POLL_INTERVAL_MS;
        while !stopped.get() {
            let result = api.status(&id).await;
            if stopped.get() || !alive.is_alive() {
                break;
            }
            match result {
                Ok(status) => {
                    interval = POLL_INTERVAL_MS;
                    let is_final = status.is_final;
                    on_status(status);
                    if is_final {
                        stopped.set(true);
                        break;
                    }
                }
                // The callback is gone (its token expired): nothing to follow.
                Err(ApiFailure::Refused {
                    code: ErrorCode::NotFound,
                    ..
                }) => {
                    stopped.set(true);
                    break;
                }
                // Asked again less and less often while it fails.
                Err(_) => interval = (interval * 2).min(MAX_POLL_INTERVAL_MS),
            }
            if !alive.sleep(interval).await {
                break;
            }
        }
    });
}
