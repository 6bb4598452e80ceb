//! The proxy's configuration: one TOML file, overridden by `PROXY_…`
//! environment variables, validated once at start-up.
//!
//! Any key of the file can be set from the environment (12-factor): the
//! variable is `PROXY_` and the dotted key in capitals with `__` for the dots,
//! so `PROXY_LISTEN=0.0.0.0:8080` sets `listen` and
//! `PROXY_SITES__SHOP__UPSTREAM=…` sets `sites.shop.upstream`. Values are read
//! as TOML values (`[a, b]` is a list; quote a string that looks like a
//! number: `'"09001800"'`). `PROXY_CONFIG` names the file and is not a key.
//!
//! The CallKeeper Profile key is never written in the configuration itself: a
//! site names the environment variable (`api_key_env`) or the file
//! (`api_key_file`) that holds it, so the config can be committed and shown
//! without leaking it, and `Debug` never prints it.
//!
//! Every error names the dotted key at fault (`sites.shop.allowed_origins`)
//! and says what to do.
//!
//! - `raw.rs`: the file as written, with the defaults;
//! - `site.rs`: one site, checked and typed, and its limits;
//! - `checks.rs`: the checks beyond types (origins, key, consent, texts, …);
//! - `console.rs`: `[console]`, the owners' console and its accounts;
//! - `error.rs`: [`ConfigError`] and how a key is named in it.

mod checks;
mod console;
mod error;
#[cfg(test)]
mod properties;
mod raw;
mod site;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::http::HeaderName;
use figment::Figment;
use figment::providers::{Env, Format, Toml};

pub use checks::{MIN_CONTRAST, contrast_ratio};
pub use console::{ConsoleAccount, ConsoleSettings};
pub use error::ConfigError;
pub use site::{BotChecks, ChallengeMode, ChallengeSettings, Limits, MAX_IVR_PAGE_CHARS, Site};

use error::{invalid, name_the_key};
use raw::RawConfig;

use crate::serve::ServeLimits;
use crate::store::StoreUrl;
use crate::trusted_proxies::TrustedProxies;
use crate::widget_files::WidgetFiles;

/// The prefix of the environment variables that override the file.
pub const ENV_PREFIX: &str = "PROXY_";

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the widget API and assets listen.
    pub listen: SocketAddr,
    /// Where `/metrics`, `/readyz` and `/healthz` listen for operators
    /// (`admin_listen`, loopback by default).
    pub admin_listen: SocketAddr,
    /// Where every lead is kept: `[store] url`, or the SQLite file
    /// `database` when that is unset.
    pub store: StoreUrl,
    /// The widget's files: `assets` (a built `dist/`) when set, else the
    /// widget built into this binary, else `dist` in the working directory.
    pub assets: WidgetFiles,
    /// Where visitors' browsers reach this proxy (`public_url`, say
    /// `https://callback.example.com/`, always ending in `/`): what
    /// `proxy init` prints in the script tag and `proxy doctor` fetches.
    pub public_url: Option<url::Url>,
    /// How often an ordered call's status is asked of CallKeeper.
    pub status_poll_interval: Duration,
    /// How long a lead's personal data is kept (`retention_days`).
    pub retention: Duration,
    /// How long a lead is retried while CallKeeper is unreachable
    /// (`upstream_deadline_hours`).
    pub upstream_deadline: Duration,
    /// Reverse proxies (addresses or CIDR ranges) whose
    /// [`Config::client_ip_header`] is believed.
    pub trusted_proxies: TrustedProxies,
    /// The header a trusted proxy puts the client's address in
    /// (`X-Forwarded-For`); ignored when the peer is not a trusted proxy.
    pub client_ip_header: String,
    /// GETs of the API per client address per minute, but status polls
    /// (`reads_per_minute`, 60; half of it at once).
    pub reads_per_minute: u32,
    /// Status polls (and stream opens) per client address per minute
    /// (`status_polls_per_minute`, 600; a fifth of it at once).
    pub status_polls_per_minute: u32,
    /// Live status streams open at once, over all visitors.
    pub max_open_streams: usize,
    /// Live status streams open at once from one client address.
    pub max_streams_per_ip: usize,
    /// How long one status stream stays open at most; the browser then
    /// reconnects (`max_stream_seconds`).
    pub stream_lifetime: Duration,
    /// How long a status token still answers after its call is final.
    pub status_ttl: Duration,
    /// How often each site's CallKeeper account is asked for its balance,
    /// which also proves CallKeeper reachable (`upstream_check_interval_seconds`).
    pub upstream_check_interval: Duration,
    /// How much the public listener takes (`[server]`).
    pub server: ServeLimits,
    /// The owners' console on the admin listener (`[console]`).
    pub console: ConsoleSettings,
    /// The sites this proxy serves, by id.
    pub sites: HashMap<String, Site>,
}

