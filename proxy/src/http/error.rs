//! The HTTP layer's one error type.
//!
//! Each variant documents the status it maps to. `IntoResponse` sends only the
//! public [`protocol::ErrorBody`]; internal detail (a database error, say) is
//! put in the response's extensions and logged by [`log_errors`], never sent.
//! Axum's own rejections (body too large, unreadable path…) are put in the
//! same shape by [`rejections_in_our_shape`].

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, extract::Request, middleware::Next};
use protocol::{ApiError as WireError, ErrorBody, ErrorCode};

use crate::hours::HoursError;
use crate::store::StoreError;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body is not JSON of the expected shape.
    #[error("the body is not valid JSON for this endpoint: {0}")]
    BadRequest(String),
    /// 422: a field is invalid.
    #[error("{message}")]
    Invalid {
        /// The field at fault (`phone`, `context.current_page`, …).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// 422 on the field `phone`: the site does not call this number back
    /// (issue 11). The message is for the visitor, in their language; the
    /// refusal's code is sent in the `Refusal-Reason` header.
    #[error("{message}")]
    PhoneRefused {
        /// [`crate::phone_policy::PhoneRefusal::code`].
        reason: &'static str,
        /// [`crate::phone_policy::PhoneRefusal::message`].
        message: String,
    },
    /// 428: the site asks for a proof of work first (missing, or not
    /// accepted); the body carries a fresh challenge.
    #[error(
        "this site asks for a proof of work before an order; solve the challenge and send again"
    )]
    ChallengeRequired(protocol::challenge::Challenge),
    /// 404: unknown site or callback.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 403: the page's origin is not one of the site's.
    #[error("this page's origin may not use this site's widget")]
    OriginNotAllowed,
    /// 409: the idempotency key was used with another body.
    #[error("this Idempotency-Key was already used with another request body")]
    IdempotencyConflict,
    /// 503: the lead could not be stored; the widget keeps it and retries.
    #[error("the request could not be stored right now; please retry")]
    Unavailable(#[source] StoreError),
    /// 503: the site's opening hours cannot be used (a time zone the
    /// database does not know); answered as [`ApiError::Unavailable`].
    #[error("the request could not be stored right now; please retry")]
    NoSchedule(#[source] HoursError),
    /// 400: the request could not be read before any handler ran (axum's
    /// rejection: a bad path, a missing header…); the text says what.
    #[error("{0}")]
    Unreadable(String),
    /// 413: the body is larger than the endpoint takes.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// 429: too many requests (from this address, for this number or this
    /// site); `Retry-After` says when to try again, in whole seconds.
    #[error("too many requests; retry in {} s", retry_after_secs(*.retry_after))]
    RateLimited {
        /// How long until a request would be taken.
        retry_after: Duration,
    },
}

/// The header naming why a request was refused (`kind_not_allowed`…), for
/// the widget and for whoever reads the network tab.
pub(super) const REFUSAL_REASON: &str = "refusal-reason";

/// A wait as `Retry-After` seconds: rounded up, at least 1.
fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs()
        .saturating_add(u64::from(wait.subsec_nanos() > 0))
        .max(1)
}

/// Internal detail of an error response, for the log only.
#[derive(Debug, Clone)]
struct LoggedDetail(String);

impl ApiError {
    /// A 422 for `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    fn code(&self) -> ErrorCode {
        match self {
            Self::BadRequest(_) => ErrorCode::BadRequest,
            Self::Invalid { .. } | Self::PhoneRefused { .. } => ErrorCode::InvalidInput,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::OriginNotAllowed => ErrorCode::OriginNotAllowed,
            Self::IdempotencyConflict => ErrorCode::IdempotencyConflict,
            Self::Unavailable(_) | Self::NoSchedule(_) => ErrorCode::Unavailable,
            Self::Unreadable(_) => ErrorCode::BadRequest,
            Self::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::ChallengeRequired(_) => ErrorCode::ChallengeRequired,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        Self::Unavailable(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.code();
        let status =
            StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let field = match &self {
            Self::Invalid { field, .. } => Some(field.clone()),
            Self::PhoneRefused { .. } => Some("phone".to_owned()),
            _ => None,
        };
        let challenge = match &self {
            Self::ChallengeRequired(challenge) => Some(challenge.clone()),
            _ => None,
        };
        let body = ErrorBody {
            error: WireError {
                code,
                message: self.to_string(),
                field,
            },
            challenge,
        };
        let mut response = (status, Json(body)).into_response();
        let detail = match &self {
            Self::Unavailable(source) => Some(source.to_string()),
            Self::NoSchedule(source) => Some(format!("opening hours: {source}")),
            _ => None,
        };
        if let Some(detail) = detail {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            response.extensions_mut().insert(LoggedDetail(detail));
        }
        if let Self::PhoneRefused { reason, .. } = &self {
            response
                .headers_mut()
                .insert(REFUSAL_REASON, HeaderValue::from_static(reason));
        }
        if let Self::RateLimited { retry_after } = &self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs(*retry_after)),
            );
        }
        response
    }
}

