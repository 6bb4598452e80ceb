//! The order pipeline against a scripted CallKeeper: upstream failures by
//! class, downtime, a SIGKILL with a send in doubt and one under a load of
//! orders (the binary), limits across restarts and retention.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use proxy::clock::FixedClock;

use crate::support::{
    KEY, ProxyProcess, Reply, SHORT_UPSTREAM, Stub, TestProxy, config_toml, eventually, free_addr,
};

#[tokio::test]
async fn upstream_failures_are_handled_by_class() {
    let stub = Stub::default();
    stub.set_rule(
        "11",
        Reply::Fail(424, "Wrong pair whash or walias and apiak!"),
    );
    stub.set_rule(
        "12",
        Reply::Fail(409, "Invalid manager or client phone number"),
    );
    stub.set_rule("13", Reply::Unavailable);
    stub.set_rule("14", Reply::Fail(710, "The widget is disabled"));
    let proxy = TestProxy::against(&stub, "").await;

    let mut ids = Vec::new();
    for (i, phone) in [
        "+79990000011",
        "+79990000012",
        "+79990000013",
        "+79990000014",
    ]
    .iter()
    .enumerate()
    {
        let (code, body, _) = proxy.order(phone, &format!("k{i}")).await;
        assert_eq!(code, 202, "{body}");
        ids.push(body["id"].as_str().expect("id").to_owned());
    }
    // Configuration and account failures halt the lead; the visitor is told politely.
    for id in [&ids[0], &ids[3]] {
        eventually("a configuration failure is final", || async {
            proxy.status(id).await["final"] == true
        })
        .await;
        let shown = proxy.status(id).await;
        assert_eq!(
            (shown["state"].as_str(), shown["reason"].as_str()),
            (Some("failed"), Some("not_ordered"))
        );
        assert!(
            !shown.to_string().contains("whash"),
            "upstream detail is not shown: {shown}"
        );
    }
    // An invalid number is the visitor's to fix.
    eventually("the invalid number is final", || async {
        proxy.status(&ids[1]).await["final"] == true
    })
    .await;
    assert_eq!(proxy.status(&ids[1]).await["reason"], "invalid_number");
    // A 5xx is retried: the lead stays queued and is sent again.
    eventually("the 5xx lead is retried", || async {
        stub.order_attempts()
            .iter()
            .filter(|p| p.ends_with("13"))
            .count()
            >= 2
    })
    .await;
    // Between attempts it shows as queued (while an attempt is under way, as received).
    eventually("the 5xx lead waits in the queue", || async {
        proxy.status(&ids[2]).await["state"] == "queued"
    })
    .await;
    proxy.stop();
}

#[tokio::test]
async fn leads_survive_an_upstream_outage_and_are_each_ordered_once() {
    let stub = Stub::default();
    stub.set_default(Reply::Unavailable);
    let proxy = TestProxy::against(&stub, "").await;

    let phones = ["+79990000021", "+79990000022", "+79990000023"];
    let mut ids = Vec::new();
    for (i, phone) in phones.iter().enumerate() {
        let (code, body, _) = proxy.order(phone, &format!("outage{i}")).await;
        assert_eq!(code, 202, "accepted while CallKeeper is down: {body}");
        ids.push(body["id"].as_str().expect("id").to_owned());
    }
    eventually("every lead was tried while CallKeeper was down", || async {
        phones.iter().all(|p| {
            stub.order_attempts()
                .iter()
                .any(|a| p.ends_with(a.as_str()) || a.ends_with(&p[2..]))
        })
    })
    .await;
    for id in &ids {
        eventually("the lead waits in the queue", || async {
            proxy.status(id).await["state"] == "queued"
        })
        .await;
    }

    stub.set_default(Reply::Accept);
    for id in &ids {
        // "received" while a sender holds it (reconciling, then ordering).
        eventually("the lead is ordered once CallKeeper is back", || async {
            !["queued", "received"]
                .contains(&proxy.status(id).await["state"].as_str().unwrap_or(""))
        })
        .await;
    }
    let placed = stub.placed();
    for phone in phones {
        let digits = &phone[1..];
        assert_eq!(
            placed.iter().filter(|c| c.phone == digits).count(),
            1,
            "{phone} ordered exactly once"
        );
    }
    proxy.stop();
}

