//! The HTTP client for CallKeeper's named methods.
//!
//! Every request is a POST to `{base}/{method}` with an
//! `application/x-www-form-urlencoded` body built by [`crate::php_query`],
//! so the Profile key travels in the body and never in a URL that a proxy or
//! a log could keep. Answers are read in one place ([`Client::send`]): a
//! `{"status":"fail"}` body becomes the documented [`Error`] whatever the
//! HTTP status, a 5xx without one becomes [`Error::Server`], anything else
//! unreadable [`Error::Malformed`].
//!
//! This module must never log the key or a request body; it logs method
//! names, statuses and timings only.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde_json::Value;
use url::Url;

use crate::error::Error;
use crate::model::{
    self, CallInfo, CreateWidget, CreatedWidget, MakeCalls, OrderCall, OrderedCall, UserInfo,
};
use crate::php_query::Query;
use crate::status_table::StatusPair;
use crate::values::{CallId, Credentials, DateRange};

/// How long to wait for a TCP/TLS connection to CallKeeper.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a whole request may take. CallKeeper answers an order once it is
/// queued, not when the call happens, so this is generous but bounded.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// CallKeeper's production address.
pub const PRODUCTION_URL: &str = "https://api.callkeeper.ru/";

/// Whether `url` may receive the key: `https://` anywhere, `http://` only to
/// a loopback address (the sandbox, or a test), since anyone on the path of
/// a plain-text request reads the key.
///
/// ```
/// use callkeeper::check_base_url;
/// assert!(check_base_url(&"https://api.callkeeper.ru/".parse().unwrap()).is_ok());
/// assert!(check_base_url(&"http://127.0.0.1:8082/".parse().unwrap()).is_ok());
/// assert!(check_base_url(&"http://localhost:8082/".parse().unwrap()).is_ok());
/// assert!(check_base_url(&"http://api.callkeeper.ru/".parse().unwrap()).is_err());
/// assert!(check_base_url(&"ftp://[::1]/".parse().unwrap()).is_err());
/// ```
pub fn check_base_url(url: &Url) -> Result<(), InsecureUrl> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(InsecureUrl::PlainTextToAnotherHost),
        _ => Err(InsecureUrl::NotHttp),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Why an address may not receive the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InsecureUrl {
    /// `http://` to anything but loopback.
    #[error(
        "the key would cross the network in plain text: use https:// (http:// is only for a sandbox on this machine)"
    )]
    PlainTextToAnotherHost,
    /// Neither `http://` nor `https://`.
    #[error("CallKeeper is reached over https://")]
    NotHttp,
}

/// A CallKeeper API client for one account and widget. Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> Result<(), callkeeper::Error> {
/// use callkeeper::{ApiKey, Client, Credentials, OrderCall, WidgetRef};
/// use protocol::PhoneNumber;
///
/// let credentials = Credentials {
///     unique: "example_company".to_owned(),
///     key: ApiKey::parse("eb2cee1bc1b8d1b6e4282486af09e078")?,
///     widget: WidgetRef::hash("96d6ec6937c878c2ca1f889b9b9e865a")?,
/// };
/// let client = Client::new("https://api.callkeeper.ru/".parse().expect("a URL"), credentials);
/// let ordered = client.order_call(&OrderCall::new(PhoneNumber::parse("+7 999 123-45-67").expect("a phone"))).await?;
/// let info = client.get_call_info(&ordered.id).await?;
/// println!("{}: {:?}", info.id, info.status.outcome());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base_url: Url,
    credentials: Arc<Credentials>,
    method: HttpMethod,
}

/// How requests are sent. CallKeeper takes both; POST is the default
/// because a query string (with the key in it) ends up in access logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HttpMethod {
    /// Parameters in an `application/x-www-form-urlencoded` body.
    #[default]
    Post,
    /// Parameters in the query string, as the document's GET examples.
    Get,
}

/// Which parameter name carries the key: the ordering and widget methods
/// say `apiak`, the statistics methods `api_key`.
#[derive(Clone, Copy)]
enum KeyParam {
    Apiak,
    ApiKey,
}

impl Client {
    /// A client with its own connection pool and the crate's timeouts.
    pub fn new(base_url: Url, credentials: Credentials) -> Self {
        Self::with_request_timeout(base_url, credentials, REQUEST_TIMEOUT)
    }

