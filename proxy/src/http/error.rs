//! The HTTP layer's one error type.
//!
//! Each variant documents the status it maps to. `IntoResponse` sends only the
//! public [`protocol::ErrorBody`]; internal detail (a database error, say) is
//! put in the response's extensions and logged by [`log_errors`], never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, extract::Request, middleware::Next};
use protocol::{ApiError as WireError, ErrorBody, ErrorCode};

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
            Self::Invalid { .. } => ErrorCode::InvalidInput,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::OriginNotAllowed => ErrorCode::OriginNotAllowed,
            Self::IdempotencyConflict => ErrorCode::IdempotencyConflict,
            Self::Unavailable(_) => ErrorCode::Unavailable,
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
            _ => None,
        };
        let body = ErrorBody {
            error: WireError {
                code,
                message: self.to_string(),
                field,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Self::Unavailable(source) = &self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            response
                .extensions_mut()
                .insert(LoggedDetail(source.to_string()));
        }
        response
    }
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
