//! What the client sends (orders, widgets) and what it reads back (ordered
//! calls, call records, user info).
//!
//! Requests are plain structs of typed, optional fields named exactly as
//! CallKeeper's parameters, each turned into pairs by one `push_to` that
//! follows the document's order. Answers are read tolerantly: CallKeeper
//! sends numbers as strings and strings as numbers, so every field of a call
//! record is parsed through the `loose_*` helpers rather than strict serde.
//!
//! One file past 800 lines because it is the document's shapes side by
//! side, with the `loose_*` parsers they share: a field's name is checked
//! against the document in one place.

use std::net::IpAddr;

use protocol::PhoneNumber;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::php_query::Query;
use crate::status_table::StatusPair;
use crate::values::{CallId, Interval, Manager, OpeningHours, UnixTime, Utc};

/// One call ordered with `orderCall`: flat parameters, the visitor's number
/// in `client`. Only `client` is required.
///
/// ```
/// use callkeeper::OrderCall;
/// use protocol::PhoneNumber;
/// let mut order = OrderCall::new(PhoneNumber::parse("+7 999 123-45-67").unwrap());
/// order.site = Some("example.com".to_owned());
/// order.referrer = Some("https://yandex.ru/".to_owned());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderCall {
    /// `client`: the visitor's number. Required; the client refuses to send
    /// an order without it.
    pub client: Option<PhoneNumber>,
    /// `origin`: the number the call is made to, if not `client`.
    pub origin: Option<String>,
    /// `manager`: an office of the widget or a phone number.
    pub manager: Option<Manager>,
    /// `text_to_manager`: spoken to the manager at the start of the call.
    pub text_to_manager: Option<String>,
    /// `info_to_manager`: spoken when the manager presses the info key.
    pub info_to_manager: Option<String>,
    /// `external_service_identifier` (alias `ext_id`).
    pub external_service_identifier: Option<String>,
    /// `time_to_call`: call later, at this moment.
    pub time_to_call: Option<UnixTime>,
    /// `site`: shown in the call's details.
    pub site: Option<String>,
    /// `utc`: the visitor's time zone.
    pub utc: Option<Utc>,
    /// `opening_hours`: when the company takes calls.
    pub opening_hours: Option<OpeningHours>,
    /// `notification`: email for status notifications.
    pub notification: Option<String>,
    /// `tool_name`: the form or tool the call was ordered from.
    pub tool_name: Option<String>,
    /// `ga_client_id`: Google Analytics client id.
    pub ga_client_id: Option<String>,
    /// `ip_client`: the visitor's IP address.
    pub ip_client: Option<IpAddr>,
    /// `interval`: minutes between retries.
    pub interval: Option<Interval>,
    /// `referrer`: `document.referrer`; CallKeeper derives the traffic type.
    pub referrer: Option<String>,
    /// `client_email`.
    pub client_email: Option<String>,
    /// `calltouch_session_id`.
    pub calltouch_session_id: Option<String>,
    /// `roistat_id`.
    pub roistat_id: Option<String>,
    /// `current_page`: the page the call was ordered on.
    pub current_page: Option<String>,
    /// `record_to_manager`: URL of a recording played to the manager.
    pub record_to_manager: Option<String>,
    /// `record_to_await`: URL of a recording played to the manager while the
    /// visitor is being dialled.
    pub record_to_await: Option<String>,
    /// `office_name`.
    pub office_name: Option<String>,
    /// `utm_source`.
    pub utm_source: Option<String>,
    /// `utm_medium`.
    pub utm_medium: Option<String>,
    /// `utm_campaign`.
    pub utm_campaign: Option<String>,
    /// `utm_content`.
    pub utm_content: Option<String>,
    /// `utm_term`.
    pub utm_term: Option<String>,
    /// `entry_point`: the visitor's landing address.
    pub entry_point: Option<String>,
    /// `user_agent`.
    pub user_agent: Option<String>,
}

