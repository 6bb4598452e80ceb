//! Several proxy replicas on one PostgreSQL database (the real binaries,
//! as a load balancer would run them): they share the work and never a
//! lead, a replica SIGKILLed mid-load loses nothing and orders nothing
//! twice, status polls stay coalesced across replicas, a visitor's live
//! status reaches them whichever replica they watch from, and the limits
//! hold across replicas.
//!
//! These need a shared PostgreSQL: they run in the PostgreSQL pass
//! (`TEST_STORE=postgres`, which `cargo xtask test` always runs) and say
//! so in the SQLite pass.

use std::time::{Duration, Instant};

use proxy::lead::LeadState;
use serde_json::{Value, json};

use crate::support::{
    ORIGIN, ProxyProcess, Reply, SHORT_UPSTREAM, Stub, TestDir, Visitor, config_toml, eventually,
    eventually_within, free_addr, needs_postgres, restart_settles_within, store_url,
};

/// The replicas' status poll interval: long enough that two polls of one
/// call within it are told apart from network jitter on a busy machine.
const POLL: Duration = Duration::from_millis(500);
/// Limits out of the way, but the one a test sets.
const ROOMY: &str = "ip_burst = 100000, ip_per_minute = 100000, ip_per_day = 100000, network_per_day = 100000, number_per_day = 100, number_cooldown_minutes = 0";

/// Three replicas on one store, each with its own port, log and CallKeeper
/// address (tagged with its index, so the stub tells who polled).
struct Replicas {
    dir: TestDir,
    configs: Vec<std::path::PathBuf>,
    urls: Vec<String>,
    running: Vec<Option<ProxyProcess>>,
}

impl Replicas {
    async fn start(stub: &Stub, limits: &str) -> Self {
        let dir = TestDir::new();
        let mut configs = Vec::new();
        let mut urls = Vec::new();
        let mut running = Vec::new();
        for replica in 0..3 {
            let upstream = stub.serve_tagged(replica).await;
            let addr = free_addr();
            let config = dir.path().join(format!("proxy{replica}.toml"));
            let text = config_toml(
                addr,
                &upstream,
                &dir.path().join("leads.db"),
                &format!("{SHORT_UPSTREAM}\nlimits = {{ {limits} }}"),
            )
            .replace(
                "status_poll_interval_ms = 50",
                &format!("status_poll_interval_ms = {}", POLL.as_millis()),
            );
            std::fs::write(&config, text).expect("config");
            let url = format!("http://{addr}");
            running.push(Some(
                ProxyProcess::start(&config, &Self::log(&dir, replica), url.clone()).await,
            ));
            configs.push(config);
            urls.push(url);
        }
        Self {
            dir,
            configs,
            urls,
            running,
        }
    }

    fn log(dir: &TestDir, replica: usize) -> std::path::PathBuf {
        dir.path().join(format!("proxy{replica}.log"))
    }

    fn visitor(&self, replica: usize) -> Visitor {
        Visitor::of_shop(self.urls[replica].clone())
    }

    fn kill(&mut self, replica: usize) {
        if let Some(process) = self.running[replica].take() {
            process.kill();
        }
    }

    async fn restart(&mut self, replica: usize) {
        self.running[replica] = Some(
            ProxyProcess::start(
                &self.configs[replica],
                &Self::log(&self.dir, replica),
                self.urls[replica].clone(),
            )
            .await,
        );
    }
}

