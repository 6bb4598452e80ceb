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

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::http::HeaderName;
use callkeeper::{ApiKey, Credentials, Interval, OpeningHours, Utc, WidgetRef};
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::{Deserialize, Deserializer};
use url::Url;

/// The prefix of the environment variables that override the file.
pub const ENV_PREFIX: &str = "PROXY_";

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the widget API and assets listen.
    pub listen: SocketAddr,
    /// The SQLite file that holds every lead.
    pub database: PathBuf,
    /// The built widget (`dist/`).
    pub assets: PathBuf,
    /// How often an ordered call's status is asked of CallKeeper.
    pub status_poll_interval: Duration,
    /// How long a lead's personal data is kept (`retention_days`).
    pub retention: Duration,
    /// How long a lead is retried while CallKeeper is unreachable
    /// (`upstream_deadline_hours`).
    pub upstream_deadline: Duration,
    /// Reverse proxies whose [`Config::client_ip_header`] is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// The header a trusted proxy puts the client's address in
    /// (`X-Forwarded-For`); ignored when the peer is not a trusted proxy.
    pub client_ip_header: String,
    /// Live status streams open at once, over all visitors.
    pub max_open_streams: usize,
    /// Live status streams open at once from one client address.
    pub max_streams_per_ip: usize,
    /// How long a status token still answers after its call is final.
    pub status_ttl: Duration,
    /// How often each site's CallKeeper account is asked for its balance,
    /// which also proves CallKeeper reachable (`upstream_check_interval_seconds`).
    pub upstream_check_interval: Duration,
    /// The sites this proxy serves, by id.
    pub sites: HashMap<String, Site>,
}

/// One site that embeds the widget.
#[derive(Debug, Clone)]
pub struct Site {
    /// The id in the widget's `data-site` and the API's URLs.
    pub id: String,
    /// Origins whose pages may order callbacks, e.g. `https://example.com`.
    pub allowed_origins: Vec<String>,
    /// CallKeeper's base URL: the sandbox, or `https://api.callkeeper.ru`.
    pub upstream: Url,
    /// The CallKeeper account and widget.
    pub credentials: Credentials,
    /// `site` sent to CallKeeper (shown with the call).
    pub display_name: String,
    /// `ru` or `en`: the language of the proxy's status messages (`ru`
    /// unless `locale` is set).
    pub locale: String,
    /// The widget's language when the site fixes it (`locale`); `None` lets
    /// the widget follow the page's `lang`, then the browser.
    pub widget_locale: Option<String>,
    /// The form's title; empty means the widget's default.
    pub title: String,
    /// Accent colour `#rrggbb`.
    pub color: String,
    /// `right` or `left`.
    pub position: String,
    /// Default country code pre-filled in the phone field.
    pub country_code: String,
    /// Offices the visitor may choose (index = CallKeeper's `manager` office index).
    pub offices: Vec<String>,
    /// The company's time zone (`utc`); absent: CallKeeper's widget setting.
    pub utc: Option<Utc>,
    /// When the company takes calls (`opening_hours`); absent: the widget's setting.
    pub opening_hours: Option<OpeningHours>,
    /// Spoken to the manager when the call starts; a template for [`Site::ivr_text`].
    pub text_to_manager: Option<String>,
    /// Spoken when the manager presses the info key; a template for [`Site::ivr_text`].
    pub info_to_manager: Option<String>,
    /// E-mail CallKeeper sends status notifications to.
    pub notification: Option<String>,
    /// `tool_name` sent to CallKeeper: which form the call came from.
    pub tool_name: Option<String>,
    /// Minutes between CallKeeper's retries of a failed call.
    pub interval: Option<Interval>,
    /// How many callbacks this site takes, per number, address and time.
    pub limits: Limits,
    /// The consent checkbox of the form (`[sites.NAME.consent]`).
    pub consent: Option<protocol::ConsentConfig>,
    /// The site's wording of the widget's texts (`[sites.NAME.texts]`).
    pub texts: protocol::SiteTexts,
    /// A warning (log and `/readyz`) when the account has fewer minutes
    /// than this left; 0 never warns.
    pub balance_warn_minutes: u32,
}

/// How many callbacks a site takes (`[sites.NAME.limits]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// One order per phone number per this long (`number_cooldown_minutes`, 5).
    pub number_cooldown: Duration,
    /// Orders per phone number per day (3).
    pub number_per_day: u32,
    /// Orders per site per hour (60).
    pub site_per_hour: u32,
    /// Orders per site per day (500).
    pub site_per_day: u32,
    /// Requests one client address may make at once before the per-minute rate applies (5).
    pub ip_burst: u32,
    /// Requests per minute from one client address, after the burst (10).
    pub ip_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            number_cooldown: Duration::from_secs(5 * 60),
            number_per_day: 3,
            site_per_hour: 60,
            site_per_day: 500,
            ip_burst: 5,
            ip_per_minute: 10,
        }
    }
}

/// A configuration that cannot be used, with the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not TOML at all (no key to blame).
    #[error("the config file is not valid TOML: {0}")]
    Parse(String),
    /// A value is missing, unknown or wrong.
    #[error("`{key}`: {message}")]
    Invalid {
        /// The dotted key, e.g. `sites.demo.allowed_origins`.
        key: String,
        /// What is wrong and what to do.
        message: String,
    },
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