impl OrderCall {
    /// An order for a call to `client`, nothing else set.
    pub fn new(client: PhoneNumber) -> Self {
        Self {
            client: Some(client),
            ..Self::default()
        }
    }

    /// Appends every set field, in the document's order.
    pub(crate) fn push_to(&self, query: &mut Query) {
        query
            .push_opt("utc", self.utc.as_ref())
            .push_opt("opening_hours", self.opening_hours.as_ref())
            .push_opt("notification", self.notification.as_ref())
            .push_opt("tool_name", self.tool_name.as_ref())
            .push_opt("ga_client_id", self.ga_client_id.as_ref())
            .push_opt("ip_client", self.ip_client.as_ref())
            .push_opt("interval", self.interval.as_ref())
            .push_opt("referrer", self.referrer.as_ref())
            .push_opt("client", self.client.as_ref().map(PhoneNumber::as_str))
            .push_opt("origin", self.origin.as_ref())
            .push_opt("manager", self.manager.as_ref())
            .push_opt("text_to_manager", self.text_to_manager.as_ref())
            .push_opt("info_to_manager", self.info_to_manager.as_ref())
            .push_opt(
                "external_service_identifier",
                self.external_service_identifier.as_ref(),
            )
            .push_opt("time_to_call", self.time_to_call.as_ref())
            .push_opt("site", self.site.as_ref())
            .push_opt("utm_source", self.utm_source.as_ref())
            .push_opt("utm_medium", self.utm_medium.as_ref())
            .push_opt("utm_campaign", self.utm_campaign.as_ref())
            .push_opt("utm_content", self.utm_content.as_ref())
            .push_opt("utm_term", self.utm_term.as_ref())
            .push_opt("entry_point", self.entry_point.as_ref())
            .push_opt("user_agent", self.user_agent.as_ref())
            .push_opt("client_email", self.client_email.as_ref())
            .push_opt("calltouch_session_id", self.calltouch_session_id.as_ref())
            .push_opt("roistat_id", self.roistat_id.as_ref())
            .push_opt("current_page", self.current_page.as_ref())
            .push_opt("record_to_manager", self.record_to_manager.as_ref())
            .push_opt("record_to_await", self.record_to_await.as_ref())
            .push_opt("office_name", self.office_name.as_ref());
    }
}

/// `utm_type` of `makeCalls`: how the visitor arrived when there are no UTM
/// tags (with tags CallKeeper decides itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UtmType {
    /// `typein`: typed the address.
    Typein,
    /// `referral`: came from another site (put it in `utm_source`).
    Referral,
    /// `organic`: came from a search engine (put it in `utm_source`).
    Organic,
}

impl UtmType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Typein => "typein",
            Self::Referral => "referral",
            Self::Organic => "organic",
        }
    }
}

/// The `utm` array of one `makeCalls` call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Utm {
    /// `utm_source`.
    pub utm_source: Option<String>,
    /// `utm_medium`.
    pub utm_medium: Option<String>,
    /// `utm_campaign`.
    pub utm_campaign: Option<String>,
    /// `utm_content`.
    pub utm_content: Option<String>,
    /// `utm_term`.
    pub utm_term: Option<String>,
    /// `entry_point`.
    pub entry_point: Option<String>,
    /// `user_agent`.
    pub user_agent: Option<String>,
    /// `utm_type`.
    pub utm_type: Option<UtmType>,
}

