//! The store on PostgreSQL, for several proxy replicas on one database:
//! migrations in `migrations/postgres/`, the same SQL as SQLite where the
//! two agree, and these differences where they do not:
//!
//! - **Limits across replicas**: [`Postgres::insert_within`] takes
//!   `pg_advisory_xact_lock` on the site's id before it counts, so the
//!   count-and-insert of one site is serialized across every replica (and
//!   two sites never wait for each other). The lock ends with the transaction.
//! - **Claims**: a lead is claimed for sending, or a call for its next poll,
//!   by an UPDATE of the row a `SELECT … FOR UPDATE SKIP LOCKED` picked: a
//!   replica never waits on a row another replica is claiming right now, it
//!   moves on, and the claim's conditions are checked on the row as it is
//!   once locked (the fenced lease of `claim_for_sending` is unchanged).
//! - **Change notifications**: a trigger (`migrations/postgres/0005`) sends
//!   `NOTIFY lead_changes, '<id>'` whenever a lead's state or version moves;
//!   [`Postgres::follow_changes`] turns them into the in-process
//!   [`LeadChanges`] so a watcher on any replica hears a change written by
//!   any other.
//!
//! Every write is committed with `synchronous_commit` as the server has it
//! (on by default): "202 only after the lead is durable" holds.

use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions, Postgres as Engine};
use sqlx::{PgPool, QueryBuilder};
use tokio_util::sync::CancellationToken;

use super::row::{
    COLUMNS, EventRow, INSERT_LEAD, LeadRow, OutcomeRow, from_json, insert_lead, leads,
    push_filter, push_states, read_recent, reads, to_json, transition_update,
};
use super::{
    Counting, Inserted, LeadEvent, LeadFilter, LeadOutcome, Recent, Resent, SendClaim, StoreError,
};
use crate::changes::LeadChanges;
use crate::lead::{Lead, LeadState, NewLead, Transition, without_personal_data};

/// The channel the `leads` trigger notifies on, with the lead's id as payload.
const CHANNEL: &str = "lead_changes";
/// Connections per replica: the API's inserts and reads, the two workers'
/// claims, the heartbeat (the change listener holds one more of its own).
const MAX_CONNECTIONS: u32 = 8;

/// The lead store on a PostgreSQL database shared by replicas.
#[derive(Debug, Clone)]
pub(super) struct Postgres {
    pool: PgPool,
}

impl Postgres {
    pub(super) async fn open(url: &SecretString) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url.expose_secret())?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        // sqlx takes an advisory lock around the migrations: replicas that
        // start together migrate once.
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }

    /// Publishes on `changes` every lead id any replica's write notified,
    /// until `shutdown`. A lost connection is re-made (sqlx's listener
    /// reconnects); notifications sent meanwhile are lost, which costs a
    /// watcher only latency: streams re-read the store on a timer too.
    pub(super) async fn follow_changes(
        &self,
        changes: LeadChanges,
        shutdown: CancellationToken,
    ) -> Result<(), StoreError> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANNEL).await?;
        tokio::spawn(async move {
            loop {
                let received = tokio::select! {
                    () = shutdown.cancelled() => break,
                    received = listener.recv() => received,
                };
                match received {
                    Ok(notification) => changes.publish(notification.payload()),
                    Err(error) => {
                        tracing::warn!(%error, "lost the store's change notifications; reconnecting");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(())
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

    pub(super) async fn insert_within<E>(
        &self,
        lead: NewLead,
        counting: Counting,
        admit: impl FnOnce(&Recent) -> Result<(), E>,
    ) -> Result<Result<Inserted, E>, StoreError> {
        let request = to_json(&lead.request)?;
        let by_key =
            format!("SELECT {COLUMNS} FROM leads WHERE site = $1 AND idempotency_key = $2");
        let mut tx = self.pool.begin().await?;
        // Every replica counting this site's leads waits here for the one
        // before it to commit; READ COMMITTED then shows each count what the
        // previous holder stored.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(&lead.site)
            .execute(&mut *tx)
            .await?;
        if let Some(row) = sqlx::query_as::<_, LeadRow>(&by_key)
            .bind(&lead.site)
            .bind(&lead.idempotency_key)
            .fetch_optional(&mut *tx)
            .await?
        {
            tx.commit().await?;
            return Ok(Ok(Inserted::Existing(Lead::try_from(row)?)));
        }
        let recent = read_recent::<Engine>(&mut tx, &lead, counting).await?;
        if let Err(refusal) = admit(&recent) {
            tx.rollback().await?;
            return Ok(Err(refusal));
        }
        insert_lead::<Engine>(INSERT_LEAD, &lead, &request)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query_as::<_, LeadRow>(&by_key)
            .bind(&lead.site)
            .bind(&lead.idempotency_key)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Ok(Inserted::New(Lead::try_from(row)?)))
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
        let result = query.build().execute(&self.pool).await?;
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
             WHERE state = 'halted' AND ($3::TEXT IS NULL OR id = $3) AND erased_at IS NULL
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
             WHERE state = 'halted' AND ($1::TEXT IS NULL OR id = $1) AND erased_at IS NULL
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
        // `sent_at IS NOT DISTINCT FROM $4`: only a sender that saw the
        // lead as it still is may claim it (its in-doubt flag decides
        // whether to reconcile). SKIP LOCKED: a row another replica is
        // claiming now is theirs; the conditions are checked on the row as
        // it is once locked.
        let claimed: Option<i64> = sqlx::query_scalar(
            "UPDATE leads SET state = 'sending', sent_at = GREATEST($2, COALESCE(sent_at, 0) + 1),
                    in_doubt = 1, next_attempt_at = $3, updated_at = $2
             WHERE id = (
                 SELECT id FROM leads
                 WHERE id = $1 AND sent_at IS NOT DISTINCT FROM $4
                   AND (state IN ('received', 'queued') OR (state = 'sending' AND next_attempt_at <= $2))
                 FOR UPDATE SKIP LOCKED)
             RETURNING sent_at",
        )
        .bind(id)
        .bind(now)
        .bind(lease_until)
        .bind(seen_sent_at)
        .fetch_optional(&self.pool)
        .await?;
        Ok(claimed.map(SendClaim))
    }

    pub(super) async fn renew_claim(
        &self,
        id: &str,
        claim: SendClaim,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE leads SET next_attempt_at = $3 WHERE id = $1 AND state = 'sending' AND sent_at = $2",
        )
        .bind(id)
        .bind(claim.0)
        .bind(lease_until)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    pub(super) async fn claim_poll(
        &self,
        id: &str,
        expected: i64,
        next: i64,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE leads SET next_attempt_at = $3
             WHERE id = (SELECT id FROM leads WHERE id = $1 AND next_attempt_at = $2 FOR UPDATE SKIP LOCKED)",
        )
        .bind(id)
        .bind(expected)
        .bind(next)
        .execute(&self.pool)
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
