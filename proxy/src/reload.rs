//! Reloading the config file on SIGHUP (`systemctl reload`), without a
//! restart and without dropping a connection.
//!
//! What a site says about whom it calls and how often (the phone policy,
//! limits, bot checks, consent, texts, hours, origins, its CallKeeper
//! account) is swapped in whole, for every request and send that starts
//! afterwards ([`crate::site::Sites`]); one that has started finishes under
//! the config it started with. What the running process is built on (the
//! listeners, the store, `[server]`, the trusted proxies, the stream caps,
//! the workers' timings, which sites exist) cannot change under it: a
//! reload that changes any of those applies the rest, keeps their old
//! values and names them in a warning ("needs a restart"), and
//! `callback_proxy_config_restart_needed` says 1 until a reload without
//! such a change.
//!
//! A file that does not load (unreadable, not TOML, a failing check) changes
//! nothing: the old config stays in force entirely, and an error line says
//! why, naming the key. `callback_proxy_config_reloads_total{outcome}`
//! counts both outcomes. Never logs a key.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use crate::config::{Config, ConfigError};
use crate::http::IpLimits;
use crate::metrics::Metrics;
use crate::site::Sites;

/// What a reload did.
#[derive(Debug)]
pub enum Reloaded {
    /// The new config is in force, but for these settings (dotted keys),
    /// which keep their old values until a restart.
    Applied {
        /// The changed keys that need a restart.
        needs_restart: Vec<String>,
    },
    /// The file did not load; the old config stays in force entirely.
    Rejected(ConfigError),
}

/// Reloads one config file into a running proxy's sites and limits.
#[derive(Debug, Clone)]
pub struct Reloader {
    path: PathBuf,
    /// The config in force, to compare a reload against.
    current: Arc<Mutex<Config>>,
    sites: Sites,
    limits: Arc<IpLimits>,
    metrics: Arc<Metrics>,
}

impl Reloader {
    pub(crate) fn new(
        path: PathBuf,
        current: Config,
        sites: Sites,
        limits: Arc<IpLimits>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            path,
            current: Arc::new(Mutex::new(current)),
            sites,
            limits,
            metrics,
        }
    }

    /// Reads the file again (with the `PROXY_…` overrides, as at start) and
    /// puts what can change live in force; logs and counts the outcome.
    pub fn reload(&self) -> Reloaded {
        let outcome = match Config::load(&self.path) {
            Ok(new) => Reloaded::Applied {
                needs_restart: self.apply(new),
            },
            Err(error) => Reloaded::Rejected(error),
        };
        match &outcome {
            Reloaded::Applied { needs_restart } if needs_restart.is_empty() => {
                tracing::info!(config = %self.path.display(), "config reloaded");
            }
            Reloaded::Applied { needs_restart } => {
                tracing::warn!(
                    config = %self.path.display(),
                    needs_restart = %needs_restart.join(", "),
                    "config reloaded, but these settings need a restart to change; \
                     their old values stay in force until then"
                );
            }
            Reloaded::Rejected(error) => {
                tracing::error!(
                    config = %self.path.display(),
                    %error,
                    "config reload rejected: the old config stays in force; fix the file \
                     and send SIGHUP again"
                );
            }
        }
        match &outcome {
            Reloaded::Applied { needs_restart } => {
                self.metrics.config_reload(true, !needs_restart.is_empty());
            }
            Reloaded::Rejected(_) => self.metrics.config_reload(false, false),
        }
        outcome
    }

    /// Puts `new`'s site settings in force; returns the changed keys that
    /// need a restart.
    fn apply(&self, mut new: Config) -> Vec<String> {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        let needs_restart = needs_restart(&current, &new);
        // Only the sites that exist now: adding or removing one is a restart
        // (its metrics, its limiter, its queued leads).
        new.sites.retain(|id, _| current.sites.contains_key(id));
        for (id, site) in &current.sites {
            new.sites.entry(id.clone()).or_insert_with(|| site.clone());
        }
        self.limits.reload(&new.sites);
        self.metrics.reload_sites(&new.sites);
        self.sites.replace(new.sites.clone());
        current.sites = new.sites;
        needs_restart
    }
}

