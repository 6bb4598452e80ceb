//! The widget's HTTP API (v1) and the widget's assets.
//!
//! [`app`] builds the whole router from an [`AppState`], so tests drive it
//! with `oneshot` or on a real port. CORS admits only the configured sites'
//! origins for the API; the widget's static files are public.
//!
//! - `sites.rs`: a site's config and callback slots.
//! - `callbacks.rs`: a new callback request (validated, limited, stored).
//! - `status.rs`: a callback's status, now and as Server-Sent Events.
//! - `limits.rs`: who the client is, and the limits per address and from the store.
//! - `streams.rs`: the caps on open status streams.
//! - `health.rs`, `openapi.rs`, `assets.rs`: for operators ([`admin_app`]), for integrators, the widget's files.
//! - `error.rs`: the one error shape; `extract.rs`: the client's socket address.
//! - `properties.rs` (tests): property tests of everything above that reads
//!   outside input.

mod assets;
mod callbacks;
mod error;
mod extract;
mod health;
mod limits;
mod openapi;
#[cfg(test)]
mod properties;
mod sites;
mod status;
mod streams;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::routing::{get, post};
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use error::ApiError;
pub use limits::IpLimits;
pub use streams::{MAX_STREAMS_PER_TOKEN, StreamGuard, Streams};

use crate::changes::LeadChanges;
use crate::clock::Clock;
use crate::site::Sites;
use crate::store::Store;

/// What the handlers share, behind one pointer: every request clones the
/// state into its middleware and handler, and a clone of [`Shared`]'s
/// fields (a dozen reference counts and a cancellation token, whose clone
/// takes a lock) was about 7 % of a status GET's time in a profile.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// The state of one proxy.
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
#[derive(Debug)]
pub struct Shared {
    /// The lead store.
    pub store: Store,
    /// The sites, by id, each with its client and opening hours.
    pub sites: Sites,
    /// Which lead changed (for live status).
    pub changes: LeadChanges,
    /// Wakes the forwarder when a lead is stored.
    pub wake: Arc<tokio::sync::Notify>,
    /// The built widget: a `dist/` directory or the copy in the binary.
    pub assets: crate::widget_files::WidgetFiles,
    /// Per-address burst limits, and how to find the client's address.
    pub limits: Arc<IpLimits>,
    /// Counters and gauges for `/metrics`, and what `/readyz` knows of CallKeeper.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Open status streams, capped.
    pub streams: Arc<Streams>,
    /// How long one status stream stays open at most (`max_stream_seconds`).
    pub stream_lifetime: std::time::Duration,
    /// How long a status token works after its call is final.
    pub status_ttl: std::time::Duration,
    /// "Now", for everything: opening hours, slots, stored times, limits and expiry.
    pub clock: Arc<dyn Clock>,
    /// Cancelled when the proxy shuts down: live streams end.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// The store heartbeat's last outcome, for `/readyz`.
    pub heartbeat: Arc<crate::heartbeat::StoreHeartbeat>,
    /// The proof-of-work challenges: which sites ask for one, spent tokens.
    pub challenges: Arc<crate::challenge::Challenges>,
    /// Leads the status GET read, kept fresh by the change notifications.
    pub lead_cache: Arc<crate::lead_cache::LeadCache>,
    /// The owners' console: its sessions, and its origins (the install
    /// preview orders from them).
    pub console: Arc<crate::console::Console>,
}

impl AppState {
    /// Counts a refused request of `site` (a `/metrics` class), and lets it
    /// weigh towards switching the site's challenge on.
    pub(crate) fn refused(&self, site: &crate::config::Site, class: &str) {
        self.metrics.refused(&site.id, class);
        if !class.starts_with("challenge_") {
            let now = u64::try_from(self.clock.now_ms()).unwrap_or(0);
            self.challenges.note_refusal(site, now);
        }
    }
}

impl crate::site::SiteRuntime {
    /// The site's opening hours, or the 503 a site whose time zone cannot
    /// be used answers with.
    fn schedule(&self) -> Result<&crate::hours::Schedule, ApiError> {
        self.schedule
            .as_ref()
            .map_err(|error| ApiError::NoSchedule(error.clone()))
    }
}

/// The admin listener's router (`admin_listen`): `/healthz`, `/readyz`
/// and `/metrics`, for operators and their monitors only, and the owners'
/// console under `/console/` unless `console.enabled = false`.
pub fn admin_app(state: AppState) -> Router {
    let mut router = health::admin_router();
    if state.console.settings.enabled {
        router = router.merge(crate::console::router(state.clone()));
    }
    router
        .layer(axum::middleware::from_fn(error::log_errors))
        .with_state(state)
}

/// The proxy's public router: the widget's API and files, and `/healthz`.
pub fn app(state: AppState) -> Router {
    // The sites as configured now: a reload changes the allowed origins too.
    // The console's own origins too: its install preview runs the widget.
    let sites = state.sites.clone();
    let console = state.console.clone();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            origin.to_str().is_ok_and(|o| {
                console.is_console_origin(o)
                    || sites
                        .current()
                        .values()
                        .any(|s| s.site.allowed_origins.iter().any(|allowed| allowed == o))
            })
        }))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static("last-event-id"),
            HeaderName::from_static(callbacks::WIDGET_HEADER),
            HeaderName::from_static(callbacks::PROOF_HEADER),
        ])
        .expose_headers([
            header::RETRY_AFTER,
            HeaderName::from_static(error::REFUSAL_REASON),
        ])
        .max_age(std::time::Duration::from_secs(3600));

    let api = Router::new()
        .route("/v1/sites/{site}/config", get(sites::site_config))
        .route("/v1/sites/{site}/slots", get(sites::slots))
        .route("/v1/sites/{site}/callbacks", post(callbacks::create))
        .route("/v1/callbacks/{id}", get(status::status))
        .route("/v1/callbacks/{id}/events", get(status::status_stream))
        .route("/v1/openapi.json", get(openapi::document))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::limit_reads,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            callbacks::MAX_BODY_BYTES,
        ))
        .layer(axum::middleware::from_fn(error::rejections_in_our_shape))
        .layer(cors);

    Router::new()
        .merge(api)
        .nest("/widget", assets::router(&state.assets))
        .merge(assets::loader(&state.assets))
        .merge(health::public_router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            health::count_requests,
        ))
        .layer(axum::middleware::from_fn(error::log_errors))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
