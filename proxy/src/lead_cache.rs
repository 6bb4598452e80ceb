//! Leads as the status GET last read them, so that a widget polling its
//! status costs a map lookup instead of a store read.
//!
//! Kept fresh by the same change notifications the live streams use
//! ([`LeadChanges`]: this process's workers, and on PostgreSQL every
//! replica's writes through `LISTEN`): a change drops the lead's entry, and
//! the next read goes to the store. Writes that announce nothing (the
//! operator CLI in another process, a lost PostgreSQL connection) are
//! covered by a short age limit ([`MAX_AGE`]). A read that raced a change
//! is not cached: every change moves an epoch, and an entry is only put in
//! when the epoch did not move while the store was read.
//!
//! Holds leads (phone numbers included) in memory only, like any request;
//! never logs them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::broadcast::error::RecvError;

use crate::changes::LeadChanges;
use crate::lead::Lead;

/// How long an entry is believed without a notification.
const MAX_AGE: Duration = Duration::from_secs(1);
/// Entries at most; past it the cache starts afresh (a burst of status
/// tokens, not a working set, fills it).
const CAPACITY: usize = 10_000;

/// The cache; cheap to share (`Arc`).
#[derive(Debug, Default)]
pub struct LeadCache {
    /// Shared leads: a hit costs a reference count, not a copy of the lead.
    entries: Mutex<HashMap<String, (Arc<Lead>, Instant)>>,
    epoch: AtomicU64,
}

impl LeadCache {
    /// A cache kept fresh by `changes` (a task follows them while the cache lives).
    pub fn following(changes: &LeadChanges) -> Arc<Self> {
        let cache = Arc::new(Self::default());
        let weak = Arc::downgrade(&cache);
        let mut receiver = changes.subscribe();
        tokio::spawn(async move {
            loop {
                let changed = receiver.recv().await;
                let Some(cache) = weak.upgrade() else { break };
                match changed {
                    Ok(id) => cache.forget(&id),
                    // Missed some: nothing cached can be trusted.
                    Err(RecvError::Lagged(_)) => cache.forget_all(),
                    Err(RecvError::Closed) => break,
                }
            }
        });
        cache
    }

    /// Where reads stand now; pass it back to [`LeadCache::put`].
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// The lead `id` if cached and young enough.
    pub fn get(&self, id: &str) -> Option<Arc<Lead>> {
        let entries = self.lock();
        let (lead, at) = entries.get(id)?;
        (at.elapsed() < MAX_AGE).then(|| lead.clone())
    }

    /// Caches `lead`, read from the store since `epoch`, unless a change
    /// came meanwhile (it may be older than that change).
    pub fn put(&self, lead: Arc<Lead>, epoch: u64) {
        let mut entries = self.lock();
        if self.epoch() != epoch {
            return;
        }
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(lead.id.clone(), (lead, Instant::now()));
    }

    fn forget(&self, id: &str) {
        let mut entries = self.lock();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        entries.remove(id);
    }

    fn forget_all(&self) {
        let mut entries = self.lock();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Arc<Lead>, Instant)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(id: &str, version: i64) -> Lead {
        Lead {
            id: id.to_owned(),
            site: "shop".to_owned(),
            body_hash: String::new(),
            phone: String::new(),
            ip: None,
            request: serde_json::from_value(serde_json::json!({"phone": "79991234567"}))
                .expect("a request"),
            state: crate::lead::LeadState::Received,
            reason: None,
            upstream_id: None,
            status: None,
            attempts: 0,
            next_attempt_at: 0,
            version,
            created_at: 0,
            sent_at: None,
            in_doubt: false,
            deadline_at: None,
            call_attempt: 0,
            next_call_at: None,
            updated_at: 0,
            test: false,
        }
    }

    #[tokio::test]
    async fn a_change_drops_the_entry_and_a_read_that_raced_it_is_not_kept() {
        let changes = LeadChanges::default();
        let cache = LeadCache::following(&changes);
        let epoch = cache.epoch();
        cache.put(Arc::new(lead("a", 1)), epoch);
        assert_eq!(cache.get("a").map(|l| l.version), Some(1));

        // A read began, then the lead changed: its copy is not cached.
        let before_read = cache.epoch();
        changes.publish("a");
        while cache.epoch() == before_read {
            tokio::task::yield_now().await;
        }
        assert!(cache.get("a").is_none(), "the change dropped the entry");
        cache.put(Arc::new(lead("a", 1)), before_read);
        assert!(cache.get("a").is_none(), "a copy read before the change");
        cache.put(Arc::new(lead("a", 2)), cache.epoch());
        assert_eq!(cache.get("a").map(|l| l.version), Some(2));
    }
}
