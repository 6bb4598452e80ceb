//! The proof-of-work challenge (issue 11): a site that asks for it takes an
//! order only with a solved, fresh, unspent challenge; in `auto` mode a
//! burst of refused requests switches it on; `off` never asks.

use protocol::challenge::{self, Challenge};
use serde_json::{Value, json};

use crate::support::{ORIGIN, Stub, TestProxy};

/// Posts an order for `phone`, with the widget's header and a proof when
/// one is given; the status and the body.
async fn post(proxy: &TestProxy, body: &Value, proof: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/v1/sites/shop/callbacks", proxy.url))
        .header("Origin", ORIGIN)
        .header("X-Callback-Widget", "1")
        .json(body);
    if let Some(proof) = proof {
        request = request.header("X-Callback-Proof", proof);
    }
    let response = request.send().await.expect("the proxy answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Solves the challenge in a 428's body, as the widget does: `token:nonce`.
fn solve(refused: &Value) -> String {
    assert_eq!(refused["error"]["code"], "challenge_required", "{refused}");
    let challenge: Challenge =
        serde_json::from_value(refused["challenge"].clone()).expect("a challenge");
    let started = std::time::Instant::now();
    let nonce = challenge::search(&challenge, 0, u64::MAX).expect("solvable");
    println!(
        "solved {} bits natively in {:.1?} (nonce {nonce})",
        challenge.bits,
        started.elapsed()
    );
    format!("{}:{nonce}", challenge.token)
}

const ROOMY: &str = "limits = { ip_burst = 50, ip_per_minute = 100, ip_per_day = 50 }";

fn order(phone: &str) -> Value {
    json!({"phone": phone, "elapsed_ms": 5000})
}

#[tokio::test]
async fn where_the_site_always_asks_only_a_solved_unspent_challenge_orders() {
    let stub = Stub::default();
    let proxy = TestProxy::against(
        &stub,
        &format!("{ROOMY}\nchallenge = {{ mode = \"always\", bits = 12 }}"),
    )
    .await;
    let (status, refused) = post(&proxy, &order("+79995000031"), None).await;
    assert_eq!(status, 428, "{refused}");
    assert_eq!(refused["challenge"]["bits"], 12);
    let proof = solve(&refused);

    // A wrong nonce, a forged token: refused, with a fresh challenge.
    let (token, nonce) = proof.rsplit_once(':').expect("token:nonce");
    let wrong = (0u64..)
        .find(|n| !challenge::solves(token, 12, *n))
        .expect("most nonces fail");
    let (status, body) = post(
        &proxy,
        &order("+79995000031"),
        Some(&format!("{token}:{wrong}")),
    )
    .await;
    assert_eq!(status, 428);
    assert_ne!(
        body["challenge"]["token"], refused["challenge"]["token"],
        "a fresh one"
    );
    let forged = format!("{}0:{nonce}", token);
    assert_eq!(
        post(&proxy, &order("+79995000031"), Some(&forged)).await.0,
        428
    );

    assert_eq!(
        post(&proxy, &order("+79995000031"), Some(&proof)).await.0,
        202
    );
    // Spent: the same proof does not order a second call.
    assert_eq!(
        post(&proxy, &order("+79995000032"), Some(&proof)).await.0,
        428
    );
    assert_eq!(proxy.refusals("challenge_required").await, 1);
    assert_eq!(proxy.refusals("challenge_invalid").await, 3);
    proxy.stop();
}

#[tokio::test]
async fn in_auto_mode_a_burst_of_refusals_switches_the_challenge_on() {
    let stub = Stub::default();
    let proxy = TestProxy::against(
        &stub,
        &format!("{ROOMY}\nchallenge = {{ mode = \"auto\", bits = 10, auto_after_refusals = 3 }}"),
    )
    .await;
    assert_eq!(
        post(&proxy, &order("+79995000041"), None).await.0,
        202,
        "calm: no challenge"
    );
    // A script fills the honeypot three times.
    for i in 0..3 {
        let spam = json!({"phone": format!("+7999500005{i}"), "website": "x", "elapsed_ms": 5000});
        assert_eq!(post(&proxy, &spam, None).await.0, 422);
    }
    let (status, refused) = post(&proxy, &order("+79995000042"), None).await;
    assert_eq!(status, 428, "now every order needs a proof: {refused}");
    let proof = solve(&refused);
    assert_eq!(
        post(&proxy, &order("+79995000042"), Some(&proof)).await.0,
        202
    );
    proxy.stop();
}

#[tokio::test]
async fn a_site_with_the_challenge_off_never_asks() {
    let stub = Stub::default();
    let proxy = TestProxy::against(
        &stub,
        &format!("{ROOMY}\nchallenge = {{ mode = \"off\", auto_after_refusals = 1 }}"),
    )
    .await;
    for i in 0..3 {
        let spam = json!({"phone": format!("+7999500006{i}"), "website": "x", "elapsed_ms": 5000});
        assert_eq!(post(&proxy, &spam, None).await.0, 422);
    }
    assert_eq!(post(&proxy, &order("+79995000069"), None).await.0, 202);
    proxy.stop();
}
