//! Test support: the one harness every proxy test drives ([`TestProxy`]:
//! the real proxy in this process on a free port, with its own store,
//! stopped on drop; or the whole demo), what a visitor does with it
//! ([`Visitor`]: order, status, watch; the admin listener's readyz and metrics), and a scripted CallKeeper
//! stub for faults.
//!
//! Each test's store is on the run's engine (SQLite, or PostgreSQL in the
//! second pass): `engines.rs`, re-exported here.
//!
//! The stub imitates only what the document says (answer shapes, the
//! `{"status":"fail","reason":…}` errors and their HTTP codes); it is the one
//! thing mocked, because it is outside the project.

#![allow(unreachable_pub, reason = "shared by the test modules")]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use proxy::clock::{Clock, SystemClock};
use proxy::demo::{Demo, DemoOptions};
use proxy::store::StoreUrl;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::engines::store_table;
pub use crate::engines::{
    TestDir, TestEngine, engine, execute_sql, fetch_text, needs_postgres, sqlite_only, store_url,
};

/// The demo key, used by every test config.
pub const KEY: &str = "eb2cee1bc1b8d1b6e4282486af09e078";
/// The page origin every test config allows.
pub const ORIGIN: &str = "https://shop.example";

/// What the stub answers to an orderCall for a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// `[{"id":…,"status":"success"}]`.
    Accept,
    /// 503 with an HTML page, as a load balancer in trouble would.
    Unavailable,
    /// A documented failure.
    Fail(u16, &'static str),
    /// Takes the order (the call is placed) and never answers.
    Hang,
    /// Takes the order, then reports the call as 815/0: a repeat of an
    /// earlier order for the same number within the hour.
    Duplicate,
    /// Takes the order (the call is placed) and answers 200 with a body
    /// that is not JSON.
    Garbled,
    /// Takes the order and breaks the connection in the middle of the answer.
    ResetMidAnswer,
    /// Answers 307 to another host (the key must not follow).
    RedirectElsewhere,
    /// Takes the order, then reports the call with this
    /// `(status_code, status2_code)` pair (e.g. 811/0: no minutes left).
    AcceptThenStatus(u16, u16),
    /// Answers success after this many milliseconds; the call is placed
    /// (and listed by getCallsInfo) only when the answer goes out, and it is
    /// placed even if the client went away meanwhile: CallKeeper finishes
    /// an order it has received, whoever still waits for the answer.
    SlowAccept(u64),
}

/// A call the stub placed.
#[derive(Debug, Clone)]
pub struct Placed {
    /// CallKeeper's id.
    pub id: u64,
    /// The visitor's digits.
    pub phone: String,
    /// Unix seconds.
    pub at: u64,
    /// CallKeeper's status pair for it.
    pub status: (u16, u16),
}

#[derive(Debug, Default)]
struct StubState {
    rules: HashMap<String, Reply>,
    default: Option<Reply>,
    placed: Vec<Placed>,
    order_attempts: Vec<String>,
    calls_info_requests: usize,
    calls_info_delay: Duration,
    next_id: u64,
    polls: Vec<Poll>,
}

/// One getCallInfo the stub answered.
#[derive(Debug, Clone)]
pub struct Poll {
    /// The call asked about.
    pub call: u64,
    /// When it came.
    pub at: std::time::Instant,
    /// The tag of the address it came to ([`Stub::serve_tagged`]).
    pub via: usize,
}

/// The scripted upstream.
#[derive(Debug, Clone, Default)]
pub struct Stub(Arc<Mutex<StubState>>);