impl Utm {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One element of `makeCalls`' `calls` array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallOrder {
    /// `client`: the visitor's number.
    pub client: PhoneNumber,
    /// `origin`.
    pub origin: Option<String>,
    /// `manager`.
    pub manager: Option<Manager>,
    /// `text_to_manager`.
    pub text_to_manager: Option<String>,
    /// `info_to_manager`.
    pub info_to_manager: Option<String>,
    /// `external_service_identifier`.
    pub external_service_identifier: Option<String>,
    /// `time_to_call`.
    pub time_to_call: Option<UnixTime>,
    /// `site`.
    pub site: Option<String>,
    /// `client_email`.
    pub client_email: Option<String>,
    /// `calltouch_session_id`.
    pub calltouch_session_id: Option<String>,
    /// `roistat_id`.
    pub roistat_id: Option<String>,
    /// `current_page`.
    pub current_page: Option<String>,
    /// `record_to_manager`.
    pub record_to_manager: Option<String>,
    /// `record_to_await`.
    pub record_to_await: Option<String>,
    /// `office_name`.
    pub office_name: Option<String>,
    /// `utm[...]`.
    pub utm: Utm,
}

impl CallOrder {
    /// A call to `client`, nothing else set.
    pub fn new(client: PhoneNumber) -> Self {
        Self {
            client,
            origin: None,
            manager: None,
            text_to_manager: None,
            info_to_manager: None,
            external_service_identifier: None,
            time_to_call: None,
            site: None,
            client_email: None,
            calltouch_session_id: None,
            roistat_id: None,
            current_page: None,
            record_to_manager: None,
            record_to_await: None,
            office_name: None,
            utm: Utm::default(),
        }
    }

    fn push_to(&self, index: usize, query: &mut Query) {
        let index = index.to_string();
        let mut field = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                query.push_path(&["calls", &index, name], value);
            }
        };
        field("client", Some(self.client.as_str().to_owned()));
        field("origin", self.origin.clone());
        field("manager", self.manager.as_ref().map(ToString::to_string));
        field("text_to_manager", self.text_to_manager.clone());
        field("info_to_manager", self.info_to_manager.clone());
        field(
            "external_service_identifier",
            self.external_service_identifier.clone(),
        );
        field("time_to_call", self.time_to_call.map(|t| t.to_string()));
        field("site", self.site.clone());
        field("client_email", self.client_email.clone());
        field("calltouch_session_id", self.calltouch_session_id.clone());
        field("roistat_id", self.roistat_id.clone());
        field("current_page", self.current_page.clone());
        field("record_to_manager", self.record_to_manager.clone());
        field("record_to_await", self.record_to_await.clone());
        field("office_name", self.office_name.clone());
        if !self.utm.is_empty() {
            let utm = &self.utm;
            let mut tag = |name: &str, value: Option<&str>| {
                if let Some(value) = value {
                    query.push_path(&["calls", &index, "utm", name], value);
                }
            };
            tag("utm_source", utm.utm_source.as_deref());
            tag("utm_medium", utm.utm_medium.as_deref());
            tag("utm_campaign", utm.utm_campaign.as_deref());
            tag("utm_content", utm.utm_content.as_deref());
            tag("utm_term", utm.utm_term.as_deref());
            tag("entry_point", utm.entry_point.as_deref());
            tag("user_agent", utm.user_agent.as_deref());
            tag("utm_type", utm.utm_type.map(UtmType::as_str));
        }
    }
}

/// A `makeCalls` request: settings shared by the calls, and the calls.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MakeCalls {
    /// `utc`.
    pub utc: Option<Utc>,
    /// `opening_hours`.
    pub opening_hours: Option<OpeningHours>,
    /// `notification`.
    pub notification: Option<String>,
    /// `ga_client_id`.
    pub ga_client_id: Option<String>,
    /// `tool_name`.
    pub tool_name: Option<String>,
    /// `ip_client`.
    pub ip_client: Option<IpAddr>,
    /// `interval`.
    pub interval: Option<Interval>,
    /// `calls[N][…]`; at least one.
    pub calls: Vec<CallOrder>,
}

impl MakeCalls {
    /// A request for these calls, no shared settings.
    pub fn new(calls: Vec<CallOrder>) -> Self {
        Self {
            calls,
            ..Self::default()
        }
    }

