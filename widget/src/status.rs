//! Following a callback's status: Server-Sent Events, polling as the fallback.
//!
//! A [`StatusWatch`] is an RAII handle: dropping it closes the stream and stops
//! the polling, so an unmounted widget leaves no connection or timer behind.

use std::cell::Cell;
use std::rc::Rc;

use protocol::CallStatus;
use wasm_bindgen::prelude::*;

use crate::api::{ApiClient, from_json};

/// How often the fallback polls, in milliseconds.
const POLL_INTERVAL_MS: i32 = 2_000;

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
                    .and_then(|d| from_json::<CallStatus>(&d))
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
                    poll(api.clone(), id.clone(), on_status.clone(), stopped.clone());
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

fn poll(api: ApiClient, id: String, on_status: Rc<dyn Fn(CallStatus)>, stopped: Rc<Cell<bool>>) {
    wasm_bindgen_futures::spawn_local(async move {
        while !stopped.get() {
            if let Ok(status) = api.status(&id).await {
                if stopped.get() {
                    break;
                }
                let is_final = status.is_final;
                on_status(status);
                if is_final {
                    break;
                }
            }
            sleep(POLL_INTERVAL_MS).await;
        }
    });
}

/// Resolves after `ms` milliseconds.
pub(crate) async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
