//! `[console]`: the site owners' console on the admin listener, and who may
//! log in to it (`[[console.accounts]]`).
//!
//! The console needs no login on a loopback `admin_listen` (whoever can
//! reach it is on the machine); anywhere else it requires one, and a
//! console that would be open on a network without accounts refuses to
//! start ([`ConsoleSettings::refusal`]). Password hashes are argon2 PHC
//! strings (`proxy admin-password` prints one); the passwords themselves
//! are never in the config.

use std::net::SocketAddr;

use argon2::password_hash::PasswordHash;
use serde::Deserialize;

use super::error::{ConfigError, invalid};

/// `[console]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawConsole {
    enabled: bool,
    require_login: bool,
    url: Option<String>,
    accounts: Vec<RawAccount>,
}

impl Default for RawConsole {
    fn default() -> Self {
        Self {
            enabled: true,
            require_login: false,
            url: None,
            accounts: Vec::new(),
        }
    }
}

/// One `[[console.accounts]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    name: String,
    password_hash: String,
    sites: Vec<String>,
}

/// `[console]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSettings {
    /// Whether the admin listener serves the console (`enabled`, default
    /// true); off, it serves only `/healthz`, `/readyz` and `/metrics`.
    pub enabled: bool,
    /// Ask for a login even on loopback (`require_login`); always asked
    /// when `admin_listen` is not loopback.
    pub require_login: bool,
    /// Where owners reach the console when it is behind a reverse proxy
    /// (`url`, like `https://admin.example.com/`): its origin, like the admin
    /// listener's own, may order from the install page's preview.
    pub url: Option<url::Url>,
    /// Who may log in, and to which sites.
    pub accounts: Vec<ConsoleAccount>,
}

/// An owner who may log in to the console.
#[derive(Clone, PartialEq, Eq)]
pub struct ConsoleAccount {
    /// The login name.
    pub name: String,
    /// The argon2 hash of the password, a PHC string (`$argon2id$…`).
    pub password_hash: String,
    /// The sites this owner sees; no other site exists for them.
    pub sites: Vec<String>,
}

impl std::fmt::Debug for ConsoleAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleAccount")
            .field("name", &self.name)
            .field("sites", &self.sites)
            .finish_non_exhaustive()
    }
}

impl ConsoleSettings {
    /// Checks `raw` against the configured site ids.
    pub(super) fn from_raw(raw: RawConsole, site_ids: &[&String]) -> Result<Self, ConfigError> {
        let url = raw
            .url
            .as_deref()
            .map(|text| {
                url::Url::parse(text)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                    .ok_or_else(|| {
                        invalid(
                            "console.url",
                            format!(
                                "{text:?} is not an http(s) URL like https://admin.example.com/"
                            ),
                        )
                    })
            })
            .transpose()?;
        let mut accounts: Vec<ConsoleAccount> = Vec::new();
        for (index, account) in raw.accounts.into_iter().enumerate() {
            let key = |name: &str| format!("console.accounts.{index}.{name}");
            let name = account.name.trim().to_owned();
            if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
                return Err(invalid(
                    key("name"),
                    "write a login name of 1 to 64 characters",
                ));
            }
            if accounts.iter().any(|a| a.name == name) {
                return Err(invalid(
                    key("name"),
                    format!("{name:?} is used by another account"),
                ));
            }
            let hash_ok = PasswordHash::new(&account.password_hash)
                .is_ok_and(|hash| hash.algorithm.as_str().starts_with("argon2"));
            if !hash_ok {
                return Err(invalid(
                    key("password_hash"),
                    "is not an argon2 hash; run `proxy admin-password` and paste the line it prints",
                ));
            }
            if account.sites.is_empty() {
                return Err(invalid(
                    key("sites"),
                    "list the sites this owner sees, like [\"shop\"]",
                ));
            }
            if let Some(unknown) = account
                .sites
                .iter()
                .find(|site| !site_ids.iter().any(|id| id == site))
            {
                return Err(invalid(
                    key("sites"),
                    format!("{unknown:?} is not a configured site ([sites.{unknown}] is missing)"),
                ));
            }
            accounts.push(ConsoleAccount {
                name,
                password_hash: account.password_hash,
                sites: account.sites,
            });
        }
        Ok(Self {
            enabled: raw.enabled,
            require_login: raw.require_login,
            url,
            accounts,
        })
    }

    /// Whether owners log in before they see anything: when asked to, and
    /// always when the admin listener is reachable from a network.
    pub fn login_required(&self, admin_listen: SocketAddr) -> bool {
        self.require_login || !admin_listen.ip().is_loopback()
    }

    /// Why the proxy must not start with this console on `admin_listen`: a
    /// login is required there but nobody could log in, so the console would
    /// either be open to the network or useless. `None` when it may start.
    pub fn refusal(&self, admin_listen: SocketAddr) -> Option<String> {
        (self.enabled && self.login_required(admin_listen) && self.accounts.is_empty()).then(|| {
            format!(
                "console.accounts: the console on admin_listen = {admin_listen} needs a login \
                 ({why}) but no account is configured. Add [[console.accounts]] with name, \
                 password_hash (from `proxy admin-password`) and sites; or set \
                 console.enabled = false to serve only /healthz, /readyz and /metrics there.",
                why = if admin_listen.ip().is_loopback() {
                    "console.require_login is set"
                } else {
                    "it is not a loopback address"
                }
            )
        })
    }
}
