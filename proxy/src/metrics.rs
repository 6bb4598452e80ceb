//! The proxy's counters and gauges, rendered in Prometheus' text format for
//! `/metrics`, and what `/readyz` knows about CallKeeper.
//!
//! Hand-rolled on atomics: every label set is known when the proxy starts
//! (the configured sites, CallKeeper's four methods, the router's routes), so
//! a registry crate would add dependencies and a process-wide recorder (which
//! would mix the counters of several proxies in one test binary) for nothing.
//!
//! Labels never carry a request's own values: routes are the router's
//! patterns (`/v1/callbacks/{id}`, never a status token), sites are config
//! ids. Nothing here sees a phone number or the key.
//!
//! Gauges read from the store (leads by state, the queue's depth) and the
//! number of open status streams are computed when scraped, by the handler
//! in `http/health.rs`.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use callkeeper::ErrorClass;
use serde::Serialize;

use crate::clock::Clock;
use crate::config::Config;
use crate::lead::{Lead, LeadState};

/// The prefix of every metric name.
const PREFIX: &str = "callback_proxy";
/// Upper bounds of the upstream latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// A site's CallKeeper counts as unreachable when its last successful answer
/// is older than this many check intervals.
const STALE_AFTER_CHECKS: u32 = 3;

/// The CallKeeper methods the proxy calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamMethod {
    /// `orderCall` (the forwarder).
    OrderCall,
    /// `getCallInfo` (the tracker).
    GetCallInfo,
    /// `getCallsInfo` (reconciling a send in doubt).
    GetCallsInfo,
    /// `getUserInfo` (the balance monitor).
    GetUserInfo,
}

impl UpstreamMethod {
    const ALL: [Self; 4] = [
        Self::OrderCall,
        Self::GetCallInfo,
        Self::GetCallsInfo,
        Self::GetUserInfo,
    ];

    /// CallKeeper's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Self::OrderCall => "orderCall",
            Self::GetCallInfo => "getCallInfo",
            Self::GetCallsInfo => "getCallsInfo",
            Self::GetUserInfo => "getUserInfo",
        }
    }
}

/// How an order ended, as counted by `callback_proxy_orders_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderOutcome {
    /// CallKeeper accepted the orderCall.
    Accepted,
    /// CallKeeper was unreachable or failed; the lead waits for another try.
    RetryableFailure,
    /// CallKeeper refused the visitor's number.
    InvalidPhone,
    /// CallKeeper refused the site's credentials, widget or account; the lead is halted.
    ConfigurationFailure,
    /// A send in doubt turned out to have reached CallKeeper; its call was adopted.
    Reconciled,
}

impl OrderOutcome {
    const ALL: [Self; 5] = [
        Self::Accepted,
        Self::RetryableFailure,
        Self::InvalidPhone,
        Self::ConfigurationFailure,
        Self::Reconciled,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::RetryableFailure => "retryable_failure",
            Self::InvalidPhone => "invalid_phone",
            Self::ConfigurationFailure => "configuration_failure",
            Self::Reconciled => "reconciled",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|o| *o == self).unwrap_or(0)
    }
}

