//! The console's pages, as maud templates: plain data in, HTML out, no
//! store or state here. maud (not askama) because its templates are Rust:
//! checked by the compiler with the data they show, escaped by default,
//! and inside the binary without a template directory to ship (the static
//! one-file build carries nothing else; the stylesheet and the small
//! script are `include_str!`ed in `mod.rs`).
//!
//! Every page works without JavaScript: forms post, links navigate. The
//! script only adds the copy buttons.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::auth::{CSRF_FIELD, Owner};
use super::i18n::Lang;
use super::stats::Counts;
use crate::lead::{Lead, LeadState};
use crate::metrics::{BalanceHealth, UpstreamHealth};
use crate::store::LeadEvent;

/// Which part of the console a page belongs to (the nav marks it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Nav {
    /// The overview and the site pages.
    Overview,
    /// The leads table and a lead.
    Leads,
    /// The halted leads.
    Halted,
}

/// What every page's frame needs.
#[derive(Debug)]
pub(super) struct Frame<'a> {
    /// The page's language.
    pub(super) lang: Lang,
    /// Who is looking.
    pub(super) owner: &'a Owner,
    /// The page's title (after "Console").
    pub(super) title: String,
    /// The nav entry to mark.
    pub(super) nav: Nav,
    /// This page's path and query, for the language switch to come back to.
    pub(super) here: String,
}

/// The headers every console page carries: a CSP that allows only the
/// console's own files (and frames, for the preview), no caching of pages
/// that hold personal data, no referrer leaving the console.
pub(super) fn secure_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, axum::response::Html(markup.into_string())).into_response();
    secure_headers(&mut response);
    response
}

/// `YYYY-MM-DD HH:MM:SS`, UTC.
pub(super) fn time(unix_ms: i64) -> String {
    jiff::Timestamp::from_millisecond(unix_ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// `MM-DD` of a day's start, UTC (the charts' axis).
pub(super) fn day_label(unix_ms: i64) -> String {
    jiff::Timestamp::from_millisecond(unix_ms)
        .map(|t| t.strftime("%m-%d").to_string())
        .unwrap_or_default()
}

/// The hidden field every form carries.
fn csrf(owner: &Owner) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(owner.csrf); }
}

/// Percent-encodes `text` for a query value.
pub(super) fn query_value(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A page in the console's frame: skip link, header with the nav, the
/// language switch and who is signed in, then `body` as the main content.
pub(super) fn page(frame: &Frame<'_>, body: Markup) -> Response {
    respond(StatusCode::OK, framed(frame, body))
}

fn framed(frame: &Frame<'_>, body: Markup) -> Markup {
    let t = frame.lang.texts();
    let other = frame.lang.other();
    let nav_link = |nav: Nav, href: &str, text: &str| {
        html! {
            @if frame.nav == nav {
                a href=(href) aria-current="page" { (text) }
            } @else {
                a href=(href) { (text) }
            }
        }
    };
    html! {
        (DOCTYPE)
        html lang=(frame.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (frame.title) " · " (t.console) }
                link rel="stylesheet" href="/console/console.css";
                script src="/console/console.js" defer {}
            }
            body {
                a class="skip" href="#main" { (t.skip) }
                header {
                    nav aria-label=(t.console) {
                        span class="brand" { (t.console) }
                        (nav_link(Nav::Overview, "/console/", t.overview))
                        (nav_link(Nav::Leads, "/console/leads", t.leads))
                        (nav_link(Nav::Halted, "/console/leads?state=halted", t.halted))
                        a href="/console/export.csv" download { (t.export) }
                    }
                    div class="who" {
                        a href={"/console/lang?to=" (other.code()) "&back=" (query_value(&frame.here))} lang=(other.code()) hreflang=(other.code()) { (t.switch_to) }
                        " · "
                        span { (t.signed_in_as) " " strong { (frame.owner.name.as_deref().unwrap_or(t.local_owner)) } }
                        form method="post" action="/console/logout" class="inline" {
                            (csrf(frame.owner))
                            button type="submit" class="link" { (t.log_out) }
                        }
                    }
                }
                main id="main" {
                    h1 { (frame.title) }
                    (body)
                }
            }
        }
    }
}

