//! The widget's side of the v1 contract, over gloo-net.
//!
//! Bodies are `protocol`'s types: written with serde-wasm-bindgen and the
//! browser's `JSON.stringify`, read from `response.json()` with
//! serde-wasm-bindgen (see `js`). The wasm has no JSON code of its own.

use gloo_net::http::Request;
use protocol::challenge::Challenge;
use protocol::{CallStatus, CallbackAccepted, ErrorBody, ErrorCode, Slots, paths};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestInit, RequestMode};

use crate::js;

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
        /// What the proxy says of the field, in the widget's language (it
        /// explains a refused phone number: a country or a kind not called).
        message: Option<String>,
        /// With [`ErrorCode::ChallengeRequired`]: the work to do first.
        challenge: Option<Challenge>,
        /// Seconds from `Retry-After`, for 429 and 503.
        ///
        /// An error that is not the proxy's (a load balancer's, a CDN's) is
        /// `Unavailable` when it is worth retrying (408, 5xx, 429 with a
        /// `Retry-After`), `Internal` otherwise.
        retry_after: Option<u32>,
    },
}

/// A POST's parts: its JSON body, Idempotency-Key, language and proof of work.
struct Post<'a> {
    json: &'a str,
    key: &'a str,
    language: &'a str,
    proof: Option<&'a str>,
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
        [self.base.as_str(), path].concat()
    }

    /// The live status stream of a callback.
    pub fn events_url(&self, id: &str) -> String {
        self.url(&paths::callback_events(id))
    }

    /// Posts a callback request, its JSON `body` a [`protocol::CallbackRequest`].
    /// `idempotency_key` stays the same across retries of the same request
    /// (on this page or, from `sessionStorage`, a later one), so the proxy
    /// stores it once. `language` (`ru`, `en`: the widget's) is the one the
    /// proxy explains a refused field in; `proof`, a solved challenge
    /// (`token:nonce`), where the proxy asked for one.
    pub async fn create_callback(
        &self,
        body: &str,
        idempotency_key: &str,
        language: &str,
        proof: Option<&str>,
    ) -> Result<CallbackAccepted, ApiFailure> {
        let post = Post {
            json: body,
            key: idempotency_key,
            language,
            proof,
        };
        let json = self.send(&paths::callbacks(&self.site), Some(post)).await?;
        js::from_js(json).ok_or(ApiFailure::Unreachable)
    }

    /// The coming callback slots (three days) and whether the company is open now.
    pub async fn slots(&self) -> Result<Slots, ApiFailure> {
        let path = [paths::slots(&self.site).as_str(), "?days=3"].concat();
        let json = self.send(&path, None).await?;
        js::from_js(json).ok_or(ApiFailure::Unreachable)
    }

    /// The current status of a callback.
    pub async fn status(&self, id: &str) -> Result<CallStatus, ApiFailure> {
        let json = self.send(&paths::callback(id), None).await?;
        js::from_js(json).ok_or(ApiFailure::Unreachable)
    }

    /// Sends a request (a POST when there is a body) and returns the JSON answer.
    async fn send(&self, path: &str, body: Option<Post<'_>>) -> Result<JsValue, ApiFailure> {
        let request = self.request(path, body).ok_or(ApiFailure::Unreachable)?;
        let response: web_sys::Response = request
            .send()
            .await
            .map_err(|_| ApiFailure::Unreachable)?
            .into();
        let json = match response.json() {
            Ok(promise) => JsFuture::from(promise).await.ok(),
            Err(_) => None,
        };
        if response.ok() {
            return json.ok_or(ApiFailure::Unreachable);
        }
        let retry_after = response
            .headers()
            .get("Retry-After")
            .ok()
            .flatten()
            .map(|v| js_sys::Number::parse_float(&v))
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| s as u32);
        let status = response.status();
        let error = json.and_then(js::from_js::<ErrorBody>).map(|body| {
            let ErrorBody { error, challenge } = body;
            (error.code, error.field, Some(error.message), challenge)
        });
        let (code, field, message, challenge) = error.unwrap_or_else(|| {
            // Not the proxy's answer: something in front of it (a load
            // balancer, a CDN) refused or failed.
            let again = status == 408 || status >= 500 || (status == 429 && retry_after.is_some());
            let code = if again {
                ErrorCode::Unavailable
            } else {
                ErrorCode::Internal
            };
            (code, None, None, None)
        });
        Err(ApiFailure::Refused {
            code,
            field,
            message,
            challenge,
            retry_after,
        })
    }

    /// The request: CORS, and for a POST its body, JSON type, Idempotency-Key,
    /// the widget's header and language, and `keepalive` (sent even if the
    /// visitor leaves right after).
    fn request(&self, path: &str, body: Option<Post<'_>>) -> Option<Request> {
        let init = RequestInit::new();
        init.set_mode(RequestMode::Cors);
        if let Some(Post {
            json,
            key,
            language,
            proof,
        }) = body
        {
            let headers = web_sys::Headers::new().ok()?;
            headers.set("Content-Type", "application/json").ok()?;
            headers.set(paths::IDEMPOTENCY_KEY, key).ok()?;
            headers.set(paths::WIDGET_HEADER, "1").ok()?;
            // The language of the proxy's message about a refused field.
            headers.set("Accept-Language", language).ok()?;
            if let Some(proof) = proof {
                headers.set(paths::PROOF_HEADER, proof).ok()?;
            }
            init.set_method("POST");
            init.set_body(&JsValue::from_str(json));
            init.set_headers(&headers);
            // Not in web-sys's RequestInit yet.
            js::set(&init, "keepalive", &JsValue::TRUE);
        }
        // A request that hangs (a dead connection) fails after a while, and
        // is retried. `AbortSignal.timeout` is looked up: older browsers lack it.
        let signals = js::get(&js_sys::global(), "AbortSignal");
        if let Ok(timeout) = js::get(&signals, "timeout").dyn_into::<js_sys::Function>()
            && let Ok(signal) = timeout.call1(&signals, &FETCH_TIMEOUT_MS.into())
        {
            js::set(&init, "signal", &signal);
        }
        let request = web_sys::Request::new_with_str_and_init(&self.url(path), &init).ok()?;
        Some(Request::from(request))
    }
}
