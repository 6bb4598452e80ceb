//! The lead store: every callback request, durably, before the widget hears "202".
//!
//! SQLite (one file, WAL) by default. The queries are plain portable SQL with
//! numbered parameters so that the same module can serve PostgreSQL for
//! several proxy replicas. This module never logs phone numbers.

use std::path::Path;
use std::str::FromStr;

use protocol::CallbackRequest;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

/// A store failure; the HTTP layer turns it into a 503 without detail.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored row could not be read back.
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

/// Where a lead is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadState {
    /// Stored; the forwarder has not sent it yet.
    Received,
    /// A send failed for a reason worth retrying; waiting for `next_attempt_at`.
    Queued,
    /// Being sent to CallKeeper; if the proxy dies now, the send is in doubt.
    Sending,
    /// CallKeeper accepted it; the tracker follows the call.
    Ordered,
    /// CallKeeper scheduled the call.
    Scheduled,
    /// The call is happening.
    InProgress,
    /// The call went through.
    Succeeded,
    /// The call did not go through (final).
    Failed,
    /// Not sent because of a configuration or account problem; an operator resends it.
    Halted,
}

impl LeadState {
    const ALL: [(Self, &'static str); 9] = [
        (Self::Received, "received"),
        (Self::Queued, "queued"),
        (Self::Sending, "sending"),
        (Self::Ordered, "ordered"),
        (Self::Scheduled, "scheduled"),
        (Self::InProgress, "in_progress"),
        (Self::Succeeded, "succeeded"),
        (Self::Failed, "failed"),
        (Self::Halted, "halted"),
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("received", |(_, n)| n)
    }

    /// Whether the lead will not change any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Halted)
    }
}

impl FromStr for LeadState {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .find(|(_, name)| *name == s)
            .map(|(state, _)| *state)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown lead state {s:?}")))
    }
}

/// A lead as stored.
#[derive(Debug, Clone)]
pub struct Lead {
    /// The status token.
    pub id: String,
    /// The site it came from.
    pub site: String,
    /// Hash of the body it was created with.
    pub body_hash: String,
    /// The visitor's number, digits only.
    pub phone: String,
    /// The visitor's address.
    pub ip: Option<String>,
    /// The validated request.
    pub request: CallbackRequest,
    /// Where it is.
    pub state: LeadState,
    /// Why it failed or halted.
    pub reason: Option<String>,
    /// CallKeeper's call id.
    pub upstream_id: Option<String>,
    /// CallKeeper's last `status_code`/`status2_code`.
    pub status: Option<(u16, u16)>,
    /// orderCall attempts so far.
    pub attempts: u32,
    /// Unix ms of the next look.
    pub next_attempt_at: i64,
    /// Bumped on every visible change.
    pub version: i64,
    /// Unix ms.
    pub created_at: i64,
    /// When the last orderCall began (unix ms).
    pub sent_at: Option<i64>,
    /// Whether the last orderCall may have been placed without our knowing.
    pub in_doubt: bool,
    /// Until when the lead is retried while CallKeeper is unreachable (unix
    /// ms); unset means the configured deadline after `created_at`.
    pub deadline_at: Option<i64>,
    /// Which of CallKeeper's attempts the call is on (0 before the first).
    pub call_attempt: u32,
    /// When CallKeeper's next attempt is expected (unix ms).
    pub next_call_at: Option<i64>,
    /// Unix ms of the last change.
    pub updated_at: i64,
}

impl Lead {
    /// The consent the visitor gave, if any: (text version, unix ms when given).
    pub fn consent(&self) -> Option<(&str, i64)> {
        self.request
            .consent
            .as_ref()
            .filter(|c| c.accepted)
            .map(|c| (c.version.as_str(), self.created_at))
    }
}

/// A lead to insert.
#[derive(Debug, Clone)]
pub struct NewLead {
    /// The status token.
    pub id: String,
    /// The site.
    pub site: String,
    /// The widget's `Idempotency-Key`.
    pub idempotency_key: String,
    /// Hash of the body.
    pub body_hash: String,
    /// Digits.
    pub phone: String,
    /// The visitor's address.
    pub ip: Option<String>,
    /// The validated request.
    pub request: CallbackRequest,
    /// Unix ms.
    pub now: i64,
}

/// What `insert` did.
#[derive(Debug)]
pub enum Inserted {
    /// A new lead.
    New(Lead),
    /// The idempotency key was seen before: the lead it created.
    Existing(Lead),
}