/// Turns figment's error into one that names the dotted key, and the
/// environment variable when the value came from one.
fn name_the_key(error: figment::Error, file: &str) -> ConfigError {
    use figment::error::Kind;
    let mut path = error.path.clone();
    let message = match &error.kind {
        Kind::UnknownField(field, expected) => {
            if path.last() != Some(field) {
                path.push(field.clone());
            }
            format!(
                "unknown key (misspelt?); keys here: {}",
                expected.join(", ")
            )
        }
        Kind::MissingField(field) => {
            if path.last().map(String::as_str) != Some(field.as_ref()) {
                path.push(field.to_string());
            }
            "is required".to_owned()
        }
        other => other.to_string(),
    };
    if path.is_empty() {
        return ConfigError::Parse(format!("{message} (in {file})"));
    }
    let variable = format!("{ENV_PREFIX}{}", path.join("__").to_ascii_uppercase());
    let from_env = error
        .metadata
        .as_ref()
        .is_some_and(|metadata| metadata.name.contains("environment"));
    let origin = if matches!(error.kind, Kind::MissingField(_)) {
        format!("add it to {file} or set {variable}")
    } else if from_env {
        format!("set by the environment variable {variable}")
    } else {
        format!("in {file}")
    };
    invalid(path.join("."), format!("{message} ({origin})"))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default = "default_listen", deserialize_with = "text")]
    listen: String,
    #[serde(default = "default_database")]
    database: PathBuf,
    #[serde(default = "default_assets")]
    assets: PathBuf,
    #[serde(default = "default_poll_ms")]
    status_poll_interval_ms: u64,
    #[serde(default = "default_retention_days")]
    retention_days: u64,
    #[serde(default = "default_upstream_deadline_hours")]
    upstream_deadline_hours: u64,
    #[serde(default)]
    trusted_proxies: Vec<String>,
    #[serde(default = "default_client_ip_header", deserialize_with = "text")]
    client_ip_header: String,
    #[serde(default = "default_max_open_streams")]
    max_open_streams: usize,
    #[serde(default = "default_max_streams_per_ip")]
    max_streams_per_ip: usize,
    #[serde(default = "default_status_ttl_hours")]
    status_ttl_hours: u64,
    #[serde(default = "default_upstream_check_interval_seconds")]
    upstream_check_interval_seconds: u64,
    #[serde(default)]
    sites: HashMap<String, RawSite>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    allowed_origins: Vec<String>,
    #[serde(default = "default_upstream", deserialize_with = "text")]
    upstream: String,
    #[serde(deserialize_with = "text")]
    unique: String,
    api_key_env: Option<String>,
    api_key_file: Option<PathBuf>,
    #[serde(default, deserialize_with = "optional_text")]
    whash: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    walias: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    display_name: Option<String>,
    #[serde(default)]
    locale: Option<String>,
    #[serde(default, deserialize_with = "text")]
    title: String,
    #[serde(default = "default_color")]
    color: String,
    #[serde(default = "default_position")]
    position: String,
    #[serde(default = "default_country_code", deserialize_with = "text")]
    country_code: String,
    #[serde(default)]
    offices: Vec<String>,
    #[serde(default, deserialize_with = "quoted_text")]
    utc: Option<String>,
    #[serde(default, deserialize_with = "quoted_text")]
    opening_hours: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    text_to_manager: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    info_to_manager: Option<String>,
    notification: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    tool_name: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    interval: Option<String>,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default = "default_balance_warn_minutes")]
    balance_warn_minutes: u32,
    consent: Option<RawConsent>,
    #[serde(default)]
    texts: RawTexts,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsent {
    #[serde(deserialize_with = "text")]
    version: String,
    link: Option<String>,
    #[serde(default = "default_true")]
    required: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawTexts {
    ru: std::collections::BTreeMap<String, String>,
    en: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawLimits {
    number_cooldown_minutes: u64,
    number_per_day: u32,
    site_per_hour: u32,
    site_per_day: u32,
    ip_burst: u32,
    ip_per_minute: u32,
}

impl Default for RawLimits {
    fn default() -> Self {
        let limits = Limits::default();
        Self {
            number_cooldown_minutes: limits.number_cooldown.as_secs() / 60,
            number_per_day: limits.number_per_day,
            site_per_hour: limits.site_per_hour,
            site_per_day: limits.site_per_day,
            ip_burst: limits.ip_burst,
            ip_per_minute: limits.ip_per_minute,
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:8080".to_owned()
}
fn default_database() -> PathBuf {
    PathBuf::from("callback-proxy.db")
}
fn default_assets() -> PathBuf {
    PathBuf::from("dist")
}
fn default_poll_ms() -> u64 {
    2_000
}
fn default_retention_days() -> u64 {
    90
}
fn default_upstream_deadline_hours() -> u64 {
    24
}
fn default_client_ip_header() -> String {
    "X-Forwarded-For".to_owned()
}
fn default_max_open_streams() -> usize {
    1000
}
fn default_max_streams_per_ip() -> usize {
    10
}
fn default_status_ttl_hours() -> u64 {
    24
}
fn default_upstream_check_interval_seconds() -> u64 {
    300
}
fn default_balance_warn_minutes() -> u32 {
    60
}
fn default_upstream() -> String {
    "https://api.callkeeper.ru".to_owned()
}
fn default_true() -> bool {
    true
}
fn default_color() -> String {
    "#0b6bcb".to_owned()
}
fn default_position() -> String {
    "right".to_owned()
}
fn default_country_code() -> String {
    "7".to_owned()
}

/// A string that may arrive as a number: an environment value such as
/// `PROXY_SITES__SHOP__COUNTRY_CODE=7` is read as TOML, so `7` is an integer.
fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    struct Text;
    impl serde::de::Visitor<'_> for Text {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<String, E> {
            Ok(text.to_owned())
        }
        fn visit_u64<E: serde::de::Error>(self, number: u64) -> Result<String, E> {
            Ok(number.to_string())
        }
        fn visit_i64<E: serde::de::Error>(self, number: i64) -> Result<String, E> {
            Ok(number.to_string())
        }
    }
    deserializer.deserialize_any(Text)
}

/// A string that must be written as one, because as a number it would lose
/// its meaning (`09001800` read as the number 9001800).
fn quoted_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    struct Quoted;
    impl serde::de::Visitor<'_> for Quoted {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(
                "a quoted string (in an environment variable, put the quotes in the value: '\"09001800\"')",
            )
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<String, E> {
            Ok(text.to_owned())
        }
    }
    deserializer.deserialize_any(Quoted).map(Some)
}

