//! The configuration as written: what serde reads from the TOML file and the
//! `PROXY_…` variables, before any check. Defaults live here, in `Default`
//! impls; [`super::site`] and [`super::Config`] turn these into checked types.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer};

use super::Limits;
use crate::serve::ServeLimits;

/// The top level of the file. Every key is optional.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawConfig {
    #[serde(deserialize_with = "text")]
    pub(super) listen: String,
    #[serde(deserialize_with = "text")]
    pub(super) admin_listen: String,
    pub(super) database: PathBuf,
    pub(super) assets: Option<PathBuf>,
    pub(super) public_url: Option<String>,
    pub(super) status_poll_interval_ms: u64,
    pub(super) retention_days: u64,
    pub(super) upstream_deadline_hours: u64,
    pub(super) trusted_proxies: Vec<String>,
    #[serde(deserialize_with = "text")]
    pub(super) client_ip_header: String,
    pub(super) reads_per_minute: u32,
    pub(super) status_polls_per_minute: u32,
    pub(super) max_open_streams: usize,
    pub(super) max_streams_per_ip: usize,
    pub(super) max_stream_seconds: u64,
    pub(super) status_ttl_hours: u64,
    pub(super) upstream_check_interval_seconds: u64,
    pub(super) allow_readable_key_file: bool,
    pub(super) server: RawServer,
    pub(super) store: RawStore,
    pub(super) console: super::console::RawConsole,
    pub(super) sites: HashMap<String, RawSite>,
}

/// `[store]`: where the leads are kept. `url` unset: the SQLite file
/// `database` (the embedded default).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawStore {
    pub(super) url: Option<String>,
}

/// `[server]`: how much one listener takes; defaults from [`ServeLimits::default`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawServer {
    pub(super) header_read_timeout_seconds: u64,
    pub(super) request_timeout_seconds: u64,
    pub(super) max_connections: usize,
    pub(super) max_connections_per_ip: usize,
    pub(super) max_requests_in_flight: usize,
}

impl Default for RawServer {
    fn default() -> Self {
        let limits = ServeLimits::default();
        Self {
            header_read_timeout_seconds: limits.header_read_timeout.as_secs(),
            request_timeout_seconds: limits.request_timeout.as_secs(),
            max_connections: limits.max_connections,
            max_connections_per_ip: limits.max_connections_per_ip,
            max_requests_in_flight: limits.max_requests_in_flight,
        }
    }
}

impl Default for RawConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            admin_listen: "127.0.0.1:9090".to_owned(),
            database: PathBuf::from("callback-proxy.db"),
            assets: None,
            public_url: None,
            status_poll_interval_ms: 2_000,
            retention_days: 90,
            upstream_deadline_hours: 24,
            trusted_proxies: Vec::new(),
            client_ip_header: "X-Forwarded-For".to_owned(),
            reads_per_minute: 60,
            status_polls_per_minute: 600,
            max_open_streams: 1000,
            max_streams_per_ip: 10,
            max_stream_seconds: 1800,
            status_ttl_hours: 24,
            upstream_check_interval_seconds: 300,
            allow_readable_key_file: false,
            server: RawServer::default(),
            store: RawStore::default(),
            console: super::console::RawConsole::default(),
            sites: HashMap::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
/// One `[sites.NAME]` table. `allowed_origins` and `unique` are required,
/// so this table cannot take its defaults from a `Default` impl as the others
/// do: the keys with a default name their function below.
pub(super) struct RawSite {
    pub(super) allowed_origins: Vec<String>,
    #[serde(default = "default_upstream", deserialize_with = "text")]
    pub(super) upstream: String,
    #[serde(default = "default_upstream_timeout_seconds")]
    pub(super) upstream_timeout_seconds: u64,
    #[serde(deserialize_with = "text")]
    pub(super) unique: String,
    pub(super) api_key_env: Option<String>,
    pub(super) api_key_file: Option<PathBuf>,
    #[serde(default, deserialize_with = "optional_text")]
    pub(super) whash: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    pub(super) walias: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    pub(super) display_name: Option<String>,
    #[serde(default)]
    pub(super) locale: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub(super) title: String,
    #[serde(default = "default_color")]
    pub(super) color: String,
    #[serde(default = "default_position")]
    pub(super) position: String,
    #[serde(default = "default_country_code", deserialize_with = "text")]
    pub(super) country_code: String,
    #[serde(default)]
    pub(super) offices: Vec<String>,
    #[serde(default, deserialize_with = "quoted_text")]
    pub(super) utc: Option<String>,
    #[serde(default, deserialize_with = "quoted_text")]
    pub(super) opening_hours: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    pub(super) text_to_manager: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    pub(super) info_to_manager: Option<String>,
    pub(super) notification: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    pub(super) tool_name: Option<String>,
    #[serde(default, deserialize_with = "optional_text")]
    pub(super) interval: Option<String>,
    #[serde(default)]
    pub(super) limits: RawLimits,
    #[serde(default = "default_balance_warn_minutes")]
    pub(super) balance_warn_minutes: u32,
    pub(super) consent: Option<RawConsent>,
    #[serde(default)]
    pub(super) texts: RawTexts,
    #[serde(default)]
    pub(super) phone: crate::phone_policy::PhonePolicyConfig,
    #[serde(default)]
    pub(super) bot_checks: RawBotChecks,
    #[serde(default)]
    pub(super) challenge: RawChallenge,
    #[serde(default)]
    pub(super) invite: RawInvite,
}

