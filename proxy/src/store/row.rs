//! A `leads` row as both engines hold it (the same columns and types:
//! TEXT and BIGINT), and its one conversion into a [`Lead`].

use protocol::CallbackRequest;

use super::{FromClient, Recent, StoreError, Tally};
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

/// Stores a new lead ($1 id … $8 now); both engines add what they do on
/// a repeated idempotency key.
pub(super) const INSERT_LEAD: &str = "INSERT INTO leads (id, site, idempotency_key, body_hash, phone, ip, request, state, next_attempt_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'received', $8, $8, $8)";

/// The number $2's leads on site $1 since $3, newest first.
pub(super) const NUMBER_HISTORY: &str = "SELECT created_at, state FROM leads WHERE site = $1 AND phone = $2 AND created_at >= $3 ORDER BY created_at DESC";

/// Site $1's leads since $2 (the window) and since $3 (the hour): how
/// many, and the oldest; counted by the database, one row back.
pub(super) const SITE_TALLIES: &str = "SELECT COUNT(*), MIN(created_at),
            COUNT(CASE WHEN created_at >= $3 THEN 1 END), MIN(CASE WHEN created_at >= $3 THEN created_at END)
     FROM leads WHERE site = $1 AND created_at >= $2";

/// Site $1's leads since $2 from the address $3: how many, and the oldest.
pub(super) const ADDRESS_TALLY: &str =
    "SELECT COUNT(*), MIN(created_at) FROM leads WHERE site = $1 AND created_at >= $2 AND ip = $3";

/// Site $1's leads since $2 from IPv6 addresses, newest first.
pub(super) const FROM_IPV6: &str = "SELECT created_at, ip FROM leads WHERE site = $1 AND created_at >= $2 AND ip LIKE '%:%' ORDER BY created_at DESC";

/// Site $1's leads since $2 that have an address, newest first.
pub(super) const WITH_ADDRESS: &str = "SELECT created_at, ip FROM leads WHERE site = $1 AND created_at >= $2 AND ip IS NOT NULL ORDER BY created_at DESC";

/// [`SITE_TALLIES`]' row.
pub(super) type TalliesRow = (i64, Option<i64>, i64, Option<i64>);

/// What [`ADDRESS_TALLY`] (an IPv4 client) or [`FROM_IPV6`] (an IPv6
/// one) read.
pub(super) enum ClientRows {
    Unknown,
    Ipv4((i64, Option<i64>)),
    Ipv6(Vec<(i64, Option<String>)>),
}

/// The rows [`NUMBER_HISTORY`], [`SITE_TALLIES`], [`ADDRESS_TALLY`] or
/// [`FROM_IPV6`], and [`WITH_ADDRESS`] read, as a [`Recent`].
pub(super) fn recent(
    number: Vec<(i64, String)>,
    (day, oldest_today, hour, oldest_this_hour): TalliesRow,
    from_client: ClientRows,
    this_hour: Vec<(i64, Option<String>)>,
) -> Result<Recent, StoreError> {
    let tally = |count: i64, oldest| Tally {
        count: usize::try_from(count).unwrap_or(0),
        oldest,
    };
    let addresses = |rows: Vec<(i64, Option<String>)>| {
        rows.into_iter()
            .filter_map(|(at, ip)| Some((at, ip?.parse().ok()?)))
            .collect()
    };
    Ok(Recent {
        number: number
            .into_iter()
            .map(|(at, state)| Ok((at, state.parse()?)))
            .collect::<Result<_, StoreError>>()?,
        site_hour: tally(hour, oldest_this_hour),
        site_day: tally(day, oldest_today),
        from_client: match from_client {
            ClientRows::Unknown => FromClient::Unknown,
            ClientRows::Ipv4((count, oldest)) => FromClient::Ipv4(tally(count, oldest)),
            ClientRows::Ipv6(rows) => FromClient::Ipv6(addresses(rows)),
        },
        this_hour: addresses(this_hour),
    })
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