/// Puts axum's own rejections in the one error shape: they are plain text,
/// ours are JSON. 413 stays 413 (`payload_too_large`), 404 is `not_found`,
/// 405 keeps its status and `Allow` header; any other is a 400 `bad_request`
/// carrying axum's sentence, which names what could not be read.
pub(super) async fn rejections_in_our_shape(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !status.is_client_error() || is_json {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    // Rejection texts are one short sentence; anything longer is cut.
    let text = axum::body::to_bytes(response.into_body(), 1024)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let text = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("bad request")
            .to_owned()
    } else {
        text
    };
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::NOT_FOUND => ApiError::NotFound("route"),
        _ => ApiError::Unreadable(text),
    };
    let mut ours = error.into_response();
    if status == StatusCode::METHOD_NOT_ALLOWED {
        *ours.status_mut() = status;
        if let Some(allow) = allow {
            ours.headers_mut().insert(header::ALLOW, allow);
        }
    }
    ours
}

/// Logs the internal detail of error responses.
pub(super) async fn log_errors(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    if let Some(LoggedDetail(detail)) = response.extensions().get::<LoggedDetail>() {
        tracing::error!(%path, status = %response.status(), %detail, "request failed");
    }
    response
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::{Body, Bytes};
    use axum::extract::DefaultBodyLimit;
    use axum::routing::post;
    use tower::ServiceExt as _;

    use super::*;

    /// A route with the API's layers: a small body limit and a JSON extractor.
    fn app() -> Router {
        Router::new()
            .route("/bytes", post(|_: Bytes| async { "ok" }))
            .route("/json", post(|_: Json<serde_json::Value>| async { "ok" }))
            .route(
                "/ours",
                post(|| async { Err::<(), _>(ApiError::invalid("phone", "too short")) }),
            )
            .layer(DefaultBodyLimit::max(16))
            .layer(axum::middleware::from_fn(rejections_in_our_shape))
    }

    async fn send(path: &str, content_type: Option<&str>, body: &str) -> (u16, ErrorBody) {
        let mut request = Request::post(path);
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let request = request
            .body(Body::from(body.to_owned()))
            .expect("a request");
        let response = app().oneshot(request).await.expect("infallible");
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("a body");
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("not our shape ({e}): {}", String::from_utf8_lossy(&bytes)));
        (status, body)
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_413_payload_too_large() {
        let (status, body) = send("/bytes", None, &"x".repeat(17)).await;
        assert_eq!(status, 413);
        assert_eq!(body.error.code, ErrorCode::PayloadTooLarge);
    }

    #[tokio::test]
    async fn axums_other_rejections_are_400_bad_request_with_its_reason() {
        let (status, body) = send("/json", None, "{}").await;
        assert_eq!(status, 400, "a missing content type");
        assert_eq!(body.error.code, ErrorCode::BadRequest);
        assert!(
            body.error.message.contains("Content-Type"),
            "{}",
            body.error.message
        );

        let (status, body) = send("/json", Some("application/json"), "{nope").await;
        assert_eq!(status, 400, "malformed JSON");
        assert_eq!(body.error.code, ErrorCode::BadRequest);
    }

    #[tokio::test]
    async fn our_own_errors_pass_unchanged() {
        let (status, body) = send("/ours", None, "").await;
        assert_eq!(status, 422);
        assert_eq!(body.error.field.as_deref(), Some("phone"));
    }

    #[tokio::test]
    async fn a_wrong_method_keeps_405_and_allow() {
        let request = Request::get("/bytes")
            .body(Body::empty())
            .expect("a request");
        let response = app().oneshot(request).await.expect("infallible");
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()[header::ALLOW], "POST");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(60)), 60);
    }
}
