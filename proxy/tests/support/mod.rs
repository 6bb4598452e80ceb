//! Test support: a scripted CallKeeper stub for faults, and the real proxy
//! started in-process or as a child process on a free port.
//!
//! The stub imitates only what the document says (answer shapes, the
//! `{"status":"fail","reason":…}` errors and their HTTP codes); it is the one
//! thing mocked, because it is outside the project.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses a different part"
)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

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
}

/// A call the stub placed.
#[derive(Debug, Clone)]
pub struct Placed {
    /// CallKeeper's id.
    pub id: u64,
    /// The visitor's digits.
    pub phone: String,
    /// `external_service_identifier`.
    pub ext_id: String,
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
    next_id: u64,
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
    fn lock(&self) -> std::sync::MutexGuard<'_, StubState> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Serves the stub on a free port; returns its base URL.
    pub async fn serve(&self) -> String {
        let app = Router::new()
            .route("/orderCall", post(order_call))
            .route("/getCallInfo", post(get_call_info))
            .route("/getCallsInfo", post(get_calls_info))
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
    let place = |stub: &Stub| {
        let mut state = stub.lock();
        state.next_id += 1;
        let id = 1000 + state.next_id;
        let ext_id = params
            .get("external_service_identifier")
            .cloned()
            .unwrap_or_default();
        state.placed.push(Placed {
            id,
            phone: phone.clone(),
            ext_id,
            at: unix_now(),
            status: if reply == Reply::Duplicate {
                (815, 0)
            } else {
                (1, 0)
            },
        });
        id
    };
    match reply {
        Reply::Accept | Reply::Duplicate => {
            let id = place(&stub);
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
            place(&stub);
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

async fn get_call_info(
    State(stub): State<Stub>,
    Form(params): Form<HashMap<String, String>>,
) -> Response {
    let id: u64 = params
        .get("id_call")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    match stub.placed().iter().find(|c| c.id == id) {
        Some(call) => axum::Json(record(call)).into_response(),
        None => fail(404, "Mismatched request!"),
    }
}

async fn get_calls_info(
    State(stub): State<Stub>,
    Form(_params): Form<HashMap<String, String>>,
) -> Response {
    stub.lock().calls_info_requests += 1;
    let records: Vec<Value> = stub.placed().iter().map(record).collect();
    axum::Json(Value::Array(records)).into_response()
}

/// A proxy config for one site `shop` against `upstream`.
pub fn config_toml(
    listen: SocketAddr,
    upstream: &str,
    database: &Path,
    extra_site: &str,
) -> String {
    format!(
        "listen = \"{listen}\"\ndatabase = \"{}\"\nassets = \"{}\"\nstatus_poll_interval_ms = 50\n\n\
         [sites.shop]\nallowed_origins = [\"{ORIGIN}\"]\nupstream = \"{upstream}\"\nunique = \"example_company\"\n\
         api_key_env = \"SHOP_KEY\"\nwhash = \"96d6ec6937c878c2ca1f889b9b9e865a\"\n{extra_site}\n",
        database.display(),
        database.with_file_name("dist").display(),
    )
}

/// A free loopback port (bound and released; fine for tests).
pub fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address")
}

/// The proxy in this process, serving `config`; cancel the token to stop it.
pub async fn spawn_in_process(
    config: &str,
) -> (
    String,
    tokio_util::sync::CancellationToken,
    tokio::task::JoinHandle<()>,
) {
    let config =
        proxy::config::Config::parse(config, |_| Some(KEY.to_owned())).expect("valid test config");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let app = proxy::Application::build(config, listener)
        .await
        .expect("the proxy builds");
    let url = format!("http://{}", app.local_addr().expect("address"));
    let shutdown = tokio_util::sync::CancellationToken::new();
    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        app.run_until_stopped(stop).await.expect("the proxy runs");
    });
    (url, shutdown, task)
}

/// The proxy in this process against `stub`, with a fresh store; `site_extra`
/// goes into the site's table. Keep the directory alive while the proxy runs.
pub async fn spawn_against(
    stub: &Stub,
    site_extra: &str,
) -> (
    String,
    tokio_util::sync::CancellationToken,
    tempfile::TempDir,
) {
    let upstream = stub.serve().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_toml(
        free_addr(),
        &upstream,
        &dir.path().join("leads.db"),
        site_extra,
    );
    let (proxy, shutdown, _task) = spawn_in_process(&config).await;
    (proxy, shutdown, dir)
}

/// Posts a callback request; returns the status code, the body and `Retry-After`.
pub async fn order(proxy: &str, phone: &str, key: &str) -> (u16, Value, Option<String>) {
    let response = reqwest::Client::new()
        .post(format!("{proxy}/v1/sites/shop/callbacks"))
        .header("Origin", ORIGIN)
        .header("Idempotency-Key", key)
        .json(&json!({"phone": phone, "context": {"current_page": "https://shop.example/"}}))
        .send()
        .await
        .expect("the proxy answers");
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

/// The visitor's status of a callback.
pub async fn status(proxy: &str, id: &str) -> Value {
    reqwest::get(format!("{proxy}/v1/callbacks/{id}"))
        .await
        .expect("answer")
        .json()
        .await
        .expect("json")
}

/// Polls `check` every 20 ms until it holds, failing after 30 s.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