/// How far ahead a visitor may order a call; personal data must outlive it.
pub const SCHEDULING_HORIZON_DAYS: u64 = 60;

/// `value` within `min..=max`, or an error naming `key` and the range.
fn bounded(key: &str, value: u64, min: u64, max: u64) -> Result<u64, ConfigError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(invalid(
            key,
            format!("{value} is out of range: use {min} to {max}"),
        ))
    }
}

/// `[server]`, checked: every number within what one machine can mean.
fn server_limits(raw: &raw::RawServer) -> Result<ServeLimits, ConfigError> {
    let key = |name: &str| format!("server.{name}");
    let header_read = bounded(
        &key("header_read_timeout_seconds"),
        raw.header_read_timeout_seconds,
        1,
        300,
    )?;
    let request = bounded(
        &key("request_timeout_seconds"),
        raw.request_timeout_seconds,
        1,
        3_600,
    )?;
    let connections = bounded(
        &key("max_connections"),
        raw.max_connections as u64,
        1,
        1_000_000,
    )?;
    let per_ip = bounded(
        &key("max_connections_per_ip"),
        raw.max_connections_per_ip as u64,
        1,
        connections,
    )?;
    let in_flight = bounded(
        &key("max_requests_in_flight"),
        raw.max_requests_in_flight as u64,
        1,
        1_000_000,
    )?;
    let size = |n: u64| usize::try_from(n).expect("bounded to at most 1,000,000");
    Ok(ServeLimits {
        header_read_timeout: Duration::from_secs(header_read),
        request_timeout: Duration::from_secs(request),
        max_connections: size(connections),
        max_connections_per_ip: size(per_ip),
        max_requests_in_flight: size(in_flight),
        ..ServeLimits::default()
    })
}

