//! The widget's files: pre-compressed, content-hashed, public.
//!
//! Hashed files never change, so they are cached for a year; the loader
//! `widget.js` names the current hashes and is cached briefly so that a new
//! release reaches visitors within minutes. These files are public: any page
//! may load them (`Access-Control-Allow-Origin: *`), which is what a script
//! tag on another site needs.
//!
//! The files come from a directory (tower-http's `ServeDir`) or from memory
//! (the widget built into the binary, [`WidgetFiles::InMemory`]); both pick
//! the `.br` or `.gz` twin by `Accept-Encoding` and get the same headers from
//! [`headers`], which a test compares. Files in memory have no modification
//! time: they carry an `ETag` (and answer `If-None-Match` with 304) where
//! `ServeDir` sends `Last-Modified`, and they are sent whole (no ranges).

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path as UrlPath, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::services::{ServeDir, ServeFile};

use crate::widget_files::{InMemoryFile, InMemoryFiles, WidgetFiles};

/// The loader's cache lifetime: short, so releases propagate.
const LOADER_CACHE: &str = "public, max-age=300";
/// Hashed files: forever.
const HASHED_CACHE: &str = "public, max-age=31536000, immutable";

/// Routes serving the widget's files (nested under `/widget`).
pub(super) fn router<S: Clone + Send + Sync + 'static>(files: &WidgetFiles) -> Router<S> {
    let routes = match files {
        WidgetFiles::Directory(dir) => Router::new()
            .fallback_service(ServeDir::new(dir).precompressed_br().precompressed_gzip()),
        WidgetFiles::InMemory(files) => {
            let files = Arc::clone(files);
            Router::new().route(
                "/{name}",
                get(
                    move |UrlPath(name): UrlPath<String>, request_headers: HeaderMap| {
                        let response = from_memory(&files, &name, &request_headers);
                        async move { response }
                    },
                ),
            )
        }
    };
    routes.layer(axum::middleware::from_fn(headers))
}

/// The loader at the proxy's root, `PROXY/widget.js`: the short URL of the
/// embed snippet (it finds the other files under `/widget/`).
pub(super) fn loader<S: Clone + Send + Sync + 'static>(files: &WidgetFiles) -> Router<S> {
    let routes = match files {
        WidgetFiles::Directory(dir) => Router::new().route_service(
            "/widget.js",
            ServeFile::new(Path::new(dir).join("widget.js"))
                .precompressed_br()
                .precompressed_gzip(),
        ),
        WidgetFiles::InMemory(files) => {
            let files = Arc::clone(files);
            Router::new().route(
                "/widget.js",
                get(move |request_headers: HeaderMap| {
                    let response = from_memory(&files, "widget.js", &request_headers);
                    async move { response }
                }),
            )
        }
    };
    routes.layer(axum::middleware::from_fn(headers))
}

/// One file from memory: the brotli or gzip twin the browser prefers (by
/// `Accept-Encoding`'s q-values, brotli on a tie, as `ServeDir` chooses),
/// else the file itself. A name is only ever looked up, never joined to a
/// path, so no name reaches anything but the map.
fn from_memory(files: &InMemoryFiles, name: &str, request_headers: &HeaderMap) -> Response {
    // A twin is not a file of its own: `x.js.br` is reached as `x.js`.
    let Some(plain) = files.get(name).filter(|_| !is_twin(name)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let accepted = AcceptedEncodings::from_headers(request_headers);
    let mut twins: Vec<(f32, &'static str, &InMemoryFile)> =
        [("br", "br", accepted.br), ("gzip", "gz", accepted.gzip)]
            .into_iter()
            .filter(|(_, _, quality)| *quality > 0.0)
            .filter_map(|(encoding, extension, quality)| {
                files
                    .get(&format!("{name}.{extension}"))
                    .map(|file| (quality, encoding, file))
            })
            .collect();
    // Stable: brotli stays first among equals.
    twins.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (file, encoding) = twins.first().map_or((plain, None), |(_, encoding, file)| {
        (*file, Some(*encoding))
    });
    let etag = HeaderValue::from_str(&file.etag).expect("an ETag is quoted hex");
    let revalidated = request_headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == file.etag
        });
    let mut response = if revalidated {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        file.bytes.clone().into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, etag);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(name)),
    );
    if let Some(encoding) = encoding {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    response
}

fn is_twin(name: &str) -> bool {
    name.ends_with(".br") || name.ends_with(".gz")
}

/// The content types `ServeDir` gives the widget's files (mime_guess).
fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js" | "mjs") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        Some("json") => "application/json",
        Some("html") => "text/html",
        _ => "application/octet-stream",
    }
}

/// How much `Accept-Encoding` wants each twin's encoding: its q-value,
/// 0 when it is not named (nor `*`) or refused with `q=0`.
#[derive(Debug, Default, PartialEq)]
struct AcceptedEncodings {
    br: f32,
    gzip: f32,
}

impl AcceptedEncodings {
    fn from_headers(headers: &HeaderMap) -> Self {
        let mut named = Self::default();
        let mut any: Option<f32> = None;
        let (mut br_named, mut gzip_named) = (false, false);
        let values = headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|value| value.to_str().ok());
        for item in values.flat_map(|value| value.split(',')) {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let quality = parts
                .find_map(|param| param.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
                .filter(|q| q.is_finite())
                .unwrap_or(0.0)
                .clamp(0.0, 1.0);
            match coding.as_str() {
                "br" => (named.br, br_named) = (quality, true),
                "gzip" | "x-gzip" => (named.gzip, gzip_named) = (quality, true),
                "*" => any = Some(quality),
                _ => {}
            }
        }
        if let Some(quality) = any {
            if !br_named {
                named.br = quality;
            }
            if !gzip_named {
                named.gzip = quality;
            }
        }
        named
    }
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
    // A 304 renews the cached response's headers: it must say what the 200 said.
    let status = response.status();
    let cache = if !(status.is_success() || status == StatusCode::NOT_MODIFIED) {
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
