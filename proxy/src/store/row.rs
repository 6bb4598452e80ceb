//! A `leads` row as both engines hold it (the same columns and types:
//! TEXT and BIGINT), and its one conversion into a [`Lead`].

use protocol::CallbackRequest;

use super::StoreError;
use crate::lead::Lead;

/// Every column a [`Lead`] is read from.
pub(super) const COLUMNS: &str = "id, site, body_hash, phone, ip, request, state, reason, upstream_id, status_code, status2_code, attempts, next_attempt_at, version, created_at, sent_at, in_doubt, deadline_at, call_attempt, next_call_at, updated_at";

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
