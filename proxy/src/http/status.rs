//! A callback's status for the visitor who asked for it:
//! `GET /v1/callbacks/{id}` (the status now) and `GET /v1/callbacks/{id}/events`
//! (the status as Server-Sent Events, until it is final).
//!
//! The id is the status token (128 random bits), its own authorisation; it
//! stops answering `status_ttl` after the call is final.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};

use super::extract::ClientAddr;
use super::{ApiError, AppState};
use crate::call_state::visitor_status;
use crate::clock::millis;
use crate::lead::Lead;
use protocol::Locale;

/// When a refused stream may try again (the widget polls meanwhile).
const STREAM_RETRY: Duration = Duration::from_secs(30);
/// A stream re-reads the store at least this often, even without a notification.
const STREAM_RECHECK: Duration = Duration::from_secs(5);

/// `GET /v1/callbacks/{id}`: the current status, from the lead cache when
/// it has the lead (the store is read on a miss).
pub(super) async fn status(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let lead = match state.lead_cache.get(&id) {
        Some(lead) => lead,
        None => {
            let epoch = state.lead_cache.epoch();
            let lead = state
                .store
                .get(&id)
                .await?
                .ok_or(ApiError::NotFound("callback"))?;
            let lead = std::sync::Arc::new(lead);
            state.lead_cache.put(lead.clone(), epoch);
            lead
        }
    };
    check_live(&state, &lead)?;
    let locale = state
        .sites
        .get(&lead.site)
        .map_or(Locale::Ru, |s| s.site.locale);
    let status = visitor_status(&lead, locale);
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(status)).into_response())
}

/// `GET /v1/callbacks/{id}/events`: the status as Server-Sent Events.
///
/// Each event's `id` is the lead's version, so a reconnecting browser sends
/// `Last-Event-ID` and gets nothing it has already seen. The stream ends after
/// a final status, or after `max_stream_seconds` (the browser's
/// `EventSource` then reconnects by itself, with `Last-Event-ID`), so a
/// lead scheduled weeks ahead does not hold a connection for weeks.
pub(super) async fn status_stream(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let lead = live_lead(&state, &id).await?;
    let ip = state.limits.client_ip(client, &headers);
    // Over the cap, the widget falls back to polling.
    let guard = state
        .streams
        .try_open(ip, &id)
        .ok_or(ApiError::RateLimited {
            retry_after: STREAM_RETRY,
        })?;
    let locale = state
        .sites
        .get(&lead.site)
        .map_or(Locale::Ru, |s| s.site.locale);
    let last_seen: i64 = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let receiver = state.changes.subscribe();
    let shutdown = state.shutdown.clone();
    let lifetime = state.stream_lifetime;
    let stream = futures_util::stream::unfold(
        (state, id, receiver, last_seen, false, guard),
        move |(state, id, mut receiver, mut last_seen, finished, guard)| {
            async move {
                if finished {
                    return None;
                }
                loop {
                    match state.store.get(&id).await {
                        Ok(Some(lead)) if lead.version > last_seen => {
                            last_seen = lead.version;
                            let status = visitor_status(&lead, locale);
                            let data = serde_json::to_string(&status).unwrap_or_default();
                            let event = Event::default()
                                .event("status")
                                .id(lead.version.to_string())
                                .data(data);
                            return Some((
                                Ok::<_, Infallible>(event),
                                (state, id, receiver, last_seen, status.is_final, guard),
                            ));
                        }
                        Ok(Some(lead)) if lead.state.is_final() => return None,
                        Ok(Some(_)) => {}
                        Ok(None) => return None,
                        // The store hiccuped: try again after the next notification or timer.
                        Err(error) => tracing::warn!(%error, "status stream cannot read the store"),
                    }
                    wait_for_change(&mut receiver, &id).await;
                }
            }
        },
    );
    // A resource bound, not a time of day: the monotonic clock.
    let end = async move {
        tokio::select! {
            () = shutdown.cancelled_owned() => {}
            () = tokio::time::sleep(lifetime) => {}
        }
    };
    let stream = futures_util::StreamExt::take_until(stream, end);
    // Reverse proxies that buffer (nginx) must pass events through at once.
    let sse = Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
    Ok((
        [
            (HeaderName::from_static("x-accel-buffering"), "no"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        sse,
    ))
}

/// A lead whose status token still works: it exists, and its call is not
/// final since longer than the configured time.
async fn live_lead(state: &AppState, id: &str) -> Result<Lead, ApiError> {
    let lead = state
        .store
        .get(id)
        .await?
        .ok_or(ApiError::NotFound("callback"))?;
    still_live(state, lead)
}

/// `lead`, unless its call is final since longer than the configured time.
fn still_live(state: &AppState, lead: Lead) -> Result<Lead, ApiError> {
    check_live(state, &lead)?;
    Ok(lead)
}

/// Whether `lead`'s status token still works: not when its call is final
/// since longer than the configured time.
fn check_live(state: &AppState, lead: &Lead) -> Result<(), ApiError> {
    let ttl = millis(state.status_ttl);
    let now = state.clock.now_ms();
    if lead.state.is_final() && now > lead.updated_at.saturating_add(ttl) {
        return Err(ApiError::NotFound("callback"));
    }
    Ok(())
}

/// Waits until lead `id` may have changed (or a while has passed).
async fn wait_for_change(receiver: &mut tokio::sync::broadcast::Receiver<String>, id: &str) {
    let wait = async {
        loop {
            match receiver.recv().await {
                Ok(changed) if changed == id => return,
                Ok(_) => {}
                // Missed some notifications: re-read to be safe.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    tokio::time::sleep(STREAM_RECHECK).await;
                    return;
                }
            }
        }
    };
    let _ = tokio::time::timeout(STREAM_RECHECK, wait).await;
}