/// A latency histogram with fixed buckets.
#[derive(Debug, Default)]
struct Histogram {
    /// Observations at or below each bound of [`BUCKETS`] (not cumulative).
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(slot) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

/// What happened the last time the proxy spoke to a site's CallKeeper.
#[derive(Debug, Default, Clone)]
struct Contact {
    /// Unix ms of the last successful answer.
    last_success: Option<i64>,
    /// Unix ms and text of the last failure, if it came after the last success.
    failure: Option<(i64, String)>,
}

/// The account's balance as last read.
#[derive(Debug, Default, Clone, Copy)]
struct Balance {
    /// Minutes left; `None` until read, or when CallKeeper's answer does not say.
    minutes: Option<i64>,
    low: bool,
}

/// Why a request was refused before anything was stored, one label each
/// (issue 11): the phone policy's refusals, by
/// [`crate::phone_policy::PhoneRefusal::code`], the limits and the bot checks.
pub const REFUSAL_CLASSES: [&str; 18] = [
    "bot_no_widget_header",
    "bot_honeypot",
    "bot_too_fast",
    "limit_address_burst",
    "limit_number_cooldown",
    "limit_number_per_day",
    "limit_site_per_hour",
    "limit_site_per_day",
    "limit_address_per_day",
    "limit_network_per_day",
    "limit_suspect_share",
    "phone_unparseable",
    "phone_invalid",
    "phone_country_not_allowed",
    "phone_kind_not_allowed",
    "phone_blocked",
    "challenge_required",
    "challenge_invalid",
];

/// One site's counters.
#[derive(Debug)]
struct SiteMetrics {
    orders: [AtomicU64; OrderOutcome::ALL.len()],
    refusals: [AtomicU64; REFUSAL_CLASSES.len()],
    retries: AtomicU64,
    upstream_failures: AtomicU64,
    /// `balance_warn_minutes`; a config reload changes it.
    warn_below: AtomicU32,
    contact: Mutex<Contact>,
    balance: Mutex<Balance>,
}

/// Requests per route, by status class (1xx to 5xx).
type ByClass = [AtomicU64; 5];

/// Every counter and gauge the proxy keeps in memory. Shared as `Arc<Metrics>`.
#[derive(Debug)]
pub struct Metrics {
    requests: RwLock<HashMap<String, ByClass>>,
    upstream: [Histogram; UpstreamMethod::ALL.len()],
    sites: BTreeMap<String, SiteMetrics>,
    halted: AtomicU64,
    /// Config reloads by outcome: applied, rejected.
    reloads: [AtomicU64; 2],
    /// Whether the last applied reload changed a setting that needs a restart.
    restart_needed: AtomicU64,
    check_interval: Duration,
    clock: std::sync::Arc<dyn Clock>,
}

/// `/readyz`'s view of one site's CallKeeper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpstreamHealth {
    /// CallKeeper's last answer to this site was a success, and recent.
    pub ok: bool,
    /// Seconds since the last successful answer; `None` before the first.
    pub last_success_seconds_ago: Option<u64>,
    /// Why it is not ok.
    pub error: Option<String>,
}

/// `/readyz`'s view of one site's minutes balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BalanceHealth {
    /// Minutes left, when known.
    pub minutes: Option<i64>,
    /// Fewer than the site's `balance_warn_minutes`.
    pub low: bool,
}

/// What the scrape reads from elsewhere: the store and the stream count.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Unfinished leads by state, or `None` when the store could not be read.
    pub leads: Option<Vec<(LeadState, i64)>>,
    /// Status streams open now.
    pub open_streams: usize,
}

impl Metrics {
    /// Counters for `config`'s sites, all at zero, timed by `clock`.
    pub fn new(config: &Config, clock: std::sync::Arc<dyn Clock>) -> Self {
        let sites = config
            .sites
            .iter()
            .map(|(id, site)| {
                let metrics = SiteMetrics {
                    orders: Default::default(),
                    refusals: Default::default(),
                    retries: AtomicU64::new(0),
                    upstream_failures: AtomicU64::new(0),
                    warn_below: AtomicU32::new(site.balance_warn_minutes),
                    contact: Mutex::default(),
                    balance: Mutex::default(),
                };
                (id.clone(), metrics)
            })
            .collect();
        Self {
            requests: RwLock::default(),
            upstream: Default::default(),
            sites,
            halted: AtomicU64::new(0),
            reloads: Default::default(),
            restart_needed: AtomicU64::new(0),
            check_interval: config.upstream_check_interval,
            clock,
        }
    }

    /// Counts one answered request. `route` is the router's pattern, never
    /// the request's path (which may hold a status token).
    pub fn request(&self, route: &str, status: u16) {
        let class = usize::from((status / 100).clamp(1, 5) - 1);
        let known = self.requests.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(counts) = known.get(route) {
            counts[class].fetch_add(1, Ordering::Relaxed);
            return;
        }
        drop(known);
        let mut known = self
            .requests
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        known.entry(route.to_owned()).or_default()[class].fetch_add(1, Ordering::Relaxed);
    }