/// What the overview and a site's page show of one site.
#[derive(Debug, Clone)]
pub(super) struct Glance {
    /// The site's id.
    pub(super) id: String,
    /// Its name for people.
    pub(super) name: String,
    /// Today's counts (UTC day).
    pub(super) today: Counts,
    /// Leads of the last hour, and the site's ceiling.
    pub(super) hour: (i64, u32),
    /// Leads of the last 24 hours, and the site's ceiling.
    pub(super) day: (i64, u32),
    /// The minutes balance as last read.
    pub(super) balance: Option<BalanceHealth>,
    /// CallKeeper's last answer.
    pub(super) upstream: Option<UpstreamHealth>,
    /// Each of the last 14 days' counts, oldest first.
    pub(super) days: Vec<(i64, Counts)>,
    /// The counts of those 14 days together.
    pub(super) period: Counts,
}

fn glance(lang: Lang, site: &Glance) -> Markup {
    let t = lang.texts();
    let today = &site.today;
    html! {
        div class="cards" {
            section class="card" aria-label=(t.today_utc) {
                h3 { (t.today_utc) }
                dl class="numbers" {
                    div { dt { (t.ordered) } dd data-count="ordered" { (today.ordered) } }
                    div { dt { (t.succeeded) } dd data-count="succeeded" { (today.succeeded) } }
                    div { dt { (t.failed) } dd data-count="failed" { (today.failed_total()) } }
                    div { dt { (t.scheduled) } dd { (today.scheduled) } }
                    div { dt { (t.halted) } dd data-count="halted" { (today.halted) } }
                    div { dt { (t.in_flight) } dd { (today.in_flight) } }
                    div { dt { (t.tests) } dd data-count="tests" { (today.tests) } }
                }
                h4 { (t.failed_by_reason) }
                @if today.failed.is_empty() {
                    p { (t.none) }
                } @else {
                    ul { @for (reason, n) in &today.failed { li { (reason) ": " (n) } } }
                }
            }
            section class="card" aria-label=(t.limits) {
                h3 { (t.limits) }
                (meter(t.per_hour, site.hour.0, site.hour.1))
                (meter(t.per_day, site.day.0, site.day.1))
            }
            section class="card" aria-label=(t.callkeeper) {
                h3 { (t.callkeeper) }
                dl {
                    dt { (t.balance) }
                    dd {
                        @match site.balance.and_then(|b| b.minutes.map(|m| (m, b.low))) {
                            Some((minutes, low)) => { (minutes) @if low { " " strong class="warn" { (t.balance_low) } } }
                            None => { (t.unknown) }
                        }
                    }
                    dt { (t.upstream_last) }
                    dd {
                        @match &site.upstream {
                            Some(health) => {
                                @if health.ok { (t.upstream_ok) } @else { strong class="warn" { (health.error.as_deref().unwrap_or(t.unknown)) } }
                                @if let Some(ago) = health.last_success_seconds_ago { " (" (ago) " " (t.seconds_ago) ")" }
                            }
                            None => { (t.unknown) }
                        }
                    }
                }
            }
        }
    }
}

fn meter(label: &str, used: i64, ceiling: u32) -> Markup {
    html! {
        p class="meter" {
            span { (label) ": " strong { (used) " / " (ceiling) } }
            meter min="0" max=(ceiling) value=(used) aria-label=(label) {}
        }
    }
}

/// The overview: each of the owner's sites at a glance, with its charts
/// (each site's days and outcomes, as on its own page).
pub(super) fn overview(frame: &Frame<'_>, sites: &[Glance]) -> Response {
    let t = frame.lang.texts();
    page(
        frame,
        html! {
            @for site in sites {
                section class="site" aria-labelledby={"site-" (site.id)} {
                    h2 id={"site-" (site.id)} { (site.name) " " small { "(" (site.id) ")" } }
                    (glance(frame.lang, site))
                    div class="charts" {
                        div {
                            h3 { (t.chart_days) }
                            (super::charts::days(frame.lang, &format!("days-{}", site.id), &site.days))
                        }
                        div {
                            h3 { (t.chart_outcomes) }
                            (super::charts::outcomes(frame.lang, &format!("outcomes-{}", site.id), &site.period))
                        }
                    }
                    p class="actions" {
                        a href={"/console/sites/" (site.id)} { (t.open_site) }
                        " · "
                        a href={"/console/sites/" (site.id) "/install"} { (t.install) }
                        " · "
                        a href={"/console/leads?site=" (query_value(&site.id))} { (t.leads) }
                    }
                }
            }
        },
    )
}

