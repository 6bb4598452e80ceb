//! A `leads` row as both engines hold it (the same columns and types:
//! TEXT and BIGINT), its one conversion into a [`Lead`], and the SQL both
//! engines run alike (the limits' counts, the insert, the transition).

use std::net::IpAddr;

use protocol::CallbackRequest;
use sqlx::query::Query;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, QueryBuilder, Type};

use super::{Counting, FromClient, Recent, SendClaim, StoreError, Tally};
use crate::lead::{Lead, LeadState, NewLead, Transition};

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

/// Stores a new lead ($1 id … $8 now, $9 whether it is a test from the
/// console's preview); both engines add what they do on a repeated
/// idempotency key.
pub(super) const INSERT_LEAD: &str = "INSERT INTO leads (id, site, idempotency_key, body_hash, phone, ip, request, state, next_attempt_at, created_at, updated_at, is_test)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'received', $8, $8, $8, $9)";

/// `sql` ([`INSERT_LEAD`], perhaps with a conflict clause) with `lead`'s
/// values bound, `request` its request as stored JSON.
pub(super) fn insert_lead<'q, DB: Database>(
    sql: &'q str,
    lead: &'q NewLead,
    request: &'q str,
) -> Query<'q, DB, DB::Arguments<'q>>
where
    &'q String: Encode<'q, DB> + Type<DB>,
    &'q Option<String>: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
{
    sqlx::query(sql)
        .bind(&lead.id)
        .bind(&lead.site)
        .bind(&lead.idempotency_key)
        .bind(&lead.body_hash)
        .bind(&lead.phone)
        .bind(&lead.ip)
        .bind(request)
        .bind(lead.now)
        .bind(i64::from(lead.test))
}

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
enum ClientRows {
    Unknown,
    Ipv4((i64, Option<i64>)),
    Ipv6(Vec<(i64, Option<String>)>),
}

/// The rows [`NUMBER_HISTORY`], [`SITE_TALLIES`], [`ADDRESS_TALLY`] or
/// [`FROM_IPV6`], and [`WITH_ADDRESS`] read, as a [`Recent`].
fn recent(
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

/// Adds `IN (…)` with one bound parameter per state.
pub(super) fn push_states<'a, DB: Database>(query: &mut QueryBuilder<'a, DB>, states: &[LeadState])
where
    &'a str: Encode<'a, DB> + Type<DB>,
{
    query.push(" IN (");
    let mut list = query.separated(", ");
    for state in states {
        list.push_bind(state.as_str());
    }
    list.push_unseparated(")");
}

