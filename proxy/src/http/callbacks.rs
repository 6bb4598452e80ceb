//! The v1 callback endpoints: site config, create, status and live status.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};

use protocol::{CallbackAccepted, CallbackRequest, PhoneNumber, SiteConfig, Slot, Slots, paths};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{ApiError, AppState};
use crate::config::Site;
use crate::hours::Schedule;
use crate::lead::{Lead, LeadState, NewLead};
use crate::pipeline::{millis_since_epoch, now_ms};
use crate::status::visitor_status;
use crate::store::{Inserted, Store};

/// The largest request body accepted.
pub(super) const MAX_BODY_BYTES: usize = 16 * 1024;
/// The longest text field (URLs, user agent).
const MAX_FIELD_CHARS: usize = 2048;
/// Site-provided context keys kept at most.
const MAX_EXTRA_KEYS: usize = 16;
/// The longest `Idempotency-Key`.
const MAX_IDEMPOTENCY_KEY: usize = 128;
/// When a refused stream may try again (the widget polls meanwhile).
const STREAM_RETRY: Duration = Duration::from_secs(30);
/// A stream re-reads the store at least this often, even without a notification.
const STREAM_RECHECK: Duration = Duration::from_secs(5);

/// `GET /v1/sites/{site}/config`: what the widget needs to render. The
/// widget's loader fetches it on every page view, in parallel with the wasm.
pub(super) async fn site_config(
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<SiteConfig>, ApiError> {
    let site = state.sites.get(&site).ok_or(ApiError::NotFound("site"))?;
    Ok(Json(SiteConfig {
        site: site.id.clone(),
        // Empty when the site leaves the language to the page.
        locale: site.widget_locale.clone().unwrap_or_default(),
        color: site.color.clone(),
        position: site.position.clone(),
        title: site.title.clone(),
        country_code: site.country_code.clone(),
        offices: site.offices.clone(),
        open_now: schedule(site)?.is_open(state.clock.now()),
        consent: site.consent.clone(),
        texts: site.texts.clone(),
    }))
}

/// Step between callback slots.
const SLOT_STEP: Duration = Duration::from_secs(30 * 60);
/// The earliest slot starts this long from now (time to get ready to answer).
const SLOT_LEAD: Duration = Duration::from_secs(15 * 60);
/// Slots offered at most.
const MAX_SLOTS: usize = 500;

/// `?days=` of the slots endpoint.
#[derive(Debug, serde::Deserialize)]
pub(super) struct SlotsQuery {
    days: Option<u32>,
}

/// `GET /v1/sites/{site}/slots`: whether the company is open now, and the coming slots.
pub(super) async fn slots(
    State(state): State<AppState>,
    Path(site): Path<String>,
    Query(query): Query<SlotsQuery>,
) -> Result<Json<Slots>, ApiError> {
    let site = state.sites.get(&site).ok_or(ApiError::NotFound("site"))?;
    let days = query.days.unwrap_or(3);
    if !(1..=14).contains(&days) {
        return Err(ApiError::invalid("days", "from 1 to 14"));
    }
    let schedule = schedule(site)?;
    let now = state.clock.now();
    let slots = schedule
        .slots(now, SLOT_STEP, SLOT_LEAD, days, MAX_SLOTS)
        .into_iter()
        .map(|slot| Slot {
            start: slot.start,
            end: slot.end,
        })
        .collect();
    Ok(Json(Slots {
        open_now: schedule.is_open(now),
        time_zone: schedule.time_zone_name(),
        slots,
    }))
}

/// The site's opening hours in its zone.
fn schedule(site: &Site) -> Result<Schedule, ApiError> {
    // Hours and zone were validated at start-up; a failure here is a bug worth a 503, not a panic.
    Schedule::new(site.opening_hours, site.utc.as_ref()).map_err(|e| {
        ApiError::Unavailable(crate::store::StoreError::Corrupt(format!(
            "opening hours: {e}"
        )))
    })
}

/// `POST /v1/sites/{site}/callbacks`: stores the lead, then answers 202.
pub(super) async fn create(
    State(state): State<AppState>,
    Path(site_id): Path<String>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let site = state
        .sites
        .get(&site_id)
        .ok_or(ApiError::NotFound("site"))?;
    let client_ip = state.limits.client_ip(client, &headers);
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .unwrap_or_default();
    if !site.allows_origin(origin) {
        return Err(ApiError::OriginNotAllowed);
    }
    let request: CallbackRequest =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let (request, phone) = validate(request, site)?;
    let idempotency_key = match headers.get(paths::IDEMPOTENCY_KEY).map(|v| v.to_str()) {
        None => random_token(),
        Some(Ok(key)) if !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY => key.to_owned(),
        Some(_) => {
            return Err(ApiError::invalid(
                paths::IDEMPOTENCY_KEY,
                "must be 1 to 128 visible ASCII characters",
            ));
        }
    };
    // Hash the validated request, so that formatting differences do not count as another body.
    let canonical =
        serde_json::to_vec(&request).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let body_hash = hex::encode(Sha256::digest(&canonical));

    // A retry of a stored request gets the first answer, whatever the limits say now.
    if let Some(lead) = state
        .store
        .by_idempotency_key(&site.id, &idempotency_key)
        .await?
    {
        if lead.body_hash != body_hash {
            return Err(ApiError::IdempotencyConflict);
        }
        return Ok(accepted(lead, site));
    }
    // Only a new request counts against the limits, and only a new one is
    // checked against the clock (a replay may come after its time).
    state.limits.check(&site.id, client_ip)?;
    if let Some(time) = request.time {
        check_requested_time(time, site, state.clock.now())?;
    }
    // Stored times and limits run on the real clock (the workers do too); the
    // injected clock only decides opening hours and slots.
    let now = now_ms();
    check_limits(&state.store, site, &phone, now).await?;

    let new = NewLead {
        id: random_token(),
        site: site.id.clone(),
        idempotency_key,
        body_hash: body_hash.clone(),
        phone: phone.as_str().to_owned(),
        ip: client_ip.map(|ip| ip.to_string()),
        request,
        now,
    };
    let lead = match state.store.insert(new).await? {
        Inserted::New(lead) => {
            state.wake.notify_one();
            lead
        }
        Inserted::Existing(lead) if lead.body_hash == body_hash => lead,
        Inserted::Existing(_) => return Err(ApiError::IdempotencyConflict),
    };
    Ok(accepted(lead, site))
}

/// The 202 for a stored lead.
fn accepted(lead: Lead, site: &Site) -> Response {
    let accepted = CallbackAccepted {
        status: visitor_status(&lead, &site.locale),
        id: lead.id,
    };
    (StatusCode::ACCEPTED, Json(accepted)).into_response()
}

/// The limits counted from the store, so they hold across restarts and
/// replicas: one order per number per cooldown (unless its last call failed),
/// a few per number per day, and a ceiling per site per hour and per day.
/// Counting and inserting are not one transaction: two replicas racing can
/// each let one more through, which is fine for a cost cap.
async fn check_limits(
    store: &Store,
    site: &Site,
    phone: &PhoneNumber,
    now: i64,
) -> Result<(), ApiError> {
    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 24 * HOUR;
    let limits = &site.limits;
    let limited = |until: i64| ApiError::RateLimited {
        retry_after: Duration::from_millis(u64::try_from(until - now).unwrap_or(0).max(1000)),
    };
    let history = store
        .number_history(&site.id, phone.as_str(), now - DAY)
        .await?;
    if let Some((last_at, last_state)) = history.first() {
        let cooldown_ends =
            last_at + i64::try_from(limits.number_cooldown.as_millis()).unwrap_or(i64::MAX);
        let may_retry = matches!(last_state, LeadState::Failed | LeadState::Halted);
        if now < cooldown_ends && !may_retry {
            return Err(limited(cooldown_ends));
        }
    }
    if history.len() >= limits.number_per_day as usize {
        let oldest = history.last().map_or(now, |(at, _)| *at);
        return Err(limited(oldest + DAY));
    }
    for (window, ceiling) in [(HOUR, limits.site_per_hour), (DAY, limits.site_per_day)] {
        let (count, oldest) = store.site_count_since(&site.id, now - window).await?;
        if count >= i64::from(ceiling) {
            tracing::warn!(site = %site.id, count, "the site's order ceiling is reached");
            return Err(limited(oldest.unwrap_or(now) + window));
        }
    }
    Ok(())
}

/// The furthest ahead a visitor may schedule a call.
const MAX_SCHEDULE_AHEAD: Duration = Duration::from_secs(60 * 86_400);

/// A requested time must be ahead (a minute's grace for clock skew), not too
/// far, and within the site's opening hours.
fn check_requested_time(time: i64, site: &Site, now: SystemTime) -> Result<(), ApiError> {
    let now = millis_since_epoch(now) / 1000;
    let ahead = i64::try_from(MAX_SCHEDULE_AHEAD.as_secs()).unwrap_or(i64::MAX);
    if time < now - 60 || time > now + ahead {
        return Err(ApiError::invalid(
            "time",
            "the requested time must be within the next 60 days",
        ));
    }
    // Inside one of the slots the site offers (without the lead time: the
    // visitor may pick the first slot a little while after it was offered).
    let days = u32::try_from(MAX_SCHEDULE_AHEAD.as_secs() / 86_400 + 1).unwrap_or(u32::MAX);
    let at = UNIX_EPOCH + Duration::from_secs(u64::try_from(now).unwrap_or(0));
    if !schedule(site)?.accepts(at, time, SLOT_STEP, Duration::ZERO, days) {
        return Err(ApiError::invalid(
            "time",
            "the requested time is not one of the callback slots (outside opening hours)",
        ));
    }
    Ok(())
}

/// Checks every field; returns the request trimmed to what we keep, and the phone.
fn validate(
    mut request: CallbackRequest,
    site: &Site,
) -> Result<(CallbackRequest, PhoneNumber), ApiError> {
    let phone = PhoneNumber::parse(&request.phone)
        .map_err(|e| ApiError::invalid("phone", e.to_string()))?;
    request.phone = phone.as_str().to_owned();
    if let Some(office) = request.office
        && office as usize >= site.offices.len().max(1)
    {
        return Err(ApiError::invalid("office", "no such office"));
    }
    if let Some(consent) = &request.consent
        && (!consent.accepted || consent.version.len() > 64)
    {
        return Err(ApiError::invalid(
            "consent",
            "consent must be accepted, with a version of at most 64 characters",
        ));
    }
    let context = &mut request.context;
    let fields: [(&str, &mut Option<String>); 13] = [
        ("name", &mut request.name),
        ("email", &mut request.email),
        ("context.referrer", &mut context.referrer),
        ("context.current_page", &mut context.current_page),
        ("context.entry_page", &mut context.entry_page),
        ("context.user_agent", &mut context.user_agent),
        ("context.utm.source", &mut context.utm.source),
        ("context.utm.medium", &mut context.utm.medium),
        ("context.utm.campaign", &mut context.utm.campaign),
        ("context.utm.content", &mut context.utm.content),
        ("context.utm.term", &mut context.utm.term),
        ("context.ga_client_id", &mut context.ga_client_id),
        ("context.roistat_visit", &mut context.roistat_visit),
    ];
    for (field, value) in fields {
        if value
            .as_ref()
            .is_some_and(|v| v.chars().count() > MAX_FIELD_CHARS)
        {
            return Err(ApiError::invalid(
                field,
                format!("longer than {MAX_FIELD_CHARS} characters"),
            ));
        }
        if value.as_ref().is_some_and(|v| v.trim().is_empty()) {
            *value = None;
        }
    }
    if context
        .calltouch_session
        .as_ref()
        .is_some_and(|v| v.len() > 256)
    {
        return Err(ApiError::invalid(
            "context.calltouch_session",
            "longer than 256 characters",
        ));
    }
    if context.extra.len() > MAX_EXTRA_KEYS
        || context
            .extra
            .iter()
            .any(|(k, v)| k.len() > 64 || v.len() > 256)
    {
        return Err(ApiError::invalid(
            "context.extra",
            "at most 16 keys of 64 characters with values of 256",
        ));
    }
    Ok((request, phone))
}

/// `GET /v1/callbacks/{id}`: the current status.
pub(super) async fn status(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let lead = live_lead(&state, &id).await?;
    let locale = state
        .sites
        .get(&lead.site)
        .map_or("ru", |s| s.locale.as_str());
    let status = visitor_status(&lead, locale);
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(status)).into_response())
}