/// One site: today, the charts, the config check.
pub(super) fn site(frame: &Frame<'_>, site: &Glance, warnings: &[String]) -> Response {
    let t = frame.lang.texts();
    page(
        frame,
        html! {
            p class="actions" {
                a href={"/console/sites/" (site.id) "/install"} { (t.install) }
                " · "
                a href={"/console/leads?site=" (query_value(&site.id))} { (t.leads) }
            }
            (glance(frame.lang, site))
            section aria-labelledby="days" {
                h2 id="days" { (t.chart_days) }
                (super::charts::days(frame.lang, "chart-days", &site.days))
            }
            section aria-labelledby="outcomes" {
                h2 id="outcomes" { (t.chart_outcomes) }
                (super::charts::outcomes(frame.lang, "chart-outcomes", &site.period))
            }
            section aria-labelledby="config-check" {
                h2 id="config-check" { (t.config_check) }
                @if warnings.is_empty() {
                    p { (t.config_ok) }
                } @else {
                    ul class="warnings" { @for warning in warnings { li { (warning) } } }
                }
            }
        },
    )
}

/// The leads table's filters, as read from the query.
#[derive(Debug, Clone, Default)]
pub(super) struct LeadsQuery {
    /// One site, or every site of the owner.
    pub(super) site: Option<String>,
    /// One state.
    pub(super) state: Option<LeadState>,
    /// One UTC day, `YYYY-MM-DD`.
    pub(super) day: Option<String>,
    /// The page, from 1.
    pub(super) page: i64,
}

impl LeadsQuery {
    /// This query's URL on another page.
    pub(super) fn on_page(&self, page: i64) -> String {
        let mut url = format!("/console/leads?page={page}");
        if let Some(site) = &self.site {
            url += &format!("&site={}", query_value(site));
        }
        if let Some(state) = self.state {
            url += &format!("&state={}", state.as_str());
        }
        if let Some(day) = &self.day {
            url += &format!("&day={}", query_value(day));
        }
        url
    }
}

const STATES: [LeadState; 9] = [
    LeadState::Received,
    LeadState::Queued,
    LeadState::Sending,
    LeadState::Ordered,
    LeadState::Scheduled,
    LeadState::InProgress,
    LeadState::Succeeded,
    LeadState::Failed,
    LeadState::Halted,
];

/// The masked number of a lead (`+7 999 ***-**-67`), empty once erased.
pub(super) fn masked(lead: &Lead) -> String {
    protocol::PhoneNumber::from_digits(&lead.phone)
        .map(|p| p.masked())
        .unwrap_or_default()
}

