//! The site owners' console, on the admin listener under `/console/`:
//! today at a glance and the last 14 days per site, the leads (filtered,
//! paged, numbers masked until revealed), each lead's timeline and capture,
//! resending halted leads, the CSV export, the install snippet with a live
//! preview, and the config check's warnings.
//!
//! Server-rendered HTML ([`views`], maud), one stylesheet and a few lines of
//! script, both inside the binary. It reads through the store's API (both
//! engines) and writes nothing the CLI could not: a resend is
//! [`crate::operator::resend`], the export [`crate::operator::export_csv`].
//! Every action (login, reveal, resend, export) is logged with who did it
//! (target `console`). A site that is not the owner's answers 404, as one
//! that does not exist.
//!
//! - `auth.rs`: sessions, logins, the CSRF gate;
//! - `views.rs`: the pages; `charts.rs`: inline SVG; `stats.rs`: the counts;
//! - `i18n.rs`: English and Russian.

pub mod auth;
mod charts;
pub mod i18n;
mod stats;
mod views;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Extension;
use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

pub use auth::{Owner, hash_password};

use crate::config::{Config, ConsoleSettings};
use crate::http::AppState;
use crate::lead::{Lead, LeadState};
use crate::store::LeadFilter;
use i18n::Lang;
use stats::{CHART_DAYS, Counts, DAY_MS, day_start};
use views::{Frame, Glance, LeadsQuery, Nav};

/// The stylesheet and the script, in the binary (the one-file build too).
const STYLESHEET: &str = include_str!("console.css");
const SCRIPT: &str = include_str!("console.js");
/// Leads per page of the table.
const PAGE_SIZE: i64 = 50;

/// What the console keeps between requests.
#[derive(Debug)]
pub struct Console {
    /// `[console]`.
    pub settings: ConsoleSettings,
    /// Whether owners log in (see [`ConsoleSettings::login_required`]).
    pub login_required: bool,
    /// Open sessions.
    pub sessions: auth::Sessions,
    /// Failed logins, for the rate limit.
    pub logins: auth::LoginAttempts,
    /// The origins of the console's own pages: the install preview orders
    /// from them, and what it orders is marked as a test.
    origins: Vec<String>,
    /// Where visitors' browsers reach the proxy (the install snippet).
    public_url: url::Url,
    /// Whether `public_url` was configured (else the listen address stands in).
    public_url_configured: bool,
    /// The config check's warnings, by site.
    warnings: Vec<String>,
    /// A resent lead is retried this long (as `proxy leads resend`).
    upstream_deadline: Duration,
}

impl Console {
    /// The console for `config`, its admin listener bound at `admin`.
    pub fn new(config: &Config, admin: SocketAddr) -> Self {
        let mut origins = vec![format!("http://{admin}")];
        if admin.ip().is_loopback() {
            origins.push(format!("http://localhost:{}", admin.port()));
        }
        if let Some(url) = &config.console.url {
            origins.push(url.origin().ascii_serialization());
        }
        let fallback = url::Url::parse(&format!("http://{}/", config.listen))
            .expect("a socket address makes a URL");
        Self {
            login_required: config.console.login_required(admin),
            settings: config.console.clone(),
            sessions: auth::Sessions::default(),
            logins: auth::LoginAttempts::default(),
            origins,
            public_url_configured: config.public_url.is_some(),
            public_url: config.public_url.clone().unwrap_or(fallback),
            warnings: config.warnings(),
            upstream_deadline: config.upstream_deadline,
        }
    }

    /// Whether `origin` is one of the console's own pages' (the preview).
    pub fn is_console_origin(&self, origin: &str) -> bool {
        self.settings.enabled && self.origins.iter().any(|o| o == origin)
    }

    /// The origins the public API admits for the preview.
    pub fn origins(&self) -> &[String] {
        if self.settings.enabled {
            &self.origins
        } else {
            &[]
        }
    }
}