fn optional_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    text(deserializer).map(Some)
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
        let trusted_proxies = raw
            .trusted_proxies
            .iter()
            .map(|proxy| {
                proxy.trim().parse().map_err(|_| {
                    invalid(
                        "trusted_proxies",
                        format!(
                            "{proxy:?} is not an IP address like 10.0.0.1 or ::1 (ranges are not supported)"
                        ),
                    )
                })
            })
            .collect::<Result<Vec<IpAddr>, _>>()?;
        if HeaderName::from_bytes(raw.client_ip_header.as_bytes()).is_err() {
            return Err(invalid(
                "client_ip_header",
                format!(
                    "{:?} is not a header name like X-Forwarded-For",
                    raw.client_ip_header
                ),
            ));
        }
        let at_least_one = |key: &str, value: u64| {
            if value == 0 {
                Err(invalid(key, "must be at least 1"))
            } else {
                Ok(value)
            }
        };
        let retention_days = at_least_one("retention_days", raw.retention_days)?;
        let deadline_hours = at_least_one("upstream_deadline_hours", raw.upstream_deadline_hours)?;
        at_least_one("max_open_streams", raw.max_open_streams as u64)?;
        at_least_one("max_streams_per_ip", raw.max_streams_per_ip as u64)?;
        at_least_one("status_ttl_hours", raw.status_ttl_hours)?;
        let check_seconds = at_least_one(
            "upstream_check_interval_seconds",
            raw.upstream_check_interval_seconds,
        )?;
        if raw.sites.is_empty() {
            return Err(invalid(
                "sites",
                "no site is configured; add a [sites.NAME] table",
            ));
        }
        let mut sites = HashMap::new();
        for (id, site) in raw.sites {
            let site = Site::from_raw(&id, site, &env)?;
            sites.insert(id, site);
        }
        Ok(Self {
            listen,
            database: raw.database,
            assets: raw.assets,
            status_poll_interval: Duration::from_millis(raw.status_poll_interval_ms.max(10)),
            retention: Duration::from_secs(retention_days.saturating_mul(24 * 3600)),
            upstream_deadline: Duration::from_secs(deadline_hours.saturating_mul(3600)),
            trusted_proxies,
            client_ip_header: raw.client_ip_header,
            max_open_streams: raw.max_open_streams,
            max_streams_per_ip: raw.max_streams_per_ip,
            status_ttl: Duration::from_secs(raw.status_ttl_hours.saturating_mul(3600)),
            upstream_check_interval: Duration::from_secs(check_seconds),
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
            let colour = &site.color;
            let white = contrast_ratio(colour, "#ffffff");
            if white < MIN_CONTRAST {
                warnings.push(format!(
                    "sites.{id}.color: white text on {colour} has a contrast of {white:.1}:1, \
                     under the {MIN_CONTRAST}:1 that WCAG 2.1 AA asks; the widget writes black \
                     text on it instead ({black:.1}:1). Choose a darker colour to keep white text.",
                    black = contrast_ratio(colour, "#000000"),
                ));
            }
        }
        warnings
    }

    /// A few lines on what this configuration does, for `proxy check-config`.
    /// Never includes a key.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "listen {}", self.listen);
        let _ = writeln!(
            out,
            "lead store {}, widget files {}",
            self.database.display(),
            self.assets.display()
        );
        let _ = writeln!(
            out,
            "personal data kept {} days; a lead is retried for {} hours while CallKeeper is unreachable",
            self.retention.as_secs() / (24 * 3600),
            self.upstream_deadline.as_secs() / 3600
        );
        if self.trusted_proxies.is_empty() {
            let _ = writeln!(out, "client address: the connection's (no trusted proxies)");
        } else {
            let proxies: Vec<String> = self.trusted_proxies.iter().map(IpAddr::to_string).collect();
            let _ = writeln!(
                out,
                "client address: {} when the connection comes from {}",
                self.client_ip_header,
                proxies.join(", ")
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

impl Site {
    fn from_raw(
        id: &str,
        raw: RawSite,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let key = |name: &str| format!("sites.{id}.{name}");
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(
                format!("sites.{id}"),
                "a site id may contain only letters, digits, - and _",
            ));
        }
        if raw.allowed_origins.is_empty() {
            return Err(invalid(
                key("allowed_origins"),
                "list at least one origin, like [\"https://example.com\"]",
            ));
        }
        for origin in &raw.allowed_origins {
            let parsed = Url::parse(origin).map_err(|_| {
                invalid(
                    key("allowed_origins"),
                    format!("{origin:?} is not an origin like https://example.com"),
                )
            })?;
            if parsed.origin().ascii_serialization() != *origin {
                return Err(invalid(
                    key("allowed_origins"),
                    format!(
                        "{origin:?} must be an origin only: scheme, host and port, no path or trailing slash"
                    ),
                ));
            }
        }
        let upstream = Url::parse(&raw.upstream)
            .map_err(|_| invalid(key("upstream"), format!("{:?} is not a URL", raw.upstream)))?;
        let (secret, secret_key) = match (&raw.api_key_env, &raw.api_key_file) {
            (Some(var), None) => (env(var).ok_or_else(|| {
                invalid(key("api_key_env"), format!("the environment variable {var} is not set; export the CallKeeper Profile key in it"))
            })?, "api_key_env"),
            (None, Some(file)) => (std::fs::read_to_string(file)
                .map_err(|e| invalid(key("api_key_file"), format!("cannot read {}: {e}", file.display())))?, "api_key_file"),
            _ => {
                return Err(invalid(
                    key("api_key_env"),
                    "set exactly one of api_key_env or api_key_file (the key itself never goes in the config)",
                ));
            }
        };
        let api_key = ApiKey::parse(secret.trim()).map_err(|e| {
            invalid(
                key(secret_key),
                format!("the CallKeeper Profile key is not valid: {e}"),
            )
        })?;
        let widget = match (raw.whash, raw.walias) {
            (Some(hash), None) => {
                WidgetRef::hash(&hash).map_err(|e| invalid(key("whash"), e.to_string()))?
            }
            (None, Some(alias)) => {
                WidgetRef::alias(&alias).map_err(|e| invalid(key("walias"), e.to_string()))?
            }
            _ => return Err(invalid(key("whash"), "set exactly one of whash or walias")),
        };
        if raw.unique.is_empty() {
            return Err(invalid(
                key("unique"),
                "the CallKeeper company name (unique) is empty",
            ));
        }
        if raw
            .locale
            .as_deref()
            .is_some_and(|locale| !matches!(locale, "ru" | "en"))
        {
            return Err(invalid(
                key("locale"),
                "use \"ru\" or \"en\" (or leave it out: the widget then follows the page's language)",
            ));
        }
        if !is_hex_colour(&raw.color) {
            return Err(invalid(key("color"), "use a colour like \"#0b6bcb\""));
        }
        if !matches!(raw.position.as_str(), "right" | "left") {
            return Err(invalid(key("position"), "use \"right\" or \"left\""));
        }
        let utc = raw
            .utc
            .as_deref()
            .map(Utc::parse)
            .transpose()
            .map_err(|e| invalid(key("utc"), e.to_string()))?;
        let opening_hours = raw
            .opening_hours
            .as_deref()
            .map(OpeningHours::parse)
            .transpose()
            .map_err(|e| invalid(key("opening_hours"), e.to_string()))?;
        if opening_hours.is_some_and(|hours| hours.is_always_closed()) {
            return Err(invalid(
                key("opening_hours"),
                "every day is closed, so CallKeeper would cancel every call; remove the key or open some hours",
            ));
        }
        let interval = raw
            .interval
            .as_deref()
            .map(Interval::parse)
            .transpose()
            .map_err(|e| invalid(key("interval"), e.to_string()))?;
        for (name, template) in [
            ("text_to_manager", &raw.text_to_manager),
            ("info_to_manager", &raw.info_to_manager),
        ] {
            if let Some(template) = template {
                check_template(template).map_err(|message| invalid(key(name), message))?;
            }
        }
        if let Some(email) = &raw.notification
            && !looks_like_email(email)
        {
            return Err(invalid(
                key("notification"),
                format!("{email:?} is not an e-mail address like calls@example.com"),
            ));
        }
        if raw
            .tool_name
            .as_ref()
            .is_some_and(|name| name.trim().is_empty() || name.chars().count() > 100)
        {
            return Err(invalid(key("tool_name"), "use 1 to 100 characters"));
        }
        let limits = Limits::from_raw(&raw.limits, &|name| key(&format!("limits.{name}")))?;
        let consent = raw
            .consent
            .map(|consent| check_consent(consent, &|name| key(&format!("consent.{name}"))))
            .transpose()?;
        for (language, texts) in [("ru", &raw.texts.ru), ("en", &raw.texts.en)] {
            check_texts(texts, &|name| key(&format!("texts.{language}.{name}")))?;
        }
        Ok(Self {
            id: id.to_owned(),
            allowed_origins: raw.allowed_origins,
            upstream,
            credentials: Credentials {
                unique: raw.unique,
                key: api_key,
                widget,
            },
            display_name: raw.display_name.unwrap_or_else(|| id.to_owned()),
            locale: raw.locale.clone().unwrap_or_else(|| "ru".to_owned()),
            widget_locale: raw.locale,
            title: raw.title,
            color: raw.color,
            position: raw.position,
            country_code: raw.country_code,
            offices: raw.offices,
            utc,
            opening_hours,
            text_to_manager: raw.text_to_manager,
            info_to_manager: raw.info_to_manager,
            notification: raw.notification,
            tool_name: raw.tool_name,
            interval,
            limits,
            balance_warn_minutes: raw.balance_warn_minutes,
            consent,
            texts: protocol::SiteTexts {
                ru: raw.texts.ru,
                en: raw.texts.en,
            },
        })
    }

    /// Whether a page of `origin` may use this site's widget.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|allowed| allowed == origin)
    }

    /// Fills an IVR template ([`Site::text_to_manager`], [`Site::info_to_manager`]):
    /// `{site}` becomes the display name, `{page}` the page the visitor ordered
    /// from and `{office}` the office they chose; an absent value becomes nothing.
    pub fn ivr_text(&self, template: &str, page: Option<&str>, office: Option<&str>) -> String {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let after = &rest[start..];
            let Some(end) = after.find('}') else {
                break;
            };
            match &after[1..end] {
                "site" => out.push_str(&self.display_name),
                "page" => out.push_str(page.unwrap_or_default()),
                "office" => out.push_str(office.unwrap_or_default()),
                // Validation refuses other names; keep the text if one slips in.
                _ => out.push_str(&after[..=end]),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// The longest consent version (the proxy refuses longer ones in requests).
const MAX_CONSENT_VERSION: usize = 64;
/// The longest text a site may give the widget.
const MAX_TEXT_CHARS: usize = 500;

fn check_consent(
    raw: RawConsent,
    key: &impl Fn(&str) -> String,
) -> Result<protocol::ConsentConfig, ConfigError> {
    if raw.version.trim().is_empty() || raw.version.len() > MAX_CONSENT_VERSION {
        return Err(invalid(
            key("version"),
            "name the version of your consent text in 1 to 64 characters, like \"2024-05\"; \
             each lead records which version the visitor accepted",
        ));
    }
    if let Some(link) = &raw.link {
        let scheme = Url::parse(link).map(|url| url.scheme().to_owned());
        if !matches!(scheme.as_deref(), Ok("https" | "http")) {
            return Err(invalid(
                key("link"),
                format!("{link:?} is not a web address like https://example.com/privacy"),
            ));
        }
    }
    Ok(protocol::ConsentConfig {
        version: raw.version,
        link: raw.link,
        required: raw.required,
    })
}

/// A site's texts: known keys, each with some text that is not too long.
fn check_texts(
    texts: &std::collections::BTreeMap<String, String>,
    key: &impl Fn(&str) -> String,
) -> Result<(), ConfigError> {
    for (name, text) in texts {
        if !protocol::TEXT_KEYS.contains(&name.as_str()) {
            return Err(invalid(
                key(name),
                format!(
                    "unknown text (misspelt?); the widget's texts are: {}",
                    protocol::TEXT_KEYS.join(", ")
                ),
            ));
        }
        if text.trim().is_empty() || text.chars().count() > MAX_TEXT_CHARS {
            return Err(invalid(
                key(name),
                "write 1 to 500 characters, or remove the key to keep the widget's own text",
            ));
        }
    }
    Ok(())
}

/// WCAG's relative luminance of a `#rrggbb` colour.
fn relative_luminance(colour: &str) -> f64 {
    let channel = |at: usize| {
        let value = f64::from(u8::from_str_radix(&colour[at..at + 2], 16).unwrap_or(0)) / 255.0;
        if value <= 0.040_45 {
            value / 12.92
        } else {
            ((value + 0.055) / 1.055).powf(2.4)
        }
    };
    0.0722f64.mul_add(
        channel(5),
        0.2126f64.mul_add(channel(1), 0.7152 * channel(3)),
    )
}

/// WCAG's contrast ratio of two `#rrggbb` colours (1 to 21).
pub fn contrast_ratio(a: &str, b: &str) -> f64 {
    let (a, b) = (relative_luminance(a), relative_luminance(b));
    (a.max(b) + 0.05) / (a.min(b) + 0.05)
}

/// The contrast WCAG 2.1 AA asks of text (1.4.3).
pub const MIN_CONTRAST: f64 = 4.5;

/// The placeholders an IVR template may use.
const PLACEHOLDERS: [&str; 3] = ["site", "page", "office"];

/// Checks that a template's only `{…}` are the known placeholders.
fn check_template(template: &str) -> Result<(), String> {
    if template.trim().is_empty() {
        return Err("the text is empty; remove the key or write what to say".to_owned());
    }
    let mut rest = template;
    while let Some(start) = rest.find(['{', '}']) {
        let after = &rest[start..];
        if after.starts_with('}') {
            return Err("a '}' without its '{'".to_owned());
        }
        let end = after
            .find('}')
            .ok_or_else(|| "a '{' is not closed; placeholders look like {site}".to_owned())?;
        let name = &after[1..end];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "unknown placeholder {{{name}}}; use {{site}}, {{page}} or {{office}}"
            ));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

impl Limits {
    fn from_raw(raw: &RawLimits, key: &impl Fn(&str) -> String) -> Result<Self, ConfigError> {
        for (name, value) in [
            ("number_per_day", raw.number_per_day),
            ("site_per_hour", raw.site_per_hour),
            ("site_per_day", raw.site_per_day),
            ("ip_burst", raw.ip_burst),
            ("ip_per_minute", raw.ip_per_minute),
        ] {
            if value == 0 {
                return Err(invalid(
                    key(name),
                    "must be at least 1 (0 would refuse every callback)",
                ));
            }
        }
        Ok(Self {
            number_cooldown: Duration::from_secs(raw.number_cooldown_minutes.saturating_mul(60)),
            number_per_day: raw.number_per_day,
            site_per_hour: raw.site_per_hour,
            site_per_day: raw.site_per_day,
            ip_burst: raw.ip_burst,
            ip_per_minute: raw.ip_per_minute,
        })
    }
}

impl fmt::Display for Limits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "per number 1 per {} min and {}/day; per site {}/hour and {}/day; per address {} at once, {}/min",
            self.number_cooldown.as_secs() / 60,
            self.number_per_day,
            self.site_per_hour,
            self.site_per_day,
            self.ip_burst,
            self.ip_per_minute
        )
    }
}

