//! The store on SQLite: one file, WAL, `synchronous = FULL`, migrations in
//! `migrations/sqlite/`. New leads, and the workers' claims and
//! transitions, are written through a group commit (`group_commit.rs`):
//! writes arriving together share one transaction and one fsync, and each
//! returns only once that commit is done.
//!
//! Rows are read with `#[derive(FromRow)]` and turned into [`Lead`]s in one
//! place ([`LeadRow`]); lists of states are bound one by one with
//! `QueryBuilder::push_bind`, never spliced into the SQL.

use std::path::Path;

use sqlx::sqlite::{
    Sqlite as Engine, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, SqlitePool};

use super::group_commit::GroupCommit;
use super::row::{
    COLUMNS, EventRow, INSERT_LEAD, LeadRow, OutcomeRow, from_json, insert_lead, leads,
    push_filter, push_states, read_recent, reads, to_json, transition_update,
};
use super::{
    Counting, Inserted, LeadEvent, LeadFilter, LeadOutcome, Recent, Resent, SendClaim, StoreError,
};
use crate::lead::{Lead, LeadState, NewLead, Transition, without_personal_data};

/// The lead store on one SQLite file.
#[derive(Debug, Clone)]
pub(super) struct Sqlite {
    pool: SqlitePool,
    /// New leads go through it: orders arriving together share one commit.
    writes: GroupCommit,
}

