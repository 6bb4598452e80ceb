//! The retention job: erases the personal data of leads older than
//! `retention_days`, at start and hourly (see [`crate::store::Store::erase_personal_data`]
//! for what is kept).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Pipeline;
use crate::clock::millis;

/// How often the retention job runs.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

impl Pipeline {
    /// Erases personal data past the retention period, at start and hourly.
    pub(super) async fn retention_loop(self, shutdown: CancellationToken) {
        loop {
            let now = self.clock.now_ms();
            match self
                .store
                .erase_personal_data(now - millis(self.retention), now)
                .await
            {
                Ok(0) => {}
                Ok(erased) => {
                    tracing::info!(erased, "erased personal data past the retention period")
                }
                Err(error) => tracing::error!(%error, "the retention job failed; will try again"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(RETENTION_EVERY) => {}
            }
        }
    }
}
