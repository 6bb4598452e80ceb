//! `POST /v1/sites/{site}/callbacks`: a visitor's request, validated
//! ([`ValidRequest`]), limited, stored, then answered with 202.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use protocol::{CallbackAccepted, CallbackRequest, paths};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::extract::ClientAddr;
use super::limits::{LimitHit, alert_after_insert, counting, judge};
use super::sites::SLOT_STEP;
use super::{ApiError, AppState};
use crate::call_state::visitor_status;
use crate::clock::unix_millis;
use crate::config::Site;
use crate::lead::{Lead, NewLead};
use crate::phone_policy::{CanonicalNumber, PhoneRefusal, hash_for_logs};
use crate::site::SiteRuntime;
use crate::store::Inserted;

/// The largest request body accepted.
pub(super) const MAX_BODY_BYTES: usize = 16 * 1024;
/// The longest text field (URLs, user agent).
const MAX_FIELD_CHARS: usize = 2048;
/// Site-provided context keys kept at most.
const MAX_EXTRA_KEYS: usize = 16;
/// The longest `Idempotency-Key`.
const MAX_IDEMPOTENCY_KEY: usize = 128;
/// The furthest ahead a visitor may schedule a call.
const MAX_SCHEDULE_AHEAD: Duration =
    Duration::from_secs(crate::config::SCHEDULING_HORIZON_DAYS * 86_400);

/// `POST /v1/sites/{site}/callbacks`: stores the lead, then answers 202.
pub(super) async fn create(
    State(state): State<AppState>,
    Path(site_id): Path<String>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let runtime = state
        .sites
        .get(&site_id)
        .ok_or(ApiError::NotFound("site"))?;
    let site = &runtime.site;
    let client_ip = state.limits.client_ip(client, &headers);
    // The address's burst first, before anything is read: invalid and
    // replayed requests count too.
    if let Err(error) = state.limits.check(&site.id, client_ip) {
        refused_by_limit(&state, site, client_ip, LimitHit::AddressBurst);
        return Err(error);
    }
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .unwrap_or_default();
    // The console's install preview is the one other page allowed to
    // order, and what it orders is marked as a test.
    let from_console = state.console.is_console_origin(origin);
    if !site.allows_origin(origin) && !from_console {
        return Err(ApiError::OriginNotAllowed);
    }
    let request: CallbackRequest =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if let Err((class, error)) = check_bot_signals(site, &headers, &request) {
        state.refused(site, class);
        tracing::info!(site = %site.id, class, "a request failed a bot check");
        state.limits.mark_suspect(client_ip, state.clock.now_ms());
        return Err(error);
    }
    // A site under attack (or asking always) takes orders with a proof of
    // work only: checked before anything costly (the number, the store).
    let now_ms = u64::try_from(state.clock.now_ms()).unwrap_or(0);
    if state.challenges.required(site, now_ms) {
        let proof = headers.get(PROOF_HEADER).and_then(|v| v.to_str().ok());
        if let Err(refusal) = state.challenges.check(site, proof, now_ms / 1000) {
            state.refused(site, refusal.class());
            let challenge = state.challenges.issue(site, now_ms / 1000);
            return Err(ApiError::ChallengeRequired(challenge));
        }
    }
    let typed_phone = request.phone.clone();
    let locale = visitor_locale(site, &headers);
    let ValidRequest { request, phone } =
        ValidRequest::new(request, site, locale).inspect_err(|error| {
            if let ApiError::PhoneRefused { reason, .. } = error {
                log_phone_refusal(&state, site, reason, &typed_phone);
                state.limits.mark_suspect(client_ip, state.clock.now_ms());
            }
        })?;
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
    // Only a new request is checked against the clock (a replay may come
    // after its time) and counted against the limits.
    let now = state.clock.now();
    if let Some(time) = request.time {
        check_requested_time(time, &runtime, now)?;
    }
    let now = unix_millis(now);

    let new = NewLead {
        id: random_token(),
        site: site.id.clone(),
        idempotency_key,
        body_hash: body_hash.clone(),
        phone: phone.digits(),
        ip: client_ip.map(|ip| ip.to_string()),
        request,
        now,
        test: from_console,
    };
    let suspect = |ip| state.limits.is_suspect(ip, now);
    let mut alert = None;
    let admitted = state
        .store
        .insert_within(new, counting(client_ip, &suspect, now), |recent| {
            judge(recent, &site.limits, client_ip, &suspect, now)?;
            alert = alert_after_insert(recent, &site.limits);
            Ok(())
        })
        .await?;
    if let (Some((ceiling, count, of)), Ok(Inserted::New(_))) = (alert, &admitted) {
        tracing::warn!(site = %site.id, ceiling, count, of,
            "ALERT: the site has used 80% of an order ceiling; past it, every visitor gets 429 (check for a flood)");
    }
    let lead = match admitted {
        Ok(Inserted::New(lead)) => {
            state.wake.notify_one();
            lead
        }
        Ok(Inserted::Existing(lead)) if lead.body_hash == body_hash => lead,
        Ok(Inserted::Existing(_)) => return Err(ApiError::IdempotencyConflict),
        Err((hit, retry_after)) => {
            refused_by_limit(&state, site, client_ip, hit);
            return Err(ApiError::RateLimited { retry_after });
        }
    };
    Ok(accepted(lead, site))
}

