//! What operators watch: `/healthz`, `/readyz` (store writable, CallKeeper
//! answering, balance) and `/metrics`, against the sandbox CallKeeper behind
//! a switch that can make it fail like a load balancer in trouble.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::support::{TestProxy, config_toml, eventually, free_addr};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::IntoResponse;
use callkeeper::sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;
use sqlx::Connection;

/// The sandbox CallKeeper, and a switch that makes every request to it fail
/// with 503.
struct Upstream {
    url: String,
    down: Arc<AtomicBool>,
}

impl Upstream {
    async fn start(balance_minutes: u32) -> Self {
        let mut config = SandboxConfig {
            time_scale: 0.01,
            ..SandboxConfig::demo()
        };
        config.accounts[0].balance_minutes = balance_minutes;
        let sandbox = Sandbox::new(config);
        let down = Arc::new(AtomicBool::new(false));
        let switch = down.clone();
        let app = sandbox
            .router()
            .layer(axum::middleware::from_fn(
                move |request: Request, next: Next| {
                    let down = switch.load(Ordering::SeqCst);
                    async move {
                        if down {
                            (StatusCode::SERVICE_UNAVAILABLE, "<html>503</html>").into_response()
                        } else {
                            next.run(request).await
                        }
                    }
                },
            ))
            .into_make_service_with_connect_info::<SocketAddr>();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the sandbox");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, down }
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

/// The proxy with one site `shop` on `upstream`, checking CallKeeper every
/// second, with `site_extra` in the site's table.
async fn spawn(upstream: &Upstream, site_extra: &str) -> TestProxy {
    TestProxy::start(|dir| {
        format!(
            "upstream_check_interval_seconds = 1\n{}",
            config_toml(
                free_addr(),
                &upstream.url,
                &dir.join("leads.db"),
                &format!(
                    "{site_extra}\n[sites.shop.limits]\nip_burst = 100\nip_per_minute = 1000\n"
                ),
            )
        )
    })
    .await
}

/// One sample's value from a Prometheus text exposition, e.g.
/// `value(text, "callback_proxy_orders_total", &[("site", "shop"), ("outcome", "accepted")])`.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (series_name, series_labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.strip_suffix('}')?),
                None => (series, ""),
            };
            let wanted: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            let have: Vec<&str> = series_labels.split(',').filter(|l| !l.is_empty()).collect();
            (series_name == name
                && wanted.len() == have.len()
                && wanted.iter().all(|w| have.contains(&w.as_str())))
            .then(|| value.parse().ok())
            .flatten()
        })
}

/// Every sample line is `name{labels} number` of a family declared with
/// `# TYPE`, as Prometheus requires.
fn assert_well_formed(text: &str) {
    let families: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split(' ').next())
        .collect();
    assert!(!families.is_empty(), "no # TYPE lines:\n{text}");
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, number) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a sample: {line}"));
        assert!(number.parse::<f64>().is_ok(), "not a number: {line}");
        let name = series.split('{').next().unwrap_or_default();
        assert!(
            families.iter().any(|family| name == *family
                || ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|suffix| name.strip_suffix(suffix) == Some(family))),
            "{name} has no # TYPE line"
        );
    }
}

#[tokio::test]
async fn healthz_answers_while_the_process_lives_even_when_not_ready() {
    let upstream = Upstream::start(1000).await;
    upstream.set_down(true);
    let proxy = spawn(&upstream, "").await;
    assert_eq!(proxy.get("/healthz").await, (200, "ok".to_owned()));
    eventually("CallKeeper's failure is seen", || async {
        proxy.readyz().await.0 == 503
    })
    .await;
    assert_eq!(proxy.get("/healthz").await, (200, "ok".to_owned()));
    proxy.stop();
}

#[tokio::test]
async fn readyz_follows_callkeeper_going_down_and_coming_back() {
    let upstream = Upstream::start(1000).await;
    let proxy = spawn(&upstream, "").await;
    eventually("the proxy is ready", || async {
        proxy.readyz().await.0 == 200
    })
    .await;
    let (_, ready) = proxy.readyz().await;
    assert_eq!(ready["ready"], true, "{ready}");
    assert_eq!(ready["store"]["writable"], true, "{ready}");
    assert_eq!(ready["upstream"]["shop"]["ok"], true, "{ready}");
    assert_eq!(ready["upstream"]["shop"]["error"], Value::Null, "{ready}");
    assert!(
        ready["upstream"]["shop"]["last_success_seconds_ago"].as_u64() <= Some(2),
        "{ready}"
    );

    upstream.set_down(true);
    eventually("the proxy is not ready", || async {
        proxy.readyz().await.0 == 503
    })
    .await;
    let (_, down) = proxy.readyz().await;
    assert_eq!(down["ready"], false, "{down}");
    assert_eq!(down["upstream"]["shop"]["ok"], false, "{down}");
    assert!(
        down["upstream"]["shop"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("503")),
        "says why: {down}"
    );
    assert_eq!(
        down["store"]["writable"], true,
        "only CallKeeper is at fault: {down}"
    );

    upstream.set_down(false);
    eventually("the proxy is ready again", || async {
        proxy.readyz().await.0 == 200
    })
    .await;
    proxy.stop();
}