#[tokio::test]
async fn a_sigkilled_proxy_loses_nothing_and_does_not_order_the_send_in_doubt_twice() {
    let stub = Stub::default();
    stub.set_default(Reply::Unavailable);
    // CallKeeper takes this order and the answer never comes back: the send is in doubt.
    stub.set_rule("31", Reply::Hang);
    let upstream = stub.serve().await;
    let dir = crate::support::TestDir::new();
    let addr = free_addr();
    let config = dir.path().join("proxy.toml");
    std::fs::write(
        &config,
        config_toml(
            addr,
            &upstream,
            &dir.path().join("leads.db"),
            SHORT_UPSTREAM,
        ),
    )
    .expect("config");
    let log = dir.path().join("proxy.log");
    let url = format!("http://{addr}");

    let first = ProxyProcess::start(&config, &log, url.clone()).await;
    let mut ids = Vec::new();
    for (i, phone) in ["+79990000031", "+79990000032", "+79990000033"]
        .iter()
        .enumerate()
    {
        let (code, body, _) = first.order(phone, &format!("kill{i}")).await;
        assert_eq!(code, 202, "{body}");
        ids.push(body["id"].as_str().expect("id").to_owned());
    }
    eventually(
        "the in-doubt order reached CallKeeper and the others were tried",
        || async {
            let attempts = stub.order_attempts();
            ["79990000031", "79990000032", "79990000033"]
                .iter()
                .all(|p| attempts.iter().any(|a| a == p))
        },
    )
    .await;
    first.kill();

    // CallKeeper is back; the proxy restarts on the same store.
    stub.set_default(Reply::Accept);
    stub.set_rule("31", Reply::Accept);
    let second = ProxyProcess::start(&config, &log, url).await;
    for id in &ids {
        crate::support::eventually_within(
            "every lead is ordered after the restart",
            crate::support::restart_settles_within(),
            || async {
                matches!(
                    second.status(id).await["state"].as_str(),
                    Some("ordered" | "in_progress" | "succeeded")
                )
            },
        )
        .await;
    }
    let placed = stub.placed();
    for phone in ["79990000031", "79990000032", "79990000033"] {
        assert_eq!(
            placed.iter().filter(|c| c.phone == phone).count(),
            1,
            "{phone} was placed exactly once: {placed:?}"
        );
    }
    assert!(
        stub.calls_info_requests() >= 1,
        "the in-doubt order was reconciled with getCallsInfo"
    );
    let in_doubt_orders = stub
        .order_attempts()
        .iter()
        .filter(|p| p.as_str() == "79990000031")
        .count();
    assert_eq!(in_doubt_orders, 1, "the in-doubt order was not sent again");
    drop(second);

    let log = std::fs::read_to_string(&log).expect("log");
    assert!(
        log.contains("a send was interrupted"),
        "the restart noticed the interrupted send:\n{log}"
    );
    assert!(!log.contains(KEY), "the key never appears in a log line");
    assert!(
        !log.contains("79990000031") && !log.contains("9990000032"),
        "logs never carry phone numbers"
    );
}