/// The leads table, newest first, with its filters and pages.
pub(super) fn leads(
    frame: &Frame<'_>,
    query: &LeadsQuery,
    sites: &[String],
    leads: &[Lead],
    pages: i64,
    error: Option<&str>,
) -> Response {
    let t = frame.lang.texts();
    let lang = frame.lang;
    page(
        frame,
        html! {
            form method="get" action="/console/leads" class="filters" {
                label { (t.site) " "
                    select name="site" {
                        option value="" { (t.all) }
                        @for site in sites { option value=(site) selected[query.site.as_deref() == Some(site.as_str())] { (site) } }
                    }
                }
                label { (t.state) " "
                    select name="state" {
                        option value="" { (t.all) }
                        @for state in STATES { option value=(state.as_str()) selected[query.state == Some(state)] { (lang.state(state)) } }
                    }
                }
                label { (t.day) " "
                    input type="date" name="day" value=(query.day.clone().unwrap_or_default());
                }
                button type="submit" { (t.filter) }
            }
            @if let Some(error) = error { p class="warn" role="alert" { (error) } }
            @if leads.is_empty() {
                p { (t.no_leads) }
            } @else {
                table class="leads" {
                    thead { tr {
                        th scope="col" { (t.created) }
                        th scope="col" { (t.site) }
                        th scope="col" { (t.phone) }
                        th scope="col" { (t.state) }
                        th scope="col" { (t.reason) }
                        th scope="col" { span class="visually-hidden" { (t.lead) } }
                    } }
                    tbody {
                        @for lead in leads {
                            tr data-lead=(lead.id) data-state=(lead.state.as_str()) {
                                td { (time(lead.created_at)) }
                                td { (lead.site) }
                                td class="phone" { (masked(lead)) }
                                td { (lang.state(lead.state)) @if lead.test { " " span class="badge" { (t.test_mark) } } }
                                td { (lead.reason.as_deref().unwrap_or("")) }
                                td {
                                    a href={"/console/leads/" (lead.id)} { (t.open_site) }
                                    @if lead.state == LeadState::Halted {
                                        " · " a href={"/console/leads/" (lead.id) "/resend"} { (t.resend) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if pages > 1 {
                nav class="pages" aria-label=(t.page) {
                    @if query.page > 1 { a href=(query.on_page(query.page - 1)) rel="prev" { (t.previous) } " " }
                    span { (t.page) " " (query.page) " / " (pages) }
                    @if query.page < pages { " " a href=(query.on_page(query.page + 1)) rel="next" { (t.next) } }
                }
            }
        },
    )
}

/// One lead: what it is, its timeline and its capture. `revealed` shows
/// the whole number (after the owner asked, which was logged).
pub(super) fn lead(
    frame: &Frame<'_>,
    lead: &Lead,
    events: &[LeadEvent],
    revealed: bool,
    flash: Option<&str>,
) -> Response {
    let t = frame.lang.texts();
    let lang = frame.lang;
    let context = &lead.request.context;
    let capture: Vec<(&str, Option<String>)> = vec![
        (t.current_page, context.current_page.clone()),
        (t.entry_page, context.entry_page.clone()),
        (t.referrer, context.referrer.clone()),
        ("utm_source", context.utm.source.clone()),
        ("utm_medium", context.utm.medium.clone()),
        ("utm_campaign", context.utm.campaign.clone()),
        ("utm_term", context.utm.term.clone()),
        ("utm_content", context.utm.content.clone()),
        (
            t.requested_time,
            lead.request.time.map(|s| time(s.saturating_mul(1000))),
        ),
    ];
    page(
        frame,
        html! {
            @if let Some(flash) = flash { p class="flash" role="status" { (flash) } }
            dl class="lead" {
                dt { (t.site) } dd { (lead.site) }
                dt { (t.created) } dd { (time(lead.created_at)) }
                dt { (t.state) } dd data-state=(lead.state.as_str()) { (lang.state(lead.state)) @if lead.test { " " span class="badge" { (t.test_mark) } } }
                @if let Some(reason) = &lead.reason { dt { (t.reason) } dd { (reason) } }
                dt { (t.attempts) } dd { (lead.attempts) }
                @if let Some(id) = &lead.upstream_id { dt { (t.callkeeper_id) } dd { (id) } }
                dt { (t.phone) }
                dd {
                    @if revealed && !lead.phone.is_empty() {
                        span class="phone" data-revealed { "+" (lead.phone) } " " small { (t.revealed_note) }
                    } @else {
                        span class="phone" { (masked(lead)) }
                        @if !lead.phone.is_empty() {
                            form method="post" action={"/console/leads/" (lead.id) "/reveal"} class="inline" {
                                (csrf(frame.owner))
                                button type="submit" { (t.reveal) }
                            }
                        }
                    }
                }
            }
            @if lead.state == LeadState::Halted {
                p { a class="button" href={"/console/leads/" (lead.id) "/resend"} { (t.resend) } }
            }
            section aria-labelledby="timeline" {
                h2 id="timeline" { (t.timeline) }
                table class="timeline" {
                    thead { tr {
                        th scope="col" { (t.when) }
                        th scope="col" { (t.state) }
                        th scope="col" { (t.callkeeper_status) }
                        th scope="col" { (t.attempt) }
                        th scope="col" { (t.reason) }
                    } }
                    tbody {
                        @for event in events {
                            tr data-state=(event.state.as_str()) {
                                td { (time(event.at)) }
                                td { (lang.state(event.state)) }
                                td { @if let Some((a, b)) = event.status { (a) "/" (b) } }
                                td { @if event.call_attempt > 0 { (event.call_attempt) } }
                                td { (event.reason.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="capture" {
                h2 id="capture" { (t.capture) }
                dl class="capture" {
                    @for (name, value) in &capture {
                        @if let Some(value) = value { dt { (name) } dd { (value) } }
                    }
                    @for (key, value) in &context.extra { dt { (key) } dd { (value) } }
                }
            }
        },
    )
}

/// Asks before a resend: what it does, and whether CallKeeper already has
/// a call (then only a ticked "force" resends it, as `--force` in the CLI).
pub(super) fn resend_confirm(frame: &Frame<'_>, lead: &Lead) -> Response {
    let t = frame.lang.texts();
    page(
        frame,
        html! {
            dl class="lead" {
                dt { (t.site) } dd { (lead.site) }
                dt { (t.created) } dd { (time(lead.created_at)) }
                dt { (t.phone) } dd { (masked(lead)) }
                dt { (t.reason) } dd { (lead.reason.as_deref().unwrap_or("")) }
            }
            p { (t.resend_explain) }
            form method="post" action={"/console/leads/" (lead.id) "/resend"} {
                (csrf(frame.owner))
                @if let Some(id) = &lead.upstream_id {
                    p class="warn" { (t.resend_has_call.replace("{}", id)) }
                    p { label { input type="checkbox" name="force" value="1"; " " (t.force) } }
                }
                button type="submit" { (t.confirm_resend) }
                " "
                a href={"/console/leads/" (lead.id)} { (t.cancel) }
            }
        },
    )
}

/// The install page: the tag, the CSP lines, the live preview.
pub(super) fn install(
    frame: &Frame<'_>,
    site: &str,
    script_tag: &str,
    csp: &[String],
    public_url_missing: bool,
) -> Response {
    let t = frame.lang.texts();
    let csp_text = csp.join("\n");
    page(
        frame,
        html! {
            @if public_url_missing { p class="warn" role="alert" { (t.no_public_url) } }
            section aria-labelledby="tag" {
                h2 id="tag" { (t.script_tag) }
                pre id="snippet" class="code" { (script_tag) }
                button type="button" class="copy" data-copy="snippet" data-copied=(t.copied) hidden { (t.copy) }
            }
            section aria-labelledby="csp" {
                h2 id="csp" { (t.csp_lines) }
                pre id="csp-lines" class="code" { (csp_text) }
                button type="button" class="copy" data-copy="csp-lines" data-copied=(t.copied) hidden { (t.copy) }
            }
            section aria-labelledby="preview" {
                h2 id="preview" { (t.preview) }
                p { (t.preview_note) }
                iframe class="preview" src={"/console/sites/" (site) "/preview"} title=(t.preview_title) {}
            }
        },
    )
}

/// The page inside the preview's frame: nothing but the site's tag, so the
/// widget is what it is on the site. Its own CSP lets the widget's origin
/// run and be reached; only the console may frame it.
pub(super) fn preview(lang: Lang, script_tag: &str, proxy_origin: &str) -> Response {
    let t = lang.texts();
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                title { (t.preview_title) }
            }
            body {
                main { h1 { (t.preview_title) } }
                (PreEscaped(script_tag))
            }
        }
    };
    let mut response = (StatusCode::OK, axum::response::Html(markup.into_string())).into_response();
    if let Ok(csp) = HeaderValue::from_str(&format!(
        "script-src {proxy_origin} 'wasm-unsafe-eval'; connect-src {proxy_origin}; frame-ancestors 'self'; base-uri 'none'"
    )) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The login page.
pub(super) fn login(lang: Lang, token: &str, error: Option<&str>) -> Markup {
    let t = lang.texts();
    let other = lang.other();
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (t.login_title) }
                link rel="stylesheet" href="/console/console.css";
            }
            body class="login" {
                main id="main" {
                    h1 { (t.login_title) }
                    @if let Some(error) = error { p class="warn" role="alert" { (error) } }
                    form method="post" action="/console/login" {
                        input type="hidden" name=(CSRF_FIELD) value=(token);
                        p { label for="name" { (t.name) } input id="name" name="name" autocomplete="username" required; }
                        p { label for="password" { (t.password) } input id="password" name="password" type="password" autocomplete="current-password" required; }
                        button type="submit" { (t.log_in) }
                    }
                    p { a href={"/console/lang?to=" (other.code()) "&back=/console/login"} lang=(other.code()) hreflang=(other.code()) { (t.switch_to) } }
                }
            }
        }
    }
}

/// A short page with one message and a way back.
fn message(lang: Lang, status: StatusCode, text: &str) -> Response {
    let t = lang.texts();
    respond(
        status,
        html! {
            (DOCTYPE)
            html lang=(lang.code()) {
                head {
                    meta charset="utf-8";
                    title { (t.console) }
                    link rel="stylesheet" href="/console/console.css";
                }
                body { main id="main" { h1 { (t.console) } p { (text) } p { a href="/console/" { (t.overview) } } } }
            }
        },
    )
}

/// 403 for a form without the session's token (or a stale one).
pub(super) fn refused_form(lang: Lang) -> Response {
    message(lang, StatusCode::FORBIDDEN, lang.texts().forbidden)
}

/// 404: no such lead or site, or one that is not the owner's.
pub(super) fn not_found(lang: Lang) -> Response {
    message(lang, StatusCode::NOT_FOUND, lang.texts().not_found)
}

/// 503: the store did not answer.
pub(super) fn store_failed(lang: Lang) -> Response {
    message(
        lang,
        StatusCode::SERVICE_UNAVAILABLE,
        lang.texts().store_error,
    )
}
