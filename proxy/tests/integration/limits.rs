//! The limits on the create endpoint, on a real port: the body size, then
//! the per-address burst, both in the one error shape.

use std::sync::Arc;

use proxy::clock::SystemClock;
use proxy::config::Limits;

use serde_json::json;

use crate::support::{ORIGIN, Stub, TestProxy, config_toml, eventually, free_addr};

/// The whole proxy on a real port: the size limit, then the burst limit,
/// on the create endpoint, both in the one error shape.
#[tokio::test]
async fn an_oversized_body_is_413_and_a_sixth_quick_request_is_429() {
    let demo = TestProxy::demo(0.01, 20, "", Arc::new(SystemClock)).await;
    let origin = demo.origin.clone();
    let client = reqwest::Client::new();
    let post = |body: String| {
        client
            .post(format!("{}/v1/sites/demo/callbacks", demo.url))
            .header("Origin", &origin)
            .header(protocol::paths::WIDGET_HEADER, "1")
            .body(body)
            .send()
    };
    // A body over the size limit is refused before the handler runs, so
    // it does not count against the address.
    let response = post("x".repeat(64 * 1024)).await.expect("an answer");
    assert_eq!(response.status(), 413);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "payload_too_large");

    // New requests count against the address (a malformed one is refused
    // before, and costs nothing to store).
    let burst = Limits::default().ip_burst;
    let order = |n: u32| format!(r#"{{"phone": "+7999000{n:04}", "elapsed_ms": 6000}}"#);
    for n in 0..burst {
        let response = post(order(n)).await.expect("an answer");
        assert_eq!(response.status(), 202, "within the burst");
    }
    let response = post(order(burst)).await.expect("an answer");
    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "rate_limited");
    demo.stop();
}

/// A proxy for site `shop` against `stub` that believes `X-Forwarded-For`
/// from loopback, so one test can speak from many addresses, with
/// `limits` as the site's `[sites.shop.limits]` table.
async fn behind_a_trusted_proxy(stub: &Stub, limits: &str) -> TestProxy {
    let upstream = stub.serve().await;
    TestProxy::start(|dir| {
        format!(
            "trusted_proxies = [\"127.0.0.1\"]\n{}",
            config_toml(
                free_addr(),
                &upstream,
                &dir.join("leads.db"),
                &format!("limits = {{ {limits} }}"),
            )
        )
    })
    .await
}

/// Posts an order for `phone` as the visitor at `address`; the status code.
async fn order_from(proxy: &TestProxy, address: &str, phone: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/v1/sites/shop/callbacks", proxy.url))
        .header("Origin", ORIGIN)
        .header("X-Forwarded-For", address)
        .header("X-Callback-Widget", "1")
        .json(&json!({"phone": phone, "elapsed_ms": 5000}))
        .send()
        .await
        .expect("the proxy answers")
        .status()
        .as_u16()
}