    pub(crate) fn push_to(&self, query: &mut Query) {
        query
            .push_opt("utc", self.utc.as_ref())
            .push_opt("opening_hours", self.opening_hours.as_ref())
            .push_opt("notification", self.notification.as_ref())
            .push_opt("ga_client_id", self.ga_client_id.as_ref())
            .push_opt("tool_name", self.tool_name.as_ref())
            .push_opt("ip_client", self.ip_client.as_ref())
            .push_opt("interval", self.interval.as_ref());
        for (index, call) in self.calls.iter().enumerate() {
            call.push_to(index, query);
        }
    }
}

/// A `createWidget` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateWidget {
    /// `phone`: where the widget's calls go.
    pub phone: Manager,
    /// `name`.
    pub name: Option<String>,
    /// `gmt`.
    pub gmt: Option<Utc>,
    /// `site`.
    pub site: Option<String>,
    /// `schedule`.
    pub schedule: Option<OpeningHours>,
    /// `emails[N]`.
    pub emails: Vec<String>,
}

impl CreateWidget {
    /// A widget that calls `phone` (an extension becomes `phoneadd`).
    pub fn new(phone: Manager) -> Self {
        Self {
            phone,
            name: None,
            gmt: None,
            site: None,
            schedule: None,
            emails: Vec::new(),
        }
    }

    pub(crate) fn push_to(&self, query: &mut Query) {
        match &self.phone {
            Manager::Phone { number, extension } => {
                query
                    .push("phone", number.clone())
                    .push_opt("phoneadd", extension.as_ref());
            }
            Manager::Office(index) => {
                query.push("phone", index.to_string());
            }
        }
        query
            .push_opt("name", self.name.as_ref())
            .push_opt("gmt", self.gmt.as_ref())
            .push_opt("site", self.site.as_ref())
            .push_opt("schedule", self.schedule.as_ref());
        for (index, email) in self.emails.iter().enumerate() {
            query.push_path(&["emails", &index.to_string()], email.clone());
        }
    }
}

/// One element of a successful order answer:
/// `{"id":"123456","manager":"79999999999^_","client":"79999999999","status":"success"}`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct OrderedCall {
    /// CallKeeper's id of the call; use it with `getCallInfo`.
    pub id: CallId,
    /// The manager's number as CallKeeper will dial it (`^_` = no extension).
    #[serde(default, deserialize_with = "loose_string_de")]
    pub manager: String,
    /// The visitor's number as CallKeeper will dial it.
    #[serde(default, deserialize_with = "loose_string_de")]
    pub client: String,
    /// `status`: `success` for a placed order.
    #[serde(default, deserialize_with = "loose_string_de")]
    pub status: String,
}

fn loose_string_de<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(loose_string(&Value::deserialize(deserializer)?))
}

/// The text of a JSON value that should have been a string.
pub(crate) fn loose_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// A whole number from a number, a numeric string, or a float like `"3.0"`.
pub(crate) fn loose_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<u64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .map(|f| f as u64)
            })
        }
        Value::Bool(b) => Some(u64::from(*b)),
        _ => None,
    }
}

fn field<'a>(map: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|name| map.get(*name))
}

fn text(map: &Map<String, Value>, name: &str) -> String {
    map.get(name).map(loose_string).unwrap_or_default()
}

fn num<T: TryFrom<u64> + Default>(map: &Map<String, Value>, name: &str) -> T {
    map.get(name)
        .and_then(loose_u64)
        .and_then(|n| T::try_from(n).ok())
        .unwrap_or_default()
}

/// `session` of a call record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Session {
    /// `pgs`: pages viewed before the call.
    pub pgs: Option<u32>,
    /// `cpg`: the page the call was ordered from.
    pub cpg: Option<String>,
}

/// `udata` of a call record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserData {
    /// `vst`: which visit this was.
    pub vst: Option<u32>,
    /// `uag`: the User-Agent.
    pub uag: Option<String>,
}

