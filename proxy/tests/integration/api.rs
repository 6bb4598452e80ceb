//! The widget API on a real port, against the sandbox CallKeeper.

use std::sync::Arc;
use std::time::Duration;

use proxy::clock::SystemClock;
use serde_json::{Value, json};

use crate::support::{Stub, TestProxy};

/// The demo with a sandbox 100 times faster than real time.
async fn spawn_demo() -> TestProxy {
    TestProxy::demo(0.01, 20, "", Arc::new(SystemClock)).await
}

#[tokio::test]
async fn a_callback_is_accepted_stored_and_followed_to_its_end() {
    let demo = spawn_demo().await;
    let body = json!({"phone": "8 (999) 765-43-21", "context": {"current_page": "https://shop.example/p", "utm": {"source": "ya"}}});
    let (status, accepted) = demo.post(&demo.origin, "key-1", &body).await;
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["id"].as_str().expect("a token").to_owned();
    assert_eq!(id.len(), 32, "128 random bits in hex");
    assert_eq!(accepted["status"]["state"], "received");

    // Follow the status until it is final (the sandbox runs 100x faster than real time).
    let url = format!("{}/v1/callbacks/{id}", demo.url);
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let last = loop {
        let status: Value = reqwest::get(&url)
            .await
            .expect("status")
            .json()
            .await
            .expect("json");
        if seen.last() != Some(&status["state"]) {
            seen.push(status["state"].clone());
        }
        if status["final"] == true || tokio::time::Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(last["state"], "succeeded", "states seen: {seen:?}");
    assert!(
        !last.to_string().contains("status_code"),
        "CallKeeper's raw status is not exposed"
    );

    let orders: Vec<_> = demo
        .demo_parts()
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.method == "orderCall")
        .collect();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].param("client"), Some("79997654321"));
    assert_eq!(orders[0].param("utm_source"), Some("ya"));
    assert_eq!(
        orders[0].param("external_service_identifier"),
        Some(proxy::pipeline::external_id(&id).as_str()),
        "a stable id derived from the lead, not its status token"
    );
    assert_eq!(orders[0].param("ip_client"), Some("127.0.0.1"));
    demo.stop();
}

#[tokio::test]
async fn the_same_idempotency_key_returns_the_first_answer_or_409() {
    let demo = spawn_demo().await;
    let body = json!({"phone": "+7 999 111-22-33"});
    let (first, a) = demo.post(&demo.origin, "same", &body).await;
    // Same body with other formatting of the same number: still the same request.
    let (second, b) = demo
        .post(&demo.origin, "same", &json!({"phone": "79991112233"}))
        .await;
    assert_eq!((first, second), (202, 202));
    assert_eq!(a["id"], b["id"], "one lead for one key");
    let (conflict, error) = demo
        .post(&demo.origin, "same", &json!({"phone": "+7 999 000-00-99"}))
        .await;
    assert_eq!(conflict, 409);
    assert_eq!(error["error"]["code"], "idempotency_conflict");
    demo.stop();
}

#[tokio::test]
async fn client_mistakes_get_clear_errors_in_one_shape() {
    let demo = spawn_demo().await;
    let origin = demo.origin.clone();

    let (status, error) = demo.post(&origin, "k1", &json!({"phone": "12-34"})).await;
    assert_eq!(status, 422);
    assert_eq!(error["error"]["code"], "invalid_input");
    assert_eq!(error["error"]["field"], "phone");

    let (status, error) = demo
        .post(
            "https://evil.example",
            "k2",
            &json!({"phone": "+79991234567"}),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(error["error"]["code"], "origin_not_allowed");

    let long = "x".repeat(3000);
    let (status, error) = demo
        .post(
            &origin,
            "k3",
            &json!({"phone": "+79991234567", "context": {"referrer": long}}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(error["error"]["field"], "context.referrer");

    let response = reqwest::Client::new()
        .post(format!("{}/v1/sites/demo/callbacks", demo.url))
        .header("Origin", &origin)
        .body("{not json")
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status().as_u16(), 400);
    let error: Value = response.json().await.expect("json");
    assert_eq!(error["error"]["code"], "bad_request");

    let response = reqwest::get(format!("{}/v1/sites/nope/config", demo.url))
        .await
        .expect("answer");
    assert_eq!(response.status().as_u16(), 404);
    let response = reqwest::get(format!("{}/v1/callbacks/0123", demo.url))
        .await
        .expect("answer");
    assert_eq!(response.status().as_u16(), 404);

    assert!(
        demo.demo_parts()
            .sandbox
            .requests()
            .iter()
            .all(|r| r.method == "getUserInfo"),
        "nothing invalid went upstream (only the balance monitor's getUserInfo)"
    );
    demo.stop();
}

#[tokio::test]
async fn cors_admits_the_sites_origin_and_exposes_retry_after() {
    let demo = spawn_demo().await;
    let preflight = |origin: String| {
        reqwest::Client::new()
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/v1/sites/demo/callbacks", demo.url),
            )
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "content-type,idempotency-key",
            )
            .send()
    };
    let allowed = preflight(demo.origin.clone()).await.expect("answer");
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        demo.origin.clone().as_str()
    );
    let denied = preflight("https://evil.example".to_owned())
        .await
        .expect("answer");
    assert!(
        denied
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let (_, accepted) = demo
        .post(&demo.origin, "cors", &json!({"phone": "+79991234567"}))
        .await;
    let response = reqwest::Client::new()
        .get(format!(
            "{}/v1/callbacks/{}",
            demo.url,
            accepted["id"].as_str().expect("id")
        ))
        .header("Origin", demo.origin.clone())
        .send()
        .await
        .expect("answer");
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .expect("ascii")
        .to_lowercase();
    assert!(exposed.contains("retry-after"), "{exposed}");
    assert!(
        exposed.contains("refusal-reason"),
        "the widget reads why a number was refused: {exposed}"
    );
    demo.stop();
}