#[tokio::test]
async fn k_concurrent_requests_against_a_ceiling_of_n_store_exactly_n() {
    const CEILING: usize = 7;
    const IN_FLIGHT: usize = 40;
    let stub = Stub::default();
    let proxy = behind_a_trusted_proxy(
        &stub,
        &format!("site_per_hour = {CEILING}, ip_burst = 100, ip_per_minute = 1000"),
    )
    .await;
    let attempts = (0..IN_FLIGHT).map(|n| {
        let proxy = &proxy;
        async move {
            // Each from its own address and for its own number: only the
            // site's ceiling stands between them and the store.
            let address = format!("198.51.100.{}", n + 1);
            order_from(proxy, &address, &format!("+7999100{n:04}")).await
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let stored = statuses.iter().filter(|s| **s == 202).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(
        (stored, limited),
        (CEILING, IN_FLIGHT - CEILING),
        "{statuses:?}"
    );
    eventually("every stored lead is ordered", || async {
        stub.placed().len() >= CEILING
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(stub.placed().len(), CEILING, "no lead beyond the ceiling");
    proxy.stop();
}

#[tokio::test]
async fn addresses_are_limited_per_day_and_ipv6_per_64_and_per_48() {
    let stub = Stub::default();
    let proxy = behind_a_trusted_proxy(
        &stub,
        "ip_per_day = 2, network_per_day = 3, ip_burst = 100, ip_per_minute = 1000",
    )
    .await;
    let mut phone = 0;
    let mut order = async |address: &str| {
        phone += 1;
        order_from(&proxy, address, &format!("+7999200{phone:04}")).await
    };
    // One IPv4 address: two a day.
    assert_eq!(order("203.0.113.5").await, 202);
    assert_eq!(order("203.0.113.5").await, 202);
    assert_eq!(order("203.0.113.5").await, 429);
    assert_eq!(
        order("203.0.113.6").await,
        202,
        "its neighbour is another visitor"
    );
    // One IPv6 /64 is one address, whatever its last 64 bits.
    assert_eq!(order("2001:db8:1:1::1").await, 202);
    assert_eq!(order("2001:db8:1:1::2").await, 202);
    assert_eq!(order("2001:db8:1:1:ffff::3").await, 429);
    // Another /64 of the same /48: the /48's own limit (3) stops it next.
    assert_eq!(order("2001:db8:1:2::1").await, 202);
    assert_eq!(order("2001:db8:1:3::1").await, 429);
    // Another /48 is another network.
    assert_eq!(order("2001:db8:2:1::1").await, 202);
    proxy.stop();
}

#[tokio::test]
async fn refused_addresses_share_a_small_part_of_the_hourly_ceiling() {
    let stub = Stub::default();
    let proxy = behind_a_trusted_proxy(
        &stub,
        "site_per_hour = 10, suspect_share_percent = 20, ip_burst = 100, ip_per_minute = 1000",
    )
    .await;
    // Two addresses try a premium number first: refused, so suspects.
    for address in ["198.51.100.1", "198.51.100.2"] {
        assert_eq!(order_from(&proxy, address, "+7 809 505-12-34").await, 422);
    }
    // Together they get 20% of 10: two orders, then 429.
    assert_eq!(
        order_from(&proxy, "198.51.100.1", "+79993000001").await,
        202
    );
    assert_eq!(
        order_from(&proxy, "198.51.100.2", "+79993000002").await,
        202
    );
    assert_eq!(
        order_from(&proxy, "198.51.100.1", "+79993000003").await,
        429
    );
    assert_eq!(
        order_from(&proxy, "198.51.100.2", "+79993000004").await,
        429
    );
    // A visitor who was never refused still has the rest of the ceiling.
    for n in 5..13 {
        let address = format!("192.0.2.{n}");
        assert_eq!(
            order_from(&proxy, &address, &format!("+7999300{n:04}")).await,
            202
        );
    }
    assert_eq!(order_from(&proxy, "192.0.2.99", "+79993000099").await, 429);
    proxy.stop();
}

#[tokio::test]
async fn invalid_replayed_and_get_requests_count_against_the_address() {
    let stub = Stub::default();
    let proxy = behind_a_trusted_proxy(&stub, "ip_burst = 3, ip_per_minute = 1").await;
    let client = reqwest::Client::new();
    let post = |body: &'static str, key: &'static str| {
        client
            .post(format!("{}/v1/sites/shop/callbacks", proxy.url))
            .header("Origin", ORIGIN)
            .header("X-Forwarded-For", "198.51.100.7")
            .header("Idempotency-Key", key)
            .header("X-Callback-Widget", "1")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(status(post("{not json", "a").await.expect("answer")), 400);
    let order = r#"{"phone": "+79994000001", "elapsed_ms": 5000}"#;
    assert_eq!(status(post(order, "b").await.expect("answer")), 202);
    assert_eq!(
        status(post(order, "b").await.expect("answer")),
        202,
        "a replay"
    );
    assert_eq!(
        status(post(order, "b").await.expect("answer")),
        429,
        "the replay and the invalid one counted"
    );

    // Reads: 30 at once per address, then 429; another address is not affected.
    let get = |address: &'static str| {
        client
            .get(format!("{}/v1/sites/shop/config", proxy.url))
            .header("X-Forwarded-For", address)
            .send()
    };
    let mut answers = Vec::new();
    for _ in 0..31 {
        answers.push(status(get("198.51.100.8").await.expect("answer")));
    }
    assert!(answers[..30].iter().all(|s| *s != 429), "{answers:?}");
    assert_eq!(answers[30], 429);
    assert_ne!(status(get("198.51.100.9").await.expect("answer")), 429);
    // Status polls have their own, looser limit: this address still polls.
    let polled = client
        .get(format!("{}/v1/callbacks/{}", proxy.url, "0".repeat(32)))
        .header("X-Forwarded-For", "198.51.100.8")
        .send()
        .await
        .expect("answer");
    assert_eq!(status(polled), 404);
    proxy.stop();
}