/// The keys whose change `new` asks for that only a restart can make.
fn needs_restart(old: &Config, new: &Config) -> Vec<String> {
    let mut keys = Vec::new();
    let mut differs = |key: &str, changed: bool| {
        if changed {
            keys.push(key.to_owned());
        }
    };
    differs("listen", old.listen != new.listen);
    differs("admin_listen", old.admin_listen != new.admin_listen);
    // The console's accounts and settings are read once (its sessions hold
    // an account's sites); public_url too (the console's install snippet).
    differs("console", old.console != new.console);
    differs("public_url", old.public_url != new.public_url);
    differs("store", old.store.to_string() != new.store.to_string());
    differs("assets", old.assets.to_string() != new.assets.to_string());
    differs(
        "status_poll_interval_ms",
        old.status_poll_interval != new.status_poll_interval,
    );
    differs("retention_days", old.retention != new.retention);
    differs(
        "upstream_deadline_hours",
        old.upstream_deadline != new.upstream_deadline,
    );
    differs(
        "trusted_proxies",
        old.trusted_proxies != new.trusted_proxies,
    );
    differs(
        "client_ip_header",
        old.client_ip_header != new.client_ip_header,
    );
    differs(
        "reads_per_minute",
        old.reads_per_minute != new.reads_per_minute,
    );
    differs(
        "status_polls_per_minute",
        old.status_polls_per_minute != new.status_polls_per_minute,
    );
    differs(
        "max_open_streams",
        old.max_open_streams != new.max_open_streams,
    );
    differs(
        "max_streams_per_ip",
        old.max_streams_per_ip != new.max_streams_per_ip,
    );
    differs(
        "max_stream_seconds",
        old.stream_lifetime != new.stream_lifetime,
    );
    differs("status_ttl_hours", old.status_ttl != new.status_ttl);
    differs(
        "upstream_check_interval_seconds",
        old.upstream_check_interval != new.upstream_check_interval,
    );
    differs("server", old.server != new.server);
    let mut added: Vec<&String> = new
        .sites
        .keys()
        .filter(|id| !old.sites.contains_key(*id))
        .collect();
    let mut removed: Vec<&String> = old
        .sites
        .keys()
        .filter(|id| !new.sites.contains_key(*id))
        .collect();
    added.sort();
    removed.sort();
    for id in added {
        keys.push(format!("sites.{id} (a new site)"));
    }
    for id in removed {
        keys.push(format!("sites.{id} (a removed site: still served)"));
    }
    keys
}

/// SIGHUP, caught from the moment [`Hangups::catch`] returns: its default
/// action would end the process, and systemd may send it (`systemctl
/// reload`) while the proxy is still opening its store. A SIGHUP caught
/// before [`Hangups::reload_with`] reloads as soon as that is called.
#[cfg(unix)]
#[derive(Debug)]
pub struct Hangups(tokio::signal::unix::Signal);