#[tokio::test]
async fn the_status_stream_resumes_after_last_event_id() {
    let demo = spawn_demo().await;
    let (_, accepted) = demo
        .post(&demo.origin, "sse", &json!({"phone": "+79991234567"}))
        .await;
    let url = format!(
        "{}/v1/callbacks/{}/events",
        demo.url,
        accepted["id"].as_str().expect("id")
    );

    // The whole stream ends after the final status.
    let full = tokio::time::timeout(Duration::from_secs(20), async {
        reqwest::get(&url).await?.text().await
    })
    .await
    .expect("the stream ends")
    .expect("body");
    let ids: Vec<i64> = full
        .lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .filter_map(|v| v.parse().ok())
        .collect();
    assert!(full.contains("event: status"), "{full}");
    assert!(full.contains("\"final\":true"), "{full}");
    let last = *ids.last().expect("events carry ids");

    // Resuming from the last id sends nothing already seen and ends at once.
    let resumed = reqwest::Client::new()
        .get(&url)
        .header("Last-Event-ID", last.to_string())
        .send()
        .await
        .expect("answer");
    let resumed = tokio::time::timeout(Duration::from_secs(5), resumed.text())
        .await
        .expect("ends")
        .expect("body");
    assert!(
        !resumed.contains("event: status"),
        "nothing new after the final event: {resumed}"
    );
    demo.stop();
}

#[tokio::test]
async fn a_requested_time_must_be_ahead_and_in_opening_hours() {
    let demo = spawn_demo().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let (status, error) = demo
        .post(
            &demo.origin,
            "t1",
            &json!({"phone": "+79991234567", "time": now - 3600}),
        )
        .await;
    assert_eq!(
        (status, error["error"]["field"].as_str()),
        (422, Some("time")),
        "{error}"
    );
    let (status, _) = demo
        .post(
            &demo.origin,
            "t2",
            &json!({"phone": "+79991234568", "time": now + 120 * 86_400}),
        )
        .await;
    assert_eq!(status, 422);
    // The demo site takes calls around the clock, so a time tomorrow is fine.
    let (status, accepted) = demo
        .post(
            &demo.origin,
            "t3",
            &json!({"phone": "+79991234569", "time": now + 86_400}),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    demo.stop();
}

#[tokio::test]
async fn no_response_carries_the_callkeeper_key() {
    let demo = spawn_demo().await;
    let (_, accepted) = demo
        .post(&demo.origin, "key", &json!({"phone": "+79991234560"}))
        .await;
    let id = accepted["id"].as_str().expect("id");
    let key = callkeeper::sandbox::DEMO_API_KEY;
    assert!(!accepted.to_string().contains(key));
    for path in [
        "/v1/sites/demo/config".to_owned(),
        "/v1/openapi.json".to_owned(),
        format!("/v1/callbacks/{id}"),
        format!("/v1/callbacks/{id}/events"),
        "/healthz".to_owned(),
        "/widget/widget.js".to_owned(),
        "/nowhere".to_owned(),
    ] {
        let response = reqwest::get(format!("{}{path}", demo.url))
            .await
            .expect("answer");
        let headers = format!("{:?}", response.headers());
        let body = tokio::time::timeout(Duration::from_secs(20), response.text())
            .await
            .expect("ends")
            .expect("body");
        assert!(
            !body.contains(key) && !headers.contains(key),
            "{path} leaks the key"
        );
    }
    let page = reqwest::get(&demo.demo_parts().page_url)
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    assert!(!page.contains(key), "the demo page leaks the key");
    demo.stop();
}

/// A zone the time zone database does not know passes the config's shape
/// check: the proxy still starts and takes callbacks for "now", while the
/// site's config and slots answer 503 with `Retry-After`.
#[tokio::test]
async fn a_site_whose_time_zone_is_unknown_still_takes_calls_for_now() {
    let stub = Stub::default();
    let proxy = TestProxy::against(&stub, "utc = \"Mars/Olympus_Mons\"").await;
    for path in ["/v1/sites/shop/config", "/v1/sites/shop/slots"] {
        let response = reqwest::get(format!("{}{path}", proxy.url))
            .await
            .expect("answer");
        assert_eq!(response.status().as_u16(), 503, "{path}");
        assert!(response.headers().contains_key("retry-after"), "{path}");
    }
    let (code, body, _) = proxy.order("+79990000091", "mars").await;
    assert_eq!(code, 202, "{body}");
}

#[tokio::test]
async fn the_demo_page_serves_its_own_test_files_and_no_other_path() {
    let demo = spawn_demo().await;
    let page = demo.demo_parts().page_url.trim_end_matches('/').to_owned();
    let get = |path: &str| {
        let url = format!("{page}{path}");
        async move {
            let response = reqwest::get(url).await.expect("an answer");
            let status = response.status().as_u16();
            (status, response.text().await.unwrap_or_default())
        }
    };
    let (status, css) = get("/test/host.css").await;
    assert_eq!(status, 200, "its own file");
    assert!(!css.is_empty());
    for path in [
        "/test/%2Fetc%2Fpasswd",
        "/test/..%2FCargo.toml",
        "/test/%2E%2E%2F%2E%2E%2FCargo.toml",
        "/test/host.css.bak",
    ] {
        let (status, body) = get(path).await;
        assert_eq!(status, 404, "{path}");
        assert!(!body.contains("root:"), "{path} leaked a file");
    }
    demo.stop();
}