/// `GET /v1/callbacks/{id}/events`: the status as Server-Sent Events.
///
/// Each event's `id` is the lead's version, so a reconnecting browser sends
/// `Last-Event-ID` and gets nothing it has already seen. The stream ends after
/// a final status.
pub(super) async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let lead = live_lead(&state, &id).await?;
    let ip = state.limits.client_ip(client, &headers);
    // Over the cap, the widget falls back to polling.
    let guard = state.streams.try_open(ip).ok_or(ApiError::RateLimited {
        retry_after: STREAM_RETRY,
    })?;
    let locale = state
        .sites
        .get(&lead.site)
        .map_or_else(|| "ru".to_owned(), |s| s.locale.clone());
    let last_seen: i64 = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let receiver = state.events.subscribe();
    let shutdown = state.shutdown.clone();
    let stream = futures_util::stream::unfold(
        (state, id, receiver, last_seen, false, guard),
        move |(state, id, mut receiver, mut last_seen, finished, guard)| {
            let locale = locale.clone();
            async move {
                if finished {
                    return None;
                }
                loop {
                    match state.store.get(&id).await {
                        Ok(Some(lead)) if lead.version > last_seen => {
                            last_seen = lead.version;
                            let status = visitor_status(&lead, &locale);
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
    let stream = futures_util::StreamExt::take_until(stream, shutdown.cancelled_owned());
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
    let ttl = i64::try_from(state.status_ttl.as_millis()).unwrap_or(i64::MAX);
    let now = now_ms();
    if lead.state.is_final() && now > lead.updated_at.saturating_add(ttl) {
        return Err(ApiError::NotFound("callback"));
    }
    Ok(lead)
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

/// 128 random bits, hex: unguessable, so a token is its own authorisation.
fn random_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The client's socket address, when the server was started with connect info
/// (tests that drive the router directly have none).
#[derive(Debug, Clone, Copy)]
pub(super) struct ClientAddr(Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| *addr),
        ))
    }
}