    /// A client with its own connection pool whose requests may each take
    /// `request_timeout` (the connection's own timeout stays
    /// [`CONNECT_TIMEOUT`], or `request_timeout` when shorter).
    pub fn with_request_timeout(
        base_url: Url,
        credentials: Credentials,
        request_timeout: Duration,
    ) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(request_timeout))
            .timeout(request_timeout)
            .user_agent(concat!("callkeeper-rs/", env!("CARGO_PKG_VERSION")))
            // A redirect would re-send the parameters, key included, to
            // wherever it points (307/308 keep the POST body): never follow.
            // A 3xx then fails as an unexpected answer and is retried.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the TLS backend initialises (no outside input is involved)");
        Self::with_http_client(base_url, credentials, http)
    }

    /// A client that shares an existing `reqwest::Client` (and its timeouts).
    pub fn with_http_client(
        base_url: Url,
        credentials: Credentials,
        http: reqwest::Client,
    ) -> Self {
        Self {
            http,
            base_url,
            credentials: Arc::new(credentials),
            method: HttpMethod::Post,
        }
    }

    /// The same client sending its requests with `method`.
    pub fn using(mut self, method: HttpMethod) -> Self {
        self.method = method;
        self
    }

    /// The address requests go to.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// `orderCall`: orders one call with flat parameters and returns it.
    ///
    /// An order without `client` is refused here with
    /// [`Error::NotEnoughValues`], before anything is sent.
    ///
    /// ```no_run
    /// # async fn demo(client: callkeeper::Client) -> Result<(), callkeeper::Error> {
    /// use callkeeper::{Interval, OrderCall};
    /// let mut order = OrderCall::new(protocol::PhoneNumber::parse("89991234567").expect("a phone"));
    /// order.interval = Some(Interval::parse("5,10,15")?);
    /// order.current_page = Some("https://site.ru/contacts".to_owned());
    /// let call = client.order_call(&order).await?;
    /// println!("ordered call {}", call.id);
    /// # Ok(()) }
    /// ```
    pub async fn order_call(&self, order: &OrderCall) -> Result<OrderedCall, Error> {
        if order.client.is_none() {
            return Err(Error::NotEnoughValues);
        }
        let mut query = self.ordering_query();
        order.push_to(&mut query);
        let (status, body) = self.send("orderCall", &query).await?;
        let mut calls = ordered_calls(status, body)?;
        if calls.is_empty() {
            return Err(Error::Malformed {
                status,
                detail: "an empty list of ordered calls".to_owned(),
            });
        }
        Ok(calls.swap_remove(0))
    }

    /// Whether CallKeeper takes orders with these credentials from this host
    /// for this widget, without ordering a call: an `orderCall` with no
    /// `client` (the number to call), which the document requires, so
    /// nobody can be dialled. Once the key, the host and the widget pass,
    /// CallKeeper can only answer 409 "Not enough values": that is `Ok(())`.
    /// Otherwise the documented refusal: [`Error::WrongKey`] (403),
    /// [`Error::UnauthorizedHost`] (401), [`Error::WrongPair`] (424, the
    /// widget is not the account's), [`Error::WidgetDisabled`] (710), …
    ///
    /// The document lists these answers but not the order CallKeeper checks
    /// them in; the sandbox checks the key, the host and the widget before
    /// the missing number. On an API that looked for the number first, a 409
    /// would prove less, and this is as far as a harmless call can see.
    pub async fn check_ordering(&self) -> Result<(), Error> {
        match self.send("orderCall", &self.ordering_query()).await {
            Err(Error::NotEnoughValues) => Ok(()),
            Err(error) => Err(error),
            Ok((status, _)) => Err(Error::Malformed {
                status,
                detail: "an orderCall without a number to call was not refused".to_owned(),
            }),
        }
    }

    /// `makeCalls`: orders several calls at once (nested `calls[N][…]`).
    ///
    /// ```no_run
    /// # async fn demo(client: callkeeper::Client) -> Result<(), callkeeper::Error> {
    /// use callkeeper::{CallOrder, MakeCalls, Manager};
    /// use protocol::PhoneNumber;
    /// let mut first = CallOrder::new(PhoneNumber::parse("79999999999").expect("a phone"));
    /// first.manager = Some(Manager::Office(0));
    /// first.utm.utm_source = Some("yandex".to_owned());
    /// let second = CallOrder::new(PhoneNumber::parse("79999999944").expect("a phone"));
    /// let calls = client.make_calls(&MakeCalls::new(vec![first, second])).await?;
    /// assert_eq!(calls.len(), 2);
    /// # Ok(()) }
    /// ```
    pub async fn make_calls(&self, request: &MakeCalls) -> Result<Vec<OrderedCall>, Error> {
        if request.calls.is_empty() {
            return Err(Error::MissingCalls);
        }
        let mut query = self.ordering_query();
        request.push_to(&mut query);
        let (status, body) = self.send("makeCalls", &query).await?;
        ordered_calls(status, body)
    }

    /// `getCallInfo`: one call's record.
    ///
    /// ```no_run
    /// # async fn demo(client: callkeeper::Client) -> Result<(), callkeeper::Error> {
    /// let info = client.get_call_info(&"2366".parse()?).await?;
    /// if info.status.is_final() {
    ///     println!("{:?}: {}", info.status.outcome(), info.status.info().map_or("?", |row| row.short));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_call_info(&self, id: &CallId) -> Result<CallInfo, Error> {
        let mut query = self.key_query(KeyParam::ApiKey);
        query.push("id_call", id.as_str());
        let (status, body) = self.send("getCallInfo", &query).await?;
        let mut calls =
            model::call_list(&body).map_err(|detail| Error::Malformed { status, detail })?;
        // Some installations answer with a one-element list; take the one
        // that was asked for.
        match calls.iter().position(|call| call.id == *id) {
            Some(index) => Ok(calls.swap_remove(index)),
            None if calls.len() == 1 => Ok(calls.swap_remove(0)),
            None => Err(Error::Malformed {
                status,
                detail: format!("no record for call {id} in the answer"),
            }),
        }
    }

    /// `getCallsInfo`: every call in a period.
    ///
    /// ```no_run
    /// # async fn demo(client: callkeeper::Client) -> Result<(), callkeeper::Error> {
    /// use callkeeper::{DateRange, W3cDate};
    /// let range = DateRange::between(W3cDate::parse("2017-05-01")?, W3cDate::parse("2017-06-01")?);
    /// for call in client.get_calls_info(&range).await? {
    ///     println!("{} {} {}", call.id, call.phone2, call.status);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_calls_info(&self, range: &DateRange) -> Result<Vec<CallInfo>, Error> {
        self.statistics("getCallsInfo", range, None).await
    }

    /// `getCallsCompleted`: only finished calls in a period.
    ///
    /// ```no_run
    /// # async fn demo(client: callkeeper::Client) -> Result<(), callkeeper::Error> {
    /// let done = client.get_calls_completed(&callkeeper::DateRange::all_time()).await?;
    /// # let _ = done; Ok(()) }
    /// ```
    pub async fn get_calls_completed(&self, range: &DateRange) -> Result<Vec<CallInfo>, Error> {
        self.statistics("getCallsCompleted", range, None).await
    }

    /// `getCallsByStatus`: calls in a period with one of `statuses`
    /// (`statuses=200/0,200/1`).
    ///
    /// ```no_run
    /// # async fn demo(client: callkeeper::Client) -> Result<(), callkeeper::Error> {
    /// use callkeeper::{DateRange, StatusPair};
    /// let busy = client
    ///     .get_calls_by_status(&DateRange::all_time(), &[StatusPair::new(200, 486), StatusPair::new(486, 0)])
    ///     .await?;
    /// # let _ = busy; Ok(()) }
    /// ```
    pub async fn get_calls_by_status(
        &self,
        range: &DateRange,
        statuses: &[StatusPair],
    ) -> Result<Vec<CallInfo>, Error> {
        if statuses.is_empty() {
            return Err(Error::NotEnoughValues);
        }
        let statuses: Vec<String> = statuses.iter().map(ToString::to_string).collect();
        self.statistics("getCallsByStatus", range, Some(statuses.join(",")))
            .await
    }

    /// `getUserInfo`: the account, including its minutes balance.
    ///
    /// ```no_run
    /// # async fn demo(client: callkeeper::Client) -> Result<(), callkeeper::Error> {
    /// let user = client.get_user_info().await?;
    /// println!("{:?} minutes left", user.balance_minutes);
    /// # Ok(()) }
    /// ```
    pub async fn get_user_info(&self) -> Result<UserInfo, Error> {
        let query = self.key_query(KeyParam::ApiKey);
        let (status, body) = self.send("getUserInfo", &query).await?;
        UserInfo::from_json(body).map_err(|detail| Error::Malformed { status, detail })
    }

    /// `createWidget`: a new widget on the account.
    ///
    /// ```no_run
    /// # async fn demo(client: callkeeper::Client) -> Result<(), callkeeper::Error> {
    /// use callkeeper::{CreateWidget, Manager};
    /// let mut widget = CreateWidget::new(Manager::parse("89165554444^2311")?);
    /// widget.name = Some("Bond".to_owned());
    /// widget.gmt = Some("UTC+03:00".parse()?);
    /// widget.emails = vec!["test@mail.ru".to_owned()];
    /// let created = client.create_widget(&widget).await?;
    /// println!("new widget {:?}", created.hash);
    /// # Ok(()) }
    /// ```
    pub async fn create_widget(&self, widget: &CreateWidget) -> Result<CreatedWidget, Error> {
        let mut query = self.key_query(KeyParam::Apiak);
        widget.push_to(&mut query);
        let (status, body) = self.send("createWidget", &query).await?;
        CreatedWidget::from_json(body).map_err(|detail| Error::Malformed { status, detail })
    }

    /// `deleteWidget`: removes a widget of the account by hash.
    ///
    /// ```no_run
    /// # async fn demo(client: callkeeper::Client) -> Result<(), callkeeper::Error> {
    /// client.delete_widget("2ec6af2bd04f89a2620016a675224c7a").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_widget(&self, whash: &str) -> Result<(), Error> {
        let mut query = self.key_query(KeyParam::Apiak);
        query.push("whash", whash);
        self.send("deleteWidget", &query).await.map(drop)
    }

    /// `getT2C`: Tap2Call records of a period, as CallKeeper sends them
    /// (their fields are not documented).
    ///
    /// ```no_run
    /// # async fn demo(client: callkeeper::Client) -> Result<(), callkeeper::Error> {
    /// let taps = client.get_t2c(&callkeeper::DateRange::all_time()).await?;
    /// # let _ = taps; Ok(()) }
    /// ```
    pub async fn get_t2c(&self, range: &DateRange) -> Result<Vec<Value>, Error> {
        let mut query = self.key_query(KeyParam::Apiak);
        range.push_to(&mut query);
        let (status, body) = self.send("getT2C", &query).await?;
        match body {
            Value::Array(items) => Ok(items),
            Value::Object(map) => Ok(map.into_iter().map(|(_, item)| item).collect()),
            Value::Null => Ok(Vec::new()),
            other => Err(Error::Malformed {
                status,
                detail: format!("expected a list, got {}", model::kind(&other)),
            }),
        }
    }

    /// `tag` with `action=set`: puts a tag on a call.
    ///
    /// ```no_run
    /// # async fn demo(client: callkeeper::Client) -> Result<(), callkeeper::Error> {
    /// client.set_tag(&"9721917".parse()?, "testApiTagging").await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_tag(&self, call: &CallId, tag: &str) -> Result<(), Error> {
        let mut query = Query::new();
        query.push("action", "set");
        query.push("apiak", self.credentials.key.expose());
        query.push("tag", tag).push("call_id", call.as_str());
        self.send("tag", &query).await.map(drop)
    }

    async fn statistics(
        &self,
        method: &str,
        range: &DateRange,
        statuses: Option<String>,
    ) -> Result<Vec<CallInfo>, Error> {
        let mut query = self.key_query(KeyParam::ApiKey);
        range.push_to(&mut query);
        query.push_opt("statuses", statuses);
        let (status, body) = self.send(method, &query).await?;
        model::call_list(&body).map_err(|detail| Error::Malformed { status, detail })
    }

    /// `unique`, `apiak` and the widget, first as in the document's examples.
    fn ordering_query(&self) -> Query {
        let mut query = Query::new();
        let (widget_param, widget) = self.credentials.widget.param();
        query
            .push("unique", self.credentials.unique.clone())
            .push("apiak", self.credentials.key.expose())
            .push(widget_param, widget);
        query
    }

    fn key_query(&self, param: KeyParam) -> Query {
        let name = match param {
            KeyParam::Apiak => "apiak",
            KeyParam::ApiKey => "api_key",
        };
        let mut query = Query::new();
        query.push(name, self.credentials.key.expose());
        query
    }

    fn url(&self, method: &str) -> Url {
        let mut url = self.base_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(method);
        }
        url.set_query(None);
        url
    }

    /// Sends one request and reads the answer as JSON, turning documented
    /// failures into errors. Returns the HTTP status with the body.
    async fn send(&self, method: &str, query: &Query) -> Result<(u16, Value), Error> {
        let started = std::time::Instant::now();
        let request = match self.method {
            HttpMethod::Post => self
                .http
                .post(self.url(method))
                .header(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                )
                .body(query.encode()),
            HttpMethod::Get => {
                let mut url = self.url(method);
                url.set_query(Some(&query.encode()));
                self.http.get(url)
            }
        };
        let response = request.send().await;
        let response = match response {
            Ok(response) => response,
            Err(err) => {
                let err = Error::from(err);
                tracing::warn!(method, elapsed_ms = started.elapsed().as_millis(), "{err}");
                return Err(err);
            }
        };
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        tracing::debug!(
            method,
            status,
            elapsed_ms = started.elapsed().as_millis(),
            "CallKeeper answered"
        );
        interpret(status, &bytes)
    }
}

