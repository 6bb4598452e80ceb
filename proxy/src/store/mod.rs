//! The lead store: every callback request, durably, before the widget hears "202".
//!
//! This module is the store's API, the one callers see ([`Store`]); each
//! engine lives in its own file beside it with its own migrations, run at
//! start: `sqlite.rs` and `migrations/sqlite/` (the embedded default, one
//! proxy process per file), `postgres.rs` and `migrations/postgres/` (any
//! number of replicas on one database). [`StoreUrl`] (`[store] url`) picks
//! one; `row.rs` is the row both read leads from and the SQL both run alike
//! (the limits' counts, the insert, the transition).
//!
//! Every change to a lead is a guarded, conditional UPDATE or a claim, so
//! workers and replicas that race are safe by construction. Times are Unix
//! milliseconds from the caller's clock; the store never reads the time.
//! This module never logs phone numbers.

mod group_commit;
mod postgres;
mod row;
mod sqlite;

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use tokio_util::sync::CancellationToken;

use crate::changes::LeadChanges;

use crate::lead::{Lead, LeadState, NewLead, Transition, UnknownLeadState};

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
    /// A group of writes could not be committed (SQLite's group commit):
    /// none of its leads is stored.
    #[error("commit failed: {0}")]
    Commit(String),
    /// The store's file could not be created.
    #[error("cannot create the store's file: {0}")]
    Create(#[source] std::io::Error),
}

impl From<UnknownLeadState> for StoreError {
    fn from(error: UnknownLeadState) -> Self {
        Self::Corrupt(error.to_string())
    }
}

/// What `insert` did.
#[derive(Debug)]
pub enum Inserted {
    /// A new lead.
    New(Lead),
    /// The idempotency key was seen before: the lead it created.
    Existing(Lead),
}

/// What the limits ask the store to count for one order
/// ([`Store::insert_within`]). The store reads only that: an order's cost
/// does not grow with the site's leads of the day (a site with a high
/// ceiling may have thousands), which matters because the count runs
/// while the site's (SQLite: every) writer waits its turn.
#[derive(Debug, Clone, Copy)]
pub struct Counting {
    /// The window's start (a day back): nothing older is counted.
    pub since: i64,
    /// The start of the hour the hourly ceiling counts.
    pub hour_since: i64,
    /// The client's address: its leads are counted
    /// ([`Recent::from_client`]).
    pub client: Option<IpAddr>,
    /// Whether every address of the hour is read too
    /// ([`Recent::this_hour`]); the suspect share needs them, and only for
    /// a suspect client.
    pub every_address_this_hour: bool,
}

/// What the limits count, read in the transaction that then stores the
/// lead ([`Store::insert_within`]), as [`Counting`] asked.
#[derive(Debug, Default)]
pub struct Recent {
    /// The new lead's number on its site since the window's start: when,
    /// and the state that lead is in now, newest first.
    pub number: Vec<(i64, LeadState)>,
    /// The site's leads since the hour's start.
    pub site_hour: Tally,
    /// The site's leads since the window's start.
    pub site_day: Tally,
    /// The site's leads since the window's start from the client.
    pub from_client: FromClient,
    /// Every lead of the site since the hour's start with an address
    /// (empty unless [`Counting::every_address_this_hour`]), newest first.
    pub this_hour: Vec<(i64, IpAddr)>,
}

/// The site's leads since the window's start from the client's address.
#[derive(Debug, Default)]
pub enum FromClient {
    /// The client's address is unknown: nothing counted.
    #[default]
    Unknown,
    /// An IPv4 client: its address's leads, counted by the database.
    Ipv4(Tally),
    /// An IPv6 client: every lead from an IPv6 address (when, and from
    /// where, newest first), for the limits to pick its /64 and /48 from
    /// (the text of an address does not show them: zeros are compressed).
    Ipv6(Vec<(i64, IpAddr)>),
}

/// How many leads a window holds, and when the oldest came.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// How many.
    pub count: usize,
    /// The oldest one's time, if any.
    pub oldest: Option<i64>,
}

/// Which leads a reader wants: the CLI's state, the console's site, state
/// and day. `None` keeps everything on that axis.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadFilter {
    /// Only leads of these sites (an account's); an empty list matches none.
    pub sites: Option<Vec<String>>,
    /// Only leads in this state.
    pub state: Option<LeadState>,
    /// Only leads created at or after this (Unix ms).
    pub created_from: Option<i64>,
    /// Only leads created before this (Unix ms).
    pub created_until: Option<i64>,
}

