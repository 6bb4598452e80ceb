//! The limits on the create endpoint, on a real port: the body size, then
//! the per-address burst, both in the one error shape.

use std::sync::Arc;

use proxy::clock::SystemClock;
use proxy::config::Limits;

use crate::support::TestProxy;

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
    let order = |n: u32| format!(r#"{{"phone": "+7999000{n:04}"}}"#);
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