impl Stub {
    /// Every number gets `reply` unless a rule says otherwise.
    pub fn set_default(&self, reply: Reply) {
        self.lock().default = Some(reply);
    }
    /// Numbers ending in `suffix` get `reply`.
    pub fn set_rule(&self, suffix: &str, reply: Reply) {
        self.lock().rules.insert(suffix.to_owned(), reply);
    }
    /// Calls placed (accepted or taken before hanging).
    pub fn placed(&self) -> Vec<Placed> {
        self.lock().placed.clone()
    }
    /// Numbers of every orderCall received, in order.
    pub fn order_attempts(&self) -> Vec<String> {
        self.lock().order_attempts.clone()
    }
    /// How many getCallsInfo requests came.
    pub fn calls_info_requests(&self) -> usize {
        self.lock().calls_info_requests
    }
    /// Every getCallInfo received, in order.
    pub fn polls(&self) -> Vec<Poll> {
        self.lock().polls.clone()
    }
    /// From now on, the calls placed for `phone` report `status`.
    pub fn set_call_status(&self, phone: &str, status: (u16, u16)) {
        for call in &mut self.lock().placed {
            if call.phone == phone {
                call.status = status;
            }
        }
    }
    /// getCallsInfo answers only after `delay`.
    pub fn set_calls_info_delay(&self, delay: Duration) {
        self.lock().calls_info_delay = delay;
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, StubState> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Serves the stub on a free port; returns its base URL.
    pub async fn serve(&self) -> String {
        self.serve_tagged(0).await
    }

    /// Serves the stub on another free port whose getCallInfo requests are
    /// recorded with `tag` (one per proxy replica, to tell who polled).
    pub async fn serve_tagged(&self, tag: usize) -> String {
        let app = Router::new()
            .route("/orderCall", post(order_call))
            .route("/getCallInfo", post(get_call_info))
            .route("/getCallsInfo", post(get_calls_info))
            .layer(axum::Extension(Tag(tag)))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the stub");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

fn fail(status: u16, reason: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        axum::Json(json!({"status": "fail", "reason": reason})),
    )
        .into_response()
}

async fn order_call(
    State(stub): State<Stub>,
    Form(params): Form<HashMap<String, String>>,
) -> Response {
    if params.get("apiak").map(String::as_str) != Some(KEY) {
        return fail(403, "Not the correct key api");
    }
    let phone = params.get("client").cloned().unwrap_or_default();
    let reply = {
        let mut state = stub.lock();
        state.order_attempts.push(phone.clone());
        let rule = state
            .rules
            .iter()
            .find(|(suffix, _)| phone.ends_with(suffix.as_str()))
            .map(|(_, r)| *r);
        rule.or(state.default).unwrap_or(Reply::Accept)
    };
    let status = match reply {
        Reply::Duplicate => (815, 0),
        Reply::AcceptThenStatus(code, code2) => (code, code2),
        _ => (1, 0),
    };
    let place = move |stub: &Stub, phone: &str| {
        let mut state = stub.lock();
        state.next_id += 1;
        let id = 1000 + state.next_id;
        state.placed.push(Placed {
            id,
            phone: phone.to_owned(),
            at: unix_now(),
            status,
        });
        id
    };
    match reply {
        Reply::Accept | Reply::Duplicate | Reply::AcceptThenStatus(..) => {
            let id = place(&stub, &phone);
            axum::Json(json!([{"id": id.to_string(), "manager": "74951234567", "client": phone, "status": "success"}]))
                .into_response()
        }
        Reply::Garbled => {
            place(&stub, &phone);
            (StatusCode::OK, "[{\"id\": 1001, \"status\": ").into_response()
        }
        Reply::ResetMidAnswer => {
            place(&stub, &phone);
            let parts: Vec<Result<&'static str, std::io::Error>> = vec![
                Ok("[{\"id\":\""),
                Err(std::io::Error::other("the connection breaks")),
            ];
            Response::builder()
                .header("content-type", "application/json")
                .header("content-length", "200")
                .body(axum::body::Body::from_stream(futures_util::stream::iter(
                    parts,
                )))
                .expect("a response")
        }
        Reply::RedirectElsewhere => (
            StatusCode::TEMPORARY_REDIRECT,
            [("location", "http://127.0.0.1:9/orderCall")],
        )
            .into_response(),
        Reply::SlowAccept(ms) => {
            // The server drops this handler when the client's connection
            // closes (a SIGKILLed proxy); the order, received whole, is
            // taken in a task of its own, as a server that does not watch
            // its client while it works would.
            let taking = tokio::spawn({
                let (stub, phone) = (stub.clone(), phone.clone());
                async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    place(&stub, &phone)
                }
            });
            let Ok(id) = taking.await else {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            };
            axum::Json(json!([{"id": id.to_string(), "manager": "74951234567", "client": phone, "status": "success"}]))
                .into_response()
        }
        Reply::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "<html>503 Service Unavailable</html>",
        )
            .into_response(),
        Reply::Fail(status, reason) => fail(status, reason),
        Reply::Hang => {
            place(&stub, &phone);
            std::future::pending::<()>().await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
    }
}