/// One step of a lead's timeline (the `lead_events` table, written by the
/// database's triggers on every change of state or CallKeeper status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadEvent {
    /// When (Unix ms).
    pub at: i64,
    /// The state the lead took.
    pub state: LeadState,
    /// CallKeeper's status pair then, once it has one.
    pub status: Option<(u16, u16)>,
    /// CallKeeper's attempt then.
    pub call_attempt: u32,
    /// Why, for failed and halted.
    pub reason: Option<String>,
}

/// What the console counts and charts of one lead (no personal data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadOutcome {
    /// The site.
    pub site: String,
    /// When it was stored (Unix ms).
    pub created_at: i64,
    /// Where it is now.
    pub state: LeadState,
    /// Why it failed or halted.
    pub reason: Option<String>,
    /// Ordered from the console's preview.
    pub test: bool,
}

/// The engines the store runs on.
#[derive(Debug, Clone)]
enum Engine {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

/// Where the leads are kept (`[store] url`), parsed once from the config.
#[derive(Clone)]
pub enum StoreUrl {
    /// `sqlite://PATH` (or `database = "PATH"`): one file, one proxy process.
    Sqlite(PathBuf),
    /// `postgres://…` (or `postgresql://…`): shared by replicas. Secret
    /// because it may carry a password; shown with the password hidden.
    Postgres(SecretString),
}

impl StoreUrl {
    /// Reads `sqlite://PATH`, `sqlite:PATH` or `postgres://…`; the error
    /// says what is accepted.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(path) = text
            .strip_prefix("sqlite://")
            .or_else(|| text.strip_prefix("sqlite:"))
        {
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err("sqlite:// needs a file path, like sqlite://callback.db".to_owned());
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            url::Url::parse(text).map_err(|error| {
                format!("not a valid PostgreSQL URL ({error}); use postgres://USER:PASSWORD@HOST/DATABASE")
            })?;
            return Ok(Self::Postgres(SecretString::from(text.to_owned())));
        }
        Err(
            "use sqlite://PATH (the embedded default) or postgres://USER:PASSWORD@HOST/DATABASE"
                .to_owned(),
        )
    }
}

/// The URL with any password replaced by `***`, for logs and `check-config`.
impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Self::Postgres(url) => match url::Url::parse(url.expose_secret()) {
                Ok(mut url) => {
                    if url.password().is_some() {
                        let _ = url.set_password(Some("***"));
                    }
                    write!(f, "{url}")
                }
                Err(_) => f.write_str("postgres://(unreadable)"),
            },
        }
    }
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreUrl({self})")
    }
}

/// What [`Store::resend_halted`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resent {
    /// Leads put back in line.
    pub queued: u64,
    /// Halted leads CallKeeper already has a call for (left halted, unless
    /// forced; then also counted in `queued`).
    pub already_ordered: u64,
}

/// One sender's claim on a lead (the `sent_at` its claim wrote): the token
/// every write of that sender is fenced with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendClaim(pub(crate) i64);

impl SendClaim {
    /// The `sent_at` the claim wrote.
    pub fn token(self) -> i64 {
        self.0
    }
}

/// The lead store.
#[derive(Debug, Clone)]
pub struct Store {
    engine: Engine,
}