    /// Times one CallKeeper request and records whether the site's
    /// CallKeeper answered; passes the result through.
    pub async fn upstream<T>(
        &self,
        site: &str,
        method: UpstreamMethod,
        request: impl Future<Output = Result<T, callkeeper::Error>>,
    ) -> Result<T, callkeeper::Error> {
        let started = Instant::now();
        let result = request.await;
        let slot = UpstreamMethod::ALL
            .iter()
            .position(|m| *m == method)
            .unwrap_or(0);
        self.upstream[slot].observe(started.elapsed());
        if let Some(site) = self.sites.get(site) {
            let mut contact = site.contact.lock().unwrap_or_else(PoisonError::into_inner);
            let now = self.clock.now_ms();
            match &result {
                // A refused number is the visitor's problem: CallKeeper works.
                Ok(_) => *contact = success(now),
                Err(error) if error.class() == ErrorClass::InvalidPhone => {
                    *contact = success(now);
                }
                Err(error) => {
                    if error.class() == ErrorClass::Retryable {
                        site.upstream_failures.fetch_add(1, Ordering::Relaxed);
                    }
                    contact.failure = Some((now, error.to_string()));
                }
            }
        }
        result
    }

    /// [`Metrics::upstream`] for an orderCall, counting its outcome and
    /// whether it was a retry.
    pub async fn order_call<T>(
        &self,
        lead: &Lead,
        request: impl Future<Output = Result<T, callkeeper::Error>>,
    ) -> Result<T, callkeeper::Error> {
        let result = self
            .upstream(&lead.site, UpstreamMethod::OrderCall, request)
            .await;
        if let Some(site) = self.sites.get(&lead.site) {
            if lead.attempts > 0 {
                site.retries.fetch_add(1, Ordering::Relaxed);
            }
            let outcome = match &result {
                Ok(_) => OrderOutcome::Accepted,
                Err(error) => match error.class() {
                    ErrorClass::Retryable => OrderOutcome::RetryableFailure,
                    ErrorClass::InvalidPhone => OrderOutcome::InvalidPhone,
                    ErrorClass::Configuration => OrderOutcome::ConfigurationFailure,
                },
            };
            site.orders[outcome.index()].fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// Counts an order in doubt that turned out to have reached CallKeeper.
    pub fn order_reconciled(&self, site: &str) {
        if let Some(site) = self.sites.get(site) {
            site.orders[OrderOutcome::Reconciled.index()].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a request of `site` refused for `class`, one of [`REFUSAL_CLASSES`]
    /// (another is a bug, counted nowhere rather than under a wrong name).
    pub fn refused(&self, site: &str, class: &str) {
        let slot = REFUSAL_CLASSES.iter().position(|known| *known == class);
        debug_assert!(slot.is_some(), "unknown refusal class {class}");
        if let (Some(site), Some(slot)) = (self.sites.get(site), slot) {
            site.refusals[slot].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a lead put in the halted state (by any transition).
    pub fn transition(&self, state: Option<LeadState>) {
        if state == Some(LeadState::Halted) {
            self.halted.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one config reload: `applied` (with whether some changed
    /// setting waits for a restart), or rejected (the old config stays).
    pub fn config_reload(&self, applied: bool, restart_needed: bool) {
        self.reloads[usize::from(!applied)].fetch_add(1, Ordering::Relaxed);
        if applied {
            self.restart_needed
                .store(u64::from(restart_needed), Ordering::Relaxed);
        }
    }

    /// Takes the reloaded sites' `balance_warn_minutes` (sites are only
    /// added or removed by a restart).
    pub fn reload_sites(&self, sites: &HashMap<String, crate::config::Site>) {
        for (id, site) in sites {
            if let Some(metrics) = self.sites.get(id) {
                metrics
                    .warn_below
                    .store(site.balance_warn_minutes, Ordering::Relaxed);
            }
        }
    }

    /// Records a site's balance as just read; returns whether it is low.
    pub fn balance(&self, site: &str, minutes: Option<i64>) -> bool {
        let Some(site) = self.sites.get(site) else {
            return false;
        };
        let warn_below = site.warn_below.load(Ordering::Relaxed);
        let low = minutes.is_some_and(|m| m < i64::from(warn_below));
        *site.balance.lock().unwrap_or_else(PoisonError::into_inner) = Balance { minutes, low };
        low
    }

    /// How each site's CallKeeper is doing, for `/readyz`.
    pub fn upstream_health(&self) -> BTreeMap<String, UpstreamHealth> {
        self.upstream_health_at(self.clock.now_ms())
    }

    fn upstream_health_at(&self, now: i64) -> BTreeMap<String, UpstreamHealth> {
        let stale_ms = i64::try_from((self.check_interval * STALE_AFTER_CHECKS).as_millis())
            .unwrap_or(i64::MAX);
        self.sites
            .iter()
            .map(|(id, site)| {
                let contact = site
                    .contact
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                let age = contact.last_success.map(|at| (now - at).max(0));
                let error = match (&contact.failure, age) {
                    (Some((_, failure)), _) => Some(failure.clone()),
                    (None, None) => Some("no answer from CallKeeper yet".to_owned()),
                    (None, Some(age)) if age > stale_ms => {
                        Some(format!("no answer from CallKeeper for {} s", age / 1000))
                    }
                    (None, Some(_)) => None,
                };
                let health = UpstreamHealth {
                    ok: error.is_none(),
                    last_success_seconds_ago: age
                        .map(|age| u64::try_from(age / 1000).unwrap_or(u64::MAX)),
                    error,
                };
                (id.clone(), health)
            })
            .collect()
    }

    /// Each site's balance, for `/readyz`.
    pub fn balance_health(&self) -> BTreeMap<String, BalanceHealth> {
        self.sites
            .iter()
            .map(|(id, site)| {
                let balance = *site.balance.lock().unwrap_or_else(PoisonError::into_inner);
                let health = BalanceHealth {
                    minutes: balance.minutes,
                    low: balance.low,
                };
                (id.clone(), health)
            })
            .collect()
    }

    /// Everything, in Prometheus' text exposition format (version 0.0.4).
    pub fn render(&self, snapshot: &Snapshot) -> String {
        let mut out = String::with_capacity(8 * 1024);
        self.render_into(&mut out, snapshot);
        out
    }

    fn render_into(&self, out: &mut String, snapshot: &Snapshot) {
        header(
            out,
            "build_info",
            "gauge",
            "The proxy's version (always 1).",
        );
        sample(
            out,
            "build_info",
            &[("version", env!("CARGO_PKG_VERSION"))],
            1,
        );

        header(
            out,
            "http_requests_total",
            "counter",
            "HTTP requests answered, by route pattern and status class.",
        );
        {
            let requests = self.requests.read().unwrap_or_else(PoisonError::into_inner);
            let mut routes: Vec<&String> = requests.keys().collect();
            routes.sort();
            for route in routes {
                for (class, count) in requests[route].iter().enumerate() {
                    let count = count.load(Ordering::Relaxed);
                    if count > 0 {
                        let class = format!("{}xx", class + 1);
                        sample(
                            out,
                            "http_requests_total",
                            &[("route", route), ("class", &class)],
                            count,
                        );
                    }
                }
            }
        }

        header(
            out,
            "orders_total",
            "counter",
            "orderCall outcomes per site: accepted, retryable_failure, invalid_phone, configuration_failure, and reconciled (a send in doubt found placed).",
        );
        for (id, site) in &self.sites {
            for outcome in OrderOutcome::ALL {
                let count = site.orders[outcome.index()].load(Ordering::Relaxed);
                sample(
                    out,
                    "orders_total",
                    &[("site", id), ("outcome", outcome.name())],
                    count,
                );
            }
        }

        header(
            out,
            "refusals_total",
            "counter",
            "Requests refused before anything was stored, per site and class (phone_blocked, phone_kind_not_allowed…).",
        );
        for (id, site) in &self.sites {
            for (slot, class) in REFUSAL_CLASSES.iter().enumerate() {
                let count = site.refusals[slot].load(Ordering::Relaxed);
                sample(
                    out,
                    "refusals_total",
                    &[("site", id), ("class", class)],
                    count,
                );
            }
        }

        header(
            out,
            "order_retries_total",
            "counter",
            "orderCall attempts after a lead's first, per site.",
        );
        for (id, site) in &self.sites {
            let count = site.retries.load(Ordering::Relaxed);
            sample(out, "order_retries_total", &[("site", id)], count);
        }

        header(
            out,
            "upstream_failures_total",
            "counter",
            "CallKeeper requests that got no usable answer (network, timeout, 5xx), per site.",
        );
        for (id, site) in &self.sites {
            let count = site.upstream_failures.load(Ordering::Relaxed);
            sample(out, "upstream_failures_total", &[("site", id)], count);
        }

        header(
            out,
            "upstream_request_duration_seconds",
            "histogram",
            "CallKeeper request latency, by method.",
        );
        for (method, histogram) in UpstreamMethod::ALL.iter().zip(&self.upstream) {
            let name = "upstream_request_duration_seconds";
            let mut cumulative = 0;
            for (bound, bucket) in BUCKETS.iter().zip(&histogram.buckets) {
                cumulative += bucket.load(Ordering::Relaxed);
                let le = bound.to_string();
                sample(
                    out,
                    &format!("{name}_bucket"),
                    &[("method", method.name()), ("le", &le)],
                    cumulative,
                );
            }
            let count = histogram.count.load(Ordering::Relaxed);
            sample(
                out,
                &format!("{name}_bucket"),
                &[("method", method.name()), ("le", "+Inf")],
                count,
            );
            let sum = histogram.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(
                out,
                "{PREFIX}_{name}_sum{{method=\"{}\"}} {sum}",
                method.name()
            );
            sample(
                out,
                &format!("{name}_count"),
                &[("method", method.name())],
                count,
            );
        }

        header(
            out,
            "upstream_up",
            "gauge",
            "1 when the site's CallKeeper last answered successfully and recently (as /readyz says).",
        );
        for (id, health) in self.upstream_health() {
            sample(out, "upstream_up", &[("site", &id)], u64::from(health.ok));
        }

        header(
            out,
            "balance_minutes",
            "gauge",
            "Minutes left on the site's CallKeeper account, as last read (absent until read).",
        );
        let balances = self.balance_health();
        for (id, balance) in &balances {
            if let Some(minutes) = balance.minutes {
                let _ = writeln!(
                    out,
                    "{PREFIX}_balance_minutes{{site=\"{}\"}} {minutes}",
                    escape(id)
                );
            }
        }
        header(
            out,
            "balance_low",
            "gauge",
            "1 when the site's balance is below its balance_warn_minutes.",
        );
        for (id, balance) in &balances {
            sample(out, "balance_low", &[("site", id)], u64::from(balance.low));
        }

        header(
            out,
            "leads_halted_total",
            "counter",
            "Leads halted by a configuration or account problem, or CallKeeper unreachable past the deadline.",
        );
        sample(
            out,
            "leads_halted_total",
            &[],
            self.halted.load(Ordering::Relaxed),
        );

        header(
            out,
            "config_reloads_total",
            "counter",
            "Config reloads (SIGHUP) by outcome: applied, or rejected (the file did not parse or pass the checks; the old config stays in force).",
        );
        for (slot, outcome) in ["applied", "rejected"].iter().enumerate() {
            let count = self.reloads[slot].load(Ordering::Relaxed);
            sample(out, "config_reloads_total", &[("outcome", outcome)], count);
        }
        header(
            out,
            "config_restart_needed",
            "gauge",
            "1 when the last applied reload changed settings that take effect only after a restart (the log names them).",
        );
        sample(
            out,
            "config_restart_needed",
            &[],
            self.restart_needed.load(Ordering::Relaxed),
        );

        header(
            out,
            "open_streams",
            "gauge",
            "Live status streams (Server-Sent Events) open now.",
        );
        sample(out, "open_streams", &[], snapshot.open_streams as u64);

        header(
            out,
            "store_up",
            "gauge",
            "1 when the lead store answered this scrape's count.",
        );
        sample(out, "store_up", &[], u64::from(snapshot.leads.is_some()));
        if let Some(leads) = &snapshot.leads {
            let count = |state: LeadState| {
                leads
                    .iter()
                    .find(|(s, _)| *s == state)
                    .map_or(0, |(_, n)| u64::try_from(*n).unwrap_or(0))
            };
            header(
                out,
                "queue_depth",
                "gauge",
                "Leads waiting to be sent to CallKeeper (received and queued).",
            );
            sample(
                out,
                "queue_depth",
                &[],
                count(LeadState::Received) + count(LeadState::Queued),
            );
            header(
                out,
                "leads",
                "gauge",
                "Leads not yet delivered, by state; halted ones wait for an operator (`proxy leads resend`).",
            );
            for state in [
                LeadState::Received,
                LeadState::Queued,
                LeadState::Sending,
                LeadState::Ordered,
                LeadState::Scheduled,
                LeadState::InProgress,
                LeadState::Halted,
            ] {
                sample(out, "leads", &[("state", state.as_str())], count(state));
            }
        }
    }
}

fn success(now: i64) -> Contact {
    Contact {
        last_success: Some(now),
        failure: None,
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {PREFIX}_{name} {help}");
    let _ = writeln!(out, "# TYPE {PREFIX}_{name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: u64) {
    let _ = write!(out, "{PREFIX}_{name}");
    if !labels.is_empty() {
        out.push('{');
        for (i, (key, value)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{key}=\"{}\"", escape(value));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// A label value as the text format wants it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;

    fn metrics() -> Metrics {
        let config = Config::parse(
            "upstream_check_interval_seconds = 10\n\
             [sites.shop]\nallowed_origins = [\"https://shop.example\"]\nunique = \"shop\"\n\
             api_key_env = \"KEY\"\nwhash = \"96d6ec6937c878c2ca1f889b9b9e865a\"\nbalance_warn_minutes = 60\n",
            |_| Some("0123456789abcdef0123456789abcdef".to_owned()),
        )
        .expect("a valid config");
        Metrics::new(&config, std::sync::Arc::new(SystemClock))
    }

    fn now_ms() -> i64 {
        SystemClock.now_ms()
    }

    async fn answer(metrics: &Metrics, result: Result<(), callkeeper::Error>) {
        let _ = metrics
            .upstream("shop", UpstreamMethod::GetUserInfo, async { result })
            .await;
    }

    #[tokio::test]
    async fn callkeeper_is_ok_only_after_a_recent_successful_answer() {
        let metrics = metrics();
        let shop = |metrics: &Metrics, now| metrics.upstream_health_at(now)["shop"].clone();
        let before = shop(&metrics, now_ms());
        assert!(
            !before.ok && before.error.is_some(),
            "no answer yet: {before:?}"
        );

        answer(&metrics, Ok(())).await;
        assert!(shop(&metrics, now_ms()).ok);
        let later = shop(&metrics, now_ms() + 31_000);
        assert!(!later.ok, "older than three 10 s checks: {later:?}");
        assert_eq!(later.last_success_seconds_ago, Some(31));

        answer(&metrics, Err(callkeeper::Error::Server { status: 503 })).await;
        let down = shop(&metrics, now_ms());
        assert!(!down.ok);
        assert!(
            down.error.as_deref().is_some_and(|e| e.contains("503")),
            "{down:?}"
        );

        let refused = callkeeper::Error::InvalidPhone {
            reason: "Invalid manager or client phone number".to_owned(),
        };
        answer(&metrics, Err(refused)).await;
        assert!(
            shop(&metrics, now_ms()).ok,
            "a refused number is an answer: CallKeeper works"
        );

        answer(&metrics, Err(callkeeper::Error::WrongKey)).await;
        let wrong_key = shop(&metrics, now_ms());
        assert!(!wrong_key.ok, "a refused key is not ok: {wrong_key:?}");
    }

    #[test]
    fn the_balance_is_low_below_the_sites_threshold() {
        let metrics = metrics();
        assert!(!metrics.balance("shop", Some(60)));
        assert!(metrics.balance("shop", Some(59)));
        assert!(!metrics.balance("shop", None), "unknown is not low");
        assert!(
            !metrics.balance("elsewhere", Some(0)),
            "unknown sites are ignored"
        );
    }

    #[tokio::test]
    async fn the_text_format_has_cumulative_buckets_and_escaped_labels() {
        let metrics = metrics();
        answer(&metrics, Ok(())).await;
        metrics.request("/v1/callbacks/{id}", 200);
        metrics.request("/v1/callbacks/{id}", 404);
        metrics.request("we\"ird", 503);
        let text = metrics.render(&Snapshot::default());
        assert!(text.contains(
            "callback_proxy_http_requests_total{route=\"/v1/callbacks/{id}\",class=\"4xx\"} 1\n"
        ));
        assert!(
            text.contains(
                "callback_proxy_http_requests_total{route=\"we\\\"ird\",class=\"5xx\"} 1\n"
            )
        );
        let buckets: Vec<u64> = text
            .lines()
            .filter(|l| l.starts_with("callback_proxy_upstream_request_duration_seconds_bucket{method=\"getUserInfo\""))
            .filter_map(|l| l.rsplit_once(' ')?.1.parse().ok())
            .collect();
        assert_eq!(buckets.len(), BUCKETS.len() + 1);
        assert!(
            buckets.windows(2).all(|w| w[0] <= w[1]),
            "cumulative: {buckets:?}"
        );
        assert_eq!(buckets.last(), Some(&1));
        assert!(
            text.contains("callback_proxy_store_up 0\n"),
            "no store counts in this snapshot"
        );
        assert!(!text.contains("callback_proxy_queue_depth "));
    }
}