/// `public_url`: an http(s) URL without query or fragment, kept with a
/// trailing `/` so that `widget.js` joins onto it.
fn public_url(text: &str) -> Result<url::Url, ConfigError> {
    let wrong = |why: &str| {
        invalid(
            "public_url",
            format!(
                "{text:?} {why}: write the address visitors' browsers reach the proxy at, like https://callback.example.com/"
            ),
        )
    };
    let mut url = url::Url::parse(text).map_err(|_| wrong("is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(wrong("is not an http or https URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(wrong("has a query or fragment"));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// The sources, lowest priority first: the TOML text, then `PROXY_…` variables.
fn with_env_overrides(toml: &str) -> Figment {
    Figment::from(Toml::string(toml)).merge(
        Env::prefixed(ENV_PREFIX)
            .split("__")
            // `PROXY_CONFIG` names the file (`proxy serve`), it is not a key.
            .ignore(&["config"]),
    )
}

/// One site's file-level facts that `proxy doctor` reports on their own,
/// before the config as a whole is loaded, so that one mistake does not hide
/// the others. The checks are the loader's own ([`Config::load`] runs them too).
#[derive(Debug)]
pub struct SiteFileChecks {
    /// The site's id.
    pub site: String,
    /// The key file, and whether only its owner can read it; `None` when the
    /// key comes from the environment (`api_key_env`), or when
    /// `allow_readable_key_file` says its access is controlled otherwise.
    pub key_file: Option<(PathBuf, Result<(), String>)>,
    /// `allowed_origins` spelled as origins, or what is wrong with them.
    pub origins: Result<Vec<String>, ConfigError>,
}

/// [`SiteFileChecks`] for every site of the file at `path` (with the
/// `PROXY_…` overrides), in the order of their ids.
pub fn site_file_checks(path: &Path) -> Result<Vec<SiteFileChecks>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let raw: RawConfig = with_env_overrides(&text)
        .extract()
        .map_err(|error| name_the_key(error, &path.display().to_string()))?;
    let mut checks: Vec<SiteFileChecks> = raw
        .sites
        .into_iter()
        .map(|(id, site)| {
            let key = |name: &str| format!("sites.{id}.{name}");
            let key_file = site
                .api_key_file
                .filter(|_| !raw.allow_readable_key_file)
                .map(|file| {
                    let private = checks::check_key_file_private(&file);
                    (file, private)
                });
            let origins =
                checks::check_origins(&site.allowed_origins, &key).map(|()| site.allowed_origins);
            SiteFileChecks {
                site: id,
                key_file,
                origins,
            }
        })
        .collect();
    checks.sort_by(|a, b| a.site.cmp(&b.site));
    Ok(checks)
}

impl Config {
    /// Reads a config file, applies the `PROXY_…` environment overrides and
    /// validates the result; the Profile keys come from the environment or files.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_figment(
            &with_env_overrides(&text),
            &path.display().to_string(),
            |name| std::env::var(name).ok(),
        )
    }

    /// Parses config text alone (no `PROXY_…` overrides); `env` looks up the
    /// variables named by `api_key_env` (injectable for tests).
    pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::from_figment(&Figment::from(Toml::string(text)), "the config", env)
    }

    fn from_figment(
        figment: &Figment,
        file: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let raw: RawConfig = figment
            .extract()
            .map_err(|error| name_the_key(error, file))?;
        let listen = raw.listen.parse().map_err(|_| {
            invalid(
                "listen",
                format!("{:?} is not an address like 127.0.0.1:8080", raw.listen),
            )
        })?;
        let admin_listen = raw.admin_listen.parse().map_err(|_| {
            invalid(
                "admin_listen",
                format!(
                    "{:?} is not an address like 127.0.0.1:9090",
                    raw.admin_listen
                ),
            )
        })?;
        let trusted_proxies = TrustedProxies::parse(&raw.trusted_proxies)
            .map_err(|message| invalid("trusted_proxies", message))?;
        if HeaderName::from_bytes(raw.client_ip_header.as_bytes()).is_err() {
            return Err(invalid(
                "client_ip_header",
                format!(
                    "{:?} is not a header name like X-Forwarded-For",
                    raw.client_ip_header
                ),
            ));
        }
        let retention_days = bounded("retention_days", raw.retention_days, 1, 36_500)?;
        if retention_days <= SCHEDULING_HORIZON_DAYS {
            return Err(invalid(
                "retention_days",
                format!(
                    "must exceed {SCHEDULING_HORIZON_DAYS}: a visitor may order a call up to \
                     {SCHEDULING_HORIZON_DAYS} days ahead, and erasing the number before then \
                     would halt the call"
                ),
            ));
        }
        let deadline_hours = bounded(
            "upstream_deadline_hours",
            raw.upstream_deadline_hours,
            1,
            24 * 60,
        )?;
        let poll_ms = bounded(
            "status_poll_interval_ms",
            raw.status_poll_interval_ms,
            10,
            3_600_000,
        )?;
        bounded(
            "max_open_streams",
            raw.max_open_streams as u64,
            1,
            1_000_000,
        )?;
        bounded(
            "max_streams_per_ip",
            raw.max_streams_per_ip as u64,
            1,
            raw.max_open_streams as u64,
        )?;
        let stream_seconds = bounded("max_stream_seconds", raw.max_stream_seconds, 1, 86_400)?;
        let ttl_hours = bounded("status_ttl_hours", raw.status_ttl_hours, 1, 24 * 365)?;
        let check_seconds = bounded(
            "upstream_check_interval_seconds",
            raw.upstream_check_interval_seconds,
            1,
            86_400,
        )?;
        let server = server_limits(&raw.server)?;
        let store = match &raw.store.url {
            Some(url) => StoreUrl::parse(url).map_err(|error| invalid("store.url", error))?,
            None => StoreUrl::Sqlite(raw.database.clone()),
        };
        let public_url = raw.public_url.as_deref().map(public_url).transpose()?;
        let assets = match raw.assets {
            Some(dir) => WidgetFiles::Directory(dir),
            None => WidgetFiles::built_in()
                .unwrap_or_else(|| WidgetFiles::Directory(PathBuf::from("dist"))),
        };
        if raw.sites.is_empty() {
            return Err(invalid(
                "sites",
                "no site is configured; add a [sites.NAME] table",
            ));
        }
        let console = {
            let ids: Vec<&String> = raw.sites.keys().collect();
            ConsoleSettings::from_raw(raw.console, &ids)?
        };
        let mut sites = HashMap::new();
        for (id, site) in raw.sites {
            let site = Site::from_raw(&id, site, raw.allow_readable_key_file, &env)?;
            sites.insert(id, site);
        }
        Ok(Self {
            listen,
            admin_listen,
            store,
            assets,
            public_url,
            status_poll_interval: Duration::from_millis(poll_ms),
            retention: Duration::from_secs(retention_days * 24 * 3600),
            upstream_deadline: Duration::from_secs(deadline_hours * 3600),
            trusted_proxies,
            client_ip_header: raw.client_ip_header,
            reads_per_minute: raw.reads_per_minute.max(1),
            status_polls_per_minute: raw.status_polls_per_minute.max(1),
            max_open_streams: raw.max_open_streams,
            max_streams_per_ip: raw.max_streams_per_ip,
            stream_lifetime: Duration::from_secs(stream_seconds),
            status_ttl: Duration::from_secs(ttl_hours * 3600),
            upstream_check_interval: Duration::from_secs(check_seconds),
            server,
            console,
            sites,
        })
    }

    /// What is valid but likely not what the operator wants, one line each,
    /// for `proxy check-config`: a site colour that white text on the
    /// launcher and buttons would not contrast with enough (the widget then
    /// writes black text on it, which always does).
    pub fn warnings(&self) -> Vec<String> {
        let mut ids: Vec<&String> = self.sites.keys().collect();
        ids.sort();
        let mut warnings = Vec::new();
        for id in ids {
            let site = &self.sites[id];
            if site.opening_hours.is_none() {
                warnings.push(format!(
                    "sites.{id}.opening_hours is not set: the widget offers \"call me now\" and \
                     slots around the clock, while CallKeeper follows the hours of its own widget \
                     settings. Set the same hours here."
                ));
            } else if site.utc.is_none() {
                warnings.push(format!(
                    "sites.{id}.utc is not set: opening hours are read in Europe/Moscow time. \
                     Set the company's time zone."
                ));
            }
            if let Err(error) = crate::hours::Schedule::new(site.opening_hours, site.utc.as_ref()) {
                warnings.push(format!(
                    "sites.{id}.utc: {error}; the site's slots and config answer 503 until it is \
                     a zone of the tz database (like Europe/Moscow) or an offset (UTC+03:00)."
                ));
            }
            let colour = &site.color;
            let white = contrast_ratio(colour.as_str(), "#ffffff");
            if white < MIN_CONTRAST {
                warnings.push(format!(
                    "sites.{id}.color: white text on {colour} has a contrast of {white:.1}:1, \
                     under the {MIN_CONTRAST}:1 that WCAG 2.1 AA asks; the widget writes black \
                     text on it instead ({black:.1}:1). Choose a darker colour to keep white text.",
                    black = contrast_ratio(colour.as_str(), "#000000"),
                ));
            }
        }
        warnings
    }

    /// A few lines on what this configuration does, for `proxy check-config`.
    /// Never includes a key.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "listen {} (widget API and files), {} (/metrics, /readyz, /healthz)",
            self.listen, self.admin_listen
        );
        if self.console.enabled {
            let login = if self.console.login_required(self.admin_listen) {
                format!("login required, {} account(s)", self.console.accounts.len())
            } else {
                "no login (loopback)".to_owned()
            };
            let _ = writeln!(
                out,
                "owners' console at http://{}/console/ ({login})",
                self.admin_listen
            );
        }
        let _ = writeln!(
            out,
            "lead store {}, widget files {}",
            self.store, self.assets
        );
        if let Some(url) = &self.public_url {
            let _ = writeln!(out, "visitors' browsers reach the proxy at {url}");
        }
        let _ = writeln!(
            out,
            "personal data kept {} days; a lead is retried for {} hours while CallKeeper is unreachable",
            self.retention.as_secs() / (24 * 3600),
            self.upstream_deadline.as_secs() / 3600
        );
        if self.trusted_proxies.is_empty() {
            let _ = writeln!(out, "client address: the connection's (no trusted proxies)");
        } else {
            let _ = writeln!(
                out,
                "client address: {} when the connection comes from {}",
                self.client_ip_header, self.trusted_proxies
            );
        }
        let mut ids: Vec<&String> = self.sites.keys().collect();
        ids.sort();
        for id in ids {
            let site = &self.sites[id];
            let _ = writeln!(
                out,
                "site {id}: pages of {}; CallKeeper {} as {}; {}",
                site.allowed_origins.join(", "),
                site.upstream,
                site.credentials.unique,
                site.limits,
            );
        }
        out
    }
}