impl Store {
    /// Opens (creating if needed) the SQLite file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            engine: Engine::Sqlite(sqlite::Sqlite::open(path).await?),
        })
    }

    /// Opens the store `url` names and brings its schema up to date.
    pub async fn connect(url: &StoreUrl) -> Result<Self, StoreError> {
        Ok(Self {
            engine: match url {
                StoreUrl::Sqlite(path) => Engine::Sqlite(sqlite::Sqlite::open(path).await?),
                StoreUrl::Postgres(url) => Engine::Postgres(postgres::Postgres::open(url).await?),
            },
        })
    }

    /// Whether other proxy processes may be working on these leads now
    /// (PostgreSQL: replicas). Then nothing another process holds may be
    /// taken from it at start: only leases that ran out.
    pub fn is_shared(&self) -> bool {
        matches!(self.engine, Engine::Postgres(_))
    }

    /// Makes changes written by other replicas reach this one's status
    /// streams through `changes` (PostgreSQL `LISTEN`), until `shutdown`.
    /// SQLite: nothing to do, every writer is in this process and publishes
    /// on `changes` itself.
    pub async fn follow_changes(
        &self,
        changes: &LeadChanges,
        shutdown: CancellationToken,
    ) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Sqlite(_) => Ok(()),
            Engine::Postgres(db) => db.follow_changes(changes.clone(), shutdown).await,
        }
    }

    /// Stores a new lead, or returns the one its idempotency key already made.
    pub async fn insert(&self, lead: NewLead) -> Result<Inserted, StoreError> {
        match &self.engine {
            Engine::Sqlite(db) => db.insert(lead).await,
            Engine::Postgres(db) => db.insert(lead).await,
        }
    }

    /// Stores `lead` only if `admit` lets it, judging what was stored
    /// as `counting` asks ([`Recent`]), counting and inserting in one transaction
    /// so that requests in flight together cannot all pass one count
    /// (issue 11). A lead its idempotency key already made is returned as
    /// [`Inserted::Existing`] without judging.
    ///
    /// SQLite: `BEGIN IMMEDIATE` takes the database's write lock before the
    /// first count, so every writer (every process on the file) waits its
    /// turn. PostgreSQL (several replicas) does the same with
    /// `pg_advisory_xact_lock` on the site's id at the start of the
    /// transaction: only leads of one site serialize.
    pub async fn insert_within<E>(
        &self,
        lead: NewLead,
        counting: Counting,
        admit: impl FnOnce(&Recent) -> Result<(), E>,
    ) -> Result<Result<Inserted, E>, StoreError> {
        match &self.engine {
            Engine::Sqlite(db) => db.insert_within(lead, counting, admit).await,
            Engine::Postgres(db) => db.insert_within(lead, counting, admit).await,
        }
    }

    /// The lead an idempotency key created on a site, if any.
    pub async fn by_idempotency_key(
        &self,
        site: &str,
        key: &str,
    ) -> Result<Option<Lead>, StoreError> {
        match &self.engine {
            Engine::Sqlite(db) => db.by_idempotency_key(site, key).await,
            Engine::Postgres(db) => db.by_idempotency_key(site, key).await,
        }
    }

    /// One lead by its token.
    pub async fn get(&self, id: &str) -> Result<Option<Lead>, StoreError> {
        match &self.engine {
            Engine::Sqlite(db) => db.get(id).await,
            Engine::Postgres(db) => db.get(id).await,
        }
    }

    /// Leads in `states` whose next look is due at `now`, the most overdue first.
    pub async fn due(
        &self,
        states: &[LeadState],
        now: i64,
        limit: i64,
    ) -> Result<Vec<Lead>, StoreError> {
        match &self.engine {
            Engine::Sqlite(db) => db.due(states, now, limit).await,
            Engine::Postgres(db) => db.due(states, now, limit).await,
        }
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
        match &self.engine {
            Engine::Sqlite(db) => db.transition_from(id, from, change, now).await,
            Engine::Postgres(db) => db.transition_from(id, from, change, now).await,
        }
    }

    /// How many leads `site` received since `since`, and the oldest of them.
    pub async fn site_count_since(
        &self,
        site: &str,
        since: i64,
    ) -> Result<(i64, Option<i64>), StoreError> {
        match &self.engine {
            Engine::Sqlite(db) => db.site_count_since(site, since).await,
            Engine::Postgres(db) => db.site_count_since(site, since).await,
        }
    }

    /// Leads for operators, newest first, optionally only in one state.
    pub async fn list(
        &self,
        state: Option<LeadState>,
        limit: i64,
    ) -> Result<Vec<Lead>, StoreError> {
        let filter = LeadFilter {
            state,
            ..LeadFilter::default()
        };
        self.list_where(&filter, 0, limit).await
    }

    /// Leads matching `filter`, newest first, `limit` of them after `offset`
    /// (the console's pages, the CSV export).
    pub async fn list_where(
        &self,
        filter: &LeadFilter,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Lead>, StoreError> {
        match &self.engine {
            Engine::Sqlite(db) => db.list_where(filter, offset, limit).await,
            Engine::Postgres(db) => db.list_where(filter, offset, limit).await,
        }
    }

    /// How many leads match `filter`.
    pub async fn count(&self, filter: &LeadFilter) -> Result<i64, StoreError> {
        match &self.engine {
            Engine::Sqlite(db) => db.count(filter).await,
            Engine::Postgres(db) => db.count(filter).await,
        }
    }

    /// Site, time, state and reason of every lead matching `filter`, for the
    /// console's counts and charts (bound by the filter's days).
    pub async fn outcomes(&self, filter: &LeadFilter) -> Result<Vec<LeadOutcome>, StoreError> {
        match &self.engine {
            Engine::Sqlite(db) => db.outcomes(filter).await,
            Engine::Postgres(db) => db.outcomes(filter).await,
        }
    }

    /// A lead's timeline, oldest first.
    pub async fn events(&self, id: &str) -> Result<Vec<LeadEvent>, StoreError> {
        match &self.engine {
            Engine::Sqlite(db) => db.events(id).await,
            Engine::Postgres(db) => db.events(id).await,
        }
    }

    /// Puts halted leads back in line (after an operator fixed the cause):
    /// `id` one lead, or every halted lead when `None`. A lead CallKeeper
    /// already has a call id for is left halted unless `force`: ordering it
    /// again would call the visitor twice.
    pub async fn resend_halted(
        &self,
        id: Option<&str>,
        now: i64,
        deadline_at: i64,
        force: bool,
    ) -> Result<Resent, StoreError> {
        match &self.engine {
            Engine::Sqlite(db) => db.resend_halted(id, now, deadline_at, force).await,
            Engine::Postgres(db) => db.resend_halted(id, now, deadline_at, force).await,
        }
    }

    /// Erases the personal data (phone, IP, user agent, names, e-mail,
    /// analytics ids) of leads created before `before`. Keeps what the
    /// business needs: site, outcome, timestamps, pages, UTM, and the consent
    /// the visitor gave. A lead not final by then is stuck (no call lasts a
    /// retention period): it is halted, so nothing works on it any more.
    /// Returns how many leads were erased.
    pub async fn erase_personal_data(&self, before: i64, now: i64) -> Result<u64, StoreError> {
        match &self.engine {
            Engine::Sqlite(db) => db.erase_personal_data(before, now).await,
            Engine::Postgres(db) => db.erase_personal_data(before, now).await,
        }
    }

    /// Claims a lead for one orderCall: marks it sending (and in doubt) only
    /// if it is still waiting, so that of several workers or replicas that
    /// picked it, exactly one sends it. Returns this caller's claim, or
    /// `None` when another holds the lead.
    ///
    /// The claim is a lease until `lease_until`: a lead whose sender died (or
    /// whose outcome could not be written) is claimable again after it, and,
    /// being still marked in doubt, is reconciled before it is sent again.
    /// Every later write of the sender goes through
    /// [`Store::transition_claimed`] or [`Store::renew_claim`] with the claim,
    /// so a sender whose lease ran out (and whose lead another claimed)
    /// writes nothing: a fence, not just a lease.
    ///
    /// `seen_sent_at` is the lead's `sent_at` as the caller read it: the
    /// claim fails if another sender claimed it since, so a sender acting on
    /// a stale copy (one that does not know the lead is in doubt) never wins.
    pub async fn claim_for_sending(
        &self,
        id: &str,
        now: i64,
        lease_until: i64,
        seen_sent_at: Option<i64>,
    ) -> Result<Option<SendClaim>, StoreError> {
        match &self.engine {
            Engine::Sqlite(db) => {
                db.claim_for_sending(id, now, lease_until, seen_sent_at)
                    .await
            }
            Engine::Postgres(db) => {
                db.claim_for_sending(id, now, lease_until, seen_sent_at)
                    .await
            }
        }
    }

    /// Extends `claim`'s lease to `lease_until`; `false` when the claim is no
    /// longer this sender's (it must then not send).
    pub async fn renew_claim(
        &self,
        id: &str,
        claim: SendClaim,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        match &self.engine {
            Engine::Sqlite(db) => db.renew_claim(id, claim, lease_until).await,
            Engine::Postgres(db) => db.renew_claim(id, claim, lease_until).await,
        }
    }

    /// Applies a sender's outcome only while the lead is still `sending`
    /// under `claim`; `false` when it was refused (another sender holds the
    /// lead now, or it moved on).
    pub async fn transition_claimed(
        &self,
        id: &str,
        claim: SendClaim,
        change: &Transition,
        now: i64,
    ) -> Result<bool, StoreError> {
        match &self.engine {
            Engine::Sqlite(db) => db.transition_claimed(id, claim, change, now).await,
            Engine::Postgres(db) => db.transition_claimed(id, claim, change, now).await,
        }
    }

    /// Claims the next status poll of a call: moves its next look from
    /// `expected` to `next` only if nobody else did. Returns whether this caller won.
    pub async fn claim_poll(&self, id: &str, expected: i64, next: i64) -> Result<bool, StoreError> {
        match &self.engine {
            Engine::Sqlite(db) => db.claim_poll(id, expected, next).await,
            Engine::Postgres(db) => db.claim_poll(id, expected, next).await,
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Sqlite(db) => db.ping().await,
            Engine::Postgres(db) => db.ping().await,
        }
    }

    /// Proves the store takes a write: upserts `name`'s row of the
    /// `heartbeat` table (for `/readyz`).
    pub async fn heartbeat(&self, name: &str, now: i64) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Sqlite(db) => db.heartbeat(name, now).await,
            Engine::Postgres(db) => db.heartbeat(name, now).await,
        }
    }

    /// How many leads are in each state that is not a delivered outcome
    /// (everything but succeeded and failed), for `/metrics`. Reads the
    /// `(state, next_attempt_at)` index only, so its cost follows the live
    /// leads, not the history.
    pub async fn count_unfinished(&self) -> Result<Vec<(LeadState, i64)>, StoreError> {
        match &self.engine {
            Engine::Sqlite(db) => db.count_unfinished().await,
            Engine::Postgres(db) => db.count_unfinished().await,
        }
    }
}