/// `visit info` of a call record: UTM tags and extra data of the current and
/// first visits, kept as JSON because their keys are not documented.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VisitInfo {
    /// `current`.
    pub current: Option<Value>,
    /// `current_add`.
    pub current_add: Option<Value>,
    /// `first`.
    pub first: Option<Value>,
    /// `first_add`.
    pub first_add: Option<Value>,
}

/// A call as the statistics methods describe it. Every documented field;
/// missing or oddly typed fields become empty or zero rather than errors,
/// except `id` and `status_code`, without which a record is useless.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallInfo {
    /// `id`.
    pub id: CallId,
    /// `status_code` / `status2_code`.
    pub status: StatusPair,
    /// `status_reason`: the manager's leg, in words.
    pub status_reason: String,
    /// `status2_reason`: the visitor's leg, in words.
    pub status2_reason: String,
    /// `visit info`.
    pub visit_info: Option<VisitInfo>,
    /// `session`.
    pub session: Option<Session>,
    /// `udata`.
    pub udata: Option<UserData>,
    /// `ip`: the visitor's IP address.
    pub ip: String,
    /// `country`: country code.
    pub country: String,
    /// `city`.
    pub city: String,
    /// `region`.
    pub region: String,
    /// `district`.
    pub district: String,
    /// `site`.
    pub site: String,
    /// `ga_clientid`.
    pub ga_clientid: String,
    /// `phone1`: the manager's number, `^extension` included.
    pub phone1: String,
    /// `phone2`: the visitor's number.
    pub phone2: String,
    /// `widget_hash`.
    pub widget_hash: String,
    /// `date`: when the call was made, UTC, as CallKeeper wrote it.
    pub date: String,
    /// `duration_sec`.
    pub duration_sec: u32,
    /// `duration_min`: billed minutes.
    pub duration_min: u32,
    /// `duration2_sec`: seconds after the visitor picked up.
    pub duration2_sec: u32,
    /// `duration2_min`.
    pub duration2_min: u32,
    /// `record_url`: the recording, when there is one.
    pub record_url: Option<String>,
    /// `attempt`: which attempt this is.
    pub attempt: u32,
    /// `a_type`: how the manager accepted (0 unknown … 5 automatic).
    pub a_type: u8,
    /// `playback_tick`: how often the IVR text was played before the answer.
    pub playback_tick: u32,
    /// `tags`: CallKeeper sends a single space for none; that is an empty list.
    pub tags: Vec<String>,
    /// `asr_attempts`: speech recognition attempts.
    pub asr_attempts: u32,
}