#[tokio::test]
async fn readyz_fails_while_the_store_cannot_take_a_write() {
    if crate::support::sqlite_only("holds SQLite's write lock") {
        return;
    }
    let upstream = Upstream::start(1000).await;
    let proxy = spawn(&upstream, "").await;
    eventually("the proxy is ready", || async {
        proxy.readyz().await.0 == 200
    })
    .await;

    // Another process holds the database's write lock (a stuck backup, a
    // full disk's retries): the proxy could not store a lead now.
    let url = format!("sqlite://{}", proxy.database.display());
    let mut blocker = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("open the store");
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut blocker)
        .await
        .expect("take the write lock");
    // The heartbeat writes every second: the next one finds the lock.
    eventually("the heartbeat finds the store stuck", || async {
        proxy.readyz().await.0 == 503
    })
    .await;
    let (status, stuck) = proxy.readyz().await;
    assert_eq!(status, 503, "{stuck}");
    assert_eq!(stuck["ready"], false, "{stuck}");
    assert_eq!(stuck["store"]["writable"], false, "{stuck}");
    assert!(stuck["store"]["error"].is_string(), "says why: {stuck}");
    assert_eq!(stuck["upstream"]["shop"]["ok"], true, "{stuck}");

    sqlx::query("ROLLBACK")
        .execute(&mut blocker)
        .await
        .expect("release the lock");
    eventually("the store takes writes again", || async {
        proxy.readyz().await.0 == 200
    })
    .await;
    proxy.stop();
}

#[tokio::test]
async fn a_low_balance_warns_in_readyz_and_metrics_without_making_the_proxy_unready() {
    let upstream = Upstream::start(10).await;
    let proxy = spawn(&upstream, "balance_warn_minutes = 60").await;
    // Both first checks done: the balance read and the store's first write.
    eventually("the balance is read and the store checked", || async {
        let body = proxy.readyz().await.1;
        body["balance"]["shop"]["minutes"] == 10 && body["store"]["error"] != "not checked yet"
    })
    .await;
    let (status, body) = proxy.readyz().await;
    assert_eq!(body["balance"]["shop"]["low"], true, "{body}");
    assert_eq!(status, 200, "a low balance is a warning: {body}");

    let (_, metrics) = proxy.admin_get("/metrics").await;
    let site = [("site", "shop")];
    assert_eq!(
        value(&metrics, "callback_proxy_balance_minutes", &site),
        Some(10.0)
    );
    assert_eq!(
        value(&metrics, "callback_proxy_balance_low", &site),
        Some(1.0)
    );
    proxy.stop();

    // The same account is not low for a site that warns below 5 minutes.
    let proxy = spawn(&upstream, "balance_warn_minutes = 5").await;
    eventually("the balance is read", || async {
        proxy.readyz().await.1["balance"]["shop"]["minutes"] == 10
    })
    .await;
    assert_eq!(
        proxy.readyz().await.1["balance"]["shop"]["low"],
        false,
        "10 minutes are not below 5"
    );
    proxy.stop();
}