/// Reads an answer: a documented failure wins over the HTTP status.
fn interpret(status: u16, bytes: &[u8]) -> Result<(u16, Value), Error> {
    let parsed: Option<Value> = serde_json::from_slice(bytes).ok();
    if let Some(Value::Object(map)) = &parsed
        && map.get("status").and_then(Value::as_str) == Some("fail")
    {
        let reason = map
            .get("reason")
            .map(model::loose_string)
            .unwrap_or_default();
        return Err(Error::from_fail(status, &reason));
    }
    match (status, parsed) {
        (500..=599, _) => Err(Error::Server { status }),
        (200..=299, Some(value)) => Ok((status, value)),
        (200..=299, None) => Err(Error::Malformed {
            status,
            detail: "the body is not JSON".to_owned(),
        }),
        (300..=399, _) => Err(Error::OtherFail {
            status,
            reason: "redirected elsewhere (not followed: the key is only sent to the configured upstream)".to_owned(),
        }),
        (_, _) => Err(Error::OtherFail {
            status,
            reason: "no documented failure in the body".to_owned(),
        }),
    }
}

/// The success answer of the ordering methods: a list of
/// `{"id","manager","client","status":"success"}`.
fn ordered_calls(status: u16, body: Value) -> Result<Vec<OrderedCall>, Error> {
    let items = match body {
        Value::Array(items) => items,
        // A single object is read as a list of one.
        object @ Value::Object(_) => vec![object],
        other => {
            return Err(Error::Malformed {
                status,
                detail: format!(
                    "expected a list of ordered calls, got {}",
                    model::kind(&other)
                ),
            });
        }
    };
    items
        .into_iter()
        .map(|item| {
            let call: OrderedCall =
                serde_json::from_value(item).map_err(|err| Error::Malformed {
                    status,
                    detail: format!("an ordered call: {err}"),
                })?;
            if call.status.is_empty() || call.status == "success" {
                Ok(call)
            } else {
                Err(Error::Malformed {
                    status,
                    detail: format!("an ordered call has status {:?}", call.status),
                })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::{ApiKey, WidgetRef};

    fn client(base: &str) -> Client {
        Client::new(
            base.parse().expect("a URL"),
            Credentials {
                unique: "u".to_owned(),
                key: ApiKey::parse("eb2cee1bc1b8d1b6e4282486af09e078").expect("a key"),
                widget: WidgetRef::Alias("a".to_owned()),
            },
        )
    }

    #[test]
    fn method_urls_keep_a_base_path() {
        assert_eq!(
            client("https://api.callkeeper.ru")
                .url("orderCall")
                .as_str(),
            "https://api.callkeeper.ru/orderCall"
        );
        assert_eq!(
            client("http://127.0.0.1:9/ck/").url("getCallInfo").as_str(),
            "http://127.0.0.1:9/ck/getCallInfo"
        );
        assert_eq!(
            client("http://127.0.0.1:9/ck").url("tag").as_str(),
            "http://127.0.0.1:9/ck/tag"
        );
    }

    #[test]
    fn debug_of_a_client_hides_the_key() {
        let text = format!("{:?}", client("https://api.callkeeper.ru"));
        assert!(!text.contains("eb2cee"), "{text}");
    }

    #[test]
    fn a_documented_failure_wins_over_the_http_status() {
        let body = br#"{"status":"fail","reason":"The widget is disabled"}"#;
        assert!(matches!(interpret(710, body), Err(Error::WidgetDisabled)));
        assert!(matches!(interpret(200, body), Err(Error::WidgetDisabled)));
        assert!(matches!(
            interpret(502, b"<html>Bad gateway</html>"),
            Err(Error::Server { status: 502 })
        ));
        assert!(matches!(
            interpret(200, b"<html>"),
            Err(Error::Malformed { status: 200, .. })
        ));
        assert!(matches!(
            interpret(404, b""),
            Err(Error::OtherFail { status: 404, .. })
        ));
    }

    #[test]
    fn ordered_calls_read_the_documented_answer() {
        let body = serde_json::json!([{"id":"123456","manager":"79999999999^_","client":"79999999999","status":"success"}]);
        let calls = ordered_calls(200, body).expect("documented answer");
        assert_eq!(calls[0].id.as_str(), "123456");
        assert_eq!(calls[0].manager, "79999999999^_");
        assert!(ordered_calls(200, serde_json::json!("ok")).is_err());
        assert!(ordered_calls(200, serde_json::json!([{"id": 1, "status": "error"}])).is_err());
    }
}
