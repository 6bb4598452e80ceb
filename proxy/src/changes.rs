//! In-process notifications that a lead changed, for the live status streams
//! (not the SSE events the widget receives: those are `http/status.rs`).
//!
//! Workers publish a lead id after writing it to the store; on PostgreSQL
//! the ids other replicas wrote arrive here too (`LISTEN`, see
//! `store/postgres.rs`). Each stream re-reads the store, so every watcher is
//! served from the proxy's own state and a missed notification costs only
//! latency (streams also re-check on a timer). The status GET's lead cache
//! (`lead_cache.rs`) drops a lead on the same notifications.

use tokio::sync::broadcast;

/// The change bus: which lead changed, for whoever is watching it.
#[derive(Debug, Clone)]
pub struct LeadChanges {
    sender: broadcast::Sender<String>,
}

impl Default for LeadChanges {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(1024).0,
        }
    }
}

impl LeadChanges {
    /// Tells every stream that lead `id` changed.
    pub fn publish(&self, id: &str) {
        // No receivers is fine: nobody is watching.
        let _ = self.sender.send(id.to_owned());
    }

    /// Listens to changes.
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.sender.subscribe()
    }
}
