//! Live call status against the sandbox CallKeeper: every outcome's states
//! and messages, CallKeeper's own retries, one upstream poll per call however
//! many watch it, stream caps, and the slots endpoint.

use std::sync::Arc;
use std::time::Duration;

use proxy::clock::SystemClock;
use serde_json::{Value, json};

use crate::support::{TestProxy, Visitor};

/// The demo on the real clock: the sandbox at `time_scale`, polled every
/// `poll_ms`, with `site_extra` in the demo site's table.
async fn spawn(time_scale: f64, poll_ms: u64, site_extra: &str) -> TestProxy {
    TestProxy::demo(time_scale, poll_ms, site_extra, Arc::new(SystemClock)).await
}

fn states(events: &[Value]) -> Vec<&str> {
    events.iter().filter_map(|e| e["state"].as_str()).collect()
}

#[tokio::test]
async fn each_sandbox_outcome_reaches_its_visitor_state_and_message() {
    // Calls last 600 ms, so every watcher sees them in progress. Many orders
    // from one address: lift the per-address burst limit for this test.
    let demo = spawn(0.02, 10, "limits = { ip_burst = 50, ip_per_minute = 100 }").await;
    // (last digits, final state, reason) per the sandbox's documented table.
    let cases = [
        ("10", "succeeded", None),
        ("00", "failed", Some("busy")),
        ("01", "failed", Some("no_answer")),
        ("02", "failed", Some("company_unavailable")),
        ("03", "failed", Some("invalid_number")),
        ("04", "failed", Some("invalid_number")),
        ("06", "failed", Some("company_unavailable")),
        ("07", "failed", Some("cancelled")),
        ("09", "succeeded", None),
    ];
    let mut watchers = Vec::new();
    for (digits, state, reason) in cases {
        let id = demo.order_id(&format!("+7999123{digits}{digits}")).await;
        let events = tokio::spawn({
            let visitor = Visitor::clone(&demo);
            async move { visitor.watch(&id).await }
        });
        watchers.push((digits, state, reason, events));
    }
    for (digits, state, reason, events) in watchers {
        let events = events.await.expect("watcher");
        let last = events.last().expect("at least one event");
        assert_eq!(last["state"], state, "{digits}: {events:?}");
        assert_eq!(last["final"], true);
        assert_eq!(last["reason"].as_str(), reason, "{digits}");
        assert!(last["message"].as_str().is_some_and(|m| !m.is_empty()));
        let seen = states(&events);
        // Without retries a call only moves forward.
        let rank = |state: &str| {
            [
                "received",
                "queued",
                "ordered",
                "in_progress",
                "succeeded",
                "failed",
            ]
            .iter()
            .position(|s| *s == state)
            .unwrap_or(usize::MAX)
        };
        assert!(
            seen.windows(2).all(|w| rank(w[0]) <= rank(w[1])),
            "{digits}: forward only: {seen:?}"
        );
        if digits != "03" && digits != "07" {
            assert!(
                seen.contains(&"in_progress"),
                "{digits}: dialled before the end: {seen:?}"
            );
        }
        assert!(
            !last.to_string().contains("status_code"),
            "CallKeeper's codes stay inside"
        );
    }
    // The messages are distinct for distinct outcomes (here in the demo's Russian).
    demo.stop();
}

#[tokio::test]
async fn a_failed_attempt_with_retries_left_is_scheduled_not_final() {
    // interval 1,2 minutes: at 0.005 scale the sandbox retries 300 ms and 600 ms
    // later, and each attempt rings for 150 ms: long enough to be seen every time.
    let demo = spawn(0.005, 10, "interval = \"1,2\"").await;
    // 05 answers the second time; 01 never answers.
    let second_time = demo.order_id("+79991230505").await;
    let never = demo.order_id("+79991230101").await;
    let (events, never_events) = tokio::join!(demo.watch(&second_time), demo.watch(&never));

    let seen = states(&events);
    let scheduled = events
        .iter()
        .find(|e| e["state"] == "scheduled")
        .expect("a retry was scheduled");
    assert_eq!(scheduled["final"], false, "{seen:?}");
    assert!(
        scheduled["at"].as_i64().is_some(),
        "says when the next attempt is: {scheduled}"
    );
    assert_eq!(seen.last(), Some(&"succeeded"), "{seen:?}");

    let events = never_events;
    let seen = states(&events);
    let last = events.last().expect("events");
    assert_eq!(
        (last["state"].as_str(), last["reason"].as_str()),
        (Some("failed"), Some("no_answer")),
        "{seen:?}"
    );
    let tries = demo
        .demo_parts()
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.method == "orderCall" && r.param("client") == Some("79991230101"))
        .count();
    assert_eq!(
        tries, 1,
        "CallKeeper retries by itself; the proxy orders once"
    );
    let in_progress_runs = seen
        .windows(2)
        .filter(|w| w[0] != "in_progress" && w[1] == "in_progress")
        .count();
    assert!(
        in_progress_runs >= 2,
        "the visitor saw the retries: {seen:?}"
    );
    demo.stop();
}