/// The one conditional UPDATE of a lead, the same SQL on both engines:
/// each field of `change` that is set replaces the stored one, and the
/// version moves only when something the visitor sees changed (state,
/// CallKeeper's status, the reason, the attempt); only while the lead is
/// in one of `from` (any state when empty) and, with a `claim`, still
/// claimed by it.
pub(super) fn transition_update<'a, DB: Database>(
    id: &'a str,
    from: &[LeadState],
    claim: Option<SendClaim>,
    change: &'a Transition,
    now: i64,
) -> QueryBuilder<'a, DB>
where
    DB::Arguments<'a>: Default,
    i64: Encode<'a, DB> + Type<DB>,
    Option<i64>: Encode<'a, DB> + Type<DB>,
    &'a str: Encode<'a, DB> + Type<DB>,
    Option<&'a str>: Encode<'a, DB> + Type<DB>,
    &'a Option<String>: Encode<'a, DB> + Type<DB>,
{
    let state = change.state.map(LeadState::as_str);
    let code = change.status.map(|s| i64::from(s.0));
    let code2 = change.status.map(|s| i64::from(s.1));
    let call_attempt = change.call_attempt.map(i64::from);
    let mut query = QueryBuilder::<DB>::new("UPDATE leads SET state = COALESCE(");
    query.push_bind(state).push(", state), reason = COALESCE(");
    query
        .push_bind(&change.reason)
        .push(", reason), upstream_id = COALESCE(");
    query
        .push_bind(&change.upstream_id)
        .push(", upstream_id), status_code = COALESCE(");
    query
        .push_bind(code)
        .push(", status_code), status2_code = COALESCE(");
    query
        .push_bind(code2)
        .push(", status2_code), attempts = attempts + ");
    query.push_bind(i64::from(change.count_attempt));
    query
        .push(", next_attempt_at = ")
        .push_bind(change.next_attempt_at);
    // Both engines read every right-hand side from the row as it was, so
    // the comparisons below see the old values.
    query.push(", version = version + CASE WHEN COALESCE(");
    query
        .push_bind(state)
        .push(", state) <> state OR COALESCE(");
    query
        .push_bind(code)
        .push(", status_code, -1) <> COALESCE(status_code, -1) OR COALESCE(");
    query
        .push_bind(code2)
        .push(", status2_code, -1) <> COALESCE(status2_code, -1) OR COALESCE(");
    query
        .push_bind(&change.reason)
        .push(", reason, '') <> COALESCE(reason, '') OR COALESCE(");
    query
        .push_bind(call_attempt)
        .push(", call_attempt) <> call_attempt THEN 1 ELSE 0 END");
    query.push(", updated_at = ").push_bind(now);
    query
        .push(", sent_at = COALESCE(")
        .push_bind(change.sent_at);
    query
        .push(", sent_at), in_doubt = COALESCE(")
        .push_bind(change.in_doubt.map(i64::from));
    query
        .push(", in_doubt), call_attempt = COALESCE(")
        .push_bind(call_attempt);
    query
        .push(", call_attempt), next_call_at = COALESCE(")
        .push_bind(change.next_call_at);
    query.push(", next_call_at) WHERE id = ").push_bind(id);
    if !from.is_empty() {
        query.push(" AND state");
        push_states(&mut query, from);
    }
    if let Some(claim) = claim {
        query.push(" AND sent_at = ").push_bind(claim.0);
    }
    query
}

/// What the limits asked to count for `lead` ([`Counting`]), read in the
/// caller's transaction `tx`: the same queries on both engines.
pub(super) async fn read_recent<DB: Database>(
    tx: &mut DB::Connection,
    lead: &NewLead,
    counting: Counting,
) -> Result<Recent, StoreError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q String: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> (i64, String): FromRow<'r, DB::Row>,
    for<'r> (i64, Option<String>): FromRow<'r, DB::Row>,
    for<'r> (i64, Option<i64>): FromRow<'r, DB::Row>,
    for<'r> TalliesRow: FromRow<'r, DB::Row>,
{
    let number = sqlx::query_as(NUMBER_HISTORY)
        .bind(&lead.site)
        .bind(&lead.phone)
        .bind(counting.since)
        .fetch_all(&mut *tx)
        .await?;
    let tallies = sqlx::query_as(SITE_TALLIES)
        .bind(&lead.site)
        .bind(counting.since)
        .bind(counting.hour_since)
        .fetch_one(&mut *tx)
        .await?;
    let from_client = match counting.client {
        Some(IpAddr::V4(address)) => ClientRows::Ipv4(
            sqlx::query_as(ADDRESS_TALLY)
                .bind(&lead.site)
                .bind(counting.since)
                .bind(address.to_string())
                .fetch_one(&mut *tx)
                .await?,
        ),
        Some(IpAddr::V6(_)) => ClientRows::Ipv6(
            sqlx::query_as(FROM_IPV6)
                .bind(&lead.site)
                .bind(counting.since)
                .fetch_all(&mut *tx)
                .await?,
        ),
        None => ClientRows::Unknown,
    };
    let this_hour = if counting.every_address_this_hour {
        sqlx::query_as(WITH_ADDRESS)
            .bind(&lead.site)
            .bind(counting.hour_since)
            .fetch_all(&mut *tx)
            .await?
    } else {
        Vec::new()
    };
    recent(number, tallies, from_client, this_hour)
}