#[tokio::test]
async fn per_number_limits_hold_across_a_restart_and_allow_a_retry_after_a_failure() {
    let stub = Stub::default();
    stub.set_rule(
        "42",
        Reply::Fail(409, "Invalid manager or client phone number"),
    );
    let proxy = TestProxy::against(&stub, "").await;
    assert_eq!(proxy.order("+79990000041", "a").await.0, 202);
    let (code, body, retry_after) = proxy.order("+79990000041", "b").await;
    assert_eq!(code, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    let seconds: u64 = retry_after.expect("Retry-After").parse().expect("seconds");
    assert!((1..=300).contains(&seconds), "{seconds}");

    // A number whose last call failed may try again at once.
    let (_, failed, _) = proxy.order("+79990000042", "c").await;
    let failed_id = failed["id"].as_str().expect("id").to_owned();
    eventually("the failing call is final", || async {
        proxy.status(&failed_id).await["final"] == true
    })
    .await;
    assert_eq!(
        proxy.order("+79990000042", "d").await.0,
        202,
        "a retry after a failure is allowed"
    );
    let proxy = proxy.restart().await;
    assert_eq!(
        proxy.order("+79990000041", "e").await.0,
        429,
        "the limit is counted from the store"
    );
    proxy.stop();
}

#[tokio::test]
async fn retention_erases_personal_data_of_old_leads_only_and_halts_stuck_ones() {
    use proxy::lead::{LeadState, NewLead, Transition};
    use proxy::store::Store;
    let dir = crate::support::TestDir::new();
    let store_url = crate::support::store_url(dir.path());
    let store = Store::connect(&store_url).await.expect("store");
    let lead = |id: &str, at: i64| {
        let mut request: protocol::CallbackRequest =
            serde_json::from_value(serde_json::json!({"phone": "79991234567", "email": "v@example.com",
                "consent": {"accepted": true, "version": "2026-01"},
                "context": {"user_agent": "UA", "current_page": "https://shop.example/?email=v@example.com#top",
                    "referrer": "https://search.example/?q=79991234567", "ga_client_id": "1.2"}}))
            .expect("request");
        request.name = Some("Visitor".to_owned());
        NewLead {
            id: id.to_owned(),
            site: "shop".to_owned(),
            idempotency_key: id.to_owned(),
            body_hash: "a-hash-of-the-body-with-the-number".to_owned(),
            phone: "79991234567".to_owned(),
            ip: Some("192.0.2.7".to_owned()),
            request,
            now: at,
            test: false,
        }
    };
    for (id, at) in [
        ("old-final", 1_000),
        ("old-open", 1_000),
        ("old-unreadable", 1_000),
        ("new-final", 9_000),
    ] {
        store.insert(lead(id, at)).await.expect("insert");
    }
    // One row the job cannot read must not stop it for the others.
    crate::support::execute_sql(
        &store_url,
        "UPDATE leads SET request = 'not json' WHERE id = 'old-unreadable'",
    )
    .await;
    let done = Transition {
        state: Some(LeadState::Succeeded),
        next_attempt_at: i64::MAX,
        ..Default::default()
    };
    for id in ["old-final", "new-final"] {
        store
            .transition(id, &done, 2_000)
            .await
            .expect("transition");
    }

    let erased = store
        .erase_personal_data(5_000, 10_000)
        .await
        .expect("erase");
    assert_eq!(
        erased, 2,
        "the two readable old leads; the broken one is skipped"
    );
    let old = store.get("old-final").await.expect("read").expect("kept");
    assert_eq!((old.phone.as_str(), old.ip.as_deref()), ("", None));
    assert_eq!(old.request.context.user_agent, None);
    assert_eq!(old.request.email, None);
    assert_eq!(old.request.name, None);
    assert_eq!(
        old.request.context.current_page.as_deref(),
        Some("https://shop.example/"),
        "the page is kept, its query string and fragment are not"
    );
    assert_eq!(
        old.request.context.referrer.as_deref(),
        Some("https://search.example/")
    );
    let hash = crate::support::fetch_text(
        &store_url,
        "SELECT body_hash FROM leads WHERE id = 'old-final'",
    )
    .await;
    assert_eq!(hash, "", "the body's hash could give the number back");
    assert_eq!(
        old.consent(),
        Some(("2026-01", 1_000)),
        "the consent record is kept"
    );
    assert_eq!(
        old.state,
        LeadState::Succeeded,
        "a final lead keeps its outcome"
    );
    // A lead still open after the whole retention period is stuck: erased and halted.
    let stuck = store.get("old-open").await.expect("read").expect("kept");
    assert_eq!((stuck.phone.as_str(), stuck.state), ("", LeadState::Halted));
    let kept = store.get("new-final").await.expect("read").expect("kept");
    assert_eq!(kept.phone, "79991234567", "a recent lead keeps its data");
    assert_eq!(kept.request.context.user_agent.as_deref(), Some("UA"));
    assert_eq!(
        store
            .erase_personal_data(5_000, 11_000)
            .await
            .expect("erase"),
        0,
        "erasing twice does nothing"
    );
}

#[tokio::test]
async fn an_operator_lists_exports_and_resends_a_halted_lead() {
    let stub = Stub::default();
    stub.set_rule(
        "51",
        Reply::Fail(424, "Wrong pair whash or walias and apiak!"),
    );
    let proxy = TestProxy::against(&stub, "").await;
    let config = proxy.dir().join("proxy.toml");
    std::fs::write(&config, &proxy.config).expect("config");

    let (_, body, _) = proxy.order("+7 999 000-00-51", "op").await;
    let id = body["id"].as_str().expect("id").to_owned();
    eventually("the lead is halted", || async {
        proxy.status(&id).await["final"] == true
    })
    .await;

    let cli = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_proxy"))
            .arg("leads")
            .arg("--config")
            .arg(&config)
            .args(args)
            .env("SHOP_KEY", KEY)
            .output()
            .expect("the CLI runs");
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let listed = cli(&["list", "--state", "halted"]);
    assert!(
        listed.contains(&id) && listed.contains("*******0051"),
        "masked in the list:\n{listed}"
    );
    assert!(
        !listed.contains("79990000051"),
        "the list masks numbers:\n{listed}"
    );
    let csv = cli(&["export"]);
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .is_some_and(|h| h.starts_with("id,site,created_at,state")),
        "{csv}"
    );
    let row = lines.next().expect("one lead");
    assert!(
        row.starts_with(&id) && row.contains(",halted,") && row.contains("+79990000051"),
        "{row}"
    );

    // The operator fixes the widget pair, then resends.
    stub.set_rule("51", Reply::Accept);
    assert!(cli(&["resend", "--all-halted"]).starts_with("1 halted lead"));
    eventually("the resent lead is ordered", || async {
        proxy.status(&id).await["state"] == "ordered"
    })
    .await;
    assert_eq!(
        stub.placed()
            .iter()
            .filter(|c| c.phone == "79990000051")
            .count(),
        1
    );
    proxy.stop();
}