/// `[sites.NAME.invite]`: the proactive invitations. Every key is optional;
/// one left out is not sent, and the widget's default (README,
/// "Invitations") applies, or the page's `data-invite-*`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawInvite {
    pub(super) exit_seconds: Option<u32>,
    pub(super) touch_exit: Option<bool>,
    pub(super) scroll_percent: Option<u32>,
    pub(super) time_seconds: Option<u32>,
    pub(super) idle_seconds: Option<u32>,
    pub(super) only: Option<Vec<String>>,
    pub(super) never: Option<Vec<String>>,
    pub(super) per_visit: Option<u32>,
    pub(super) pause_minutes: Option<u32>,
    pub(super) when_closed: Option<bool>,
}

/// `[sites.NAME.challenge]`; every key defaults to
/// [`super::ChallengeSettings::default`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawChallenge {
    pub(super) mode: super::ChallengeMode,
    pub(super) bits: u8,
    pub(super) auto_after_refusals: u32,
    pub(super) auto_for_minutes: u64,
}

impl Default for RawChallenge {
    fn default() -> Self {
        let settings = super::ChallengeSettings::default();
        Self {
            mode: settings.mode,
            bits: settings.bits,
            auto_after_refusals: settings.auto_after_refusals,
            auto_for_minutes: settings.auto_for.as_secs() / 60,
        }
    }
}

/// `[sites.NAME.bot_checks]`; every key defaults to [`super::BotChecks::default`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawBotChecks {
    pub(super) min_fill_ms: u64,
    pub(super) require_widget_header: bool,
}

impl Default for RawBotChecks {
    fn default() -> Self {
        let checks = super::BotChecks::default();
        Self {
            min_fill_ms: u64::try_from(checks.min_fill.as_millis()).unwrap_or(u64::MAX),
            require_widget_header: checks.require_widget_header,
        }
    }
}

/// `[sites.NAME.consent]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConsent {
    #[serde(deserialize_with = "text")]
    pub(super) version: String,
    pub(super) link: Option<String>,
    #[serde(default = "default_true")]
    pub(super) required: bool,
}

/// `[sites.NAME.texts]`: the site's wording, per language.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawTexts {
    pub(super) ru: BTreeMap<String, String>,
    pub(super) en: BTreeMap<String, String>,
}

/// `[sites.NAME.limits]`; every key defaults to [`Limits::default`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawLimits {
    pub(super) number_cooldown_minutes: u64,
    pub(super) number_per_day: u32,
    pub(super) site_per_hour: u32,
    pub(super) site_per_day: u32,
    pub(super) ip_burst: u32,
    pub(super) ip_per_minute: u32,
    pub(super) ip_per_day: u32,
    pub(super) network_per_day: u32,
    pub(super) suspect_share_percent: u32,
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
            ip_per_day: limits.ip_per_day,
            network_per_day: limits.network_per_day,
            suspect_share_percent: limits.suspect_share_percent,
        }
    }
}

fn default_upstream() -> String {
    "https://api.callkeeper.ru".to_owned()
}
fn default_upstream_timeout_seconds() -> u64 {
    callkeeper::REQUEST_TIMEOUT.as_secs()
}
fn default_color() -> String {
    "#0b6bcb".to_owned()
}
fn default_position() -> String {
    protocol::Position::default().as_str().to_owned()
}
fn default_country_code() -> String {
    "7".to_owned()
}
fn default_balance_warn_minutes() -> u32 {
    60
}
fn default_true() -> bool {
    true
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