#[cfg(unix)]
impl Hangups {
    /// Catches SIGHUP from now on.
    pub fn catch() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        signal(SignalKind::hangup()).map(Self)
    }

    /// Reloads through `reloader` on every SIGHUP until `shutdown`.
    pub fn reload_with(self, reloader: Reloader, shutdown: tokio_util::sync::CancellationToken) {
        let Self(mut hangups) = self;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    received = hangups.recv() => {
                        if received.is_none() {
                            return;
                        }
                    }
                }
                // Reading the file and key files is blocking I/O.
                let reloader = reloader.clone();
                if tokio::task::spawn_blocking(move || reloader.reload())
                    .await
                    .is_err()
                {
                    tracing::error!("the config reload panicked; the old config stays in force");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "eb2cee1bc1b8d1b6e4282486af09e078";

    fn config(top: &str, site_extra: &str) -> Config {
        let text = format!(
            "{top}\n[sites.shop]\nallowed_origins = [\"https://shop.example\"]\n\
             upstream = \"http://127.0.0.1:9\"\nunique = \"example_company\"\n\
             api_key_env = \"SHOP_KEY\"\nwhash = \"96d6ec6937c878c2ca1f889b9b9e865a\"\n{site_extra}\n"
        );
        Config::parse(&text, |_| Some(KEY.to_owned())).expect("a valid config")
    }

    #[test]
    fn site_settings_change_live_and_the_rest_is_named_for_a_restart() {
        let old = config("", "");
        let same = config("", "limits = { site_per_hour = 7 }");
        assert!(needs_restart(&old, &same).is_empty());
        let moved = config(
            "listen = \"127.0.0.1:1\"\ndatabase = \"other.db\"\n[server]\nmax_connections = 500",
            "",
        );
        assert_eq!(needs_restart(&old, &moved), ["listen", "store", "server"]);
    }

    /// A config file for `sites` (id, table lines), its key in a file.
    fn write_config(dir: &std::path::Path, sites: &[(&str, &str)]) -> PathBuf {
        let key = dir.join("key");
        std::fs::write(&key, KEY).expect("write the key");
        let mut text = "allow_readable_key_file = true\n".to_owned();
        for (id, extra) in sites {
            text.push_str(&format!(
                "[sites.{id}]\nallowed_origins = [\"https://{id}.example\"]\n\
                 upstream = \"http://127.0.0.1:9\"\nunique = \"example_company\"\n\
                 api_key_file = {key:?}\nwhash = \"96d6ec6937c878c2ca1f889b9b9e865a\"\n{extra}\n"
            ));
        }
        let path = dir.join("proxy.toml");
        std::fs::write(&path, text).expect("write the config");
        path
    }

    #[test]
    fn a_reload_swaps_a_sites_settings_and_burst_and_keeps_the_set_of_sites() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write_config(
            dir.path(),
            &[("shop", "limits = { ip_burst = 1, ip_per_minute = 1 }")],
        );
        let config = Config::load(&path).expect("a valid config");
        let sites = Sites::build(config.sites.clone());
        let limits = Arc::new(IpLimits::new(&config));
        let metrics = Arc::new(Metrics::new(&config, Arc::new(crate::clock::SystemClock)));
        let reloader = Reloader::new(path.clone(), config, sites.clone(), limits.clone(), metrics);
        let visitor = Some("203.0.113.7".parse().expect("an address"));
        assert!(limits.check("shop", visitor).is_ok());
        assert!(limits.check("shop", visitor).is_err(), "a burst of 1");

        write_config(
            dir.path(),
            &[
                ("shop", "limits = { ip_burst = 3, ip_per_minute = 1 }"),
                ("blog", ""),
            ],
        );
        match reloader.reload() {
            Reloaded::Applied { needs_restart } => {
                assert_eq!(needs_restart, ["sites.blog (a new site)"]);
            }
            Reloaded::Rejected(error) => panic!("rejected: {error}"),
        }
        let shop = sites.get("shop").expect("still served");
        assert_eq!(shop.site.limits.ip_burst, 3);
        assert!(
            sites.get("blog").is_none(),
            "a new site waits for a restart"
        );
        assert!(
            limits.check("shop", visitor).is_ok(),
            "the new burst is in force"
        );

        std::fs::write(&path, "[sites.shop\n").expect("write");
        assert!(matches!(reloader.reload(), Reloaded::Rejected(_)));
        assert_eq!(sites.get("shop").expect("served").site.limits.ip_burst, 3);

        // A file without the site: it stays, as it was, until a restart.
        write_config(dir.path(), &[("blog", "")]);
        match reloader.reload() {
            Reloaded::Applied { needs_restart } => assert_eq!(
                needs_restart,
                [
                    "sites.blog (a new site)",
                    "sites.shop (a removed site: still served)"
                ]
            ),
            Reloaded::Rejected(error) => panic!("rejected: {error}"),
        }
        assert_eq!(sites.get("shop").expect("served").site.limits.ip_burst, 3);
    }

    #[test]
    fn a_new_or_removed_site_is_named_for_a_restart() {
        let old = config("", "");
        let mut new = old.clone();
        let shop = new.sites["shop"].clone();
        new.sites.insert("blog".to_owned(), shop);
        assert_eq!(needs_restart(&old, &new), ["sites.blog (a new site)"]);
        assert_eq!(
            needs_restart(&new, &old),
            ["sites.blog (a removed site: still served)"]
        );
    }
}