/// The 202 for a stored lead.
fn accepted(lead: Lead, site: &Site) -> Response {
    let accepted = CallbackAccepted {
        status: visitor_status(&lead, site.locale),
        id: lead.id,
    };
    (StatusCode::ACCEPTED, Json(accepted)).into_response()
}

/// A requested time must be ahead (a minute's grace for clock skew), not too
/// far, and within the site's opening hours.
fn check_requested_time(time: i64, site: &SiteRuntime, now: SystemTime) -> Result<(), ApiError> {
    let now = unix_millis(now) / 1000;
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
    if !site
        .schedule()?
        .accepts(at, time, SLOT_STEP, Duration::ZERO, days)
    {
        return Err(ApiError::invalid(
            "time",
            "the requested time is not one of the callback slots (outside opening hours)",
        ));
    }
    Ok(())
}

/// The salt of the phone hashes in this process's log lines: random, so a
/// hash cannot be reversed by trying every number, and only comparable
/// within one run.
static LOG_SALT: std::sync::LazyLock<[u8; 16]> = std::sync::LazyLock::new(|| {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    salt
});

/// The widget's header ([`paths::WIDGET_HEADER`]) as `HeaderName`s are
/// spelt: lower case.
pub(super) const WIDGET_HEADER: &str = "x-callback-widget";

#[cfg(test)]
#[test]
fn the_widget_header_is_the_contract_s() {
    assert_eq!(WIDGET_HEADER, paths::WIDGET_HEADER.to_ascii_lowercase());
    assert_eq!(PROOF_HEADER, paths::PROOF_HEADER.to_ascii_lowercase());
}

/// The proof-of-work header ([`paths::PROOF_HEADER`]), lower case.
pub(super) const PROOF_HEADER: &str = "x-callback-proof";

/// The bot checks ([`crate::config::BotChecks`]); a refusal's metrics class
/// and answer. A visitor using the widget never meets one in practice.
fn check_bot_signals(
    site: &Site,
    headers: &HeaderMap,
    signals: &CallbackRequest,
) -> Result<(), (&'static str, ApiError)> {
    let checks = &site.bot_checks;
    if checks.require_widget_header
        && (!headers.contains_key(WIDGET_HEADER) || signals.elapsed_ms.is_none())
    {
        return Err((
            "bot_no_widget_header",
            ApiError::Unreadable(
                "orders are taken from the callback widget only (X-Callback-Widget and elapsed_ms missing)"
                    .to_owned(),
            ),
        ));
    }
    if signals
        .website
        .as_ref()
        .is_some_and(|value| !value.is_empty())
    {
        return Err((
            "bot_honeypot",
            ApiError::invalid("website", "this field must be left empty"),
        ));
    }
    let min_ms = u64::try_from(checks.min_fill.as_millis()).unwrap_or(u64::MAX);
    if signals.elapsed_ms.is_some_and(|elapsed| elapsed < min_ms) {
        return Err((
            "bot_too_fast",
            ApiError::invalid(
                "elapsed_ms",
                "sent too soon after the form opened; please retry",
            ),
        ));
    }
    Ok(())
}

