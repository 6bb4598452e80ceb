//! A configured site, ready to serve: its configuration, its CallKeeper
//! client and its opening hours, built once at start and shared by the HTTP
//! handlers, the pipeline and the balance monitor.

use std::collections::HashMap;
use std::sync::Arc;

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
        let client = callkeeper::Client::new(site.upstream.clone(), site.credentials.clone());
        Self {
            site,
            client,
            schedule,
        }
    }
}

/// Every configured site, by id, at run time.
pub type Sites = Arc<HashMap<String, SiteRuntime>>;

/// Builds every site of the configuration.
pub fn build_all(sites: HashMap<String, Site>) -> Sites {
    Arc::new(
        sites
            .into_iter()
            .map(|(id, site)| (id, SiteRuntime::build(site)))
            .collect(),
    )
}
