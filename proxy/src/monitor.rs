//! The balance monitor: asks each site's CallKeeper account for its minutes
//! balance (`getUserInfo`) at start and every `upstream_check_interval_seconds`.
//!
//! It keeps the `callback_proxy_balance_minutes` gauge, warns in the log when
//! an account runs low (at 0 CallKeeper refuses every call), and, because
//! every answer is recorded as contact with CallKeeper, it is the probe that
//! keeps `/readyz`'s view of CallKeeper fresh when no visitor orders a call:
//! one cheap request per site per interval, however often `/readyz` is asked.
//!
//! It never logs the key; CallKeeper's errors do not contain it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use callkeeper::{Client, ErrorClass};
use tokio_util::sync::CancellationToken;

use crate::config::Site;
use crate::metrics::{Metrics, UpstreamMethod};
use crate::site::{SiteRuntime, Sites};

/// A low balance is logged again at most this often.
const REPEAT_WARNING: Duration = Duration::from_secs(3600);

/// What the monitor watches.
#[derive(Debug, Clone)]
pub struct Monitor {
    /// The sites, each with its CallKeeper client.
    pub sites: Sites,
    /// Where the balance and the contact are recorded.
    pub metrics: Arc<Metrics>,
    /// How often each account is asked.
    pub every: Duration,
}

impl Monitor {
    /// Checks every site now and then every interval, until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut warned: HashMap<String, Instant> = HashMap::new();
        loop {
            let this = &self;
            // Read once per round: a reload takes effect at the next round.
            let sites = self.sites.current();
            let checks = sites.iter().map(|(id, runtime)| async move {
                let SiteRuntime { site, client, .. } = &**runtime;
                (id, this.check(site, client).await)
            });
            // A hung CallKeeper must not hold up shutdown (requests time out after 30 s).
            let readings = tokio::select! {
                () = shutdown.cancelled() => return,
                readings = futures_util::future::join_all(checks) => readings,
            };
            for (id, reading) in readings {
                let due = warned
                    .get(id)
                    .is_none_or(|at| at.elapsed() >= REPEAT_WARNING);
                match reading {
                    Reading::Low(minutes) if due => {
                        let site = &sites[id].site;
                        tracing::warn!(
                            site = %id,
                            minutes,
                            warn_below = site.balance_warn_minutes,
                            "the CallKeeper account is running out of minutes; top it up (at 0 every call fails)"
                        );
                        warned.insert(id.clone(), Instant::now());
                    }
                    Reading::Low(_) | Reading::Unknown => {}
                    Reading::Fine => {
                        if warned.remove(id).is_some() {
                            tracing::info!(site = %id, "the CallKeeper balance is above the warning level again");
                        }
                    }
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.every) => {}
            }
        }
    }

    /// Reads one site's balance.
    async fn check(&self, site: &Site, client: &Client) -> Reading {
        let answer = self
            .metrics
            .upstream(
                &site.id,
                UpstreamMethod::GetUserInfo,
                client.get_user_info(),
            )
            .await;
        match answer {
            Ok(info) => {
                let low = self.metrics.balance(&site.id, info.balance_minutes);
                match info.balance_minutes {
                    Some(minutes) if low => Reading::Low(minutes),
                    Some(_) => Reading::Fine,
                    None => {
                        tracing::debug!(site = %site.id, "CallKeeper's getUserInfo did not say the balance");
                        Reading::Unknown
                    }
                }
            }
            Err(error) if error.class() == ErrorClass::Configuration => {
                tracing::error!(site = %site.id, %error, "CallKeeper refused the site's credentials; orders will be halted until they are fixed");
                Reading::Unknown
            }
            Err(error) => {
                tracing::warn!(site = %site.id, %error, "cannot reach CallKeeper to read the balance; will try again");
                Reading::Unknown
            }
        }
    }
}

/// What one check found.
#[derive(Debug, Clone, Copy)]
enum Reading {
    /// Fewer minutes than the site's `balance_warn_minutes`.
    Low(i64),
    /// Enough minutes.
    Fine,
    /// Not read (CallKeeper failed or did not say).
    Unknown,
}