impl CallInfo {
    /// Reads one call record; `Err` says what was missing.
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let map = value
            .as_object()
            .ok_or("a call record is not a JSON object")?;
        let id = field(map, &["id", "id_call", "call_id"])
            .map(loose_string)
            .ok_or("a call record has no id")?;
        let id = CallId::parse(&id).map_err(|err| err.to_string())?;
        let code = map
            .get("status_code")
            .and_then(loose_u64)
            .and_then(|n| u16::try_from(n).ok())
            .ok_or("a call record has no status_code")?;
        let code2 = num(map, "status2_code");
        let object = |name: &str| field(map, &[name]).and_then(Value::as_object);
        let visit_info = object("visit_info")
            .or_else(|| object("visit info"))
            .map(|visit| VisitInfo {
                current: visit.get("current").cloned(),
                current_add: visit.get("current_add").cloned(),
                first: visit.get("first").cloned(),
                first_add: visit.get("first_add").cloned(),
            });
        let session = object("session").map(|session| Session {
            pgs: session
                .get("pgs")
                .and_then(loose_u64)
                .and_then(|n| u32::try_from(n).ok()),
            cpg: session
                .get("cpg")
                .map(loose_string)
                .filter(|s| !s.is_empty()),
        });
        let udata = object("udata").map(|udata| UserData {
            vst: udata
                .get("vst")
                .and_then(loose_u64)
                .and_then(|n| u32::try_from(n).ok()),
            uag: udata.get("uag").map(loose_string).filter(|s| !s.is_empty()),
        });
        let tags = match map.get("tags") {
            Some(Value::Array(items)) => items.iter().map(loose_string).collect(),
            Some(other) => loose_string(other)
                .split(',')
                .map(str::trim)
                .map(str::to_owned)
                .collect(),
            None => Vec::new(),
        };
        let tags = tags
            .into_iter()
            .filter(|tag: &String| !tag.trim().is_empty())
            .collect();
        Ok(Self {
            id,
            status: StatusPair::new(code, code2),
            status_reason: text(map, "status_reason"),
            status2_reason: text(map, "status2_reason"),
            visit_info,
            session,
            udata,
            ip: text(map, "ip"),
            country: text(map, "country"),
            city: text(map, "city"),
            region: text(map, "region"),
            district: text(map, "district"),
            site: text(map, "site"),
            ga_clientid: text(map, "ga_clientid"),
            phone1: text(map, "phone1"),
            phone2: text(map, "phone2"),
            widget_hash: text(map, "widget_hash"),
            date: text(map, "date"),
            duration_sec: num(map, "duration_sec"),
            duration_min: num(map, "duration_min"),
            duration2_sec: num(map, "duration2_sec"),
            duration2_min: num(map, "duration2_min"),
            record_url: Some(text(map, "record_url")).filter(|url| !url.trim().is_empty()),
            attempt: num(map, "attempt"),
            a_type: num(map, "a_type"),
            playback_tick: num(map, "playback_tick"),
            tags,
            asr_attempts: num(map, "asr_attempts"),
        })
    }

    /// `date` as a Unix time, when it is `YYYY-MM-DD HH:MM:SS` (UTC), a W3C
    /// date-time, or a number of seconds.
    pub fn date_unix(&self) -> Option<UnixTime> {
        let date = self.date.trim();
        if let Ok(secs) = UnixTime::parse(date) {
            return Some(secs);
        }
        let w3c = date.replacen(' ', "T", 1);
        let parsed = crate::values::W3cDate::parse(&w3c).ok()?;
        u64::try_from(parsed.start_unix(0))
            .ok()
            .map(UnixTime::from_secs)
    }

    /// The visitor's number (`phone2`), digits only, for matching an order.
    pub fn client_digits(&self) -> String {
        self.phone2.chars().filter(char::is_ascii_digit).collect()
    }
}

impl<'de> Deserialize<'de> for CallInfo {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_json(&value).map_err(serde::de::Error::custom)
    }
}

/// Reads a list of call records in any shape CallKeeper uses for one: an
/// array, an object keyed by id, a wrapper with a `calls`/`data` array, or
/// an empty answer (`[]`, `{}`, `null`, `""`).
pub(crate) fn call_list(value: &Value) -> Result<Vec<CallInfo>, String> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::String(s) if s.trim().is_empty() => Ok(Vec::new()),
        Value::Array(items) => items.iter().map(CallInfo::from_json).collect(),
        Value::Object(map) if map.contains_key("status_code") => {
            Ok(vec![CallInfo::from_json(value)?])
        }
        Value::Object(map) => {
            if let Some(inner) = field(map, &["calls", "data", "result"]) {
                return call_list(inner);
            }
            map.values().map(CallInfo::from_json).collect()
        }
        other => Err(format!("expected a list of calls, got {}", kind(other))),
    }
}

pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// What `getUserInfo` says about the account. The document does not list
/// its fields, so everything is kept in `fields`; the minutes balance is
/// picked out when a field named `balance`, `minutes` or `balance_minutes`
/// carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    /// Minutes left on the account, when the answer says.
    pub balance_minutes: Option<i64>,
    /// The whole answer.
    pub fields: Map<String, Value>,
}