fn record(call: &Placed) -> Value {
    let secs = call.at;
    // "YYYY-MM-DD HH:MM:SS" in UTC, as CallKeeper's `date` ("дата звонка по UTC").
    let date = callkeeper::W3cDate::from_unix(i64::try_from(secs).unwrap_or(0))
        .to_string()
        .replace('T', " ")
        .replace('Z', "");
    let (code, code2) = call.status;
    json!({"id": call.id.to_string(), "status_code": code.to_string(), "status2_code": code2.to_string(),
           "phone2": call.phone, "date": date, "attempt": "1", "tags": " "})
}

/// Which of the stub's addresses a request came to.
#[derive(Debug, Clone, Copy)]
struct Tag(usize);

async fn get_call_info(
    State(stub): State<Stub>,
    axum::Extension(Tag(via)): axum::Extension<Tag>,
    Form(params): Form<HashMap<String, String>>,
) -> Response {
    let id: u64 = params
        .get("id_call")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    stub.lock().polls.push(Poll {
        call: id,
        at: std::time::Instant::now(),
        via,
    });
    match stub.placed().iter().find(|c| c.id == id) {
        Some(call) => axum::Json(record(call)).into_response(),
        None => fail(404, "Mismatched request!"),
    }
}

async fn get_calls_info(
    State(stub): State<Stub>,
    Form(_params): Form<HashMap<String, String>>,
) -> Response {
    let delay = {
        let mut state = stub.lock();
        state.calls_info_requests += 1;
        state.calls_info_delay
    };
    tokio::time::sleep(delay).await;
    let records: Vec<Value> = stub.placed().iter().map(record).collect();
    axum::Json(Value::Array(records)).into_response()
}

/// `body` with the dialog's elapsed time the widget adds (6 s, unless set).
pub fn as_from_the_widget(body: &Value) -> Value {
    let mut body = body.clone();
    if let Some(fields) = body.as_object_mut() {
        fields.entry("elapsed_ms").or_insert(json!(6000));
    }
    body
}

/// A proxy config for one site `shop` against `upstream`, its store beside
/// `database` (that SQLite file, or its directory's PostgreSQL schema).
pub fn config_toml(
    listen: SocketAddr,
    upstream: &str,
    database: &Path,
    extra_site: &str,
) -> String {
    format!(
        "listen = \"{listen}\"\nadmin_listen = \"127.0.0.1:0\"\ndatabase = \"{}\"\nassets = \"{}\"\nstatus_poll_interval_ms = 50\n\n{}\
         [sites.shop]\nallowed_origins = [\"{ORIGIN}\"]\nupstream = \"{upstream}\"\nunique = \"example_company\"\n\
         api_key_env = \"SHOP_KEY\"\nwhash = \"96d6ec6937c878c2ca1f889b9b9e865a\"\n{extra_site}\n",
        database.display(),
        database.with_file_name("dist").display(),
        store_table(database),
    )
}

/// A free loopback address for a proxy a test starts later (a child
/// process, or a config read afterwards): free now, and handed to nobody
/// else while the suite runs.
///
/// A port bound at `:0` and released is not enough: the suite's parallel
/// tests bind `:0` too, and one of them could take the port before the
/// child does; the child then fails to bind and exits, and another test's
/// proxy answers its `/healthz` (a fault-matrix row once read a database
/// that was never created that way). So the ports come from below the
/// kernel's ephemeral range, which `:0` and outgoing connections never use,
/// and a counter keeps this process's calls apart (its start depends on the
/// process id, for two test binaries at once).
pub fn free_addr() -> SocketAddr {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOWEST: u32 = 10_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    static EPHEMERAL: OnceLock<u32> = OnceLock::new();
    let ephemeral = *EPHEMERAL.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .ok()
            .and_then(|range| range.split_whitespace().next()?.parse::<u32>().ok())
            .unwrap_or(32_768)
    });
    if ephemeral > LOWEST + 1_000 {
        let span = ephemeral - LOWEST;
        let start = std::process::id().wrapping_mul(7_919) % span;
        for _ in 0..span {
            let port = LOWEST + (start + NEXT.fetch_add(1, Ordering::Relaxed)) % span;
            let port = u16::try_from(port).expect("below the ephemeral range");
            if let Ok(listener) = std::net::TcpListener::bind(("127.0.0.1", port)) {
                return listener.local_addr().expect("address");
            }
        }
    }
    // No room below the ephemeral range: the racy way.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address")
}

