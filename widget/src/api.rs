//! The widget's side of the v1 contract: `fetch` and the browser's JSON.
//!
//! JSON goes through `serde-wasm-bindgen` and `JSON.parse`/`stringify`, not
//! serde_json, which would add ~18 KB gzipped to the wasm.

use protocol::{CallStatus, CallbackAccepted, CallbackRequest, ErrorBody, ErrorCode, paths};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, RequestMode, Response};

/// Talks to the proxy for one site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClient {
    base: String,
    site: String,
}

/// Why a call to the proxy failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiFailure {
    /// The proxy could not be reached (offline, DNS, CORS, …): worth retrying.
    Unreachable,
    /// The proxy answered with an error.
    Refused {
        /// The error's kind.
        code: ErrorCode,
        /// The field at fault, if any.
        field: Option<String>,
        /// Seconds from `Retry-After`, for 429 and 503.
        retry_after: Option<u32>,
    },
}

impl ApiClient {
    /// A client for `site` on the proxy at `base` (an origin, no trailing slash needed).
    pub fn new(base: String, site: String) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            site,
        }
    }

    /// The URL of a path on the proxy.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The live status stream of a callback.
    pub fn events_url(&self, id: &str) -> String {
        self.url(&paths::callback_events(id))
    }

    /// Posts a callback request. `idempotency_key` stays the same across retries
    /// of the same request, so the proxy stores it once.
    pub async fn create_callback(
        &self,
        request: &CallbackRequest,
        idempotency_key: &str,
    ) -> Result<CallbackAccepted, ApiFailure> {
        let body = to_json(request).map_err(|_| ApiFailure::Unreachable)?;
        self.send(
            "POST",
            &paths::callbacks(&self.site),
            Some((body, idempotency_key)),
        )
        .await
    }

    /// The current status of a callback.
    pub async fn status(&self, id: &str) -> Result<CallStatus, ApiFailure> {
        self.send("GET", &paths::callback(id), None).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<(String, &str)>,
    ) -> Result<T, ApiFailure> {
        let init = RequestInit::new();
        init.set_method(method);
        init.set_mode(RequestMode::Cors);
        let request_headers = web_sys::Headers::new().map_err(|_| ApiFailure::Unreachable)?;
        if let Some((json, key)) = &body {
            init.set_body(&JsValue::from_str(json));
            let _ = request_headers.set("Content-Type", "application/json");
            let _ = request_headers.set(paths::IDEMPOTENCY_KEY, key);
        }
        init.set_headers(&request_headers);
        let request = Request::new_with_str_and_init(&self.url(path), &init)
            .map_err(|_| ApiFailure::Unreachable)?;
        let window = web_sys::window().ok_or(ApiFailure::Unreachable)?;
        let response: Response = JsFuture::from(window.fetch_with_request(&request))
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
        if response.ok() {
            return from_json(&text).ok_or(ApiFailure::Unreachable);
        }
        let retry_after = response
            .headers()
            .get("Retry-After")
            .ok()
            .flatten()
            .and_then(|v| v.trim().parse().ok());
        match from_json::<ErrorBody>(&text) {
            Some(body) => Err(ApiFailure::Refused {
                code: body.error.code,
                field: body.error.field,
                retry_after,
            }),
            // A 5xx from something in front of the proxy (a load balancer, say).
            None => Err(ApiFailure::Unreachable),
        }
    }
}

/// Serialises with the browser's `JSON.stringify`.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<String, JsValue> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let js = value.serialize(&serializer)?;
    js_sys::JSON::stringify(&js)?
        .as_string()
        .ok_or_else(|| JsValue::from_str("not a string"))
}

/// Parses with the browser's `JSON.parse`; `None` when it is not the expected shape.
pub(crate) fn from_json<T: DeserializeOwned>(text: &str) -> Option<T> {
    let js = js_sys::JSON::parse(text).ok()?;
    serde_wasm_bindgen::from_value(js).ok()
}