impl UserInfo {
    pub(crate) fn from_json(value: Value) -> Result<Self, String> {
        let fields = match value {
            Value::Object(map) => map,
            Value::Array(mut items) if items.len() == 1 => match items.pop() {
                Some(Value::Object(map)) => map,
                _ => return Err("expected an object describing the user".to_owned()),
            },
            other => {
                return Err(format!(
                    "expected an object describing the user, got {}",
                    kind(&other)
                ));
            }
        };
        let balance_minutes = field(&fields, &["balance_minutes", "minutes", "balance"]).and_then(
            |value| match value {
                Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
                Value::String(s) => s
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| f as i64),
                _ => None,
            },
        );
        Ok(Self {
            balance_minutes,
            fields,
        })
    }
}

/// What `createWidget` answered: the new widget's hash, when the answer
/// carries one (`whash`, `hash` or `widget_hash`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedWidget {
    /// The new widget's hash.
    pub hash: Option<String>,
    /// The whole answer.
    pub fields: Map<String, Value>,
}

impl CreatedWidget {
    pub(crate) fn from_json(value: Value) -> Result<Self, String> {
        let fields = match value {
            Value::Object(map) => map,
            other => return Err(format!("expected an object, got {}", kind(&other))),
        };
        let hash = field(&fields, &["whash", "hash", "widget_hash"]).map(loose_string);
        Ok(Self { hash, fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn call_records_tolerate_loose_types() {
        let record = json!({
            "id": 2366, "status_code": "200", "status2_code": 486,
            "status_reason": "OK", "status2_reason": "Busy",
            "visit info": {"current": {"utm_source": "yandex"}},
            "session": {"pgs": "3", "cpg": "https://site.ru/"},
            "udata": {"vst": 2, "uag": "Mozilla"},
            "phone1": "79990000000^_", "phone2": 79991234567u64,
            "date": "2017-05-01 10:00:00", "duration_sec": "61", "duration_min": 2,
            "record_url": "", "attempt": "1", "a_type": 4, "tags": " ",
            "asr_attempts": null,
        });
        let info = CallInfo::from_json(&record).expect("a documented record");
        assert_eq!(info.id.as_str(), "2366");
        assert_eq!(info.status, StatusPair::new(200, 486));
        assert_eq!(info.session.as_ref().and_then(|s| s.pgs), Some(3));
        assert_eq!(
            info.visit_info.as_ref().and_then(|v| v.current.clone()),
            Some(json!({"utm_source": "yandex"}))
        );
        assert_eq!(info.phone2, "79991234567");
        assert_eq!(info.duration_sec, 61);
        assert_eq!(info.record_url, None);
        assert!(info.tags.is_empty());
        assert_eq!(info.date_unix(), Some(UnixTime::from_secs(1_493_632_800)));
    }

    #[test]
    fn a_record_without_status_is_refused() {
        assert!(CallInfo::from_json(&json!({"id": "1"})).is_err());
        assert!(CallInfo::from_json(&json!({"status_code": 200})).is_err());
    }

    #[test]
    fn call_lists_come_in_several_shapes() {
        let one = json!({"id": "1", "status_code": 1, "status2_code": 0});
        assert_eq!(call_list(&json!([one.clone()])).map(|v| v.len()), Ok(1));
        assert_eq!(
            call_list(&json!({"1": one.clone(), "2": one.clone()})).map(|v| v.len()),
            Ok(2)
        );
        assert_eq!(
            call_list(&json!({"calls": [one.clone()]})).map(|v| v.len()),
            Ok(1)
        );
        assert_eq!(call_list(&one).map(|v| v.len()), Ok(1));
        assert_eq!(call_list(&json!([])).map(|v| v.len()), Ok(0));
        assert_eq!(call_list(&json!({})).map(|v| v.len()), Ok(0));
        assert!(call_list(&json!(5)).is_err());
    }

    #[test]
    fn tags_split_on_commas() {
        let info =
            CallInfo::from_json(&json!({"id": 1, "status_code": 200, "tags": "hot, repeat"}))
                .expect("record");
        assert_eq!(info.tags, vec!["hot".to_owned(), "repeat".to_owned()]);
    }
}