/// Posts one order for `phone` to `url`; its status token when answered 202.
async fn order(client: &reqwest::Client, url: &str, phone: &str, key: &str) -> Option<String> {
    let answer = client
        .post(format!("{url}/v1/sites/shop/callbacks"))
        .header("Origin", ORIGIN)
        .header("Idempotency-Key", key)
        .header("X-Callback-Widget", "1")
        .json(&json!({"phone": phone, "elapsed_ms": 5000}))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?;
    if answer.status() != 202 {
        return None;
    }
    let body: Value = answer.json().await.ok()?;
    body["id"].as_str().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_the_work_survive_a_sigkill_and_tell_every_watcher() {
    if !needs_postgres("three replicas on one database") {
        return;
    }
    let started = Instant::now();
    let stub = Stub::default();
    // Slow answers: the SIGKILL finds sends in flight, orders CallKeeper is
    // still taking (in doubt; another replica takes them over when their
    // lease runs out, reconciling first, and finds their calls).
    stub.set_default(Reply::SlowAccept(300));
    let mut replicas = Replicas::start(
        &stub,
        &format!("{ROOMY}, site_per_hour = 100000, site_per_day = 100000"),
    )
    .await;

    // Three visitors order at once, 60 each, round-robin over the replicas
    // (as a load balancer without sticky sessions would send them).
    let mut load = tokio::task::JoinSet::new();
    for visitor in 0..3 {
        let urls = replicas.urls.clone();
        load.spawn(async move {
            let client = reqwest::Client::new();
            let mut accepted = Vec::new();
            for n in 0..60 {
                let url = &urls[(visitor + n) % 3];
                let phone = format!("+7999007{visitor}{n:03}");
                // A refused connection (the replica being down) is what a
                // visitor would retry; it is simply not a 202.
                if let Some(id) = order(&client, url, &phone, &format!("r-{visitor}-{n}")).await {
                    accepted.push(id);
                }
            }
            accepted
        });
    }
    eventually("orders flow to CallKeeper", || async {
        stub.placed().len() >= 30
    })
    .await;
    replicas.kill(0);
    replicas.restart(0).await;
    stub.set_default(Reply::Accept);
    let mut accepted = Vec::new();
    while let Some(part) = load.join_next().await {
        accepted.extend(part.expect("a visitor task"));
    }

    let store = proxy::store::Store::connect(&store_url(replicas.dir.path()))
        .await
        .expect("the store");
    eventually_within(
        "every stored lead is ordered (a killed replica's sends once their lease ran out)",
        restart_settles_within(),
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
    let mut lost = 0;
    for id in &accepted {
        if store.get(id).await.expect("read").is_none() {
            lost += 1;
        }
    }
    let stored = store.list(None, 10_000).await.expect("list");
    let placed = stub.placed();
    let orders = stub.order_attempts();
    let times_placed = |phone: &str| placed.iter().filter(|call| call.phone == phone).count();
    let times_received = |phone: &str| orders.iter().filter(|p| *p == phone).count();
    // Placed: what CallKeeper acted on, i.e. whether the visitor is called.
    let placed_not_once = stored
        .iter()
        .filter(|lead| times_placed(&lead.phone) != 1)
        .count();
    // Received: every orderCall that reached CallKeeper, those the SIGKILL
    // cut included (their calls are found by the replica that takes the
    // lead over, never ordered again).
    let received_not_once = stored
        .iter()
        .filter(|lead| times_received(&lead.phone) != 1)
        .count();
    let cut_by_the_kill = stub.calls_info_requests();
    assert!(
        accepted.len() > 30,
        "the load was served: {}",
        accepted.len()
    );
    assert_eq!(lost, 0, "every 202 is stored");
    assert_eq!(
        placed_not_once, 0,
        "every stored lead was placed exactly once"
    );
    assert_eq!(
        received_not_once, 0,
        "CallKeeper received exactly one orderCall per stored lead"
    );
    assert!(
        cut_by_the_kill > 0,
        "the SIGKILL cut sends, which were looked up with getCallsInfo"
    );

    // Polls: watch the calls (all in progress) for a few intervals.
    let window_start = Instant::now();
    tokio::time::sleep(POLL * 6).await;
    let window = window_start.elapsed();
    let polls: Vec<_> = stub
        .polls()
        .into_iter()
        .filter(|poll| poll.at >= window_start)
        .collect();
    let mut by_call: std::collections::HashMap<u64, Vec<_>> = std::collections::HashMap::new();
    for poll in &polls {
        by_call.entry(poll.call).or_default().push(poll.clone());
    }
    // The margin: polls of one call at least half an interval apart (a
    // claim moves the next poll a whole interval on; the rest is the time a
    // request takes from claim to CallKeeper), and at most one more per
    // call than the window holds intervals.
    let most = usize::try_from(window.as_millis() / POLL.as_millis()).unwrap_or(0) + 1;
    let mut closest = Duration::MAX;
    let mut polled_by_several = 0;
    for calls in by_call.values() {
        assert!(
            calls.len() <= most,
            "{} polls of one call in {window:?}",
            calls.len()
        );
        for pair in calls.windows(2) {
            closest = closest.min(pair[1].at - pair[0].at);
        }
        let mut via: Vec<usize> = calls.iter().map(|poll| poll.via).collect();
        via.sort_unstable();
        via.dedup();
        polled_by_several += usize::from(via.len() > 1);
    }
    assert!(
        closest >= POLL / 2,
        "two polls of one call {closest:?} apart"
    );
    assert!(
        polled_by_several > 0,
        "calls are polled by whichever replica claims them, yet once per interval"
    );

    // Every call but three ends, so the trackers have only those left.
    let watched: Vec<_> = stored.iter().take(3).collect();
    for lead in stored.iter().skip(3) {
        stub.set_call_status(&lead.phone, (200, 200));
    }
    eventually_within(
        "the other calls are final",
        Duration::from_secs(60),
        || async {
            let leads = store.list(None, 10_000).await.expect("list");
            leads.iter().filter(|lead| lead.state.is_final()).count() == leads.len() - 3
        },
    )
    .await;
    // A watcher on every replica; the final status is polled by one of them.
    let mut streams = Vec::new();
    for lead in &watched {
        for replica in 0..3 {
            let url = format!("{}/v1/callbacks/{}/events", replicas.urls[replica], lead.id);
            let response = reqwest::get(&url).await.expect("the stream opens");
            assert_eq!(response.status(), 200);
            streams.push((lead.id.clone(), lead.phone.clone(), replica, response));
        }
    }
    let finished_at = Instant::now();
    for lead in &watched {
        stub.set_call_status(&lead.phone, (200, 200));
    }
    let mut seen = Vec::new();
    for (id, phone, replica, response) in streams {
        let body = tokio::time::timeout(Duration::from_secs(30), response.text())
            .await
            .expect("the stream ends after the final status")
            .expect("a body");
        let took = finished_at.elapsed();
        let last: Value = body
            .lines()
            .filter_map(|line| line.strip_prefix("data: "))
            .next_back()
            .map(|data| serde_json::from_str(data).expect("a status"))
            .expect("an event");
        seen.push((id, phone, replica, last, took));
    }
    let calls_placed = stub.placed();
    let mut heard_from_another = 0;
    for (_, phone, replica, last, took) in &seen {
        assert_eq!(last["state"], "succeeded", "{last}");
        // Well under the streams' own re-check (5 s): the notification did it.
        assert!(
            *took < POLL + Duration::from_secs(2),
            "the watcher on replica {replica} heard the final status after {took:?}"
        );
        let call = calls_placed
            .iter()
            .find(|call| &call.phone == phone)
            .expect("placed");
        let final_poll = stub
            .polls()
            .into_iter()
            .rfind(|poll| poll.call == call.id)
            .expect("the call was polled");
        heard_from_another += usize::from(final_poll.via != *replica);
    }
    assert!(
        heard_from_another >= 6,
        "each call's final status reached the two replicas that did not poll it"
    );
    println!(
        "three replicas: {} answered 202, {} stored, 0 lost, each ordered and placed once \
         ({cut_by_the_kill} getCallsInfo for sends the SIGKILL cut, {received_not_once} \
         received twice); {} polls of {} calls \
         in {window:?} (closest two of one call {closest:?} apart, poll interval {POLL:?}); \
         {heard_from_another} watchers heard a final status another replica polled; {:.1} s",
        accepted.len(),
        stored.len(),
        polls.len(),
        by_call.len(),
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ceiling_of_n_holds_across_three_replicas_under_k_orders_at_once() {
    if !needs_postgres("three replicas on one database") {
        return;
    }
    const CEILING: usize = 10;
    const AT_ONCE: usize = 60;
    let stub = Stub::default();
    stub.set_default(Reply::Accept);
    let replicas = Replicas::start(
        &stub,
        &format!("{ROOMY}, site_per_hour = {CEILING}, site_per_day = 1000"),
    )
    .await;
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(AT_ONCE));
    let mut orders = tokio::task::JoinSet::new();
    for n in 0..AT_ONCE {
        let url = replicas.urls[n % 3].clone();
        let start = start.clone();
        orders.spawn(async move {
            let client = reqwest::Client::new();
            start.wait().await;
            order(
                &client,
                &url,
                &format!("+79990080{n:03}"),
                &format!("c-{n}"),
            )
            .await
        });
    }
    let mut accepted = 0;
    while let Some(answer) = orders.join_next().await {
        accepted += usize::from(answer.expect("an order task").is_some());
    }
    let store = proxy::store::Store::connect(&store_url(replicas.dir.path()))
        .await
        .expect("the store");
    let stored = store.list(None, 10_000).await.expect("list").len();
    println!(
        "{AT_ONCE} orders at once over three replicas, ceiling {CEILING}: {accepted} accepted, {stored} stored"
    );
    assert_eq!(accepted, CEILING, "exactly the ceiling is accepted");
    assert_eq!(stored, CEILING, "exactly the ceiling is stored");
    let visitor = replicas.visitor(1);
    let (code, body, _) = visitor.order("+79990081000", "one-more").await;
    assert_eq!(code, 429, "{body}");
}
