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
}

/// The lead store.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

const COLUMNS: &str = "id, site, body_hash, phone, ip, request, state, reason, upstream_id, status_code, status2_code, attempts, next_attempt_at, version, created_at";

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
        sqlx::query(
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
                                         THEN 1 ELSE 0 END,
                updated_at = $9
             WHERE id = $1",
        )
        .bind(id)
        .bind(change.state.map(LeadState::as_str))
        .bind(&change.reason)
        .bind(&change.upstream_id)
        .bind(change.status.map(|s| i64::from(s.0)))
        .bind(change.status.map(|s| i64::from(s.1)))
        .bind(i64::from(change.count_attempt))
        .bind(change.next_attempt_at)
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.get(id).await
    }

    /// Whether the database answers a write.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
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
    })
}

fn clamp_u16(value: i64) -> u16 {
    u16::try_from(value).unwrap_or(u16::MAX)
}
