//! Following a callback's status: Server-Sent Events (gloo-net's
//! `EventSource`), polling as the fallback.
//!
//! A [`StatusWatch`] is an RAII handle: dropping it closes the stream and
//! stops the polling, so an unmounted widget leaves no connection or timer
//! behind.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures_util::StreamExt;
use gloo_net::eventsource::futures::EventSource;
use protocol::{CallStatus, ErrorCode};

use crate::alive::Alive;
use crate::api::{ApiClient, ApiFailure};
use crate::js;

/// How often the fallback polls, in milliseconds.
const POLL_INTERVAL_MS: i32 = 2_000;
/// The longest pause between polls that fail.
const MAX_POLL_INTERVAL_MS: i32 = 30_000;

/// A live subscription to one callback's status.
#[must_use = "dropping a StatusWatch stops watching"]
#[derive(Debug)]
pub(crate) struct StatusWatch {
    stopped: Rc<Cell<bool>>,
    source: Rc<RefCell<Option<EventSource>>>,
}

impl StatusWatch {
    /// Calls `on_status` with each new status until a final one arrives:
    /// from the stream, or, once the stream fails for good (a proxy in
    /// between that blocks it, say), by polling.
    pub(crate) fn start(
        api: ApiClient,
        id: String,
        alive: Alive,
        on_status: impl Fn(CallStatus) + 'static,
    ) -> Self {
        let stopped = Rc::new(Cell::new(false));
        let mut source = EventSource::new(&api.events_url(&id)).ok();
        let subscription = source.as_mut().and_then(|s| s.subscribe("status").ok());
        let source = Rc::new(RefCell::new(source));
        let watch = Self {
            stopped: stopped.clone(),
            source: source.clone(),
        };
        leptos::task::spawn_local(async move {
            if let Some(mut events) = subscription {
                // An error item: the stream is closed for good (gloo-net
                // reports none while the browser reconnects by itself).
                while let Some(Ok((_, event))) = events.next().await {
                    let status = event
                        .data()
                        .as_string()
                        .and_then(|text| js_sys::JSON::parse(&text).ok())
                        .and_then(js::from_js::<CallStatus>);
                    if stopped.get() {
                        return;
                    }
                    if let Some(status) = status {
                        let is_final = status.is_final;
                        on_status(status);
                        if is_final {
                            stopped.set(true);
                            source.take();
                            return;
                        }
                    }
                }
                source.take();
            }
            poll(&api, &id, &on_status, &stopped, &alive).await;
        });
        watch
    }
}

impl Drop for StatusWatch {
    fn drop(&mut self) {
        self.stopped.set(true);
        // Dropping gloo-net's EventSource closes it.
        self.source.take();
    }
}

/// Polls until a final status, until the watch is dropped or the widget destroyed.
async fn poll(
    api: &ApiClient,
    id: &str,
    on_status: &impl Fn(CallStatus),
    stopped: &Cell<bool>,
    alive: &Alive,
) {
    let mut interval = POLL_INTERVAL_MS;
    while !stopped.get() && alive.is_alive() {
        let result = api.status(id).await;
        if stopped.get() || !alive.is_alive() {
            return;
        }
        match result {
            Ok(status) => {
                interval = POLL_INTERVAL_MS;
                let is_final = status.is_final;
                on_status(status);
                if is_final {
                    stopped.set(true);
                    return;
                }
            }
            // The callback is gone (its token expired): nothing to follow.
            Err(ApiFailure::Refused {
                code: ErrorCode::NotFound,
                ..
            }) => {
                stopped.set(true);
                return;
            }
            // Asked again less and less often while it fails.
            Err(_) => interval = (interval * 2).min(MAX_POLL_INTERVAL_MS),
        }
        if !alive.sleep(interval).await {
            return;
        }
    }
}