#[tokio::test]
async fn a_status_token_stops_answering_a_while_after_its_call_is_final() {
    let stub = Stub::default();
    // Halted leads are final and no worker touches them again.
    stub.set_default(Reply::Fail(424, "Wrong pair whash or walias and apiak!"));
    let clock = Arc::new(FixedClock::at_system_time());
    let proxy = TestProxy::against_with_clock(&stub, "", clock.clone()).await;
    let (_, old, _) = proxy.order("+79990000062", "old").await;
    let old = old["id"].as_str().expect("id").to_owned();
    eventually("the call is final", || async {
        proxy.status(&old).await["final"] == true
    })
    .await;

    // Two days pass (past the default 24 hours); then another call ends.
    clock.advance(Duration::from_secs(48 * 3_600));
    let (_, fresh, _) = proxy.order("+79990000061", "fresh").await;
    let fresh = fresh["id"].as_str().expect("id").to_owned();
    eventually("the call is final", || async {
        proxy.status(&fresh).await["final"] == true
    })
    .await;

    assert_eq!(
        proxy.status(&fresh).await["final"],
        true,
        "a recent final status still answers"
    );
    let expired = reqwest::get(format!("{}/v1/callbacks/{old}", proxy.url))
        .await
        .expect("answer");
    assert_eq!(
        expired.status().as_u16(),
        404,
        "an expired token no longer answers"
    );
    let stream = reqwest::get(format!("{}/v1/callbacks/{old}/events", proxy.url))
        .await
        .expect("answer");
    assert_eq!(stream.status().as_u16(), 404);
    proxy.stop();
}