fn looks_like_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && value.len() <= 254
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn is_hex_colour(value: &str) -> bool {
    value.len() == 7 && value.starts_with('#') && value[1..].chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";
    const WHASH: &str = "96d6ec6937c878c2ca1f889b9b9e865a";

    fn site_toml(extra: &str) -> String {
        format!(
            "[sites.shop]\nallowed_origins = [\"https://shop.example\"]\nunique = \"shop\"\napi_key_env = \"SHOP_KEY\"\nwhash = \"{WHASH}\"\n{extra}"
        )
    }

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, |_| Some(KEY.to_owned()))
    }

    /// The error's key, or a panic naming what loaded instead.
    fn error_key(text: &str) -> String {
        match parse(text) {
            Err(ConfigError::Invalid { key, .. }) => key,
            Err(other) => panic!("expected an error naming a key, got {other}"),
            Ok(_) => panic!("expected an error for:\n{text}"),
        }
    }

    #[test]
    fn a_valid_config_loads_with_the_key_from_the_environment() {
        let config = parse(&site_toml("")).expect("valid");
        let site = &config.sites["shop"];
        assert!(site.allows_origin("https://shop.example"));
        assert!(!site.allows_origin("https://evil.example"));
        assert!(
            !format!("{config:?}").contains(KEY),
            "Debug must not print the key"
        );
        assert!(!config.summary().contains(KEY), "nor the summary");
    }

    #[test]
    fn defaults_apply_to_every_optional_key() {
        let config = parse(&site_toml("")).expect("valid");
        assert_eq!(config.listen, "127.0.0.1:8080".parse().expect("address"));
        assert_eq!(config.retention, Duration::from_secs(90 * 24 * 3600));
        assert_eq!(config.upstream_deadline, Duration::from_secs(24 * 3600));
        assert!(config.trusted_proxies.is_empty());
        assert_eq!(config.client_ip_header, "X-Forwarded-For");
        assert_eq!(config.max_open_streams, 1000);
        assert_eq!(config.max_streams_per_ip, 10);
        let site = &config.sites["shop"];
        assert_eq!(site.display_name, "shop");
        assert_eq!(site.utc, None);
        assert_eq!(site.opening_hours, None);
        assert_eq!(site.interval, None);
        assert_eq!(
            site.limits,
            Limits {
                number_cooldown: Duration::from_secs(300),
                number_per_day: 3,
                site_per_hour: 60,
                site_per_day: 500,
                ip_burst: 5,
                ip_per_minute: 10,
            }
        );
    }

    #[test]
    fn every_new_key_is_read_into_its_type() {
        let text = format!(
            "retention_days = 30\nupstream_deadline_hours = 6\ntrusted_proxies = [\"10.0.0.1\", \"::1\"]\n\
             client_ip_header = \"X-Real-IP\"\nmax_open_streams = 50\nmax_streams_per_ip = 2\n{}",
            site_toml(
                "utc = \"Europe/Moscow\"\nopening_hours = \"09001800\"\ninterval = \"5,10\"\n\
                 text_to_manager = \"Call from {site}, page {page}\"\ninfo_to_manager = \"Office {office}\"\n\
                 notification = \"calls@shop.example\"\ntool_name = \"header form\"\n\
                 [sites.shop.limits]\nip_burst = 2\nnumber_cooldown_minutes = 0\n"
            )
        );
        let config = parse(&text).expect("valid");
        assert_eq!(config.retention, Duration::from_secs(30 * 24 * 3600));
        assert_eq!(config.upstream_deadline, Duration::from_secs(6 * 3600));
        assert_eq!(
            config.trusted_proxies,
            [
                "10.0.0.1".parse::<IpAddr>().expect("ip"),
                "::1".parse().expect("ip")
            ]
        );
        assert_eq!(config.client_ip_header, "X-Real-IP");
        let site = &config.sites["shop"];
        assert_eq!(site.utc.as_ref().and_then(Utc::offset_minutes), Some(180));
        assert_eq!(
            site.opening_hours.map(|h| h.to_string()).as_deref(),
            Some("09001800")
        );
        assert_eq!(
            site.interval.as_ref().map(Interval::minutes),
            Some(&[5, 10][..])
        );
        assert_eq!(site.notification.as_deref(), Some("calls@shop.example"));
        assert_eq!(site.tool_name.as_deref(), Some("header form"));
        assert_eq!(site.limits.ip_burst, 2);
        assert_eq!(site.limits.number_cooldown, Duration::ZERO);
        assert_eq!(
            site.limits.ip_per_minute, 10,
            "the others keep their defaults"
        );
    }

    #[test]
    fn the_balance_warning_and_upstream_check_default_and_can_be_set() {
        let config = parse(&site_toml("")).expect("valid");
        assert_eq!(config.upstream_check_interval, Duration::from_secs(300));
        assert_eq!(config.sites["shop"].balance_warn_minutes, 60);

        let text = format!(
            "upstream_check_interval_seconds = 30\n{}",
            site_toml("balance_warn_minutes = 0")
        );
        let config = parse(&text).expect("valid");
        assert_eq!(config.upstream_check_interval, Duration::from_secs(30));
        assert_eq!(
            config.sites["shop"].balance_warn_minutes, 0,
            "0 turns the warning off"
        );

        let zero = format!("upstream_check_interval_seconds = 0\n{}", site_toml(""));
        assert_eq!(error_key(&zero), "upstream_check_interval_seconds");
        assert_eq!(
            error_key(&site_toml("balance_warn_minutes = -5")),
            "sites.shop.balance_warn_minutes"
        );
    }

    #[test]
    fn ivr_templates_fill_their_placeholders() {
        let config = parse(&site_toml("display_name = \"Shop\"")).expect("valid");
        let site = &config.sites["shop"];
        assert_eq!(
            site.ivr_text(
                "{site}: a call from {page} for {office}.",
                Some("https://shop.example/sale"),
                Some("Moscow")
            ),
            "Shop: a call from https://shop.example/sale for Moscow."
        );
        assert_eq!(
            site.ivr_text("From {site} {page}{office}!", None, None),
            "From Shop !"
        );
    }

    #[test]
    fn errors_name_the_key_at_fault() {
        let missing_env = Config::parse(&site_toml(""), |_| None).expect_err("no key");
        assert!(
            missing_env.to_string().contains("sites.shop.api_key_env"),
            "{missing_env}"
        );

        let bad_origin = site_toml("").replace("https://shop.example", "https://shop.example/");
        assert_eq!(error_key(&bad_origin), "sites.shop.allowed_origins");

        let cases = [
            (site_toml("color = \"blue\""), "sites.shop.color"),
            ("listen = \"nowhere\"\n".to_owned(), "listen"),
            (format!("listen = 8080\n{}", site_toml("")), "listen"),
            (site_toml("utc = \"Moscow time\""), "sites.shop.utc"),
            (
                site_toml("opening_hours = \"9-18\""),
                "sites.shop.opening_hours",
            ),
            (
                site_toml("opening_hours = \"00000000\""),
                "sites.shop.opening_hours",
            ),
            (site_toml("interval = \"0\""), "sites.shop.interval"),
            (
                site_toml("text_to_manager = \"Call {client}\""),
                "sites.shop.text_to_manager",
            ),
            (
                site_toml("info_to_manager = \"Open {site\""),
                "sites.shop.info_to_manager",
            ),
            (
                site_toml("notification = \"calls\""),
                "sites.shop.notification",
            ),
            (site_toml("tool_name = \" \""), "sites.shop.tool_name"),
            (
                site_toml("[sites.shop.limits]\nip_burst = 0"),
                "sites.shop.limits.ip_burst",
            ),
            (
                site_toml("[sites.shop.limits]\nsite_per_day = -1"),
                "sites.shop.limits.site_per_day",
            ),
            (
                site_toml("[sites.shop.limits]\nper_ip = 1"),
                "sites.shop.limits.per_ip",
            ),
            (
                format!("retention_days = 0\n{}", site_toml("")),
                "retention_days",
            ),
            (
                format!("upstream_deadline_hours = 0\n{}", site_toml("")),
                "upstream_deadline_hours",
            ),
            (
                format!("trusted_proxies = [\"10.0.0.0/8\"]\n{}", site_toml("")),
                "trusted_proxies",
            ),
            (
                format!("client_ip_header = \"X Forwarded\"\n{}", site_toml("")),
                "client_ip_header",
            ),
            (
                format!("max_streams_per_ip = 0\n{}", site_toml("")),
                "max_streams_per_ip",
            ),
            (
                site_toml("").replace("unique = \"shop\"\n", ""),
                "sites.shop.unique",
            ),
            (
                site_toml("").replace(WHASH, "not-a-hash"),
                "sites.shop.whash",
            ),
            ("".to_owned(), "sites"),
        ];
        for (text, key) in cases {
            assert_eq!(error_key(&text), key, "for:\n{text}");
        }
    }

    #[test]
    fn consent_and_texts_are_read_and_checked() {
        let config = parse(&site_toml(
            "locale = \"en\"\n[sites.shop.consent]\nversion = \"2024-05\"\nlink = \"https://shop.example/privacy\"\n\
             [sites.shop.texts.ru]\ntitle = \"Перезвоним\"\n[sites.shop.texts.en]\nsubmit = \"Ring me\"\n",
        ))
        .expect("valid");
        let site = &config.sites["shop"];
        assert_eq!(
            site.consent,
            Some(protocol::ConsentConfig {
                version: "2024-05".to_owned(),
                link: Some("https://shop.example/privacy".to_owned()),
                required: true,
            }),
            "required unless said otherwise"
        );
        assert_eq!(site.texts.ru["title"], "Перезвоним");
        assert_eq!(site.texts.en["submit"], "Ring me");
        assert_eq!(site.widget_locale.as_deref(), Some("en"));

        let unset = parse(&site_toml("")).expect("valid");
        assert_eq!(unset.sites["shop"].widget_locale, None, "the page decides");
        assert_eq!(unset.sites["shop"].locale, "ru", "the proxy's messages");

        for (extra, key) in [
            (
                "[sites.shop.texts.en]\ntitel = \"x\"",
                "sites.shop.texts.en.titel",
            ),
            (
                "[sites.shop.texts.ru]\ntitle = \" \"",
                "sites.shop.texts.ru.title",
            ),
            (
                "[sites.shop.texts.de]\ntitle = \"x\"",
                "sites.shop.texts.de",
            ),
            (
                "[sites.shop.consent]\nversion = \"\"",
                "sites.shop.consent.version",
            ),
            (
                "[sites.shop.consent]\nrequired = true",
                "sites.shop.consent.version",
            ),
            (
                "[sites.shop.consent]\nversion = \"1\"\nlink = \"javascript:alert(1)\"",
                "sites.shop.consent.link",
            ),
            ("locale = \"de\"", "sites.shop.locale"),
        ] {
            assert_eq!(error_key(&site_toml(extra)), key, "for {extra}");
        }
        let unknown = parse(&site_toml("[sites.shop.texts.en]\ntitel = \"x\""))
            .expect_err("unknown text")
            .to_string();
        assert!(
            unknown.contains("title, phone"),
            "lists the keys: {unknown}"
        );
    }

    #[test]
    fn a_colour_white_text_cannot_be_read_on_is_warned_about() {
        assert!((contrast_ratio("#ffffff", "#000000") - 21.0).abs() < 1e-9);
        assert!((contrast_ratio("#777777", "#ffffff") - 4.48).abs() < 0.01);
        let hours = "opening_hours = \"09001800\"\nutc = \"Europe/Moscow\"\n";
        assert!(
            parse(&site_toml(hours))
                .expect("valid")
                .warnings()
                .is_empty()
        );
        let yellow = parse(&site_toml(&format!("{hours}color = \"#ffd700\""))).expect("valid");
        let warnings = yellow.warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0]
                .starts_with("sites.shop.color: white text on #ffd700 has a contrast of 1.4:1"),
            "{warnings:?}"
        );
    }

    #[test]
    fn missing_hours_or_zone_are_warned_about() {
        let none = parse(&site_toml("")).expect("valid").warnings();
        assert!(
            none.len() == 1 && none[0].starts_with("sites.shop.opening_hours is not set"),
            "{none:?}"
        );
        let no_zone = parse(&site_toml("opening_hours = \"09001800\""))
            .expect("valid")
            .warnings();
        assert!(
            no_zone.len() == 1 && no_zone[0].starts_with("sites.shop.utc is not set"),
            "{no_zone:?}"
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let error = parse(&site_toml("apiak = \"inline\"")).expect_err("unknown");
        assert!(error.to_string().contains("sites.shop.apiak"), "{error}");
    }

    #[test]
    fn malformed_toml_says_so() {
        let error = parse("listen = ").expect_err("not TOML");
        assert!(matches!(error, ConfigError::Parse(_)), "{error}");
    }

    /// Loads `toml` as `proxy serve` does, with `env` set: in a figment jail,
    /// a temporary directory whose environment changes are undone at its end
    /// (jails run one at a time).
    #[expect(
        clippy::result_large_err,
        reason = "figment::Jail's closure returns figment's error"
    )]
    fn load_with_env(toml: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut loaded = None;
        figment::Jail::expect_with(|jail| {
            jail.create_file("proxy.toml", toml)?;
            jail.set_env("SHOP_KEY", KEY);
            for (name, value) in env {
                jail.set_env(name, value);
            }
            loaded = Some(Config::load(&jail.directory().join("proxy.toml")));
            Ok(())
        });
        loaded.expect("the jail ran")
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let config = load_with_env(
            &site_toml("country_code = \"7\""),
            &[
                ("PROXY_LISTEN", "0.0.0.0:9000"),
                ("PROXY_RETENTION_DAYS", "30"),
                ("PROXY_TRUSTED_PROXIES", "[10.0.0.1, 10.0.0.2]"),
                ("PROXY_SITES__SHOP__UPSTREAM", "http://127.0.0.1:8082"),
                ("PROXY_SITES__SHOP__COUNTRY_CODE", "375"),
                ("PROXY_SITES__SHOP__OPENING_HOURS", "\"09001800\""),
                ("PROXY_SITES__SHOP__LIMITS__IP_BURST", "3"),
                ("PROXY_CONFIG", "proxy.toml"),
            ],
        )
        .expect("valid");
        assert_eq!(config.listen, "0.0.0.0:9000".parse().expect("address"));
        assert_eq!(config.retention, Duration::from_secs(30 * 24 * 3600));
        assert_eq!(config.trusted_proxies.len(), 2);
        let site = &config.sites["shop"];
        assert_eq!(site.upstream.as_str(), "http://127.0.0.1:8082/");
        assert_eq!(site.country_code, "375");
        assert!(site.opening_hours.is_some());
        assert_eq!(site.limits.ip_burst, 3);
        assert_eq!(site.limits.ip_per_minute, 10, "the rest of the table stays");
    }

    #[test]
    fn a_bad_override_names_its_key_and_variable() {
        let error = load_with_env(
            &site_toml(""),
            &[("PROXY_SITES__SHOP__LIMITS__IP_BURST", "many")],
        )
        .expect_err("not a number");
        let text = error.to_string();
        assert!(text.contains("`sites.shop.limits.ip_burst`"), "{text}");
        assert!(
            text.contains("PROXY_SITES__SHOP__LIMITS__IP_BURST"),
            "{text}"
        );

        let error = load_with_env(
            &site_toml(""),
            &[("PROXY_SITES__SHOP__OPENING_HOURS", "09001800")],
        )
        .expect_err("read as the number 9001800");
        let text = error.to_string();
        assert!(text.contains("`sites.shop.opening_hours`"), "{text}");
        assert!(text.contains("quotes"), "says how to write it: {text}");

        let error =
            load_with_env(&site_toml(""), &[("PROXY_LISTN", "0.0.0.0:80")]).expect_err("misspelt");
        assert!(error.to_string().contains("`listn`"), "{error}");
    }

    #[test]
    fn a_missing_file_is_named() {
        let error = Config::load(Path::new("/nonexistent/proxy.toml")).expect_err("missing");
        assert!(
            error.to_string().contains("/nonexistent/proxy.toml"),
            "{error}"
        );
    }
}
