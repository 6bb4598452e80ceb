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
    /// Its opening hours in its zone (slots, "open now", requested times).
    pub schedule: Schedule,
}

impl SiteRuntime {
    /// The client and schedule for `site`.
    pub fn build(site: Site) -> Result<Self, HoursError> {
        let schedule = Schedule::new(site.opening_hours, site.utc.as_ref())?;
        let client = callkeeper::Client::new(site.upstream.clone(), site.credentials.clone());
        Ok(Self {
            site,
            client,
            schedule,
        })
    }
}

/// Every configured site, by id, at run time.
pub type Sites = Arc<HashMap<String, SiteRuntime>>;

/// Builds every site of the configuration; an error names the site.
pub fn build_all(sites: HashMap<String, Site>) -> anyhow::Result<Sites> {
    let built = sites
        .into_iter()
        .map(|(id, site)| {
            let runtime = SiteRuntime::build(site)
                .map_err(|e| anyhow::anyhow!("sites.{id}: opening hours: {e}"))?;
            Ok((id, runtime))
        })
        .collect::<anyhow::Result<HashMap<_, _>>>()?;
    Ok(Arc::new(built))
}