#[tokio::test]
async fn a_lead_that_cannot_be_stored_gets_503_and_is_stored_once_on_retry() {
    use sqlx::Connection;
    if crate::support::sqlite_only("holds SQLite's write lock past the busy timeout") {
        return;
    }
    let stub = Stub::default();
    let proxy = TestProxy::against(&stub, "").await;
    let database = proxy.database.clone();

    // Something else holds the database's write lock past the proxy's busy timeout.
    let mut blocker = sqlx::SqliteConnection::connect(&format!("sqlite://{}", database.display()))
        .await
        .expect("open the store");
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut blocker)
        .await
        .expect("take the write lock");
    let (code, body, retry_after) = proxy.order("+79990000071", "blocked").await;
    assert_eq!(code, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");
    assert!(retry_after.is_some(), "the widget is told when to retry");
    assert!(
        !body.to_string().contains("database"),
        "no internal detail leaks: {body}"
    );

    // The widget retries with the same key once the store is back: stored once.
    sqlx::query("ROLLBACK")
        .execute(&mut blocker)
        .await
        .expect("release the lock");
    let (first, a, _) = proxy.order("+79990000071", "blocked").await;
    let (second, b, _) = proxy.order("+79990000071", "blocked").await;
    assert_eq!((first, second), (202, 202));
    assert_eq!(a["id"], b["id"]);
    eventually("the lead is ordered", || async {
        stub.placed().iter().any(|c| c.phone == "79990000071")
    })
    .await;
    assert_eq!(
        stub.placed()
            .iter()
            .filter(|c| c.phone == "79990000071")
            .count(),
        1
    );
    proxy.stop();
}

#[tokio::test]
async fn an_international_number_reaches_callkeeper_unchanged() {
    let stub = Stub::default();
    let proxy = TestProxy::against(
        &stub,
        "[sites.shop.phone]\nallowed_countries = [\"RU\", \"VN\"]\n",
    )
    .await;
    // Vietnam's +84: not a Russian number written with the trunk prefix 8.
    let (code, body, _) = proxy.order("+84 912 345 678", "vn").await;
    assert_eq!(code, 202, "{body}");
    eventually("the call is ordered", || async {
        !stub.placed().is_empty()
    })
    .await;
    assert_eq!(stub.placed()[0].phone, "84912345678");
    proxy.stop();
}

#[tokio::test]
async fn a_repeat_callkeeper_merged_follows_the_earlier_call_instead_of_failing() {
    let stub = Stub::default();
    // The visitor may order again at once (no cooldown), as after a proxy hiccup.
    let proxy = TestProxy::against(&stub, "limits = { number_cooldown_minutes = 0 }").await;
    let (_, first, _) = proxy.order("+79990000081", "first").await;
    let first = first["id"].as_str().expect("id").to_owned();
    eventually("the first call is in progress", || async {
        proxy.status(&first).await["state"] == "in_progress"
    })
    .await;

    // CallKeeper takes the second order but ends it at once as a repeat (815/0).
    stub.set_rule("81", Reply::Duplicate);
    let (_, second, _) = proxy.order("+79990000081", "second").await;
    let second = second["id"].as_str().expect("id").to_owned();
    eventually("the second lead follows the earlier call", || async {
        proxy.status(&second).await["state"] == "in_progress"
    })
    .await;
    assert_eq!(
        proxy.status(&second).await["final"],
        false,
        "not told it was cancelled"
    );
    assert_eq!(stub.placed().len(), 2, "both orders reached CallKeeper");
    proxy.stop();
}