/// What a visitor's browser (or a monitor) does with a running proxy: the
/// proxy's URL, and the site and page origin requests are made for.
#[derive(Debug, Clone)]
pub struct Visitor {
    /// The proxy's base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    /// The site in the API's paths.
    pub site: String,
    /// The `Origin` of the site's pages.
    pub origin: String,
    /// Whether orders carry what the widget sends (`X-Callback-Widget` and
    /// `elapsed_ms`): sites require them by default.
    pub as_widget: bool,
}

impl Visitor {
    /// A visitor of site `shop` from [`ORIGIN`] on the proxy at `url`.
    pub fn of_shop(url: String) -> Self {
        Self {
            url,
            site: "shop".to_owned(),
            origin: ORIGIN.to_owned(),
            as_widget: true,
        }
    }

    /// Posts `body` as a callback request from a page of `origin`, with
    /// `Idempotency-Key: key` when given; returns the status code, the body
    /// and `Retry-After`. Every helper below that orders goes through here.
    pub async fn send(
        &self,
        origin: &str,
        key: Option<&str>,
        body: &Value,
    ) -> (u16, Value, Option<String>) {
        let mut request = reqwest::Client::new()
            .post(format!("{}/v1/sites/{}/callbacks", self.url, self.site))
            .header("Origin", origin);
        request = if self.as_widget {
            request
                .header(protocol::paths::WIDGET_HEADER, "1")
                .json(&as_from_the_widget(body))
        } else {
            request.json(body)
        };
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.expect("the proxy answers");
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (
            status,
            response.json().await.unwrap_or(Value::Null),
            retry_after,
        )
    }

    /// Posts `body` from a page of `origin` with `Idempotency-Key: key`;
    /// returns the status code and the body.
    pub async fn post(&self, origin: &str, key: &str, body: &Value) -> (u16, Value) {
        let (status, body, _) = self.send(origin, Some(key), body).await;
        (status, body)
    }

    /// Orders a callback for `phone` from the site's page with
    /// `Idempotency-Key: key`; returns the status code, the body and `Retry-After`.
    pub async fn order(&self, phone: &str, key: &str) -> (u16, Value, Option<String>) {
        let body =
            json!({"phone": phone, "context": {"current_page": format!("{}/", self.origin)}});
        self.send(&self.origin, Some(key), &body).await
    }

    /// Orders a callback for `phone` (no idempotency key), expects 202 and
    /// returns the status token.
    pub async fn order_id(&self, phone: &str) -> String {
        let (status, body, _) = self
            .send(&self.origin, None, &json!({"phone": phone}))
            .await;
        assert_eq!(status, 202);
        body["id"].as_str().expect("id").to_owned()
    }

    /// The visitor's status of a callback.
    pub async fn status(&self, id: &str) -> Value {
        reqwest::get(format!("{}/v1/callbacks/{id}", self.url))
            .await
            .expect("answer")
            .json()
            .await
            .expect("json")
    }

    /// Every status event of a callback until the final one, from its SSE
    /// stream (failing after 30 s).
    pub async fn watch(&self, id: &str) -> Vec<Value> {
        let url = format!("{}/v1/callbacks/{id}/events", self.url);
        let body = tokio::time::timeout(Duration::from_secs(30), async {
            reqwest::get(&url).await?.text().await
        })
        .await
        .expect("the stream ends after the final status")
        .expect("body");
        body.lines()
            .filter_map(|line| line.strip_prefix("data: "))
            .map(|data| serde_json::from_str(data).expect("a status"))
            .collect()
    }

    /// A GET of `path`: the status code and the body as text.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = reqwest::get(format!("{}{path}", self.url))
            .await
            .expect("the proxy answers");
        let status = response.status().as_u16();
        (status, response.text().await.expect("a body"))
    }
}

