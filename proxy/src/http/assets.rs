//! The widget's files: pre-compressed, content-hashed, public.
//!
//! Hashed files never change, so they are cached for a year; the loader
//! `widget.js` names the current hashes and is cached briefly so that a new
//! release reaches visitors within minutes. These files are public: any page
//! may load them (`Access-Control-Allow-Origin: *`), which is what a script
//! tag on another site needs.

use std::path::Path;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::services::{ServeDir, ServeFile};

/// The loader's cache lifetime: short, so releases propagate.
const LOADER_CACHE: &str = "public, max-age=300";
/// Hashed files: forever.
const HASHED_CACHE: &str = "public, max-age=31536000, immutable";

/// Routes serving `dir`.
pub(super) fn router<S: Clone + Send + Sync + 'static>(dir: &Path) -> Router<S> {
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    Router::new()
        .fallback_service(files)
        .layer(axum::middleware::from_fn(headers))
}

/// The loader at the proxy's root, `PROXY/widget.js`: the short URL of the
/// embed snippet (it finds the other files under `/widget/`).
pub(super) fn loader<S: Clone + Send + Sync + 'static>(dir: &Path) -> Router<S> {
    let file = ServeFile::new(dir.join("widget.js"))
        .precompressed_br()
        .precompressed_gzip();
    Router::new()
        .route_service("/widget.js", file)
        .layer(axum::middleware::from_fn(headers))
}

async fn headers(request: Request, next: Next) -> Response {
    let is_loader = request.uri().path().ends_with("/widget.js");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("cross-origin"),
    );
    // One URL answers brotli, gzip or plain by Accept-Encoding; caches must keep them apart.
    if !headers.contains_key(header::VARY) {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    let cache = if !response.status().is_success() {
        "no-store"
    } else if is_loader {
        LOADER_CACHE
    } else {
        HASHED_CACHE
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}