/// A change of a lead's state, written by the forwarder or the tracker.
#[derive(Debug, Clone, Default)]
pub struct Transition {
    /// The new state.
    pub state: Option<LeadState>,
    /// Why (for failed and halted).
    pub reason: Option<String>,
    /// CallKeeper's call id, once known.
    pub upstream_id: Option<String>,
    /// CallKeeper's status pair.
    pub status: Option<(u16, u16)>,
    /// Count one more orderCall attempt.
    pub count_attempt: bool,
    /// When to look again (unix ms).
    pub next_attempt_at: i64,
    /// When an orderCall begins (unix ms).
    pub sent_at: Option<i64>,
    /// Mark (or clear) the send as in doubt.
    pub in_doubt: Option<bool>,
    /// CallKeeper's attempt number.
    pub call_attempt: Option<u32>,
    /// When CallKeeper's next attempt is expected (unix ms).
    pub next_call_at: Option<i64>,
}

/// The lead store.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

const COLUMNS: &str = "id, site, body_hash, phone, ip, request, state, reason, upstream_id, status_code, status2_code, attempts, next_attempt_at, version, created_at, sent_at, in_doubt, deadline_at, call_attempt, next_call_at, updated_at";

impl Store {
    /// Opens (creating if needed) the SQLite file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
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
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }

    /// Stores a new lead, or returns the one its idempotency key already made.
    pub async fn insert(&self, lead: NewLead) -> Result<Inserted, StoreError> {
        let request =
            serde_json::to_string(&lead.request).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let result = sqlx::query(
            "INSERT INTO leads (id, site, idempotency_key, body_hash, phone, ip, request, state, next_attempt_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'received', $8, $8, $8)
             ON CONFLICT (site, idempotency_key) DO NOTHING",
        )
        .bind(&lead.id)
        .bind(&lead.site)
        .bind(&lead.idempotency_key)
        .bind(&lead.body_hash)
        .bind(&lead.phone)
        .bind(&lead.ip)
        .bind(&request)
        .bind(lead.now)
        .execute(&self.pool)
        .await?;
        let stored = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM leads WHERE site = $1 AND idempotency_key = $2"
        ))
        .bind(&lead.site)
        .bind(&lead.idempotency_key)
        .fetch_one(&self.pool)
        .await?;
        let stored = from_row(&stored)?;
        Ok(if result.rows_affected() == 1 {
            Inserted::New(stored)
        } else {
            Inserted::Existing(stored)
        })
    }

    /// The lead an idempotency key created on a site, if any.
    pub async fn by_idempotency_key(
        &self,
        site: &str,
        key: &str,
    ) -> Result<Option<Lead>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM leads WHERE site = $1 AND idempotency_key = $2"
        ))
        .bind(site)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// One lead by its token.
    pub async fn get(&self, id: &str) -> Result<Option<Lead>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM leads WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Leads in `states` whose next look is due.
    pub async fn due(
        &self,
        states: &[LeadState],
        now: i64,
        limit: i64,
    ) -> Result<Vec<Lead>, StoreError> {
        let placeholders: Vec<String> = (0..states.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "SELECT {COLUMNS} FROM leads WHERE next_attempt_at <= $1 AND state IN ({}) ORDER BY next_attempt_at LIMIT $2",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(now).bind(limit);
        for state in states {
            query = query.bind(state.as_str());
        }
        query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    /// Applies a transition; returns the lead as it is now.
    pub async fn transition(
        &self,
        id: &str,
        change: &Transition,
        now: i64,
    ) -> Result<Option<Lead>, StoreError> {
        self.transition_from(id, &[], change, now).await
    }

    /// Applies a transition only while the lead is in one of `from` (any
    /// state when empty), so that a slow worker never overwrites what a newer
    /// one wrote (a final state, above all). Returns the lead as it is now.
    pub async fn transition_from(
        &self,
        id: &str,
        from: &[LeadState],
        change: &Transition,
        now: i64,
    ) -> Result<Option<Lead>, StoreError> {
        let guard = if from.is_empty() {
            String::new()
        } else {
            let placeholders: Vec<String> =
                (0..from.len()).map(|i| format!("${}", i + 14)).collect();
            format!(" AND state IN ({})", placeholders.join(", "))
        };
        let sql = format!(
            "UPDATE leads SET
                state = COALESCE($2, state),
                reason = COALESCE($3, reason),
                upstream_id = COALESCE($4, upstream_id),
                status_code = COALESCE($5, status_code),
                status2_code = COALESCE($6, status2_code),
                attempts = attempts + $7,
                next_attempt_at = $8,
                version = version + CASE WHEN COALESCE($2, state) <> state
                                           OR COALESCE($5, status_code, -1) <> COALESCE(status_code, -1)
                                           OR COALESCE($6, status2_code, -1) <> COALESCE(status2_code, -1)
                                           OR COALESCE($3, reason, '') <> COALESCE(reason, '')
                                           OR COALESCE($12, call_attempt) <> call_attempt
                                         THEN 1 ELSE 0 END,
                updated_at = $9,
                sent_at = COALESCE($10, sent_at),
                in_doubt = COALESCE($11, in_doubt),
                call_attempt = COALESCE($12, call_attempt),
                next_call_at = COALESCE($13, next_call_at)
             WHERE id = $1{guard}",
        );
        let mut query = sqlx::query(&sql)
            .bind(id)
            .bind(change.state.map(LeadState::as_str))
            .bind(&change.reason)
            .bind(&change.upstream_id)
            .bind(change.status.map(|s| i64::from(s.0)))
            .bind(change.status.map(|s| i64::from(s.1)))
            .bind(i64::from(change.count_attempt))
            .bind(change.next_attempt_at)
            .bind(now)
            .bind(change.sent_at)
            .bind(change.in_doubt.map(i64::from))
            .bind(change.call_attempt.map(i64::from))
            .bind(change.next_call_at);
        for state in from {
            query = query.bind(state.as_str());
        }
        query.execute(&self.pool).await?;
        self.get(id).await
    }

    /// When `phone` last ordered on `site` since `since`, and in what state
    /// that lead is now (newest first); the per-number limits count from this.
    pub async fn number_history(
        &self,
        site: &str,
        phone: &str,
        since: i64,
    ) -> Result<Vec<(i64, LeadState)>, StoreError> {
        let rows = sqlx::query(
            "SELECT created_at, state FROM leads WHERE site = $1 AND phone = $2 AND created_at >= $3 ORDER BY created_at DESC",
        )
        .bind(site)
        .bind(phone)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("created_at")?,
                    row.try_get::<String, _>("state")?.parse()?,
                ))
            })
            .collect()
    }

    /// How many leads `site` received since `since`, and the oldest of them (unix ms).
    pub async fn site_count_since(
        &self,
        site: &str,
        since: i64,
    ) -> Result<(i64, Option<i64>), StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM leads WHERE site = $1 AND created_at >= $2")
            .bind(site)
            .bind(since)
            .fetch_one(&self.pool)
            .await?;
        Ok((row.try_get("n")?, row.try_get("oldest")?))
    }

    /// Leads for operators, newest first, optionally only in one state.
    pub async fn list(
        &self,
        state: Option<LeadState>,
        limit: i64,
    ) -> Result<Vec<Lead>, StoreError> {
        let rows =
            match state {
                Some(state) => sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM leads WHERE state = $1 ORDER BY created_at DESC LIMIT $2"
                ))
                .bind(state.as_str())
                .bind(limit)
                .fetch_all(&self.pool)
                .await?,
                None => {
                    sqlx::query(&format!(
                        "SELECT {COLUMNS} FROM leads ORDER BY created_at DESC LIMIT $1"
                    ))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
                }
            };
        rows.iter().map(from_row).collect()
    }

    /// Puts halted leads back in line (after an operator fixed the cause):
    /// `id` one lead, or every halted lead when `None`. Returns how many.
    pub async fn resend_halted(
        &self,
        id: Option<&str>,
        now: i64,
        deadline_at: i64,
    ) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE leads SET state = 'queued', reason = NULL, next_attempt_at = $1, deadline_at = $2,
                    version = version + 1, updated_at = $1
             WHERE state = 'halted' AND ($3 IS NULL OR id = $3) AND erased_at IS NULL",
        )
        .bind(now)
        .bind(deadline_at)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    /// Erases the personal data (phone, IP, user agent, names, e-mail,
    /// analytics ids) of leads created before `before`. Keeps what the
    /// business needs: site, outcome, timestamps, pages, UTM, and the consent
    /// the visitor gave. A lead not final by then is stuck (no call lasts a
    /// retention period): it is halted, so nothing works on it any more.
    /// Returns how many leads were erased.
    pub async fn erase_personal_data(&self, before: i64, now: i64) -> Result<u64, StoreError> {
        let rows = sqlx::query(
            "SELECT id, request FROM leads WHERE created_at < $1 AND erased_at IS NULL",
        )
        .bind(before)
        .fetch_all(&self.pool)
        .await?;
        let mut erased = 0;
        for row in rows {
            let id: String = row.try_get("id")?;
            let request: String = row.try_get("request")?;
            let mut request: CallbackRequest =
                serde_json::from_str(&request).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            request.phone.clear();
            request.name = None;
            request.email = None;
            request.context.user_agent = None;
            request.context.ga_client_id = None;
            request.context.roistat_visit = None;
            request.context.calltouch_session = None;
            request.context.extra.clear();
            let request =
                serde_json::to_string(&request).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            erased += sqlx::query(
                "UPDATE leads SET phone = '', ip = NULL, request = $2, erased_at = $3,
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

    /// Claims a lead for one orderCall: marks it sending (and in doubt) only
    /// if it is still waiting, so that of several workers or replicas that
    /// picked it, exactly one sends it. Returns whether this caller won.
    ///
    /// The claim is a lease until `lease_until`: a lead whose sender died (or
    /// whose outcome could not be written) is claimable again after it, and,
    /// being still marked in doubt, is reconciled before it is sent again.
    pub async fn claim_for_sending(
        &self,
        id: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE leads SET state = 'sending', sent_at = $2, in_doubt = 1, next_attempt_at = $3, updated_at = $2
             WHERE id = $1 AND (state IN ('received', 'queued') OR (state = 'sending' AND next_attempt_at <= $2))",
        )
        .bind(id)
        .bind(now)
        .bind(lease_until)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Claims the next status poll of a call: moves its next look from
    /// `expected` to `next` only if nobody else did. Returns whether this caller won.
    pub async fn claim_poll(&self, id: &str, expected: i64, next: i64) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE leads SET next_attempt_at = $3 WHERE id = $1 AND next_attempt_at = $2",
        )
        .bind(id)
        .bind(expected)
        .bind(next)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Whether the database answers a write.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Proves the store takes a write: upserts `name`'s row of the
    /// `heartbeat` table (for `/readyz`).
    pub async fn heartbeat(&self, name: &str, now: i64) -> Result<(), StoreError> {
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

    /// How many leads are in each state that is not a delivered outcome
    /// (everything but succeeded and failed), for `/metrics`. Reads the
    /// `(state, next_attempt_at)` index only, so its cost follows the live
    /// leads, not the history.
    pub async fn count_unfinished(&self) -> Result<Vec<(LeadState, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n FROM leads
             WHERE state IN ('received', 'queued', 'sending', 'ordered', 'scheduled', 'in_progress', 'halted')
             GROUP BY state",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get::<String, _>("state")?.parse()?,
                    row.try_get("n")?,
                ))
            })
            .collect()
    }
}

fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Lead, StoreError> {
    let request: String = row.try_get("request")?;
    let state: String = row.try_get("state")?;
    let code: Option<i64> = row.try_get("status_code")?;
    let code2: Option<i64> = row.try_get("status2_code")?;
    let attempts: i64 = row.try_get("attempts")?;
    Ok(Lead {
        id: row.try_get("id")?,
        site: row.try_get("site")?,
        body_hash: row.try_get("body_hash")?,
        phone: row.try_get("phone")?,
        ip: row.try_get("ip")?,
        request: serde_json::from_str(&request).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        state: state.parse()?,
        reason: row.try_get("reason")?,
        upstream_id: row.try_get("upstream_id")?,
        status: code.zip(code2).map(|(a, b)| (clamp_u16(a), clamp_u16(b))),
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt_at: row.try_get("next_attempt_at")?,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        sent_at: row.try_get("sent_at")?,
        in_doubt: row.try_get::<i64, _>("in_doubt")? != 0,
        deadline_at: row.try_get("deadline_at")?,
        call_attempt: u32::try_from(row.try_get::<i64, _>("call_attempt")?).unwrap_or(0),
        next_call_at: row.try_get("next_call_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn clamp_u16(value: i64) -> u16 {
    u16::try_from(value).unwrap_or(u16::MAX)
}
