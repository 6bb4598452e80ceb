//! The sandbox's request handling: reading parameters the way PHP does,
//! validating in the documented order and answering each method.
//!
//! Failures are `{"status":"fail","reason":…}` with the document's exact
//! reason texts from [`crate::reasons`] and HTTP codes; nothing else is ever
//! put in a failure body.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::SystemTime;

use axum::extract::{ConnectInfo, FromRequest, Multipart, Request, State as AxumState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::calls::{CallRecord, Pace};
use super::{Account, RecordedRequest, Sandbox, SandboxConfig, Widget};
use crate::error::reasons;
use crate::php_query;
use crate::status_table::StatusPair;
use crate::values::{Interval, Manager, OpeningHours, UnixTime, Utc, W3cDate, is_hex32};

/// Largest request body read, as PHP's default `post_max_size` is 8 MB.
const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// Everything that changes while the sandbox runs.
#[derive(Debug)]
pub(crate) struct State {
    accounts: Vec<Account>,
    calls: Vec<CallRecord>,
    next_call_id: u64,
    next_widget: u64,
    pub(crate) requests: Vec<RecordedRequest>,
}

impl State {
    pub(crate) fn new(config: &SandboxConfig) -> Self {
        Self {
            accounts: config.accounts.clone(),
            calls: Vec::new(),
            next_call_id: 1001,
            next_widget: 1,
            requests: Vec::new(),
        }
    }
}

/// A refusal: HTTP status and documented reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fail(u16, &'static str);

const MISSING_UNIQUE: Fail = Fail(400, reasons::MISSING_UNIQUE);
const MISSING_APIAK: Fail = Fail(400, reasons::MISSING_APIAK);
const MISSING_WIDGET: Fail = Fail(400, reasons::MISSING_WIDGET);
const MISSING_CALLS: Fail = Fail(400, reasons::MISSING_CALLS);
const UNAUTHORIZED_HOST: Fail = Fail(401, reasons::UNAUTHORIZED_HOST);
const WRONG_KEY: Fail = Fail(403, reasons::WRONG_KEY);
const MISMATCHED: Fail = Fail(404, reasons::MISMATCHED);
const UNKNOWN_METHOD: Fail = Fail(405, reasons::UNKNOWN_METHOD);
const WRONG_DATA_TYPE: Fail = Fail(406, reasons::WRONG_DATA_TYPE);
const DATE_NOT_ARRAY: Fail = Fail(406, reasons::DATE_NOT_ARRAY);
const NOT_ENOUGH_VALUES: Fail = Fail(409, reasons::NOT_ENOUGH_VALUES);
const INVALID_PHONE: Fail = Fail(409, reasons::INVALID_PHONE);
const PHONE_NOT_PROVIDED: Fail = Fail(409, reasons::PHONE_NOT_PROVIDED);
const UNKNOWN_USER: Fail = Fail(412, reasons::UNKNOWN_USER);
const MALFORMED_KEY_OR_HASH: Fail = Fail(417, reasons::MALFORMED_KEY_OR_HASH);
const WRONG_PAIR: Fail = Fail(424, reasons::WRONG_PAIR);
const WIDGET_DISABLED: Fail = Fail(710, reasons::WIDGET_DISABLED);

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0).unwrap_or(StatusCode::BAD_REQUEST);
        (
            status,
            json_body(object(&[
                ("status", json!("fail")),
                ("reason", json!(self.1)),
            ])),
        )
            .into_response()
    }
}