/// The console's routes (under `/console/`), for the admin router.
pub fn router(state: AppState) -> Router<AppState> {
    let gated = Router::new()
        .route("/console/", get(overview))
        .route("/console/sites/{site}", get(site_page))
        .route("/console/sites/{site}/install", get(install))
        .route("/console/sites/{site}/preview", get(preview))
        .route("/console/leads", get(leads))
        .route("/console/leads/{id}", get(lead))
        .route("/console/leads/{id}/reveal", post(reveal))
        .route(
            "/console/leads/{id}/resend",
            get(resend_confirm).post(resend),
        )
        .route("/console/export.csv", get(export))
        .route("/console/logout", post(auth::log_out))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            auth::require_owner,
        ));
    Router::new()
        .merge(gated)
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/login", get(auth::login_page).post(auth::log_in))
        .route("/console/lang", get(switch_language))
        .route("/console/console.css", get(stylesheet))
        .route("/console/console.js", get(script))
}

async fn stylesheet() -> Response {
    static_file("text/css; charset=utf-8", STYLESHEET)
}

async fn script() -> Response {
    static_file("text/javascript; charset=utf-8", SCRIPT)
}

fn static_file(kind: &'static str, text: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        text,
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct SwitchQuery {
    to: String,
    #[serde(default)]
    back: String,
}

/// `GET /console/lang?to=ru&back=/console/…`: remembers the language and
/// goes back (only to a console page: never an open redirect).
async fn switch_language(Query(query): Query<SwitchQuery>) -> Response {
    let Some(lang) = Lang::from_code(&query.to) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let back = if query.back.starts_with("/console/")
        && !query.back.contains("//")
        && !query.back.contains('\\')
    {
        query.back.as_str()
    } else {
        "/console/"
    };
    let mut response = Redirect::to(back).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        auth::set_cookie(i18n::LANG_COOKIE, lang.code(), 365 * 24 * 3600),
    );
    response
}

/// The owner's sites, in id order (every configured site for the local owner).
fn sites_of(state: &AppState, owner: &Owner) -> Vec<String> {
    let mut ids: Vec<String> = state
        .sites
        .current()
        .keys()
        .filter(|id| owner.sees(id))
        .cloned()
        .collect();
    ids.sort();
    ids
}

fn frame<'a>(lang: Lang, owner: &'a Owner, title: String, nav: Nav, here: String) -> Frame<'a> {
    Frame {
        lang,
        owner,
        title,
        nav,
        here,
    }
}

/// A site's glance: today, its limits, CallKeeper, its last 14 days.
async fn glance(state: &AppState, site: &str) -> Result<Glance, crate::store::StoreError> {
    let now = state.clock.now_ms();
    let runtime = state.sites.get(site);
    let (name, hour_limit, day_limit) = runtime.as_ref().map_or_else(
        || (site.to_owned(), 0, 0),
        |r| {
            (
                r.site.display_name.clone(),
                r.site.limits.site_per_hour,
                r.site.limits.site_per_day,
            )
        },
    );
    let since = day_start(now) - (CHART_DAYS as i64 - 1) * DAY_MS;
    let outcomes = state
        .store
        .outcomes(&LeadFilter {
            sites: Some(vec![site.to_owned()]),
            created_from: Some(since),
            ..LeadFilter::default()
        })
        .await?;
    let today = day_start(now);
    let (hour, _) = state
        .store
        .site_count_since(site, now - 3600 * 1000)
        .await?;
    let (day, _) = state.store.site_count_since(site, now - DAY_MS).await?;
    let glance = Glance {
        id: site.to_owned(),
        name,
        today: Counts::of(outcomes.iter().filter(|o| o.created_at >= today)),
        hour: (hour, hour_limit),
        day: (day, day_limit),
        balance: state.metrics.balance_health().get(site).copied(),
        upstream: state.metrics.upstream_health().get(site).cloned(),
        days: stats::by_day(&outcomes, now),
        period: Counts::of(&outcomes),
    };
    Ok(glance)
}