/// The proxy in this process on a free port, with its own store in a
/// temporary directory; stopped when dropped (or with [`TestProxy::stop`]).
#[derive(Debug)]
pub struct TestProxy {
    visitor: Visitor,
    /// The admin listener's base URL (`/metrics`, `/readyz`).
    pub admin_url: String,
    /// The config it runs (to restart it on the same store).
    pub config: String,
    /// The SQLite file of its leads (on a SQLite run).
    pub database: PathBuf,
    /// Where its leads are, on this run's engine.
    pub store: StoreUrl,
    /// The demo's parts (sandbox, host page) when started with [`TestProxy::demo`].
    demo: Option<Demo>,
    /// "Now" for the proxy.
    pub clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    dir: Arc<TestDir>,
}

impl std::ops::Deref for TestProxy {
    type Target = Visitor;
    fn deref(&self) -> &Visitor {
        &self.visitor
    }
}

impl TestProxy {
    /// The proxy serving the config `config_for(directory)` writes, on the
    /// real clock.
    pub async fn start(config_for: impl FnOnce(&Path) -> String) -> Self {
        Self::start_with_clock(config_for, Arc::new(SystemClock)).await
    }

    /// Like [`TestProxy::start`], on `clock`.
    pub async fn start_with_clock(
        config_for: impl FnOnce(&Path) -> String,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let dir = Arc::new(TestDir::new());
        let config = config_for(dir.path());
        Self::serve(config, dir, clock, |_| {}).await
    }

    /// Like [`TestProxy::start`], with the parsed config changed by `adjust`
    /// (for what a file cannot say, such as widget files held in memory).
    pub async fn start_adjusted(
        config_for: impl FnOnce(&Path) -> String,
        adjust: impl FnOnce(&mut proxy::config::Config),
    ) -> Self {
        let dir = Arc::new(TestDir::new());
        let config = config_for(dir.path());
        Self::serve(config, dir, Arc::new(SystemClock), adjust).await
    }

    /// The proxy with site `shop` against `stub`, with `site_extra` in the
    /// site's table.
    pub async fn against(stub: &Stub, site_extra: &str) -> Self {
        let upstream = stub.serve().await;
        Self::start(|dir| config_toml(free_addr(), &upstream, &dir.join("leads.db"), site_extra))
            .await
    }

    /// Like [`TestProxy::against`], on `clock`.
    pub async fn against_with_clock(stub: &Stub, site_extra: &str, clock: Arc<dyn Clock>) -> Self {
        let upstream = stub.serve().await;
        Self::start_with_clock(
            |dir| config_toml(free_addr(), &upstream, &dir.join("leads.db"), site_extra),
            clock,
        )
        .await
    }

    /// The whole demo (proxy, host page, sandbox CallKeeper at `time_scale`,
    /// polling it every `poll_ms`), with `site_extra` in the demo site's
    /// table, on `clock`.
    pub async fn demo(
        time_scale: f64,
        poll_ms: u64,
        site_extra: &str,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let dir = Arc::new(TestDir::new());
        let options =
            DemoOptions::ephemeral(dir.path(), time_scale, Duration::from_millis(poll_ms));
        let database = options.database.clone();
        let store = store_url(dir.path());
        let mut demo = proxy::demo::start_on(options, &store, site_extra, clock.clone())
            .await
            .expect("the demo starts");
        let visitor = Visitor {
            url: demo.api_url.clone(),
            site: proxy::demo::DEMO_SITE.to_owned(),
            origin: demo.page_url.trim_end_matches('/').to_owned(),
            as_widget: true,
        };
        let task = std::mem::replace(&mut demo.proxy, tokio::spawn(async { Ok(()) }));
        Self {
            visitor,
            admin_url: demo.admin_url.clone(),
            config: String::new(),
            store,
            database,
            shutdown: demo.shutdown.clone(),
            demo: Some(demo),
            clock,
            task: Some(task),
            dir,
        }
    }

