//! A local imitation of the CallKeeper API, for tests and demos.
//!
//! [`Sandbox::router`] serves the same paths as `api.callkeeper.ru`
//! (`/orderCall`, `/makeCalls`, `/getCallInfo`, `/getCallsInfo`,
//! `/getCallsCompleted`, `/getCallsByStatus`, `/getUserInfo`,
//! `/createWidget`, `/deleteWidget`, `/getT2C`, `/tag`, `/getDoc`) from GET
//! query strings, `application/x-www-form-urlencoded` and
//! `multipart/form-data` bodies, validates like the document says and
//! answers with the documented failure bodies and HTTP codes (including
//! 710). Every request is recorded ([`Sandbox::requests`]) for assertions.
//!
//! It must never reach the network (it only answers), and it answers only
//! with fields the document names, except `getUserInfo`, whose fields the
//! document does not list: the sandbox answers `{"unique", "balance"}`.
//!
//! # Validation order
//! Ordering methods (`orderCall`, `makeCalls`): 400 missing `unique`,
//! `apiak`, `whash`+`walias`, `calls` (makeCalls); 406 `calls` not an array;
//! 417 `apiak` or `whash` not 32 hex; 403 no account has the key; 401 host
//! check; 424 the widget is not the account's; 710 the widget is disabled;
//! 409 "Not enough values" for a call without `client`; 409 "Invalid manager
//! or client phone number"; 406 for a malformed `time_to_call`, `interval`,
//! `utc`, `opening_hours` or `ip_client`.
//!
//! The statistics methods take `api_key`; a missing or unknown one is 412.
//! `date` must be `date[from]`/`date[to]` (W3C dates or date-times,
//! `T24:00:00` = end of that day, a plain `to` date includes the whole day)
//! or a bare `&date` (all time); a non-empty plain `date` is 406 "Date is
//! not array", no `date` at all 409. `time_zone` is read with the fixed
//! offsets of [`Utc::offset_minutes`](crate::Utc::offset_minutes); other
//! IANA names are read as UTC.
//!
//! The host check (accounts with `check_host = true`) applies to the `apiak`
//! methods and passes when the peer address (with
//! `into_make_service_with_connect_info`) or the host of the `Origin` or
//! `Referer` header is in `allowed_hosts`.
//!
//! # Calls over time
//! Calls are computed from the clock on every read, never by background
//! tasks, so a [`ManualClock`] drives them exactly. Every duration below is
//! in sandbox seconds and multiplied by [`SandboxConfig::time_scale`]:
//! - with a future `time_to_call`, the call is scheduled (`2/0`, attempt 0)
//!   for `(time_to_call − now) × time_scale`;
//! - each attempt is in progress (`1/0`) for `call_seconds` (30);
//! - then it ends with the pair [`planned_status`] picks from the last two
//!   digits of the visitor's number:
//!
//! | last digits | pair | meaning | retried with `interval` |
//! | --- | --- | --- | --- |
//! | `00` | 200/486 | visitor busy | yes |
//! | `01` | 200/487 | visitor did not answer | yes |
//! | `02` | 487/0 | company did not answer | yes |
//! | `03` | 709/0 | incorrect number | no |
//! | `04` | 200/404 | visitor's number does not exist | no |
//! | `05` | 200/487 on attempt 1, then 200/200 | answers the second time | yes |
//! | `06` | 486/0 | company busy | yes |
//! | `07` | 667/0 | blocked by phone number | no |
//! | `08` | 200/0 | call to the visitor not initiated | yes |
//! | `09` | 790/0 | test call | no |
//! | other | 200/200 | success | — |
//!
//! - with `interval=5,10`, a failed attempt that is retried waits
//!   5 (then 10) minutes as `2/0` and `attempt` counts the attempts made;
//! - refused before dialling (final at once, attempt 0): 811/0 when the
//!   account has no minutes left, 815/0 (813/0 for a deferred order) when
//!   the same number was ordered on the account within the last
//!   `repeat_window_seconds` (3600), 703/0 when manager and visitor numbers
//!   are the same, 702/0 when `opening_hours` has no open day.
//!
//! A successful call uses `⌈call_seconds / 60⌉` minutes of the balance.
//!
//! # Errata honoured
//! `&date` with no value means all time; `ext_id` is accepted for
//! `external_service_identifier`; `/tag&action=set&…` (the document's URL
//! without `?`) is served like `/tag?action=set&…`; `gmt=UTC 03:00` (an
//! unencoded `+`) is accepted.