/// `GET /console/`.
async fn overview(
    State(state): State<AppState>,
    Extension(owner): Extension<Owner>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::of_request(&headers);
    let mut glances = Vec::new();
    for site in sites_of(&state, &owner) {
        match glance(&state, &site).await {
            Ok(glance) => glances.push(glance),
            Err(error) => return store_failed(lang, &error),
        }
    }
    let title = lang.texts().overview.to_owned();
    views::overview(
        &frame(lang, &owner, title, Nav::Overview, "/console/".to_owned()),
        &glances,
    )
}

/// `GET /console/sites/{site}`.
async fn site_page(
    State(state): State<AppState>,
    Extension(owner): Extension<Owner>,
    OwnedSite { site, lang }: OwnedSite,
) -> Response {
    let glance = match glance(&state, &site).await {
        Ok(glance) => glance,
        Err(error) => return store_failed(lang, &error),
    };
    let prefix = format!("sites.{site}.");
    let warnings: Vec<String> = state
        .console
        .warnings
        .iter()
        .filter(|w| w.starts_with(&prefix))
        .cloned()
        .collect();
    let title = glance.name.clone();
    views::site(
        &frame(
            lang,
            &owner,
            title,
            Nav::Overview,
            format!("/console/sites/{site}"),
        ),
        &glance,
        &warnings,
    )
}

/// `GET /console/sites/{site}/install`.
async fn install(
    State(state): State<AppState>,
    Extension(owner): Extension<Owner>,
    OwnedSite { site, lang }: OwnedSite,
) -> Response {
    let (tag, csp) = crate::init::install_snippet(&state.console.public_url, &site);
    let title = format!("{}: {site}", lang.texts().install);
    views::install(
        &frame(
            lang,
            &owner,
            title,
            Nav::Overview,
            format!("/console/sites/{site}/install"),
        ),
        &site,
        &tag,
        &csp,
        !state.console.public_url_configured,
    )
}

/// `GET /console/sites/{site}/preview`: the page inside the install page's frame.
async fn preview(State(state): State<AppState>, OwnedSite { site, lang }: OwnedSite) -> Response {
    let public = &state.console.public_url;
    let (tag, _) = crate::init::install_snippet(public, &site);
    views::preview(lang, &tag, &public.origin().ascii_serialization())
}

#[derive(Debug, Deserialize, Default)]
struct RawLeadsQuery {
    #[serde(default)]
    site: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    day: String,
    #[serde(default)]
    page: Option<i64>,
}

/// `GET /console/leads?site=&state=&day=&page=`.
async fn leads(
    State(state): State<AppState>,
    Extension(owner): Extension<Owner>,
    Query(raw): Query<RawLeadsQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::of_request(&headers);
    let t = lang.texts();
    let sites = sites_of(&state, &owner);
    let site = Some(raw.site.clone()).filter(|s| !s.is_empty());
    if let Some(site) = &site
        && !sites.contains(site)
    {
        return views::not_found(lang);
    }
    let query = LeadsQuery {
        site: site.clone(),
        state: raw.state.parse::<LeadState>().ok(),
        day: Some(raw.day.clone()).filter(|d| !d.is_empty()),
        page: raw.page.unwrap_or(1).max(1),
    };
    let mut error = None;
    let day = match &query.day {
        Some(day) => match format!("{day}T00:00:00Z").parse::<jiff::Timestamp>() {
            Ok(start) if day.len() == 10 => Some(start.as_millisecond()),
            _ => {
                error = Some(t.bad_day);
                None
            }
        },
        None => None,
    };
    let filter = LeadFilter {
        sites: Some(site.map_or_else(|| sites.clone(), |s| vec![s])),
        state: query.state,
        created_from: day,
        created_until: day.map(|d| d + DAY_MS),
    };
    let read = async {
        let total = state.store.count(&filter).await?;
        let offset = (query.page - 1).saturating_mul(PAGE_SIZE);
        let leads = state.store.list_where(&filter, offset, PAGE_SIZE).await?;
        Ok::<_, crate::store::StoreError>((total, leads))
    };
    let (total, leads) = match read.await {
        Ok(read) => read,
        Err(error) => return store_failed(lang, &error),
    };
    let pages = (total + PAGE_SIZE - 1) / PAGE_SIZE;
    let (title, nav) = if query.state == Some(LeadState::Halted) {
        (t.halted, Nav::Halted)
    } else {
        (t.leads, Nav::Leads)
    };
    views::leads(
        &frame(
            lang,
            &owner,
            title.to_owned(),
            nav,
            query.on_page(query.page),
        ),
        &query,
        &sites,
        &leads,
        pages,
        error,
    )
}