/// Counts a request refused by a limit, logs it (without the address), and
/// makes its address a suspect. A site's ceiling is no fault of the
/// address that met it, so that one does not make a suspect.
fn refused_by_limit(state: &AppState, site: &Site, client: Option<IpAddr>, hit: LimitHit) {
    state.refused(site, hit.class());
    match hit {
        LimitHit::SitePerHour | LimitHit::SitePerDay => {
            tracing::warn!(site = %site.id, limit = hit.class(), "the site's order ceiling is reached");
        }
        _ => {
            tracing::info!(site = %site.id, limit = hit.class(), "a request was refused by a limit");
            state.limits.mark_suspect(client, state.clock.now_ms());
        }
    }
}

/// Counts a refused number and logs it, never in clear: a salted hash when
/// the number was read, else nothing of it. A number refused for its country
/// is not read again (classifying a foreign number is the slow part).
fn log_phone_refusal(state: &AppState, site: &Site, reason: &'static str, typed: &str) {
    state.refused(site, &format!("phone_{reason}"));
    let number = match reason {
        "kind_not_allowed" | "blocked" => {
            crate::phone_policy::parse(typed, site.phone.site_country()).ok()
        }
        _ => None,
    };
    let phone_hash = number.map(|number| hash_for_logs(&number, LOG_SALT.as_slice()));
    tracing::info!(site = %site.id, reason, phone_hash = phone_hash.as_deref().unwrap_or("-"),
        "a phone number was refused by the site's phone policy");
}

/// The visitor's language for messages: the widget's (its `Accept-Language`,
/// sent with its header), else the site's fixed widget language, else the
/// browser's first choice (`Accept-Language`), else the site's.
fn visitor_locale<'a>(site: &'a Site, headers: &'a HeaderMap) -> &'a str {
    // The widget sends the language it shows (the page may have changed
    // the site's with `setLocale`), and the visitor reads our message there.
    let from_widget = headers.contains_key(WIDGET_HEADER);
    if let Some(locale) = site.widget_locale.as_ref().filter(|_| !from_widget) {
        return locale.as_str();
    }
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.trim_start())
        .filter(|value| !value.is_empty() && !value.starts_with('*'))
        .unwrap_or(site.locale.as_str())
}

/// A callback request every field of which was checked: the request trimmed
/// to what we keep (its phone as E.164 digits), and the phone number itself.
#[derive(Debug)]
pub(super) struct ValidRequest {
    pub(super) request: CallbackRequest,
    pub(super) phone: CanonicalNumber,
}

impl ValidRequest {
    /// Checks every field of `request` against the rules and `site`; the
    /// first field at fault is the error, in `locale` when the visitor reads it.
    pub(super) fn new(
        mut request: CallbackRequest,
        site: &Site,
        locale: &str,
    ) -> Result<Self, ApiError> {
        let phone = site
            .phone
            .accept(&request.phone)
            .map_err(|refusal: PhoneRefusal| ApiError::PhoneRefused {
                reason: refusal.code(),
                message: refusal.message(locale),
            })?;
        request.phone = phone.digits();
        if let Some(office) = request.office
            && office as usize >= site.offices.len().max(1)
        {
            return Err(ApiError::invalid("office", "no such office"));
        }
        // Consent as the site asks for it, and only to its current text.
        match (&site.consent, &request.consent) {
            (Some(asked), Some(given)) if !given.accepted || given.version != asked.version => {
                return Err(ApiError::invalid(
                    "consent",
                    format!(
                        "consent must be accepted for the current text (version {:?}); reload the page",
                        asked.version
                    ),
                ));
            }
            (Some(asked), None) if asked.required => {
                return Err(ApiError::invalid(
                    "consent",
                    "this site takes a callback request only with the visitor's consent",
                ));
            }
            // Nothing was asked: nothing is recorded.
            (None, Some(_)) => request.consent = None,
            _ => {}
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
        Ok(Self { request, phone })
    }
}

/// 128 random bits, hex: unguessable, so a token is its own authorisation.
fn random_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}