#[tokio::test]
async fn a_sigkill_under_a_load_of_orders_loses_no_202_and_orders_each_lead_once() {
    use proxy::lead::LeadState;
    let stub = Stub::default();
    // Slow answers: the SIGKILL finds orders CallKeeper is still taking,
    // and the restart comes before they are listed.
    stub.set_default(Reply::SlowAccept(2_000));
    let upstream = stub.serve().await;
    let dir = crate::support::TestDir::new();
    let addr = free_addr();
    let config = dir.path().join("proxy.toml");
    std::fs::write(
        &config,
        config_toml(
            addr,
            &upstream,
            &dir.path().join("leads.db"),
            &format!("{SHORT_UPSTREAM}\nlimits = {{ ip_burst = 10000, ip_per_minute = 100000, ip_per_day = 100000, network_per_day = 100000, site_per_hour = 100000, site_per_day = 100000 }}"),
        ),
    )
    .expect("config");
    let log = dir.path().join("proxy.log");
    let url = format!("http://{addr}");
    let first = ProxyProcess::start(&config, &log, url.clone()).await;

    // Four visitors order at once, 100 each, until the proxy dies under them.
    let mut load = tokio::task::JoinSet::new();
    for visitor in 0..4 {
        let url = url.clone();
        load.spawn(async move {
            let client = reqwest::Client::new();
            let mut accepted = Vec::new();
            for n in 0..100 {
                let phone = format!("+7999006{visitor}{n:03}");
                let answer = client
                    .post(format!("{url}/v1/sites/shop/callbacks"))
                    .header("Origin", crate::support::ORIGIN)
                    .header("Idempotency-Key", format!("load-{visitor}-{n}"))
                    .header("X-Callback-Widget", "1")
                    .json(&serde_json::json!({"phone": phone, "elapsed_ms": 5000}))
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await;
                let Ok(answer) = answer else { break };
                if answer.status() == 202 {
                    let body: serde_json::Value = answer.json().await.unwrap_or_default();
                    if let Some(id) = body["id"].as_str() {
                        accepted.push(id.to_owned());
                    }
                }
            }
            accepted
        });
    }
    eventually("orders flow to CallKeeper", || async {
        stub.order_attempts().len() >= 8
    })
    .await;
    first.kill();
    stub.set_default(Reply::Accept);
    let mut accepted = Vec::new();
    while let Some(part) = load.join_next().await {
        accepted.extend(part.expect("a visitor task"));
    }

    let second = ProxyProcess::start(&config, &log, url).await;
    let store = proxy::store::Store::connect(&crate::support::store_url(dir.path()))
        .await
        .expect("the store");
    let mut lost = 0;
    for id in &accepted {
        if store.get(id).await.expect("read").is_none() {
            lost += 1;
        }
    }
    crate::support::eventually_within(
        "every stored lead is sent after the restart",
        crate::support::restart_settles_within(),
        || async {
            store
                .list(None, 10_000)
                .await
                .expect("list")
                .iter()
                .all(|lead| {
                    !matches!(
                        lead.state,
                        LeadState::Received | LeadState::Queued | LeadState::Sending
                    )
                })
        },
    )
    .await;
    let stored = store.list(None, 10_000).await.expect("list");
    let placed = stub.placed();
    let orders = stub.order_attempts();
    // Ordered: the orderCalls CallKeeper received for the lead (placed or not).
    let times_ordered = |phone: &str| orders.iter().filter(|p| *p == phone).count();
    let times_placed = |phone: &str| placed.iter().filter(|call| call.phone == phone).count();
    let twice = stored
        .iter()
        .filter(|l| times_ordered(&l.phone) > 1 || times_placed(&l.phone) > 1)
        .count();
    let never = stored
        .iter()
        .filter(|l| times_placed(&l.phone) == 0)
        .count();
    println!(
        "SIGKILL under load: {} answered 202, {} stored, {lost} of the 202s lost, \
         {twice} ordered twice, {never} never ordered, {} calls placed, {} orderCalls received",
        accepted.len(),
        stored.len(),
        placed.len(),
        orders.len()
    );
    assert!(
        !accepted.is_empty() && accepted.len() < 400,
        "killed mid-load"
    );
    assert_eq!(lost, 0, "every 202 is stored");
    assert!(
        stub.calls_info_requests() > 0,
        "the SIGKILL cut sends, which the restart looked up with getCallsInfo"
    );
    assert_eq!(
        twice, 0,
        "no lead ordered twice (CallKeeper's received orderCalls, per lead)"
    );
    assert_eq!(never, 0, "every stored lead ordered");
    second.kill();
}