/// The site of the path's `{site}`, if it is configured and one of the
/// owner's, with the page's language; any other is the not-found page, as
/// for a site that does not exist.
struct OwnedSite {
    site: String,
    lang: Lang,
}

impl FromRequestParts<AppState> for OwnedSite {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let lang = Lang::of_request(&parts.headers);
        let Ok(Path(site)) = Path::<String>::from_request_parts(parts, state).await else {
            return Err(views::not_found(lang));
        };
        // Set by `auth::require_owner` before any handler runs.
        let sees = parts
            .extensions
            .get::<Owner>()
            .is_some_and(|owner| owner.sees(&site));
        if !sees || state.sites.get(&site).is_none() {
            return Err(views::not_found(lang));
        }
        Ok(Self { site, lang })
    }
}

/// The lead of the path's `{id}`, if it is one of the owner's sites', with
/// the page's language. Any other (another owner's, or none) is the
/// not-found page, as for a lead that does not exist: guessing ids tells
/// nothing. An extractor, so that no handler of a lead forgets the check.
struct OwnedLead {
    lead: Lead,
    lang: Lang,
}

impl FromRequestParts<AppState> for OwnedLead {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let lang = Lang::of_request(&parts.headers);
        let Ok(Path(id)) = Path::<String>::from_request_parts(parts, state).await else {
            return Err(views::not_found(lang));
        };
        // Set by `auth::require_owner` before any handler runs.
        let Some(owner) = parts.extensions.get::<Owner>() else {
            return Err(views::not_found(lang));
        };
        match state.store.get(&id).await {
            Ok(Some(lead)) if owner.sees(&lead.site) => Ok(Self { lead, lang }),
            Ok(_) => Err(views::not_found(lang)),
            Err(error) => Err(store_failed(lang, &error)),
        }
    }
}

async fn lead_page(
    state: &AppState,
    owner: &Owner,
    lead: &Lead,
    lang: Lang,
    revealed: bool,
    flash: Option<&str>,
) -> Response {
    let events = match state.store.events(&lead.id).await {
        Ok(events) => events,
        Err(error) => return store_failed(lang, &error),
    };
    let title = format!("{} {}", lang.texts().lead, views::time(lead.created_at));
    views::lead(
        &frame(
            lang,
            owner,
            title,
            Nav::Leads,
            format!("/console/leads/{}", lead.id),
        ),
        lead,
        &events,
        revealed,
        flash,
    )
}

#[derive(Debug, Deserialize, Default)]
struct LeadQuery {
    #[serde(default)]
    resent: Option<u8>,
}

/// `GET /console/leads/{id}`.
async fn lead(
    State(state): State<AppState>,
    Extension(owner): Extension<Owner>,
    OwnedLead { lead, lang }: OwnedLead,
    Query(query): Query<LeadQuery>,
) -> Response {
    let t = lang.texts();
    let flash = query
        .resent
        .map(|n| if n > 0 { t.resent } else { t.not_resent });
    lead_page(&state, &owner, &lead, lang, false, flash).await
}

