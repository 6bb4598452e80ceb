//! The caps on live status streams: two per status token, and a lifetime
//! after which the server ends a stream (the browser reconnects with
//! `Last-Event-ID` and misses nothing).

use std::time::{Duration, Instant};

use crate::support::{Reply, Stub, TestProxy, config_toml, free_addr};

/// The proxy against a stub that takes every order and never answers, so a
/// lead stays unfinished and its stream stays open; streams live `seconds`.
async fn spawn(stub: &Stub, seconds: u64) -> TestProxy {
    stub.set_default(Reply::Hang);
    let upstream = stub.serve().await;
    TestProxy::start(|dir| {
        format!(
            "max_stream_seconds = {seconds}\n{}",
            config_toml(free_addr(), &upstream, &dir.join("leads.db"), "")
        )
    })
    .await
}

fn events_url(proxy: &TestProxy, id: &str) -> String {
    format!("{}/v1/callbacks/{id}/events", proxy.url)
}

#[tokio::test]
async fn one_status_token_gets_at_most_two_streams() {
    let stub = Stub::default();
    let proxy = spawn(&stub, 600).await;
    let id = proxy.order_id("+79990002001").await;
    let other = proxy.order_id("+79990002002").await;
    let open = |id: String| {
        let url = events_url(&proxy, &id);
        async move { reqwest::get(url).await.expect("an answer") }
    };
    let first = open(id.clone()).await;
    let second = open(id.clone()).await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let third = open(id.clone()).await;
    assert_eq!(third.status(), 429, "a third stream for one token");
    assert!(third.headers().contains_key("retry-after"));
    assert_eq!(open(other).await.status(), 200, "another token has its own");
    drop(first);
    // The place comes back once the server sees the stream gone.
    crate::support::eventually("the freed place is reused", || {
        let open = open(id.clone());
        async move { open.await.status() == 200 }
    })
    .await;
    drop(second);
    proxy.stop();
}

#[tokio::test]
async fn the_server_ends_a_stream_at_its_lifetime_and_a_reconnect_resumes() {
    let stub = Stub::default();
    let proxy = spawn(&stub, 1).await;
    let id = proxy.order_id("+79990002003").await;
    let started = Instant::now();
    let body = tokio::time::timeout(Duration::from_secs(10), async {
        reqwest::get(events_url(&proxy, &id)).await?.text().await
    })
    .await
    .expect("the server ends the stream although the lead is not final")
    .expect("a body");
    let lasted = started.elapsed();
    assert!(
        lasted >= Duration::from_millis(900) && lasted < Duration::from_secs(5),
        "ended after its 1 s lifetime: {lasted:?}"
    );
    assert!(body.contains("event: status"), "{body}");
    assert!(
        !body.contains("\"final\":true"),
        "the lead is not final: {body}"
    );
    let last: i64 = body
        .lines()
        .rev()
        .filter_map(|line| line.strip_prefix("id: "))
        .find_map(|id| id.parse().ok())
        .expect("events carry ids");

    // What the browser's EventSource does next: reconnect with Last-Event-ID.
    let resumed = reqwest::Client::new()
        .get(events_url(&proxy, &id))
        .header("Last-Event-ID", last.to_string())
        .send()
        .await
        .expect("an answer");
    assert_eq!(resumed.status(), 200, "the ended stream's place is free");
    let resumed = tokio::time::timeout(Duration::from_secs(10), resumed.text())
        .await
        .expect("ends again at its lifetime")
        .expect("a body");
    assert!(
        !resumed.contains("event: status"),
        "nothing already seen is sent again: {resumed}"
    );
    proxy.stop();
}