mod calls;
mod handlers;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use axum::Router;
use serde::Deserialize;

pub use calls::planned_status;

/// The demo account's company name (`unique`): the document's example.
pub const DEMO_UNIQUE: &str = "example_company";
/// The demo account's Profile key: the document's example key.
pub const DEMO_API_KEY: &str = "eb2cee1bc1b8d1b6e4282486af09e078";
/// The demo widget's hash: the document's example hash.
pub const DEMO_WHASH: &str = "96d6ec6937c878c2ca1f889b9b9e865a";
/// The demo widget's alias (`walias`).
pub const DEMO_WALIAS: &str = "20879112";
/// A disabled widget on the demo account, for the 710 answer.
pub const DEMO_DISABLED_WHASH: &str = "2ec6af2bd04f89a2620016a675224c7a";
/// The demo widget's only office (`manager=0`).
pub const DEMO_OFFICE_PHONE: &str = "74951234567";

/// The sandbox's accounts and pace. Deserializable from TOML
/// ([`SandboxConfig::from_toml`]); missing fields take the demo's values.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    /// The accounts that exist.
    pub accounts: Vec<Account>,
    /// Multiplies every duration: 1.0 = real seconds, 0.01 = 100× faster.
    pub time_scale: f64,
    /// How long one attempt is in progress, in sandbox seconds.
    pub call_seconds: u32,
    /// How long after an order a repeat order of the same number is refused
    /// (813/815), in sandbox seconds.
    pub repeat_window_seconds: u32,
}

/// One CallKeeper account.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The company name; shown by `getUserInfo`.
    pub unique: String,
    /// The Profile key (32 hex).
    pub api_key: String,
    /// Whether requests must come from `allowed_hosts` (401 otherwise).
    #[serde(default)]
    pub check_host: bool,
    /// Peer IPs or `Origin`/`Referer` host names allowed when `check_host`.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Minutes on the balance; 0 makes every order end as 811.
    #[serde(default = "default_balance")]
    pub balance_minutes: u32,
    /// The account's widgets.
    #[serde(default)]
    pub widgets: Vec<Widget>,
}

fn default_balance() -> u32 {
    1000
}

/// One widget of an account.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Widget {
    /// `whash` (32 hex).
    pub hash: String,
    /// `walias`, if the widget has one.
    #[serde(default)]
    pub alias: Option<String>,
    /// A disabled widget answers 710.
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// The offices' phone numbers; `manager=N` picks the N-th (from 0).
    #[serde(default = "default_offices")]
    pub offices: Vec<String>,
}

fn enabled() -> bool {
    true
}

fn default_offices() -> Vec<String> {
    vec![DEMO_OFFICE_PHONE.to_owned()]
}

impl SandboxConfig {
    /// One account with the `DEMO_*` credentials, an enabled widget
    /// ([`DEMO_WHASH`], alias [`DEMO_WALIAS`]), a disabled one
    /// ([`DEMO_DISABLED_WHASH`]), 1000 minutes, no host check, real time.
    pub fn demo() -> Self {
        Self {
            accounts: vec![Account {
                unique: DEMO_UNIQUE.to_owned(),
                api_key: DEMO_API_KEY.to_owned(),
                check_host: false,
                allowed_hosts: Vec::new(),
                balance_minutes: default_balance(),
                widgets: vec![
                    Widget {
                        hash: DEMO_WHASH.to_owned(),
                        alias: Some(DEMO_WALIAS.to_owned()),
                        enabled: true,
                        offices: default_offices(),
                    },
                    Widget {
                        hash: DEMO_DISABLED_WHASH.to_owned(),
                        alias: None,
                        enabled: false,
                        offices: default_offices(),
                    },
                ],
            }],
            time_scale: 1.0,
            call_seconds: 30,
            repeat_window_seconds: 3600,
        }
    }