#[tokio::test]
async fn metrics_count_requests_orders_retries_and_the_queue() {
    let upstream = Upstream::start(1000).await;
    let proxy = spawn(&upstream, "").await;
    eventually("the proxy is ready", || async {
        proxy.readyz().await.0 == 200
    })
    .await;

    let phones = ["+79990001011", "+79990001012", "+79990001013"];
    let mut ids = Vec::new();
    for (i, phone) in phones.iter().enumerate() {
        let (code, body, _) = proxy.order(phone, &format!("k{i}")).await;
        assert_eq!(code, 202, "{body}");
        ids.push(body["id"].as_str().expect("an id").to_owned());
    }
    let (code, _, _) = proxy.order("12-34", "bad").await;
    assert_eq!(code, 422);
    for id in &ids {
        let (code, _) = proxy.get(&format!("/v1/callbacks/{id}")).await;
        assert_eq!(code, 200);
    }
    assert_eq!(proxy.get("/widget/widget.js").await.0, 404, "no dist here");
    assert_eq!(proxy.get("/wp-login.php").await.0, 404);
    let scrape = || async { proxy.admin_get("/metrics").await.1 };
    let accepted = [("site", "shop"), ("outcome", "accepted")];
    eventually("the three orders are accepted", || async {
        value(&scrape().await, "callback_proxy_orders_total", &accepted) == Some(3.0)
    })
    .await;

    let (status, text) = proxy.admin_get("/metrics").await;
    assert_eq!(status, 200);
    assert_well_formed(&text);
    let count = |name: &str, labels: &[(&str, &str)]| {
        value(&text, name, labels).unwrap_or_else(|| panic!("no {name} {labels:?} in\n{text}"))
    };
    let requests = "callback_proxy_http_requests_total";
    let create = [("route", "/v1/sites/{site}/callbacks"), ("class", "2xx")];
    assert_eq!(count(requests, &create), 3.0);
    let refused = [("route", "/v1/sites/{site}/callbacks"), ("class", "4xx")];
    assert_eq!(count(requests, &refused), 1.0);
    let status_route = [("route", "/v1/callbacks/{id}"), ("class", "2xx")];
    assert!(count(requests, &status_route) >= 3.0);
    assert!(
        !text.contains(&ids[0]),
        "a status token must never become a label"
    );
    let widget = [("route", "/widget/{file}"), ("class", "4xx")];
    assert_eq!(count(requests, &widget), 1.0);
    assert_eq!(
        count(requests, &[("route", "unmatched"), ("class", "4xx")]),
        1.0
    );
    assert!(!text.contains("wp-login"), "nor a scanner's path");
    let latency = "callback_proxy_upstream_request_duration_seconds_count";
    assert_eq!(count(latency, &[("method", "orderCall")]), 3.0);
    assert!(count(latency, &[("method", "getUserInfo")]) >= 1.0);
    assert_eq!(
        count("callback_proxy_balance_minutes", &[("site", "shop")]) as i64,
        1000
    );
    assert_eq!(
        count("callback_proxy_upstream_up", &[("site", "shop")]),
        1.0
    );
    assert_eq!(count("callback_proxy_open_streams", &[]), 0.0);
    assert_eq!(count("callback_proxy_store_up", &[]), 1.0);
    assert_eq!(count("callback_proxy_queue_depth", &[]), 0.0);
    assert_eq!(count("callback_proxy_leads", &[("state", "halted")]), 0.0);

    // CallKeeper fails: the next lead waits in the queue, counted as a
    // retryable failure, and is sent again once CallKeeper is back.
    upstream.set_down(true);
    let (code, body, _) = proxy.order("+79990001014", "k-down").await;
    assert_eq!(code, 202, "{body}");
    let retryable = [("site", "shop"), ("outcome", "retryable_failure")];
    eventually("the failed order is counted and queued", || async {
        let text = scrape().await;
        value(&text, "callback_proxy_orders_total", &retryable) >= Some(1.0)
            && value(&text, "callback_proxy_queue_depth", &[]) == Some(1.0)
            && value(&text, "callback_proxy_leads", &[("state", "queued")]) == Some(1.0)
    })
    .await;
    upstream.set_down(false);
    eventually("the retry is accepted", || async {
        let text = scrape().await;
        value(&text, "callback_proxy_orders_total", &accepted) == Some(4.0)
            && value(
                &text,
                "callback_proxy_order_retries_total",
                &[("site", "shop")],
            ) >= Some(1.0)
            && value(&text, "callback_proxy_queue_depth", &[]) == Some(0.0)
    })
    .await;
    let text = scrape().await;
    assert!(
        value(
            &text,
            "callback_proxy_upstream_failures_total",
            &[("site", "shop")]
        ) >= Some(1.0)
    );
    proxy.stop();
}

#[tokio::test]
async fn operators_endpoints_are_on_the_admin_listener_only() {
    let upstream = Upstream::start(1000).await;
    let proxy = spawn(&upstream, "").await;
    assert_ne!(proxy.url, proxy.admin_url);
    assert_eq!(proxy.get("/healthz").await, (200, "ok".to_owned()));
    assert_eq!(
        proxy.get("/readyz").await.0,
        404,
        "not on the public listener"
    );
    assert_eq!(
        proxy.get("/metrics").await.0,
        404,
        "not on the public listener"
    );
    assert_eq!(proxy.admin_get("/healthz").await, (200, "ok".to_owned()));
    assert_eq!(proxy.admin_get("/metrics").await.0, 200);
    eventually("the proxy is ready", || async {
        proxy.readyz().await.0 == 200
    })
    .await;
    assert_eq!(
        proxy.admin_get("/v1/openapi.json").await.0,
        404,
        "the widget's API is not on the admin listener"
    );
    proxy.stop();
}

#[tokio::test]
async fn readyz_does_not_write_to_the_store_on_each_hit() {
    if crate::support::sqlite_only("reads SQLite's data_version") {
        return;
    }
    let upstream = Upstream::start(1000).await;
    let proxy = spawn(&upstream, "").await;
    eventually("the proxy is ready", || async {
        proxy.readyz().await.0 == 200
    })
    .await;
    let url = format!("sqlite://{}", proxy.database.display());
    let mut reader = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("open the store");
    // Many hits within one heartbeat interval write nothing: SQLite's
    // data_version moves only when another connection commits.
    let mut moved = 0;
    for _ in 0..5 {
        let before = data_version(&mut reader).await;
        for _ in 0..20 {
            assert_eq!(proxy.readyz().await.0, 200);
        }
        if data_version(&mut reader).await != before {
            moved += 1;
        }
    }
    // 100 hits in well under 5 s; at one heartbeat a second, most rounds of
    // 20 hits see no commit at all (each hit writing would move every round).
    assert!(moved < 5, "every round of /readyz hits wrote to the store");
    proxy.stop();
}

/// SQLite's `data_version`: it moves when another connection commits.
async fn data_version(reader: &mut sqlx::SqliteConnection) -> i64 {
    sqlx::query_scalar("PRAGMA data_version")
        .fetch_one(reader)
        .await
        .expect("data_version")
}