/// `POST /console/leads/{id}/reveal`: the page again, the number whole;
/// logged, as the CLI's export would be.
async fn reveal(
    State(state): State<AppState>,
    Extension(owner): Extension<Owner>,
    OwnedLead { lead, lang }: OwnedLead,
) -> Response {
    tracing::info!(target: "console", who = %owner.who(), action = "reveal", lead = %lead.id, site = %lead.site, "a visitor's number was shown");
    lead_page(&state, &owner, &lead, lang, true, None).await
}

/// `GET /console/leads/{id}/resend`: the confirmation.
async fn resend_confirm(
    Extension(owner): Extension<Owner>,
    OwnedLead { lead, lang }: OwnedLead,
) -> Response {
    if lead.state != LeadState::Halted {
        return Redirect::to(&format!("/console/leads/{}", lead.id)).into_response();
    }
    let title = lang.texts().resend_title.to_owned();
    views::resend_confirm(
        &frame(
            lang,
            &owner,
            title,
            Nav::Halted,
            format!("/console/leads/{}/resend", lead.id),
        ),
        &lead,
    )
}

/// `POST /console/leads/{id}/resend`: `proxy leads resend --id` (with
/// `--force` when ticked), then back to the lead.
async fn resend(
    State(state): State<AppState>,
    Extension(owner): Extension<Owner>,
    OwnedLead { lead, lang }: OwnedLead,
    body: axum::body::Bytes,
) -> Response {
    let force = auth::form_fields(&body)
        .get("force")
        .is_some_and(|v| v == "1");
    let resent = crate::operator::resend(
        &state.store,
        Some(&lead.id),
        state.console.upstream_deadline,
        force,
        state.clock.as_ref(),
    )
    .await;
    match resent {
        Ok(resent) => {
            tracing::info!(target: "console", who = %owner.who(), action = "resend", lead = %lead.id, site = %lead.site, force, queued = resent.queued, already_ordered = resent.already_ordered, "resend from the console");
            if resent.queued > 0 {
                state.wake.notify_one();
            }
            Redirect::to(&format!(
                "/console/leads/{}?resent={}",
                lead.id,
                resent.queued.min(1)
            ))
            .into_response()
        }
        Err(error) => {
            tracing::error!(target: "console", %error, "resend failed");
            views::store_failed(lang)
        }
    }
}

#[derive(Debug, Deserialize, Default)]
struct ExportQuery {
    #[serde(default)]
    site: String,
    #[serde(default)]
    state: String,
}

/// `GET /console/export.csv`: the CLI's CSV of the owner's sites (or one),
/// downloaded. Logged: it holds whole numbers.
async fn export(
    State(state): State<AppState>,
    Extension(owner): Extension<Owner>,
    Query(query): Query<ExportQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::of_request(&headers);
    let sites = sites_of(&state, &owner);
    let sites = if query.site.is_empty() {
        sites
    } else if sites.contains(&query.site) {
        vec![query.site.clone()]
    } else {
        return views::not_found(lang);
    };
    let filter = LeadFilter {
        sites: Some(sites),
        state: query.state.parse().ok(),
        ..LeadFilter::default()
    };
    let mut csv = Vec::new();
    match crate::operator::export_csv(&state.store, &filter, &mut csv).await {
        Ok(rows) => {
            tracing::info!(target: "console", who = %owner.who(), action = "export", rows, sites = ?filter.sites, "CSV export from the console");
            let name = format!(
                "attachment; filename=\"leads-{}.csv\"",
                views::time(state.clock.now_ms())
                    .get(..10)
                    .unwrap_or("export")
            );
            let mut response = csv.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            if let Ok(value) = HeaderValue::from_str(&name) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => {
            tracing::error!(target: "console", %error, "export failed");
            views::store_failed(lang)
        }
    }
}

fn store_failed(lang: Lang, error: &crate::store::StoreError) -> Response {
    tracing::error!(target: "console", %error, "the console could not read the store");
    views::store_failed(lang)
}