    /// Reads a TOML config and checks it ([`SandboxConfig::validate`]).
    ///
    /// ```
    /// let config = callkeeper::sandbox::SandboxConfig::from_toml(r#"
    ///     time_scale = 0.01
    ///     [[accounts]]
    ///     unique = "shop"
    ///     api_key = "0123456789abcdef0123456789abcdef"
    ///     balance_minutes = 0
    ///     [[accounts.widgets]]
    ///     hash = "fedcba9876543210fedcba9876543210"
    ///     offices = ["74950000001"]
    /// "#).unwrap();
    /// assert_eq!(config.accounts[0].widgets[0].offices, ["74950000001"]);
    /// ```
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|err| ConfigError(err.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what the sandbox relies on: a finite, non-negative time scale,
    /// 32-hex keys and hashes, unique keys, and office numbers that parse.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let fail = |why: String| Err(ConfigError(why));
        if !self.time_scale.is_finite() || self.time_scale < 0.0 {
            return fail(format!(
                "time_scale must be a number ≥ 0 (1.0 = real time), got {}",
                self.time_scale
            ));
        }
        for (index, account) in self.accounts.iter().enumerate() {
            if !crate::values::is_hex32(&account.api_key) {
                return fail(format!(
                    "accounts[{index}].api_key must be 32 hexadecimal characters"
                ));
            }
            let same_key = self
                .accounts
                .iter()
                .filter(|other| other.api_key.eq_ignore_ascii_case(&account.api_key));
            if same_key.count() > 1 {
                return fail(format!(
                    "accounts[{index}].api_key is used by another account too"
                ));
            }
            for (widget_index, widget) in account.widgets.iter().enumerate() {
                if !crate::values::is_hex32(&widget.hash) {
                    return fail(format!(
                        "accounts[{index}].widgets[{widget_index}].hash must be 32 hexadecimal characters"
                    ));
                }
                for office in &widget.offices {
                    if protocol::PhoneNumber::parse(office).is_err() {
                        return fail(format!(
                            "accounts[{index}].widgets[{widget_index}].offices has an invalid phone {office:?}"
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self::demo()
    }
}

/// A sandbox config that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid sandbox config: {0}")]
pub struct ConfigError(String);

/// Where the sandbox reads the time.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told, for tests.
#[derive(Debug)]
pub struct ManualClock(Mutex<SystemTime>);

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: SystemTime) -> Self {
        Self(Mutex::new(start))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }

    /// Sets the clock.
    pub fn set(&self, to: SystemTime) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One request the sandbox received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The method, e.g. `orderCall` (the path without its `/`).
    pub method: String,
    /// `GET` or `POST`.
    pub http_method: String,
    /// Decoded parameters in arrival order (query string first, then body),
    /// keys in bracket notation: `calls[0][client]`.
    pub params: Vec<(String, String)>,
    /// The raw body, when it was URL-encoded (to pin the wire format).
    pub raw_body: Option<String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
}

impl RecordedRequest {
    /// The value of `key` (the last one, as PHP reads repeated keys).
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The sandbox: its accounts, its calls and its request log. Cheap to clone;
/// clones share state.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

struct Inner {
    config: SandboxConfig,
    clock: Arc<dyn Clock>,
    state: Mutex<handlers::State>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("accounts", &self.inner.config.accounts.len())
            .field("time_scale", &self.inner.config.time_scale)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// A sandbox on the system clock.
    pub fn new(config: SandboxConfig) -> Self {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// A sandbox on the given clock (e.g. a [`ManualClock`]).
    pub fn with_clock(mut config: SandboxConfig, clock: Arc<dyn Clock>) -> Self {
        if !config.time_scale.is_finite() || config.time_scale < 0.0 {
            config.time_scale = 1.0;
        }
        let state = handlers::State::new(&config);
        Self {
            inner: Arc::new(Inner {
                config,
                clock,
                state: Mutex::new(state),
            }),
        }
    }

    /// The API's routes. Serve it with
    /// `into_make_service_with_connect_info::<SocketAddr>()` for the host
    /// check to see peer addresses.
    pub fn router(&self) -> Router {
        Router::new()
            .fallback(handlers::handle)
            .with_state(self.clone())
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    /// Forgets the recorded requests (calls stay).
    pub fn clear_requests(&self) {
        self.state().requests.clear();
    }

    /// Serves the sandbox on `addr` (e.g. `127.0.0.1:0`) in a background
    /// task until the returned handle is dropped.
    pub async fn spawn(&self, addr: SocketAddr) -> std::io::Result<RunningSandbox> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = self
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        let task = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::error!("the CallKeeper sandbox stopped: {err}");
            }
        });
        Ok(RunningSandbox { addr, task })
    }

    pub(crate) fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.inner.clock.now()
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, handlers::State> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A sandbox served in the background; dropping it stops the server.
#[must_use = "the sandbox stops when this is dropped"]
#[derive(Debug)]
pub struct RunningSandbox {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl RunningSandbox {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://addr/`, the base URL for a [`Client`](crate::Client).
    pub fn url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}/", self.addr))
            .expect("a socket address makes a valid URL")
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}