#[tokio::test]
async fn a_hundred_watchers_cost_one_upstream_poll_per_interval() {
    // The call runs 3 s (0.1 scale); the proxy asks CallKeeper every 200 ms.
    let demo = spawn(0.1, 200, "").await;
    let id = demo.order_id("+79991234510").await;
    let started = tokio::time::Instant::now();
    let http = reqwest::Client::new();
    let mut watchers = Vec::new();
    for _ in 0..100 {
        let (http, url) = (http.clone(), format!("{}/v1/callbacks/{id}", demo.url));
        watchers.push(tokio::spawn(async move {
            let mut polls = 0;
            loop {
                let status: Value = http
                    .get(&url)
                    .send()
                    .await
                    .expect("answer")
                    .json()
                    .await
                    .expect("json");
                polls += 1;
                if status["final"] == true {
                    return polls;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }));
    }
    let mut visitor_polls = 0;
    for watcher in watchers {
        visitor_polls += watcher.await.expect("watcher");
    }
    let elapsed = started.elapsed();
    let upstream = demo
        .demo_parts()
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.method == "getCallInfo")
        .count();
    let intervals = (elapsed.as_millis() / 200) as usize;
    assert!(
        visitor_polls > 1000,
        "the watchers did watch: {visitor_polls}"
    );
    assert!(
        upstream <= intervals + 2,
        "{upstream} getCallInfo requests in {elapsed:?} ({intervals} intervals) for {visitor_polls} visitor polls"
    );
    demo.stop();
}

#[tokio::test]
async fn status_streams_are_capped_per_address() {
    // Calls last 30 s here, so the streams stay open. One token has at most
    // two streams (streams.rs), so the ten come from ten visitors' leads
    // behind one address.
    let demo = spawn(
        1.0,
        200,
        "limits = { ip_burst = 100, ip_per_minute = 1000, ip_per_day = 100 }",
    )
    .await;
    let mut urls = Vec::new();
    for n in 20..31 {
        let id = demo.order_id(&format!("+799912345{n}")).await;
        urls.push(format!("{}/v1/callbacks/{id}/events", demo.url));
    }
    let id = demo.order_id("+79991234531").await;
    let url = urls.pop().expect("an 11th lead");
    let mut open = Vec::new();
    for url in &urls {
        let response = reqwest::get(url).await.expect("answer");
        assert_eq!(response.status().as_u16(), 200);
        open.push(response);
    }
    let refused = reqwest::get(&url).await.expect("answer");
    assert_eq!(
        refused.status().as_u16(),
        429,
        "the 11th stream from one address is refused"
    );
    assert!(refused.headers().contains_key("retry-after"));
    // Polling still works for that visitor.
    assert_eq!(
        reqwest::get(format!("{}/v1/callbacks/{id}", demo.url))
            .await
            .expect("poll")
            .status()
            .as_u16(),
        200
    );
    // A closed stream frees its place.
    drop(open.pop());
    let mut again = None;
    for _ in 0..100 {
        let response = reqwest::get(&url).await.expect("answer");
        if response.status().as_u16() == 200 {
            again = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(again.is_some(), "a freed place is given to the next stream");
    demo.stop();
}

#[tokio::test]
async fn slots_follow_the_sites_hours_in_its_zone() {
    let demo = spawn(
        1.0,
        200,
        "opening_hours = \"09001800\"\nutc = \"UTC+03:00\"",
    )
    .await;
    let slots: Value = reqwest::get(format!("{}/v1/sites/demo/slots?days=3", demo.url))
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert_eq!(slots["time_zone"], "UTC+03:00");
    let list = slots["slots"].as_array().expect("slots");
    assert!(
        list.len() >= 18,
        "at least one full working day of half hours: {}",
        list.len()
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let mut previous_end = 0;
    for slot in list {
        let (start, end) = (
            slot["start"].as_i64().expect("start"),
            slot["end"].as_i64().expect("end"),
        );
        assert!(start >= now + 14 * 60, "not before now plus the lead time");
        assert_eq!(end - start, 1800);
        assert!(start >= previous_end, "sorted, apart");
        // 09:00–18:00 at UTC+3 is 06:00–15:00 UTC.
        let local = (start + 3 * 3600).rem_euclid(86_400);
        assert!(
            (9 * 3600..18 * 3600).contains(&local) && local + 1800 <= 18 * 3600,
            "inside hours: {slot}"
        );
        previous_end = end;
    }
    let config: Value = reqwest::get(format!("{}/v1/sites/demo/config", demo.url))
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert_eq!(config["open_now"], slots["open_now"]);
    let bad = reqwest::get(format!("{}/v1/sites/demo/slots?days=40", demo.url))
        .await
        .expect("answer");
    assert_eq!(bad.status().as_u16(), 422);
    demo.stop();
}

#[tokio::test]
async fn when_closed_the_site_offers_tomorrows_slots_and_refuses_a_time_tonight() {
    // Wednesday 2030-01-09, 20:00 at UTC+3: after hours.
    let evening: i64 = 1_894_208_400;
    let clock = std::sync::Arc::new(proxy::clock::FixedClock::at_unix(evening.unsigned_abs()));
    let demo = TestProxy::demo(
        1.0,
        200,
        "opening_hours = \"09001800\"\nutc = \"UTC+03:00\"",
        clock,
    )
    .await;
    let get = |path: &str| {
        let url = format!("{}{path}", demo.url);
        async move {
            reqwest::get(url)
                .await
                .expect("answer")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    assert_eq!(get("/v1/sites/demo/config").await["open_now"], false);
    let slots = get("/v1/sites/demo/slots?days=2").await;
    assert_eq!(slots["open_now"], false);
    let first = slots["slots"][0]["start"].as_i64().expect("a slot");
    assert_eq!(
        first,
        evening + 13 * 3600,
        "the first slot is 09:00 the next morning"
    );
    assert_eq!(
        slots["slots"].as_array().map(Vec::len),
        Some(18),
        "09:00–18:00 in half hours"
    );

    let post = |time: i64, key: &str| {
        reqwest::Client::new()
            .post(format!("{}/v1/sites/demo/callbacks", demo.url))
            .header("Origin", &demo.origin)
            .header("Idempotency-Key", key)
            .header(protocol::paths::WIDGET_HEADER, "1")
            .json(&json!({"phone": "+79991234530", "time": time, "elapsed_ms": 6000}))
            .send()
    };
    let tonight = post(evening + 3600, "tonight").await.expect("answer");
    assert_eq!(tonight.status().as_u16(), 422, "21:00 is after hours");
    let morning = post(first, "morning").await.expect("answer");
    assert_eq!(morning.status().as_u16(), 202);
    let accepted: Value = morning.json().await.expect("json");
    assert_eq!(accepted["status"]["state"], "received");
    demo.stop();
}

#[tokio::test]
async fn shutdown_ends_open_status_streams_instead_of_waiting_for_them() {
    // Calls last 30 s here, so the stream would stay open that long.
    let demo = spawn(1.0, 200, "").await;
    let id = demo.order_id("+79991234540").await;
    let stream = reqwest::get(format!("{}/v1/callbacks/{id}/events", demo.url))
        .await
        .expect("answer");
    assert_eq!(stream.status().as_u16(), 200);
    let stopped = demo.stopped(Duration::from_secs(15)).await;
    assert!(
        matches!(stopped, Some(Ok(()))),
        "the proxy stopped promptly: {stopped:?}"
    );
    drop(stream);
}