impl Sqlite {
    pub(super) async fn open(path: &Path) -> Result<Self, StoreError> {
        create_private(path)?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a lead acknowledged with 202 survives a power cut, not just a crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self {
            writes: GroupCommit::new(pool.clone()),
            pool,
        })
    }

    pub(super) async fn insert(&self, lead: NewLead) -> Result<Inserted, StoreError> {
        let request = to_json(&lead.request)?;
        let insert_once = format!("{INSERT_LEAD} ON CONFLICT (site, idempotency_key) DO NOTHING");
        let result = insert_lead::<Engine>(&insert_once, &lead, &request)
            .execute(&self.pool)
            .await?;
        let stored = self
            .by_idempotency_key(&lead.site, &lead.idempotency_key)
            .await?
            .ok_or_else(|| StoreError::Corrupt("an inserted lead is missing".to_owned()))?;
        Ok(if result.rows_affected() == 1 {
            Inserted::New(stored)
        } else {
            Inserted::Existing(stored)
        })
    }

    /// In the group commit's shared transaction (`group_commit.rs`): the
    /// group's `BEGIN IMMEDIATE` holds the database's write lock, so every
    /// writer (every process on the file) counts after the leads before it.
    pub(super) async fn insert_within<E>(
        &self,
        lead: NewLead,
        counting: Counting,
        admit: impl FnOnce(&Recent) -> Result<(), E>,
    ) -> Result<Result<Inserted, E>, StoreError> {
        let request = to_json(&lead.request)?;
        self.writes
            .run(async move |tx: &mut SqliteConnection| {
                insert_counted(tx, &lead, &request, counting, admit).await
            })
            .await
    }

    pub(super) async fn by_idempotency_key(
        &self,
        site: &str,
        key: &str,
    ) -> Result<Option<Lead>, StoreError> {
        sqlx::query_as::<_, LeadRow>(&format!(
            "SELECT {COLUMNS} FROM leads WHERE site = $1 AND idempotency_key = $2"
        ))
        .bind(site)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?
        .map(Lead::try_from)
        .transpose()
    }

    pub(super) async fn get(&self, id: &str) -> Result<Option<Lead>, StoreError> {
        sqlx::query_as::<_, LeadRow>(&format!("SELECT {COLUMNS} FROM leads WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(Lead::try_from)
            .transpose()
    }

    pub(super) async fn due(
        &self,
        states: &[LeadState],
        now: i64,
        limit: i64,
    ) -> Result<Vec<Lead>, StoreError> {
        let mut query = QueryBuilder::<Engine>::new(format!(
            "SELECT {COLUMNS} FROM leads WHERE next_attempt_at <= "
        ));
        query.push_bind(now).push(" AND state");
        push_states(&mut query, states);
        query
            .push(" ORDER BY next_attempt_at LIMIT ")
            .push_bind(limit);
        leads(
            query
                .build_query_as::<LeadRow>()
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// One UPDATE: each field of `change` that is set replaces the stored
    /// one, and the version moves only when something the visitor sees
    /// changed (state, CallKeeper's status, the reason, the attempt).
    pub(super) async fn transition_from(
        &self,
        id: &str,
        from: &[LeadState],
        change: &Transition,
        now: i64,
    ) -> Result<Option<Lead>, StoreError> {
        self.transition_guarded(id, from, None, change, now).await?;
        self.get(id).await
    }

    /// Writes `change` only while the lead is `sending` under `claim`.
    pub(super) async fn transition_claimed(
        &self,
        id: &str,
        claim: SendClaim,
        change: &Transition,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.transition_guarded(id, &[LeadState::Sending], Some(claim), change, now)
            .await
    }

    /// The one conditional UPDATE behind both: whether the row was written.
    async fn transition_guarded(
        &self,
        id: &str,
        from: &[LeadState],
        claim: Option<SendClaim>,
        change: &Transition,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut query = transition_update(id, from, claim, change, now);
        let result = self
            .writes
            .run(async |tx: &mut SqliteConnection| Ok(query.build().execute(tx).await?))
            .await?;
        Ok(result.rows_affected() == 1)
    }

    pub(super) async fn site_count_since(
        &self,
        site: &str,
        since: i64,
    ) -> Result<(i64, Option<i64>), StoreError> {
        Ok(sqlx::query_as(
            "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM leads WHERE site = $1 AND created_at >= $2",
        )
        .bind(site)
        .bind(since)
        .fetch_one(&self.pool)
        .await?)
    }

    pub(super) async fn list_where(
        &self,
        filter: &LeadFilter,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Lead>, StoreError> {
        let mut query = QueryBuilder::<Engine>::new(reads::leads());
        push_filter(&mut query, filter);
        query
            .push(" ORDER BY created_at DESC, id LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
        leads(
            query
                .build_query_as::<LeadRow>()
                .fetch_all(&self.pool)
                .await?,
        )
    }

    pub(super) async fn count(&self, filter: &LeadFilter) -> Result<i64, StoreError> {
        let mut query = QueryBuilder::<Engine>::new(reads::COUNT);
        push_filter(&mut query, filter);
        Ok(query
            .build_query_scalar::<i64>()
            .fetch_one(&self.pool)
            .await?)
    }

    pub(super) async fn outcomes(
        &self,
        filter: &LeadFilter,
    ) -> Result<Vec<LeadOutcome>, StoreError> {
        let mut query = QueryBuilder::<Engine>::new(reads::OUTCOMES);
        push_filter(&mut query, filter);
        query
            .build_query_as::<OutcomeRow>()
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(LeadOutcome::try_from)
            .collect()
    }

    pub(super) async fn events(&self, id: &str) -> Result<Vec<LeadEvent>, StoreError> {
        sqlx::query_as::<_, EventRow>(reads::EVENTS)
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(LeadEvent::try_from)
            .collect()
    }

    pub(super) async fn resend_halted(
        &self,
        id: Option<&str>,
        now: i64,
        deadline_at: i64,
        force: bool,
    ) -> Result<Resent, StoreError> {
        let result = sqlx::query(
            "UPDATE leads SET state = 'queued', reason = NULL, next_attempt_at = $1, deadline_at = $2,
                    version = version + 1, updated_at = $1
             WHERE state = 'halted' AND ($3 IS NULL OR id = $3) AND erased_at IS NULL
               AND ($4 OR upstream_id IS NULL)",
        )
        .bind(now)
        .bind(deadline_at)
        .bind(id)
        .bind(force)
        .execute(&self.pool)
        .await?;
        let (with_upstream_id,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM leads
             WHERE state = 'halted' AND ($1 IS NULL OR id = $1) AND erased_at IS NULL
               AND upstream_id IS NOT NULL",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        Ok(Resent {
            queued: result.rows_affected(),
            already_ordered: u64::try_from(with_upstream_id).unwrap_or(0),
        })
    }

    pub(super) async fn erase_personal_data(
        &self,
        before: i64,
        now: i64,
    ) -> Result<u64, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, request FROM leads WHERE created_at < $1 AND erased_at IS NULL",
        )
        .bind(before)
        .fetch_all(&self.pool)
        .await?;
        let mut erased = 0;
        for (id, request) in rows {
            // One unreadable row must not keep every other lead's data.
            let request = match from_json(&request).and_then(|r| to_json(&without_personal_data(r)))
            {
                Ok(request) => request,
                Err(error) => {
                    tracing::error!(lead = %id, %error, "cannot erase this lead's personal data (unreadable row); skipped, the other leads are erased");
                    continue;
                }
            };
            erased += sqlx::query(
                "UPDATE leads SET phone = '', ip = NULL, body_hash = '', request = $2, erased_at = $3,
                        state = CASE WHEN state IN ('succeeded', 'failed', 'halted') THEN state ELSE 'halted' END,
                        reason = CASE WHEN state IN ('succeeded', 'failed', 'halted') THEN reason
                                      ELSE 'not final when its retention period ended' END,
                        next_attempt_at = $4
                 WHERE id = $1 AND erased_at IS NULL",
            )
            .bind(&id)
            .bind(&request)
            .bind(now)
            .bind(i64::MAX)
            .execute(&self.pool)
            .await?
            .rows_affected();
        }
        Ok(erased)
    }

    pub(super) async fn claim_for_sending(
        &self,
        id: &str,
        now: i64,
        lease_until: i64,
        seen_sent_at: Option<i64>,
    ) -> Result<Option<SendClaim>, StoreError> {
        // sent_at is the claim's token: it moves forward with every claim,
        // even two within one millisecond (or under a frozen test clock).
        // `sent_at IS $4`: only a sender that saw the lead as it still is
        // may claim it (its in-doubt flag decides whether to reconcile).
        let claim = sqlx::query_scalar(
            "UPDATE leads SET state = 'sending', sent_at = MAX($2, COALESCE(sent_at, 0) + 1),
                    in_doubt = 1, next_attempt_at = $3, updated_at = $2
             WHERE id = $1 AND sent_at IS $4
               AND (state IN ('received', 'queued') OR (state = 'sending' AND next_attempt_at <= $2))
             RETURNING sent_at",
        )
        .bind(id)
        .bind(now)
        .bind(lease_until)
        .bind(seen_sent_at);
        let claimed: Option<i64> = self
            .writes
            .run(async |tx: &mut SqliteConnection| Ok(claim.fetch_optional(tx).await?))
            .await?;
        Ok(claimed.map(SendClaim))
    }

    pub(super) async fn renew_claim(
        &self,
        id: &str,
        claim: SendClaim,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let renew = sqlx::query(
            "UPDATE leads SET next_attempt_at = $3 WHERE id = $1 AND state = 'sending' AND sent_at = $2",
        )
        .bind(id)
        .bind(claim.0)
        .bind(lease_until);
        let result = self
            .writes
            .run(async |tx: &mut SqliteConnection| Ok(renew.execute(tx).await?))
            .await?;
        Ok(result.rows_affected() == 1)
    }

    pub(super) async fn claim_poll(
        &self,
        id: &str,
        expected: i64,
        next: i64,
    ) -> Result<bool, StoreError> {
        let claim = sqlx::query(
            "UPDATE leads SET next_attempt_at = $3 WHERE id = $1 AND next_attempt_at = $2",
        )
        .bind(id)
        .bind(expected)
        .bind(next);
        let result = self
            .writes
            .run(async |tx: &mut SqliteConnection| Ok(claim.execute(tx).await?))
            .await?;
        Ok(result.rows_affected() == 1)
    }

    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub(super) async fn heartbeat(&self, name: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO heartbeat (name, at) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET at = excluded.at",
        )
        .bind(name)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn count_unfinished(&self) -> Result<Vec<(LeadState, i64)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT state, COUNT(*) AS n FROM leads
             WHERE state IN ('received', 'queued', 'sending', 'ordered', 'scheduled', 'in_progress', 'halted')
             GROUP BY state",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(state, n)| Ok((state.parse()?, n)))
            .collect()
    }
}

/// Counts what the limits judge, asks `admit`, and inserts `lead` if it
/// may, on `tx` (the caller's transaction).
async fn insert_counted<E>(
    tx: &mut SqliteConnection,
    lead: &NewLead,
    request: &str,
    counting: Counting,
    admit: impl FnOnce(&Recent) -> Result<(), E>,
) -> Result<Result<Inserted, E>, StoreError> {
    let by_key = format!("SELECT {COLUMNS} FROM leads WHERE site = $1 AND idempotency_key = $2");
    if let Some(row) = sqlx::query_as::<_, LeadRow>(&by_key)
        .bind(&lead.site)
        .bind(&lead.idempotency_key)
        .fetch_optional(&mut *tx)
        .await?
    {
        return Ok(Ok(Inserted::Existing(Lead::try_from(row)?)));
    }
    let recent = read_recent::<Engine>(tx, lead, counting).await?;
    if let Err(refusal) = admit(&recent) {
        return Ok(Err(refusal));
    }
    insert_lead::<Engine>(INSERT_LEAD, lead, request)
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query_as::<_, LeadRow>(&by_key)
        .bind(&lead.site)
        .bind(&lead.idempotency_key)
        .fetch_one(&mut *tx)
        .await?;
    Ok(Ok(Inserted::New(Lead::try_from(row)?)))
}

/// Creates the store's file readable by its owner only (0600) when it does
/// not exist yet: it holds visitors' phone numbers. SQLite gives its WAL and
/// shared-memory files the database file's mode. An existing file keeps the
/// mode its operator gave it.
fn create_private(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(StoreError::Create(error)),
    }
}