    async fn serve(
        config: String,
        dir: Arc<TestDir>,
        clock: Arc<dyn Clock>,
        adjust: impl FnOnce(&mut proxy::config::Config),
    ) -> Self {
        let mut parsed = proxy::config::Config::parse(&config, |_| Some(KEY.to_owned()))
            .expect("valid test config");
        adjust(&mut parsed);
        let store = parsed.store.clone();
        let database = match &store {
            StoreUrl::Sqlite(path) => path.clone(),
            StoreUrl::Postgres(_) => dir.path().join("leads.db"),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let app = proxy::Application::build_with_clock(parsed, listener, clock.clone())
            .await
            .expect("the proxy builds");
        let url = format!("http://{}", app.local_addr().expect("address"));
        let admin_url = format!("http://{}", app.admin_addr().expect("address"));
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        Self {
            visitor: Visitor::of_shop(url),
            admin_url,
            config,
            database,
            store,
            demo: None,
            clock,
            shutdown,
            task: Some(task),
            dir,
        }
    }

    /// A GET of `path` on the admin listener: the status code and the body.
    pub async fn admin_get(&self, path: &str) -> (u16, String) {
        let response = reqwest::get(format!("{}{path}", self.admin_url))
            .await
            .expect("the admin listener answers");
        let status = response.status().as_u16();
        (status, response.text().await.expect("a body"))
    }

    /// The count of `class` refusals of the site `shop` in `/metrics`.
    pub async fn refusals(&self, class: &str) -> u64 {
        let (_, text) = self.admin_get("/metrics").await;
        let series = format!("callback_proxy_refusals_total{{site=\"shop\",class=\"{class}\"}} ");
        text.lines()
            .find_map(|line| line.strip_prefix(series.as_str()))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {series} in /metrics"))
    }

    /// `/readyz` on the admin listener: the status code and its JSON.
    pub async fn readyz(&self) -> (u16, Value) {
        let (status, body) = self.admin_get("/readyz").await;
        let body = serde_json::from_str(&body).unwrap_or_else(|e| panic!("JSON ({e}): {body}"));
        (status, body)
    }

    /// The demo's parts; panics for a proxy not started with [`TestProxy::demo`].
    pub fn demo_parts(&self) -> &Demo {
        self.demo.as_ref().expect("started with TestProxy::demo")
    }

    /// The temporary directory of its store.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Begins a graceful shutdown.
    pub fn stop(&self) {
        self.shutdown.cancel();
    }

    /// Shuts down and waits up to `within` for the proxy to stop; what it
    /// ended with, or `None` when it did not stop in time.
    pub async fn stopped(mut self, within: Duration) -> Option<anyhow::Result<()>> {
        self.stop();
        let task = self.task.take()?;
        match tokio::time::timeout(within, task).await {
            Ok(Ok(result)) => Some(result),
            Ok(Err(panic)) => Some(Err(anyhow::anyhow!("the proxy panicked: {panic}"))),
            Err(_) => None,
        }
    }

    /// Stops this proxy and starts another on the same config and store.
    pub async fn restart(self) -> Self {
        let (config, dir, clock) = (self.config.clone(), self.dir.clone(), self.clock.clone());
        self.stopped(Duration::from_secs(15))
            .await
            .expect("stopped in time")
            .expect("stopped cleanly");
        Self::serve(config, dir, clock, |_| {}).await
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The proxy as a child process, so the test can SIGKILL it.
pub struct ProxyProcess {
    child: Child,
    visitor: Visitor,
}

impl std::ops::Deref for ProxyProcess {
    type Target = Visitor;
    fn deref(&self) -> &Visitor {
        &self.visitor
    }
}

impl ProxyProcess {
    /// Starts `proxy serve --config config`, logging to `log`, and waits
    /// until it answers at `url`.
    pub async fn start(config: &std::path::Path, log: &std::path::Path, url: String) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_proxy"))
            .args(["serve", "--config"])
            .arg(config)
            .env("SHOP_KEY", KEY)
            .env(
                "RUST_LOG",
                "debug,hyper=info,sqlx=info,h2=info,reqwest=info,hyper_util=info",
            )
            .stdout(Stdio::from(log.try_clone().expect("log file")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("the proxy binary starts");
        let health = format!("{url}/healthz");
        eventually("the proxy is up", || async {
            reqwest::get(&health).await.is_ok()
        })
        .await;
        Self {
            child,
            visitor: Visitor::of_shop(url),
        }
    }

    /// SIGKILL: no shutdown, no flush, nothing finishes.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` every 20 ms until it holds, failing after 30 s.
pub async fn eventually<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    eventually_within(what, Duration::from_secs(30), check).await;
}

/// The site setting of the tests that cut sends (a SIGKILL mid-send, a
/// full disk): a CallKeeper timeout of [`SHORT_UPSTREAM_TIMEOUT`], which
/// bounds how long a cut send stays in doubt and its lease.
pub const SHORT_UPSTREAM: &str = "upstream_timeout_seconds = 3";
/// The timeout [`SHORT_UPSTREAM`] sets.
pub const SHORT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a restarted proxy (its site set with [`SHORT_UPSTREAM`])
/// may take to settle the sends its killed predecessor left in flight: on
/// SQLite, where it owns the file, it releases them at start and looks
/// them up once their orderCall is past its deadline; on PostgreSQL
/// another replica may be the one sending, so they wait for the send
/// lease to run out. Then 30 s to order them.
pub fn restart_settles_within() -> Duration {
    let cut_sends_wait = match engine() {
        TestEngine::Sqlite => SHORT_UPSTREAM_TIMEOUT + Duration::from_secs(2),
        TestEngine::Postgres => proxy::pipeline::send_lease(SHORT_UPSTREAM_TIMEOUT),
    };
    cut_sends_wait + Duration::from_secs(30)
}

/// Polls `check` every 20 ms until it holds, failing after `within`.
pub async fn eventually_within<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The real `proxy` binary as a child process (a second process, as in
/// production), serving the config file `proxy.toml` in its own temporary
/// directory, logging to `proxy.log` there; killed when dropped.
#[derive(Debug)]
pub struct ProxyBinary {
    child: std::process::Child,
    visitor: Visitor,
    /// The admin listener's base URL (`/metrics`, `/readyz`).
    pub admin_url: String,
    /// The config file it serves (rewrite it and [`ProxyBinary::hangup`] to reload).
    pub config: PathBuf,
    log: PathBuf,
    /// Holds the directory until the binary is gone.
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for ProxyBinary {
    type Target = Visitor;
    fn deref(&self) -> &Visitor {
        &self.visitor
    }
}

impl ProxyBinary {
    /// Starts the binary on the config `config_for(directory)` writes (an
    /// `admin_listen` on port 0 is given a free port, to be known here),
    /// with `RUST_LOG=rust_log`; returns once it serves `/healthz`.
    pub async fn start(config_for: impl FnOnce(&Path) -> String, rust_log: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = config_for(dir.path()).replace(
            "admin_listen = \"127.0.0.1:0\"",
            &format!("admin_listen = \"{}\"", free_addr()),
        );
        let parsed = proxy::config::Config::parse(&text, |_| Some(KEY.to_owned()))
            .expect("valid test config");
        let config = dir.path().join("proxy.toml");
        std::fs::write(&config, &text).expect("write the config");
        let log = dir.path().join("proxy.log");
        let log_file = std::fs::File::create(&log).expect("log file");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_proxy"))
            .args(["serve", "--config"])
            .arg(&config)
            .env("SHOP_KEY", KEY)
            .env("RUST_LOG", rust_log)
            .stdout(std::process::Stdio::from(
                log_file.try_clone().expect("log file"),
            ))
            .stderr(std::process::Stdio::from(log_file))
            .spawn()
            .expect("the proxy binary starts");
        let binary = Self {
            child,
            visitor: Visitor::of_shop(format!("http://{}", parsed.listen)),
            admin_url: format!("http://{}", parsed.admin_listen),
            config,
            log,
            _dir: dir,
        };
        let health = format!("{}/healthz", binary.url);
        eventually("the proxy binary serves", || async {
            reqwest::get(&health).await.is_ok()
        })
        .await;
        binary
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGHUP (reload the config), with `kill`, as systemd's `ExecReload` does.
    pub fn hangup(&self) {
        let status = std::process::Command::new("kill")
            .args(["-HUP", &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -HUP failed: {status}");
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A GET of `path` on the admin listener: the status code and the body.
    pub async fn admin_get(&self, path: &str) -> (u16, String) {
        let response = reqwest::get(format!("{}{path}", self.admin_url))
            .await
            .expect("the admin listener answers");
        let status = response.status().as_u16();
        (status, response.text().await.expect("a body"))
    }

    /// The value of the metric line that starts with `series` (name and
    /// labels as `/metrics` writes them), if present.
    pub async fn metric(&self, series: &str) -> Option<u64> {
        let (_, metrics) = self.admin_get("/metrics").await;
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    /// Stops it at once (SIGKILL); the test is over with it.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ProxyBinary {
    fn drop(&mut self) {
        self.stop();
    }
}
