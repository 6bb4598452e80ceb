//! A configured site, ready to serve: its configuration, its CallKeeper
//! client and its opening hours, built at start and shared by the HTTP
//! handlers, the pipeline and the balance monitor.
//!
//! [`Sites`] is swapped whole when the config is reloaded (SIGHUP, see
//! `reload.rs`): a request or a send reads the sites once and works with
//! that snapshot to its end, so it never sees half of an old config and
//! half of a new one.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use crate::config::Site;
use crate::hours::{HoursError, Schedule};

/// One site at run time.
#[derive(Debug, Clone)]
pub struct SiteRuntime {
    /// What the configuration says about it.
    pub site: Site,
    /// Its CallKeeper account.
    pub client: callkeeper::Client,
    /// Its opening hours in its zone (slots, "open now", requested times),
    /// or why they cannot be used: the config checks the zone's shape, not
    /// that the time zone database knows it, and such a site still takes
    /// callbacks for "now" while its config and slots answer 503.
    pub schedule: Result<Schedule, HoursError>,
}

impl SiteRuntime {
    /// The client and schedule for `site`.
    pub fn build(site: Site) -> Self {
        let schedule = Schedule::new(site.opening_hours, site.utc.as_ref());
        if let Err(error) = &schedule {
            tracing::error!(site = %site.id, %error,
                "the site's opening hours cannot be used: its config and slots answer 503 until the zone is fixed");
        }
        let client = callkeeper::Client::with_request_timeout(
            site.upstream.clone(),
            site.credentials.clone(),
            site.upstream_timeout,
        );
        Self {
            site,
            client,
            schedule,
        }
    }
}

/// The sites by id, as of one moment.
pub type SiteMap = HashMap<String, Arc<SiteRuntime>>;

/// Every configured site, by id, at run time; cloned handles share one
/// swappable map.
#[derive(Debug, Clone, Default)]
pub struct Sites(Arc<RwLock<Arc<SiteMap>>>);

impl Sites {
    /// Builds every site of the configuration.
    pub fn build(sites: HashMap<String, Site>) -> Self {
        Self(Arc::new(RwLock::new(Arc::new(build_map(sites)))))
    }

    /// The site `id` as it is configured now.
    pub fn get(&self, id: &str) -> Option<Arc<SiteRuntime>> {
        self.current().get(id).cloned()
    }

    /// Every site as configured now.
    pub fn current(&self) -> Arc<SiteMap> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Puts `sites` in force for every request and send that starts from now on.
    pub(crate) fn replace(&self, sites: HashMap<String, Site>) {
        let built = Arc::new(build_map(sites));
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = built;
    }
}

fn build_map(sites: HashMap<String, Site>) -> SiteMap {
    sites
        .into_iter()
        .map(|(id, site)| (id, Arc::new(SiteRuntime::build(site))))
        .collect()
}
