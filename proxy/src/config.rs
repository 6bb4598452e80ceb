//! The proxy's configuration: one TOML file, validated at start-up.
//!
//! The CallKeeper Profile key is never written in the file itself: a site
//! names the environment variable (`api_key_env`) or the file (`api_key_file`)
//! that holds it, so the config can be committed and shown without leaking it.
//! Errors name the bad key and say what to do.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use callkeeper::{ApiKey, Credentials, WidgetRef};
use serde::Deserialize;
use url::Url;

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
    /// `ru` or `en`.
    pub locale: String,
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
    /// The TOML is malformed or has a wrong type.
    #[error("the config file is not valid: {0}")]
    Parse(#[from] toml::de::Error),
    /// A value is wrong.
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default = "default_listen")]
    listen: String,
    #[serde(default = "default_database")]
    database: PathBuf,
    #[serde(default = "default_assets")]
    assets: PathBuf,
    #[serde(default = "default_poll_ms")]
    status_poll_interval_ms: u64,
    #[serde(default)]
    sites: HashMap<String, RawSite>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    allowed_origins: Vec<String>,
    #[serde(default = "default_upstream")]
    upstream: String,
    unique: String,
    api_key_env: Option<String>,
    api_key_file: Option<PathBuf>,
    whash: Option<String>,
    walias: Option<String>,
    display_name: Option<String>,
    #[serde(default = "default_locale")]
    locale: String,
    #[serde(default)]
    title: String,
    #[serde(default = "default_color")]
    color: String,
    #[serde(default = "default_position")]
    position: String,
    #[serde(default = "default_country_code")]
    country_code: String,
    #[serde(default)]
    offices: Vec<String>,
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
fn default_upstream() -> String {
    "https://api.callkeeper.ru".to_owned()
}
fn default_locale() -> String {
    "ru".to_owned()
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

impl Config {
    /// Reads and validates a config file; the key comes from the environment or a file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, |name| std::env::var(name).ok())
    }

    /// Parses config text; `env` looks up environment variables (injectable for tests).
    pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text)?;
        let listen = raw.listen.parse().map_err(|_| {
            invalid(
                "listen",
                format!("{:?} is not an address like 127.0.0.1:8080", raw.listen),
            )
        })?;
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
            sites,
        })
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
        let secret = match (&raw.api_key_env, &raw.api_key_file) {
            (Some(var), None) => env(var).ok_or_else(|| {
                invalid(key("api_key_env"), format!("the environment variable {var} is not set; export the CallKeeper Profile key in it"))
            })?,
            (None, Some(file)) => std::fs::read_to_string(file)
                .map_err(|e| invalid(key("api_key_file"), format!("cannot read {}: {e}", file.display())))?,
            _ => {
                return Err(invalid(
                    key("api_key_env"),
                    "set exactly one of api_key_env or api_key_file (the key itself never goes in this file)",
                ));
            }
        };
        let api_key = ApiKey::parse(secret.trim()).map_err(|e| {
            invalid(
                key("api_key_env"),
                format!("the CallKeeper Profile key is not valid: {e}"),
            )
        })?;
        let widget = match (raw.whash, raw.walias) {
            (Some(hash), None) => WidgetRef::Hash(hash),
            (None, Some(alias)) => WidgetRef::Alias(alias),
            _ => return Err(invalid(key("whash"), "set exactly one of whash or walias")),
        };
        if raw.unique.is_empty() {
            return Err(invalid(
                key("unique"),
                "the CallKeeper company name (unique) is empty",
            ));
        }
        if !matches!(raw.locale.as_str(), "ru" | "en") {
            return Err(invalid(key("locale"), "use \"ru\" or \"en\""));
        }
        if !is_hex_colour(&raw.color) {
            return Err(invalid(key("color"), "use a colour like \"#0b6bcb\""));
        }
        if !matches!(raw.position.as_str(), "right" | "left") {
            return Err(invalid(key("position"), "use \"right\" or \"left\""));
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
            locale: raw.locale,
            title: raw.title,
            color: raw.color,
            position: raw.position,
            country_code: raw.country_code,
            offices: raw.offices,
        })
    }

    /// Whether a page of `origin` may use this site's widget.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|allowed| allowed == origin)
    }
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

    #[test]
    fn a_valid_config_loads_with_the_key_from_the_environment() {
        let config = Config::parse(&site_toml(""), |_| Some(KEY.to_owned())).expect("valid");
        let site = &config.sites["shop"];
        assert!(site.allows_origin("https://shop.example"));
        assert!(!site.allows_origin("https://evil.example"));
        assert!(
            !format!("{config:?}").contains(KEY),
            "Debug must not print the key"
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
        let error =
            Config::parse(&bad_origin, |_| Some(KEY.to_owned())).expect_err("path in origin");
        assert!(
            error.to_string().contains("sites.shop.allowed_origins"),
            "{error}"
        );

        let error = Config::parse(&site_toml("color = \"blue\""), |_| Some(KEY.to_owned()))
            .expect_err("colour");
        assert!(error.to_string().contains("sites.shop.color"), "{error}");

        let error = Config::parse("listen = \"nowhere\"\n", |_| None).expect_err("listen");
        assert!(error.to_string().contains("`listen`"), "{error}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let error = Config::parse(&site_toml("apiak = \"inline\""), |_| Some(KEY.to_owned()))
            .expect_err("unknown");
        assert!(error.to_string().contains("apiak"), "{error}");
    }
}
