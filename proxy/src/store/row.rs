//! A `leads` row as both engines hold it (the same columns and types:
//! TEXT and BIGINT), and its one conversion into a [`Lead`].

use protocol::CallbackRequest;

use super::StoreError;
use crate::lead::Lead;

/// Every column a [`Lead`] is read from.
pub(super) const COLUMNS: &str = "id, site, body_hash, phone, ip, request, state, reason, upstream_id, status_code, status2_code, attempts, next_attempt_at, version, created_at, sent_at, in_doubt, deadline_at, call_attempt, next_call_at, updated_at, is_test";

/// A `leads` row as SQLite holds it.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct LeadRow {
    id: String,
    site: String,
    body_hash: String,
    phone: String,
    ip: Option<String>,
    request: String,
    state: String,
    reason: Option<String>,
    upstream_id: Option<String>,
    status_code: Option<i64>,
    status2_code: Option<i64>,
    attempts: i64,
    next_attempt_at: i64,
    version: i64,
    created_at: i64,
    sent_at: Option<i64>,
    in_doubt: i64,
    deadline_at: Option<i64>,
    call_attempt: i64,
    next_call_at: Option<i64>,
    updated_at: i64,
    is_test: i64,
}

impl TryFrom<LeadRow> for Lead {
    type Error = StoreError;

    fn try_from(row: LeadRow) -> Result<Self, StoreError> {
        Ok(Lead {
            request: from_json(&row.request)?,
            state: row.state.parse()?,
            status: row
                .status_code
                .zip(row.status2_code)
                .map(|(a, b)| (clamp_u16(a), clamp_u16(b))),
            attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
            in_doubt: row.in_doubt != 0,
            call_attempt: u32::try_from(row.call_attempt).unwrap_or(0),
            id: row.id,
            site: row.site,
            body_hash: row.body_hash,
            phone: row.phone,
            ip: row.ip,
            reason: row.reason,
            upstream_id: row.upstream_id,
            next_attempt_at: row.next_attempt_at,
            version: row.version,
            created_at: row.created_at,
            sent_at: row.sent_at,
            deadline_at: row.deadline_at,
            next_call_at: row.next_call_at,
            updated_at: row.updated_at,
            test: row.is_test != 0,
        })
    }
}

pub(super) fn leads(rows: Vec<LeadRow>) -> Result<Vec<Lead>, StoreError> {
    rows.into_iter().map(Lead::try_from).collect()
}

pub(super) fn from_json(request: &str) -> Result<CallbackRequest, StoreError> {
    serde_json::from_str(request).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn to_json(request: &CallbackRequest) -> Result<String, StoreError> {
    serde_json::to_string(request).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn clamp_u16(value: i64) -> u16 {
    u16::try_from(value).unwrap_or(u16::MAX)
}

/// Adds `WHERE …` for `filter` (always a WHERE, `1 = 1` when it keeps
/// everything), every value bound, never spliced into the SQL. Both engines
/// read the same columns, so one builder serves both.
pub(super) fn push_filter<'args, DB>(
    query: &mut sqlx::QueryBuilder<'args, DB>,
    filter: &super::LeadFilter,
) where
    DB: sqlx::Database,
    String: sqlx::Encode<'args, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'args, DB> + sqlx::Type<DB>,
{
    query.push(" WHERE 1 = 1");
    if let Some(sites) = &filter.sites {
        if sites.is_empty() {
            query.push(" AND 1 = 0");
        } else {
            query.push(" AND site IN (");
            let mut list = query.separated(", ");
            for site in sites {
                list.push_bind(site.clone());
            }
            list.push_unseparated(")");
        }
    }
    if let Some(state) = filter.state {
        query
            .push(" AND state = ")
            .push_bind(state.as_str().to_owned());
    }
    if let Some(from) = filter.created_from {
        query.push(" AND created_at >= ").push_bind(from);
    }
    if let Some(until) = filter.created_until {
        query.push(" AND created_at < ").push_bind(until);
    }
}

/// A `lead_events` row (both engines).
#[derive(Debug, sqlx::FromRow)]
pub(super) struct EventRow {
    at: i64,
    state: String,
    status_code: Option<i64>,
    status2_code: Option<i64>,
    call_attempt: i64,
    reason: Option<String>,
}

impl TryFrom<EventRow> for super::LeadEvent {
    type Error = StoreError;

    fn try_from(row: EventRow) -> Result<Self, StoreError> {
        Ok(Self {
            at: row.at,
            state: row.state.parse()?,
            status: row
                .status_code
                .zip(row.status2_code)
                .map(|(a, b)| (clamp_u16(a), clamp_u16(b))),
            call_attempt: u32::try_from(row.call_attempt).unwrap_or(0),
            reason: row.reason,
        })
    }
}

/// What the console counts of a lead (both engines).
#[derive(Debug, sqlx::FromRow)]
pub(super) struct OutcomeRow {
    site: String,
    created_at: i64,
    state: String,
    reason: Option<String>,
    is_test: i64,
}

impl TryFrom<OutcomeRow> for super::LeadOutcome {
    type Error = StoreError;

    fn try_from(row: OutcomeRow) -> Result<Self, StoreError> {
        Ok(Self {
            site: row.site,
            created_at: row.created_at,
            state: row.state.parse()?,
            reason: row.reason,
            test: row.is_test != 0,
        })
    }
}

/// The SQL of the console's reads, the same on both engines (only the
/// bound parameters' placeholders differ, which `QueryBuilder` writes).
pub(super) mod reads {
    /// Leads matching a filter, newest first: then `push_filter`, then
    /// ORDER/LIMIT/OFFSET.
    pub(crate) fn leads() -> String {
        format!("SELECT {} FROM leads", super::COLUMNS)
    }
    pub(crate) const COUNT: &str = "SELECT COUNT(*) FROM leads";
    pub(crate) const OUTCOMES: &str = "SELECT site, created_at, state, reason, is_test FROM leads";
    pub(crate) const EVENTS: &str =
        "SELECT at, state, status_code, status2_code, call_attempt, reason
         FROM lead_events WHERE lead_id = $1 ORDER BY seq";
}