fn json_body(text: String) -> ([(header::HeaderName, &'static str); 1], String) {
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        text,
    )
}

/// A JSON object with its keys in the given order, as the document prints
/// them (`serde_json`'s map would sort them).
fn object(fields: &[(&str, Value)]) -> String {
    let fields: Vec<String> = fields
        .iter()
        .map(|(key, value)| format!("{}:{value}", Value::from(*key)))
        .collect();
    format!("{{{}}}", fields.join(","))
}

/// The request's parameters as PHP's `$_REQUEST` sees them.
struct Params(Vec<(String, String)>);

impl Params {
    /// The last value of `key`, as PHP keeps the last of repeated keys.
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `key` when present and not blank.
    fn text(&self, key: &str) -> Option<&str> {
        self.get(key).map(str::trim).filter(|v| !v.is_empty())
    }

    /// The entries under `name[...]`, as (rest of path, value).
    fn nested(&self, name: &str) -> Vec<(Vec<String>, &str)> {
        self.0
            .iter()
            .filter_map(|(key, value)| {
                let path = php_query::parse_key(key)?;
                (path.len() > 1 && path[0] == name).then(|| (path[1..].to_vec(), value.as_str()))
            })
            .collect()
    }
}

/// Where a request came from, for the host check.
struct Origin {
    hosts: Vec<String>,
}

impl Origin {
    fn of(headers: &HeaderMap, peer: Option<IpAddr>) -> Self {
        let mut hosts: Vec<String> = peer.map(|ip| ip.to_string()).into_iter().collect();
        for name in [header::ORIGIN, header::REFERER] {
            if let Some(host) = headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| url::Url::parse(value).ok())
                .and_then(|url| url.host_str().map(str::to_owned))
            {
                hosts.push(host);
            }
        }
        Self { hosts }
    }

    fn allowed(&self, account: &Account) -> bool {
        !account.check_host
            || self.hosts.iter().any(|host| {
                account
                    .allowed_hosts
                    .iter()
                    .any(|allowed| allowed.eq_ignore_ascii_case(host))
            })
    }
}

/// The one handler behind every path.
pub(crate) async fn handle(AxumState(sandbox): AxumState<Sandbox>, request: Request) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let origin = Origin::of(request.headers(), peer);
    let http_method = request.method().to_string();
    let path = request.uri().path().trim_start_matches('/').to_owned();
    // The document writes `/tag&action=set&…` without a `?`; read the rest as parameters.
    let (method, mut params) = match path.split_once('&') {
        Some((method, rest)) => (method.to_owned(), php_query::decode(rest)),
        None => (path, Vec::new()),
    };
    params.extend(php_query::decode(request.uri().query().unwrap_or_default()));
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let mut raw_body = None;
    if content_type
        .as_deref()
        .is_some_and(|ct| ct.starts_with("multipart/form-data"))
    {
        match read_multipart(request).await {
            Ok(fields) => params.extend(fields),
            Err(fail) => return fail.into_response(),
        }
    } else {
        let bytes = match axum::body::to_bytes(request.into_body(), BODY_LIMIT).await {
            Ok(bytes) => bytes,
            Err(_) => return WRONG_DATA_TYPE.into_response(),
        };
        if !bytes.is_empty() {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            params.extend(php_query::decode(&text));
            raw_body = Some(text);
        }
    }
    sandbox.state().requests.push(RecordedRequest {
        method: method.clone(),
        http_method,
        params: params.clone(),
        raw_body,
        content_type,
    });
    let params = Params(params);
    let answer = match method.as_str() {
        "orderCall" => sandbox.order(&params, &origin, false),
        "makeCalls" => sandbox.order(&params, &origin, true),
        "getCallInfo" => sandbox.get_call_info(&params).map(|v| v.to_string()),
        "getCallsInfo" => sandbox
            .statistics(&params, Filter::All)
            .map(|v| v.to_string()),
        "getCallsCompleted" => sandbox
            .statistics(&params, Filter::Completed)
            .map(|v| v.to_string()),
        "getCallsByStatus" => sandbox
            .statistics(&params, Filter::ByStatus)
            .map(|v| v.to_string()),
        "getUserInfo" => sandbox.get_user_info(&params).map(|v| v.to_string()),
        "createWidget" => sandbox
            .create_widget(&params, &origin)
            .map(|v| v.to_string()),
        "deleteWidget" => sandbox
            .delete_widget(&params, &origin)
            .map(|v| v.to_string()),
        "getT2C" => sandbox.get_t2c(&params, &origin).map(|v| v.to_string()),
        "tag" => sandbox.tag(&params, &origin).map(|v| v.to_string()),
        "getDoc" => {
            return (
                StatusCode::OK,
                "CallKeeper sandbox: the API is described in shared/callkeeper-api.md\n",
            )
                .into_response();
        }
        _ => Err(UNKNOWN_METHOD),
    };
    match answer {
        Ok(text) => (StatusCode::OK, json_body(text)).into_response(),
        Err(fail) => fail.into_response(),
    }
}

