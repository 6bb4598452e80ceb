//! Group commit for SQLite: orders arriving together share one
//! transaction, so one fsync makes all of them durable.
//!
//! With `synchronous = FULL` each commit waits for the disk; one order per
//! transaction makes the fsync the ceiling on orders per second. Here the
//! first writer to find no group open begins one (`BEGIN IMMEDIATE`) and
//! asks a committer task to commit it; every writer that queues for the
//! group's lock before the committer does its work in that same
//! transaction (tokio's mutex is fair: first come, first served), and the
//! committer then commits them all at once. Writers arriving after it form
//! the next group, which begins while this one commits.
//!
//! Every writer waits for its group's commit before it returns: "202 only
//! after the lead is durable" holds. If one writer's statement fails, the
//! group is rolled back and every writer in it gets the error (a 503: none
//! of them was told its lead is stored). A writer whose request is dropped
//! mid-way leaves what it wrote to be committed with the group.

use std::sync::Arc;

use sqlx::SqlitePool;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{Sqlite, SqliteConnection};
use tokio::sync::{Mutex, watch};

use super::StoreError;

/// The outcome of one group's commit, for each of its writers.
type Committed = Option<Result<(), Arc<str>>>;

/// The write queue in front of one SQLite pool.
#[derive(Debug, Clone)]
pub(super) struct GroupCommit {
    pool: SqlitePool,
    open: Arc<Mutex<Option<Group>>>,
}

/// The transaction being filled (on its own connection, begun and ended
/// here, so that a failed COMMIT never leaves it open in the pool), and how
/// its writers hear the outcome.
#[derive(Debug)]
struct Group {
    connection: PoolConnection<Sqlite>,
    committed: watch::Sender<Committed>,
}

impl Group {
    /// COMMIT (or ROLLBACK); a transaction that cannot be ended is not
    /// left open: its connection is closed instead of going back to the pool.
    async fn end(mut self, commit: bool, outcome: Option<Arc<str>>) {
        let ended = if commit {
            sqlx::query("COMMIT")
                .execute(&mut *self.connection)
                .await
                .map(drop)
                .map_err(|error| Arc::<str>::from(error.to_string()))
        } else {
            Err(outcome.unwrap_or_else(|| Arc::from("rolled back")))
        };
        if ended.is_err()
            && sqlx::query("ROLLBACK")
                .execute(&mut *self.connection)
                .await
                .is_err()
        {
            // SQLite may have rolled back by itself (a full disk): nothing
            // is open then, but be sure.
            self.connection.close_on_drop();
        }
        let _ = self.committed.send(Some(ended));
    }
}

impl GroupCommit {
    pub(super) fn new(pool: SqlitePool) -> Self {
        Self {
            pool,
            open: Arc::new(Mutex::new(None)),
        }
    }

    /// Runs `work` in the open group's transaction (beginning one when none
    /// is open) and returns its result once the group is committed.
    pub(super) async fn run<T>(
        &self,
        work: impl AsyncFnOnce(&mut SqliteConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let (value, mut committed) = {
            let mut open = self.open.lock().await;
            let group = match open.take() {
                Some(group) => group,
                None => {
                    let mut connection = self.pool.acquire().await?;
                    sqlx::query("BEGIN IMMEDIATE")
                        .execute(&mut *connection)
                        .await?;
                    self.commit_soon();
                    Group {
                        connection,
                        committed: watch::channel(None).0,
                    }
                }
            };
            let group = open.insert(group);
            match work(&mut group.connection).await {
                Ok(value) => (value, group.committed.subscribe()),
                Err(error) => {
                    if let Some(group) = open.take() {
                        group.end(false, Some(Arc::from(error.to_string()))).await;
                    }
                    return Err(error);
                }
            }
        };
        let outcome = committed
            .wait_for(Option::is_some)
            .await
            .map_err(|_| StoreError::Commit("the group's committer stopped".to_owned()))?
            .clone();
        match outcome {
            Some(Ok(())) => Ok(value),
            Some(Err(error)) => Err(StoreError::Commit(error.to_string())),
            None => Err(StoreError::Commit("no outcome".to_owned())),
        }
    }

    /// Commits the open group once the writers queued before this call did
    /// their work.
    fn commit_soon(&self) {
        let open = self.open.clone();
        tokio::spawn(async move {
            let group = open.lock().await.take();
            if let Some(group) = group {
                group.end(true, None).await;
            }
        });
    }
}
