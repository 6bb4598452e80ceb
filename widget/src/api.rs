//! The widget's side of the v1 contract: `fetch` and the browser's JSON.
//!
//! JSON goes through `JSON.parse`/`stringify` and [`crate::wire`], never
//! serde or serde_json, which would cost more than a third of the wasm budget.

use protocol::{CallStatus, CallbackAccepted, ErrorCode, paths};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestInit, RequestMode, Response};

use crate::{js, wire};

/// How long a request may take before it is given up (and retried).
const FETCH_TIMEOUT_MS: u32 = 15_000;

/// Talks to the proxy for one site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClient {
    base: String,
    site: String,
}

/// Why a call to the proxy failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiFailure {
    /// The proxy could not be reached (offline, DNS, CORS, a timeout, …):
    /// worth retrying, a few times while the browser says it is online.
    Unreachable,
    /// The proxy answered with an error.
    Refused {
        /// The error's kind.
        code: ErrorCode,
        /// The field at fault, if any.
        field: Option<String>,
        /// Seconds from `Retry-After`, for 429 and 503.
        ///
        /// An error that is not the proxy's (a load balancer's, a CDN's) is
        /// `Unavailable` when it is worth retrying (408, 5xx, 429 with a
        /// `Retry-After`), `Internal` otherwise.
        retry_after: Option<u32>,
    },
}

impl ApiClient {
    /// A client for `site` on the proxy at `base` (an origin, no trailing slash needed).
    pub fn new(base: &str, site: String) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            site,
        }
    }

    /// The URL of a path on the proxy.
    pub fn url(&self, path: &str) -> String {
        let mut url = self.base.clone();
        url.push_str(path);
        url
    }

    /// The live status stream of a callback.
    pub fn events_url(&self, id: &str) -> String {
        self.url(&paths::callback_events(id))
    }

    /// Posts a callback request, its JSON body written by
    /// [`wire::request_json`]. `idempotency_key` stays the same across
    /// retries of the same request (on this page or, from `sessionStorage`,
    /// a later one), so the proxy stores it once.
    pub async fn create_callback(
        &self,
        body: &str,
        idempotency_key: &str,
    ) -> Result<CallbackAccepted, ApiFailure> {
        let json = self
            .send(&paths::callbacks(&self.site), Some((body, idempotency_key)))
            .await?;
        wire::accepted(&json).ok_or(ApiFailure::Unreachable)
    }

    /// The coming callback slots (three days): whether the company is open
    /// now, and the slots' starts (Unix seconds).
    pub async fn slots(&self) -> Result<(bool, Vec<i64>), ApiFailure> {
        let mut path = paths::slots(&self.site);
        path.push_str("?days=3");
        let json = self.send(&path, None).await?;
        wire::slots(&json).ok_or(ApiFailure::Unreachable)
    }

    /// The current status of a callback.
    pub async fn status(&self, id: &str) -> Result<CallStatus, ApiFailure> {
        let json = self.send(&paths::callback(id), None).await?;
        wire::status(&json).ok_or(ApiFailure::Unreachable)
    }

    /// Sends a request (a POST when there is a body) and returns the parsed JSON answer.
    async fn send(&self, path: &str, body: Option<(&str, &str)>) -> Result<JsValue, ApiFailure> {
        let init = RequestInit::new();
        init.set_mode(RequestMode::Cors);
        if let Some((json, key)) = body {
            let headers = js_sys::Object::new();
            js::set(
                &headers,
                "Content-Type",
                &JsValue::from_str("application/json"),
            );
            js::set(&headers, paths::IDEMPOTENCY_KEY, &JsValue::from_str(key));
            init.set_method("POST");
            // Sent even if the visitor leaves the page right after.
            js::set(&init, "keepalive", &JsValue::TRUE);
            init.set_body(&JsValue::from_str(json));
            init.set_headers(&headers);
        }
        // A request that hangs (a dead connection) fails after a while, and is retried.
        let signals =
            js_sys::Reflect::get(&js_sys::global(), &"AbortSignal".into()).unwrap_or_default();
        if let Some(timeout) = js_sys::Reflect::get(&signals, &"timeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            && let Ok(signal) = timeout.call1(&signals, &FETCH_TIMEOUT_MS.into())
        {
            js::set(&init, "signal", &signal);
        }
        let window = web_sys::window().ok_or(ApiFailure::Unreachable)?;
        let response: Response =
            JsFuture::from(window.fetch_with_str_and_init(&self.url(path), &init))
                .await
                .map_err(|_| ApiFailure::Unreachable)?
                .unchecked_into();
        let text = match response.text() {
            Ok(promise) => JsFuture::from(promise)
                .await
                .ok()
                .and_then(|t| t.as_string())
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
        let json = wire::parse(&text);
        if response.ok() {
            return json.ok_or(ApiFailure::Unreachable);
        }
        // `Number()` parses the header, as serde would not be worth it here.
        let retry_after = response
            .headers()
            .get("Retry-After")
            .ok()
            .flatten()
            .map(|v| js_sys::Number::parse_float(&v))
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| s as u32);
        let status = response.status();
        let (code, field) = json.as_ref().and_then(wire::error).unwrap_or_else(|| {
            // Not the proxy's answer: something in front of it (a load
            // balancer, a CDN) refused or failed.
            let again = status == 408 || status >= 500 || (status == 429 && retry_after.is_some());
            let code = if again {
                ErrorCode::Unavailable
            } else {
                ErrorCode::Internal
            };
            (code, None)
        });
        Err(ApiFailure::Refused {
            code,
            field,
            retry_after,
        })
    }
}