async fn read_multipart(request: Request) -> Result<Vec<(String, String)>, Fail> {
    // Multipart applies axum's default body limit (2 MB) itself.
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|_| WRONG_DATA_TYPE)?;
    let mut fields = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(|_| WRONG_DATA_TYPE)? {
        let name = field.name().unwrap_or_default().to_owned();
        let value = field.text().await.map_err(|_| WRONG_DATA_TYPE)?;
        fields.push((name, value));
    }
    Ok(fields)
}

/// Which calls a statistics method returns.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Filter {
    All,
    Completed,
    ByStatus,
}

/// One call of an order, with parameters looked up in `calls[N][key]`,
/// `calls[N][utm][key]` and then the top level.
struct CallParams<'a> {
    own: BTreeMap<String, &'a str>,
    utm: BTreeMap<String, &'a str>,
    top: &'a Params,
}

impl<'a> CallParams<'a> {
    fn get(&self, key: &str) -> Option<&'a str> {
        self.own
            .get(key)
            .or_else(|| self.utm.get(key))
            .copied()
            .or_else(|| self.top.get(key))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }
}

/// A call that passed validation, not yet stored.
struct ValidCall {
    client: String,
    manager: String,
    manager_digits: String,
    time_to_call: Option<UnixTime>,
    interval: Vec<u32>,
    always_closed: bool,
    site: String,
    ip: String,
    ga_client_id: String,
    current_page: String,
    user_agent: String,
    visit: Map<String, Value>,
}

const VISIT_KEYS: [&str; 9] = [
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "utm_type",
    "entry_point",
    "referrer",
    "user_agent",
];

fn validate_call(call: &CallParams<'_>, widget: &Widget) -> Result<ValidCall, Fail> {
    let client = call.get("client").ok_or(NOT_ENOUGH_VALUES)?;
    let client = protocol::PhoneNumber::parse(client).map_err(|_| INVALID_PHONE)?;
    let (manager, manager_digits) = match call.get("manager") {
        None => office(widget, 0)?,
        Some(text) => match Manager::parse(text).map_err(|_| INVALID_PHONE)? {
            Manager::Office(index) => office(widget, index)?,
            Manager::Phone { number, extension } => (
                format!("{number}^{}", extension.as_deref().unwrap_or("_")),
                number,
            ),
        },
    };
    let time_to_call = call
        .get("time_to_call")
        .map(UnixTime::parse)
        .transpose()
        .map_err(|_| WRONG_DATA_TYPE)?;
    let interval = call
        .get("interval")
        .map(Interval::parse)
        .transpose()
        .map_err(|_| WRONG_DATA_TYPE)?
        .map(|interval| interval.minutes().to_vec())
        .unwrap_or_default();
    call.get("utc")
        .map(Utc::parse)
        .transpose()
        .map_err(|_| WRONG_DATA_TYPE)?;
    let hours = call
        .get("opening_hours")
        .map(OpeningHours::parse)
        .transpose()
        .map_err(|_| WRONG_DATA_TYPE)?;
    let ip = call
        .get("ip_client")
        .map(str::parse::<IpAddr>)
        .transpose()
        .map_err(|_| WRONG_DATA_TYPE)?;
    let mut visit = Map::new();
    for key in VISIT_KEYS {
        if let Some(value) = call.get(key) {
            visit.insert(key.to_owned(), Value::String(value.to_owned()));
        }
    }
    let text = |key: &str| call.get(key).unwrap_or_default().to_owned();
    Ok(ValidCall {
        client: client.as_str().to_owned(),
        manager,
        manager_digits,
        time_to_call,
        interval,
        always_closed: hours.is_some_and(|hours| hours.is_always_closed()),
        site: text("site"),
        ip: ip.map(|ip| ip.to_string()).unwrap_or_default(),
        ga_client_id: text("ga_client_id"),
        current_page: text("current_page"),
        user_agent: text("user_agent"),
        visit,
    })
}

/// The widget's N-th office as `phone1` and its digits.
fn office(widget: &Widget, index: u32) -> Result<(String, String), Fail> {
    let phone = usize::try_from(index)
        .ok()
        .and_then(|index| widget.offices.get(index))
        .ok_or(INVALID_PHONE)?;
    let digits = protocol::PhoneNumber::parse(phone).map_err(|_| INVALID_PHONE)?;
    Ok((format!("{}^_", digits.as_str()), digits.as_str().to_owned()))
}

/// One `calls[N]`: its own keys and its `utm` keys.
type CallGroup<'a> = (BTreeMap<String, &'a str>, BTreeMap<String, &'a str>);

