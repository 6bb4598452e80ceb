//! For operators and their machines: `/healthz` (the process answers),
//! `/readyz` (it can do its job) and `/metrics` (Prometheus).
//!
//! All three are served on the admin listener (`admin_listen`, loopback by
//! default, [`admin_router`]); the public listener keeps only the cheap
//! `/healthz` ([`public_router`]), because `/readyz` and `/metrics` tell
//! balances and volumes to whoever asks.
//!
//! `/readyz` makes no write and no call: it reads the store heartbeat's last
//! outcome (`heartbeat.rs`) and what the pipeline and the balance monitor
//! last heard from CallKeeper (`monitor.rs`), so a monitor polling it every
//! second costs neither the store nor CallKeeper anything.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use super::AppState;
use crate::heartbeat::StoreHealth;
use crate::metrics::{BalanceHealth, Snapshot, UpstreamHealth};

/// Prometheus' text format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The public listener's: `/healthz` only.
pub(super) fn public_router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

/// The admin listener's: `/healthz`, `/readyz` and `/metrics`.
pub(super) fn admin_router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// `GET /healthz`: the process is alive and serving HTTP. Checks nothing
/// else, so a supervisor restarts the proxy only when restarting can help.
async fn healthz() -> &'static str {
    "ok"
}

/// `/readyz`'s answer.
#[derive(Debug, Serialize)]
struct Readiness {
    /// The store takes writes and every site's CallKeeper answers.
    ready: bool,
    store: StoreHealth,
    upstream: BTreeMap<String, UpstreamHealth>,
    /// Low balance warns here but does not make the proxy unready: leads are
    /// still taken, and CallKeeper refuses the calls when it runs out.
    balance: BTreeMap<String, BalanceHealth>,
}

/// `GET /readyz`: 200 when the store's last heartbeat write succeeded and
/// each site's CallKeeper answered recently, else 503; the details as JSON
/// either way.
async fn readyz(State(state): State<AppState>) -> Response {
    let store = state.heartbeat.health();
    let upstream = state.metrics.upstream_health();
    let ready = store.writable && upstream.values().all(|site| site.ok);
    let readiness = Readiness {
        ready,
        store,
        upstream,
        balance: state.metrics.balance_health(),
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(readiness),
    )
        .into_response()
}

/// `GET /metrics`: Prometheus' text format; the store's counts are read now.
async fn metrics(State(state): State<AppState>) -> Response {
    let leads = match state.store.count_unfinished().await {
        Ok(leads) => Some(leads),
        Err(error) => {
            tracing::error!(%error, "metrics: cannot count the leads");
            None
        }
    };
    let snapshot = Snapshot {
        leads,
        open_streams: state.streams.open(),
    };
    (
        [
            (header::CONTENT_TYPE, PROMETHEUS_TEXT),
            (header::CACHE_CONTROL, "no-store"),
        ],
        state.metrics.render(&snapshot),
    )
        .into_response()
}

/// Counts every answered request by its route pattern and status class.
/// The widget's files count as one route; requests no route matched count
/// as `unmatched`, so a scanner's paths never become labels.
pub(super) async fn count_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    // The matched route is shared (no copy per request).
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = match &matched {
        _ if request.uri().path().starts_with("/widget/") => "/widget/{file}",
        Some(path) => path.as_str(),
        None => "unmatched",
    };
    let response = next.run(request).await;
    state.metrics.request(route, response.status().as_u16());
    response
}
