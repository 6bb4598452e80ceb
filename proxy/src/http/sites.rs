//! What a site's widget reads before the visitor does anything: the site's
//! config (`GET /v1/sites/{site}/config`) and its callback slots
//! (`GET /v1/sites/{site}/slots`).

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use protocol::{SiteConfig, Slot, Slots};

use super::{ApiError, AppState};

/// Step between callback slots.
pub(super) const SLOT_STEP: Duration = Duration::from_secs(30 * 60);
/// The earliest slot starts this long from now (time to get ready to answer).
const SLOT_LEAD: Duration = Duration::from_secs(15 * 60);
/// Slots offered at most.
const MAX_SLOTS: usize = 500;

/// `GET /v1/sites/{site}/config`: what the widget needs to render. The
/// widget's loader fetches it on every page view, in parallel with the wasm.
pub(super) async fn site_config(
    State(state): State<AppState>,
    Path(site): Path<String>,
) -> Result<Json<SiteConfig>, ApiError> {
    let runtime = state.sites.get(&site).ok_or(ApiError::NotFound("site"))?;
    let site = &runtime.site;
    Ok(Json(SiteConfig {
        site: site.id.clone(),
        // Empty when the site leaves the language to the page.
        locale: site
            .widget_locale
            .map(|locale| locale.as_str().to_owned())
            .unwrap_or_default(),
        color: site.color.as_str().to_owned(),
        position: site.position.as_str().to_owned(),
        title: site.title.clone(),
        country_code: site.country_code.clone(),
        offices: site.offices.clone(),
        open_now: runtime.schedule()?.is_open(state.clock.now()),
        min_fill_ms: u64::try_from(site.bot_checks.min_fill.as_millis()).unwrap_or(u64::MAX),
        consent: site.consent.clone(),
        texts: site.texts.clone(),
        invite: site.invite.clone(),
    }))
}

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
    let runtime = state.sites.get(&site).ok_or(ApiError::NotFound("site"))?;
    let days = query.days.unwrap_or(3);
    if !(1..=14).contains(&days) {
        return Err(ApiError::invalid("days", "from 1 to 14"));
    }
    let schedule = runtime.schedule()?;
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