/// Sorts `calls[N]` by N, numbers first, as PHP keeps insertion order but
/// callers number from 0.
fn call_groups<'a>(entries: Vec<(Vec<String>, &'a str)>) -> Result<Vec<CallGroup<'a>>, Fail> {
    let mut groups: BTreeMap<(u64, String), CallGroup<'a>> = BTreeMap::new();
    for (path, value) in entries {
        let index = &path[0];
        let order = (index.parse::<u64>().unwrap_or(u64::MAX), index.clone());
        let group = groups.entry(order).or_default();
        match path.get(1..).unwrap_or_default() {
            [key] => {
                group.0.insert(key.clone(), value);
            }
            [utm, key] if utm == "utm" => {
                group.1.insert(key.clone(), value);
            }
            // `calls[0]=x`: a call that is not an array.
            _ => return Err(WRONG_DATA_TYPE),
        }
    }
    Ok(groups.into_values().collect())
}

/// The period of a statistics request, as Unix seconds (inclusive).
fn period(params: &Params) -> Result<(i64, i64), Fail> {
    let offset = match params.text("time_zone") {
        Some(zone) => Utc::parse(zone)
            .map_err(|_| WRONG_DATA_TYPE)?
            .offset_minutes()
            .unwrap_or(0),
        None => 0,
    };
    let nested = params.nested("date");
    if nested.is_empty() {
        return match params.get("date") {
            None => Err(NOT_ENOUGH_VALUES),
            Some(value) if value.trim().is_empty() => Ok((i64::MIN, i64::MAX)),
            Some(_) => Err(DATE_NOT_ARRAY),
        };
    }
    let bound = |name: &str| -> Result<Option<W3cDate>, Fail> {
        nested
            .iter()
            .rev()
            .find(|(path, _)| path.len() == 1 && path[0] == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
            .map(|value| W3cDate::parse(value).map_err(|_| WRONG_DATA_TYPE))
            .transpose()
    };
    let from = bound("from")?.map_or(i64::MIN, |from| from.start_unix(offset));
    let to = bound("to")?.map_or(i64::MAX, |to| to.end_unix_inclusive(offset));
    Ok((from, to))
}

impl Sandbox {
    fn pace(&self) -> Pace {
        Pace {
            time_scale: self.config().time_scale,
            call_seconds: self.config().call_seconds,
        }
    }

    /// The account whose key is `key`.
    fn account_index(state: &State, key: &str) -> Option<usize> {
        state
            .accounts
            .iter()
            .position(|account| account.api_key.eq_ignore_ascii_case(key.trim()))
    }

    /// `apiak` methods: key present, well formed (when `strict`), known, host allowed.
    fn apiak_account(
        state: &State,
        params: &Params,
        origin: &Origin,
        strict: bool,
    ) -> Result<usize, Fail> {
        let key = params.text("apiak").ok_or(MISSING_APIAK)?;
        if strict && !is_hex32(key) {
            return Err(MALFORMED_KEY_OR_HASH);
        }
        let index = Self::account_index(state, key).ok_or(WRONG_KEY)?;
        if !origin.allowed(&state.accounts[index]) {
            return Err(UNAUTHORIZED_HOST);
        }
        Ok(index)
    }

    /// Minutes left on an account at `now`.
    fn balance(&self, state: &State, account: usize, now: SystemTime) -> i64 {
        let used: i64 = state
            .calls
            .iter()
            .filter(|call| call.account == account)
            .map(|call| call.snapshot(now, self.pace()))
            .filter(|snapshot| snapshot.status == StatusPair::SUCCESS)
            .map(|snapshot| i64::from(snapshot.duration_min()))
            .sum();
        i64::from(state.accounts[account].balance_minutes) - used
    }

    fn order(&self, params: &Params, origin: &Origin, nested: bool) -> Result<String, Fail> {
        params.text("unique").ok_or(MISSING_UNIQUE)?;
        params.text("apiak").ok_or(MISSING_APIAK)?;
        let whash = params.text("whash");
        let walias = params.text("walias");
        if whash.is_none() && walias.is_none() {
            return Err(MISSING_WIDGET);
        }
        let groups = if nested {
            let entries = params.nested("calls");
            if entries.is_empty() {
                return Err(if params.get("calls").is_some() {
                    WRONG_DATA_TYPE
                } else {
                    MISSING_CALLS
                });
            }
            call_groups(entries)?
        } else {
            vec![(BTreeMap::new(), BTreeMap::new())]
        };
        if whash.is_some_and(|hash| !is_hex32(hash)) {
            return Err(MALFORMED_KEY_OR_HASH);
        }
        let now = self.now();
        let mut state = self.state();
        let account = Self::apiak_account(&state, params, origin, true)?;
        let widget = state.accounts[account]
            .widgets
            .iter()
            .find(|widget| match (whash, walias) {
                (Some(hash), _) => widget.hash.eq_ignore_ascii_case(hash),
                (None, Some(alias)) => widget.alias.as_deref() == Some(alias),
                (None, None) => false,
            })
            .cloned()
            .ok_or(WRONG_PAIR)?;
        if !widget.enabled {
            return Err(WIDGET_DISABLED);
        }
        let calls = groups
            .iter()
            .map(|(own, utm)| {
                validate_call(
                    &CallParams {
                        own: own.clone(),
                        utm: utm.clone(),
                        top: params,
                    },
                    &widget,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut answer = Vec::with_capacity(calls.len());
        for call in calls {
            let id = state.next_call_id;
            state.next_call_id += 1;
            let delay = call.time_to_call.map_or(0.0, |at| {
                let now_secs = UnixTime::from_system_time(now).as_secs();
                at.as_secs().saturating_sub(now_secs) as f64
            });
            let deferred = delay > 0.0;
            let window = self
                .pace()
                .scaled(f64::from(self.config().repeat_window_seconds));
            let since = now.checked_sub(window).unwrap_or(SystemTime::UNIX_EPOCH);
            let repeat = state.calls.iter().any(|earlier| {
                earlier.account == account
                    && earlier.client == call.client
                    && earlier.refused.is_none()
                    && earlier.created >= since
            });
            let refused = if self.balance(&state, account, now) <= 0 {
                Some(StatusPair::new(811, 0))
            } else if repeat {
                Some(StatusPair::new(if deferred { 813 } else { 815 }, 0))
            } else if call.manager_digits == call.client {
                Some(StatusPair::new(703, 0))
            } else if call.always_closed {
                Some(StatusPair::new(702, 0))
            } else {
                None
            };
            answer.push(object(&[
                ("id", json!(id.to_string())),
                ("manager", json!(call.manager)),
                ("client", json!(call.client)),
                ("status", json!("success")),
            ]));
            state.calls.push(CallRecord {
                id,
                account,
                widget_hash: widget.hash.clone(),
                client: call.client,
                manager: call.manager,
                created: now,
                first_start: now.checked_add(self.pace().scaled(delay)).unwrap_or(now),
                interval: call.interval,
                refused,
                site: call.site,
                ip: call.ip,
                ga_client_id: call.ga_client_id,
                current_page: call.current_page,
                user_agent: call.user_agent,
                visit: call.visit,
                tags: Vec::new(),
            });
        }
        Ok(format!("[{}]", answer.join(",")))
    }

    /// `api_key` methods: a missing or unknown key is an unknown user.
    fn statistics_account(state: &State, params: &Params) -> Result<usize, Fail> {
        params
            .text("api_key")
            .and_then(|key| Self::account_index(state, key))
            .ok_or(UNKNOWN_USER)
    }

    fn get_call_info(&self, params: &Params) -> Result<Value, Fail> {
        let now = self.now();
        let state = self.state();
        let account = Self::statistics_account(&state, params)?;
        let id = params.text("id_call").ok_or(NOT_ENOUGH_VALUES)?;
        let id: u64 = id.parse().map_err(|_| WRONG_DATA_TYPE)?;
        let call = state
            .calls
            .iter()
            .find(|call| call.id == id && call.account == account)
            .ok_or(MISMATCHED)?;
        Ok(call.to_json(now, self.pace()))
    }

    fn statistics(&self, params: &Params, filter: Filter) -> Result<Value, Fail> {
        let now = self.now();
        let state = self.state();
        let account = Self::statistics_account(&state, params)?;
        let (from, to) = period(params)?;
        let statuses = match filter {
            Filter::ByStatus => {
                let text = params.text("statuses").ok_or(NOT_ENOUGH_VALUES)?;
                text.split(',')
                    .map(|pair| pair.parse::<StatusPair>().map_err(|_| WRONG_DATA_TYPE))
                    .collect::<Result<Vec<_>, _>>()?
            }
            Filter::All | Filter::Completed => Vec::new(),
        };
        let pace = self.pace();
        let calls = state
            .calls
            .iter()
            .filter(|call| call.account == account && (from..=to).contains(&call.date_unix()))
            .filter(|call| {
                let status = call.snapshot(now, pace).status;
                match filter {
                    Filter::All => true,
                    Filter::Completed => status.is_final(),
                    Filter::ByStatus => statuses.contains(&status),
                }
            })
            .map(|call| call.to_json(now, pace))
            .collect();
        Ok(Value::Array(calls))
    }

    fn get_user_info(&self, params: &Params) -> Result<Value, Fail> {
        let now = self.now();
        let state = self.state();
        let account = Self::statistics_account(&state, params)?;
        Ok(json!({
            "unique": state.accounts[account].unique,
            "balance": self.balance(&state, account, now),
        }))
    }

    fn create_widget(&self, params: &Params, origin: &Origin) -> Result<Value, Fail> {
        let mut state = self.state();
        let account = Self::apiak_account(&state, params, origin, true)?;
        let phone = params.text("phone").ok_or(PHONE_NOT_PROVIDED)?;
        let phone = protocol::PhoneNumber::parse(phone).map_err(|_| PHONE_NOT_PROVIDED)?;
        if let Some(ext) = params.text("phoneadd")
            && !ext.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(WRONG_DATA_TYPE);
        }
        params
            .text("gmt")
            .map(Utc::parse)
            .transpose()
            .map_err(|_| WRONG_DATA_TYPE)?;
        params
            .text("schedule")
            .map(OpeningHours::parse)
            .transpose()
            .map_err(|_| WRONG_DATA_TYPE)?;
        if params.text("emails").is_some() {
            return Err(WRONG_DATA_TYPE);
        }
        let hash = format!("5a4db0c5{:024x}", state.next_widget);
        state.next_widget += 1;
        state.accounts[account].widgets.push(Widget {
            hash: hash.clone(),
            alias: None,
            enabled: true,
            offices: vec![phone.as_str().to_owned()],
        });
        Ok(json!({"status": "success", "whash": hash}))
    }

    fn delete_widget(&self, params: &Params, origin: &Origin) -> Result<Value, Fail> {
        let mut state = self.state();
        params.text("apiak").ok_or(MISSING_APIAK)?;
        let whash = params.text("whash").ok_or(MISSING_WIDGET)?;
        if !is_hex32(whash) {
            return Err(MALFORMED_KEY_OR_HASH);
        }
        let account = Self::apiak_account(&state, params, origin, true)?;
        let widgets = &mut state.accounts[account].widgets;
        let index = widgets
            .iter()
            .position(|widget| widget.hash.eq_ignore_ascii_case(whash))
            .ok_or(WRONG_PAIR)?;
        widgets.remove(index);
        Ok(json!({"status": "success"}))
    }

    fn get_t2c(&self, params: &Params, origin: &Origin) -> Result<Value, Fail> {
        let state = self.state();
        Self::apiak_account(&state, params, origin, true)?;
        period(params)?;
        // Tap2Call is not imitated: there are never any.
        Ok(Value::Array(Vec::new()))
    }

    fn tag(&self, params: &Params, origin: &Origin) -> Result<Value, Fail> {
        match params.text("action") {
            None => return Err(NOT_ENOUGH_VALUES),
            Some("set") => {}
            Some(_) => return Err(UNKNOWN_METHOD),
        }
        let mut state = self.state();
        // The document's own example key for `tag` is not 32 hex, so the
        // shape is not checked here; an unknown key is still refused.
        let account = Self::apiak_account(&state, params, origin, false)?;
        let tag = params.text("tag").ok_or(NOT_ENOUGH_VALUES)?.to_owned();
        let id: u64 = params
            .text("call_id")
            .ok_or(NOT_ENOUGH_VALUES)?
            .parse()
            .map_err(|_| WRONG_DATA_TYPE)?;
        let call = state
            .calls
            .iter_mut()
            .find(|call| call.id == id && call.account == account)
            .ok_or(MISMATCHED)?;
        if !call.tags.contains(&tag) {
            call.tags.push(tag);
        }
        Ok(json!({"status": "success"}))
    }
}
