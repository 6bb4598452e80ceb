//! Floods (issue 11): the attacks of a script against one site, from many
//! source addresses (loopback binds 127.0.0.x, and IPv6 /64s and /48s
//! through a trusted `X-Forwarded-For`), each while a legitimate visitor
//! uses the site. Each prints attempts, refusals by class, leads stored and
//! forwarded, and the visitor's p99 (`--nocapture` to read them), and
//! asserts that every limit held exactly.
//!
//! The proxy under attack is the real `proxy` binary, a second process
//! ([`ProxyBinary`]); the attackers and the visitor are this test process,
//! on loopback, each attacker socket bound to its own 127.0.0.x address
//! (Linux routes all of 127.0.0.0/8 to `lo`).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;

use crate::support::{ORIGIN, ProxyBinary, Stub, config_toml, eventually, free_addr};

/// Where an attempt comes from.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// A connection from this loopback address.
    Bound(Ipv4Addr),
    /// Through the trusted proxy (127.0.0.1), for this client.
    Forwarded(IpAddr),
}

/// One attack: who, and which number they type.
struct Attack {
    name: &'static str,
    attempts: Vec<(Source, String)>,
    /// Requests in flight at once.
    in_flight: usize,
}

/// What a flood did.
#[derive(Debug)]
struct Outcome {
    by_status: BTreeMap<u16, usize>,
    refused: BTreeMap<String, u64>,
    stored: usize,
    forwarded: usize,
    visitor_p99: Duration,
    /// How many requests the visitor made during the flood.
    visitor_requests: usize,
    visitor_ordered: bool,
}

/// The proxy for site `shop`, trusting X-Forwarded-For from 127.0.0.1, with
/// `limits` as its limits table. The proof-of-work challenge is off: these
/// floods measure the limits alone ([`target_with_challenge`] has it on).
async fn target(stub: &Stub, limits: &str) -> ProxyBinary {
    target_with_challenge(stub, limits, "mode = \"off\"").await
}

/// [`target`] with `challenge` as the site's challenge table.
async fn target_with_challenge(stub: &Stub, limits: &str, challenge: &str) -> ProxyBinary {
    let upstream = stub.serve().await;
    ProxyBinary::start(
        |dir| {
            // The visitor reads the site's config all through the flood.
            format!(
                "trusted_proxies = [\"127.0.0.1\"]\nreads_per_minute = 100000\n{}",
                config_toml(
                    free_addr(),
                    &upstream,
                    &dir.join("leads.db"),
                    &format!("limits = {{ {limits} }}\nchallenge = {{ {challenge} }}"),
                )
            )
        },
        "warn",
    )
    .await
}

fn client_from(address: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(address))
        .build()
        .expect("a client")
}

/// One flood at a time: each saturates the machine for a few seconds, and
/// the other tests of this binary that time a sandbox call run beside them.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs `attack` against `proxy` while a visitor from 127.0.0.254 reads the
/// site's config every 10 ms, from before the flood to its end (at least 20
/// times), and orders one callback for their own number early in it.
async fn flood(proxy: &ProxyBinary, stub: &Stub, attack: Attack) -> Outcome {
    let _alone = ONE_AT_A_TIME.lock().await;
    let url = format!("{}/v1/sites/shop/callbacks", proxy.url);
    let mut clients: HashMap<Ipv4Addr, reqwest::Client> = HashMap::new();
    for (source, _) in &attack.attempts {
        let bind = match source {
            Source::Bound(address) => *address,
            Source::Forwarded(_) => Ipv4Addr::LOCALHOST,
        };
        clients.entry(bind).or_insert_with(|| client_from(bind));
    }
    let requests: Vec<_> = attack
        .attempts
        .iter()
        .map(|(source, phone)| {
            let (bind, forwarded) = match source {
                Source::Bound(address) => (*address, None),
                Source::Forwarded(client) => (Ipv4Addr::LOCALHOST, Some(client.to_string())),
            };
            // A script sends what the widget sends: the bot checks are
            // not what these floods measure.
            let mut request = clients[&bind]
                .post(&url)
                .header("Origin", ORIGIN)
                .header("X-Callback-Widget", "1")
                .json(&json!({"phone": phone, "elapsed_ms": 4000}));
            if let Some(forwarded) = forwarded {
                request = request.header("X-Forwarded-For", forwarded);
            }
            request
        })
        .collect();
    let attack_over = std::sync::atomic::AtomicBool::new(false);
    let attacker = async {
        let statuses = futures_util::stream::iter(requests)
            .map(|request| async move {
                request
                    .send()
                    .await
                    .map_or(0, |response| response.status().as_u16())
            })
            .buffer_unordered(attack.in_flight)
            .collect::<Vec<u16>>()
            .await;
        attack_over.store(true, std::sync::atomic::Ordering::Relaxed);
        statuses
    };

    let visitor = async {
        let client = client_from(Ipv4Addr::new(127, 0, 0, 254));
        let mut latencies = Vec::new();
        let mut ordered = false;
        let mut round = 0;
        while round < 20
            || (!attack_over.load(std::sync::atomic::Ordering::Relaxed) && round < 5_000)
        {
            round += 1;
            let started = Instant::now();
            if round == 5 {
                ordered = order_as_the_widget(&client, &url).await == 202;
            } else {
                let status = client
                    .get(format!("{}/v1/sites/shop/config", proxy.url))
                    .send()
                    .await
                    .map_or(0, |r| r.status().as_u16());
                assert_eq!(status, 200, "the visitor reads the site's config");
            }
            latencies.push(started.elapsed());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        latencies.sort();
        let p99 = latencies[(latencies.len() * 99).div_ceil(100) - 1];
        (p99, latencies.len(), ordered)
    };
    let (statuses, (visitor_p99, visitor_requests, visitor_ordered)) =
        tokio::join!(attacker, visitor);

    let mut by_status = BTreeMap::new();
    for status in statuses {
        *by_status.entry(status).or_insert(0) += 1;
    }
    let stored = by_status.get(&202).copied().unwrap_or(0) + usize::from(visitor_ordered);
    eventually("every stored lead is forwarded", || async {
        stub.placed().len() >= stored
    })
    .await;
    let (_, metrics) = proxy.admin_get("/metrics").await;
    let refused = metrics
        .lines()
        .filter_map(|line| {
            line.strip_prefix("callback_proxy_refusals_total{site=\"shop\",class=\"")
        })
        .filter_map(|rest| rest.split_once("\"} "))
        .filter_map(|(class, n)| Some((class.to_owned(), n.trim().parse::<u64>().ok()?)))
        .filter(|(_, n)| *n > 0)
        .collect();
    let outcome = Outcome {
        by_status,
        refused,
        stored,
        forwarded: stub.placed().len(),
        visitor_p99,
        visitor_requests,
        visitor_ordered,
    };
    println!(
        "FLOOD {:<34} attempts {:>5} | answers {:?} | refused {:?} | stored {} (incl. the visitor's) | forwarded {} | visitor ordered {} p99 {:?} over {} requests",
        attack.name,
        attack.attempts.len(),
        outcome.by_status,
        outcome.refused,
        outcome.stored,
        outcome.forwarded,
        outcome.visitor_ordered,
        outcome.visitor_p99,
        outcome.visitor_requests,
    );
    outcome
}

/// Orders as the widget does: its header and elapsed time, and where the
/// site asks for a proof of work (428), solves it and sends again.
async fn order_as_the_widget(client: &reqwest::Client, url: &str) -> u16 {
    let mut proof: Option<String> = None;
    for _ in 0..3 {
        let mut request = client
            .post(url)
            .header("Origin", ORIGIN)
            .header("X-Callback-Widget", "1")
            .json(&json!({"phone": "+7 916 555-00-77", "elapsed_ms": 6000}));
        if let Some(proof) = &proof {
            request = request.header("X-Callback-Proof", proof);
        }
        let Ok(response) = request.send().await else {
            return 0;
        };
        let status = response.status().as_u16();
        if status != 428 {
            return status;
        }
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let challenge: protocol::challenge::Challenge =
            serde_json::from_value(body["challenge"].clone()).expect("a challenge");
        let nonce = protocol::challenge::search(&challenge, 0, u64::MAX).expect("solvable");
        proof = Some(format!("{}:{nonce}", challenge.token));
    }
    428
}

/// A generous burst, so the limits counted from the store are the ones that bind.
const ROOMY: &str =
    "ip_burst = 100000, ip_per_minute = 100000, site_per_hour = 5000, site_per_day = 50000";

#[tokio::test]
async fn thousands_of_attempts_from_one_address_store_its_daily_limit_exactly() {
    let stub = Stub::default();
    let proxy = target(&stub, &format!("{ROOMY}, ip_per_day = 10")).await;
    let attempts = (0..2000)
        .map(|n| {
            (
                Source::Bound(Ipv4Addr::new(127, 0, 0, 2)),
                format!("+7999600{n:04}"),
            )
        })
        .collect();
    let outcome = flood(
        &proxy,
        &stub,
        Attack {
            name: "2000 from one address",
            attempts,
            in_flight: 16,
        },
    )
    .await;
    assert_eq!(outcome.by_status.get(&202), Some(&10), "{outcome:?}");
    assert_eq!(outcome.by_status.get(&429), Some(&1990));
    assert_eq!(outcome.refused.get("limit_address_per_day"), Some(&1990));
    assert!(outcome.visitor_ordered);
    assert_eq!(outcome.forwarded, 11);
}

#[tokio::test]
async fn the_default_burst_stops_one_address_before_anything_is_read() {
    let stub = Stub::default();
    let proxy = target(&stub, "").await;
    let attempts = (0..2000)
        .map(|n| {
            (
                Source::Bound(Ipv4Addr::new(127, 0, 0, 3)),
                format!("+7999610{n:04}"),
            )
        })
        .collect();
    let outcome = flood(
        &proxy,
        &stub,
        Attack {
            name: "2000 from one address, default burst",
            attempts,
            in_flight: 16,
        },
    )
    .await;
    let stored = outcome.by_status.get(&202).copied().unwrap_or(0);
    // 5 at once, then 10 a minute: a few seconds of flood store 5 or 6.
    assert!((5..=7).contains(&stored), "{outcome:?}");
    assert_eq!(
        outcome.refused.get("limit_address_burst"),
        Some(&(2000 - stored as u64))
    );
    assert!(outcome.visitor_ordered);
}

#[tokio::test]
async fn many_addresses_at_one_number_store_it_once() {
    let stub = Stub::default();
    let proxy = target(&stub, ROOMY).await;
    let spellings = [
        "+7 999 700-00-01",
        "8 (999) 700-00-01",
        "79997000001",
        "999 700 00 01",
        "00 7 999 700 00 01",
        "810 7 999 700 00 01",
        "+8 999 700 00 01",
        "+7 8 999 700-00-01",
    ];
    let attempts = (0..400)
        .map(|n| {
            let address = Ipv4Addr::new(127, 0, 1 + (n / 200) as u8, 1 + (n % 200) as u8);
            (
                Source::Bound(address),
                spellings[n % spellings.len()].to_owned(),
            )
        })
        .collect();
    let outcome = flood(
        &proxy,
        &stub,
        Attack {
            name: "400 addresses, one number, 8 spellings",
            attempts,
            in_flight: 32,
        },
    )
    .await;
    assert_eq!(outcome.by_status.get(&202), Some(&1), "{outcome:?}");
    assert_eq!(outcome.refused.get("limit_number_cooldown"), Some(&399));
    let one_number = stub
        .placed()
        .iter()
        .filter(|call| call.phone == "79997000001")
        .count();
    assert_eq!(one_number, 1);
    assert!(outcome.visitor_ordered);
}

#[tokio::test]
async fn many_addresses_at_premium_and_foreign_numbers_store_nothing() {
    let stub = Stub::default();
    let proxy = target(&stub, ROOMY).await;
    let premium = [
        "+7 809 505-12-34",
        "8 809 100 20 30",
        "+882 234 567 8901",
        "+979 123 456 789",
        "+870 301 234 567",
        "+44 909 876 5432",
        "+1 900 555 0100",
        "+7 800 555-35-35",
    ];
    let attempts = (0..800)
        .map(|n| {
            let address = Ipv4Addr::new(127, 0, 2 + (n / 200) as u8, 1 + (n % 200) as u8);
            (
                Source::Bound(address),
                premium[n % premium.len()].to_owned(),
            )
        })
        .collect();
    let outcome = flood(
        &proxy,
        &stub,
        Attack {
            name: "800 addresses, premium/foreign",
            attempts,
            in_flight: 32,
        },
    )
    .await;
    assert_eq!(outcome.by_status.get(&422), Some(&800), "{outcome:?}");
    assert_eq!(outcome.by_status.get(&202), None);
    assert!(outcome.visitor_ordered);
    assert_eq!(outcome.forwarded, 1, "only the visitor's call");
}

#[tokio::test]
async fn k_concurrent_orders_from_many_addresses_fill_the_ceiling_exactly() {
    const CEILING: usize = 50;
    let stub = Stub::default();
    let proxy = target(
        &stub,
        &format!("ip_burst = 1000, ip_per_minute = 1000, site_per_hour = {CEILING}"),
    )
    .await;
    let attempts = (0..300)
        .map(|n| {
            let address = Ipv4Addr::new(127, 0, 10 + (n / 200) as u8, 1 + (n % 200) as u8);
            (Source::Bound(address), format!("+7999800{n:04}"))
        })
        .collect();
    let outcome = flood(
        &proxy,
        &stub,
        Attack {
            name: "300 in flight, ceiling 50",
            attempts,
            in_flight: 300,
        },
    )
    .await;
    assert_eq!(outcome.stored, CEILING, "{outcome:?}");
    assert_eq!(outcome.forwarded, CEILING);
}

#[tokio::test]
async fn ipv6_64s_and_48s_are_held_to_their_daily_limits() {
    let stub = Stub::default();
    let proxy = target(
        &stub,
        &format!("{ROOMY}, ip_per_day = 3, network_per_day = 12"),
    )
    .await;
    // 1000 addresses of one /48, over 100 of its /64s, then 50 more /48s.
    let mut attempts: Vec<(Source, String)> = (0..1000u32)
        .map(|n| {
            let address: IpAddr = format!("2001:db8:7:{:x}::{:x}", n % 100, n + 1)
                .parse()
                .expect("an address");
            (Source::Forwarded(address), format!("+7999900{n:04}"))
        })
        .collect();
    attempts.extend((0..50u32).map(|n| {
        let address: IpAddr = format!("2001:db8:{:x}:1::1", 100 + n)
            .parse()
            .expect("an address");
        (Source::Forwarded(address), format!("+7999910{n:04}"))
    }));
    let outcome = flood(
        &proxy,
        &stub,
        Attack {
            name: "1050 IPv6: one /48, then 50 /48s",
            attempts,
            in_flight: 16,
        },
    )
    .await;
    assert_eq!(outcome.by_status.get(&202), Some(&(12 + 50)), "{outcome:?}");
    assert!(outcome.visitor_ordered);
}

#[tokio::test]
async fn a_flood_switches_the_challenge_on_and_the_visitor_still_orders() {
    let stub = Stub::default();
    let proxy = target_with_challenge(
        &stub,
        &format!("{ROOMY}, ip_per_day = 10"),
        "mode = \"auto\", auto_after_refusals = 30",
    )
    .await;
    let attempts = (0..2000)
        .map(|n| {
            (
                Source::Bound(Ipv4Addr::new(127, 0, 0, 3)),
                format!("+7999610{n:04}"),
            )
        })
        .collect();
    let outcome = flood(
        &proxy,
        &stub,
        Attack {
            name: "2000 from one address, challenge auto",
            attempts,
            in_flight: 16,
        },
    )
    .await;
    // Ten stored (the address's day), then refusals by the limit until
    // thirty switch the challenge on; from then on nothing without a proof
    // is read further. The visitor solves the challenge (18 bits) and orders.
    // (The attackers' answers, from their statuses: the metrics also count
    // the visitor's first try, refused for want of a proof when it came
    // after the switch.)
    let by_limit = outcome.by_status.get(&429).copied().unwrap_or(0);
    let challenged = outcome.by_status.get(&428).copied().unwrap_or(0);
    assert_eq!(outcome.by_status.get(&202), Some(&10), "{outcome:?}");
    assert!((30..30 + 16 + 1).contains(&by_limit), "{outcome:?}");
    assert_eq!(challenged + by_limit + 10, 2000, "{outcome:?}");
    let counted = outcome
        .refused
        .get("challenge_required")
        .copied()
        .unwrap_or(0) as usize;
    assert!(
        (challenged..=challenged + 1).contains(&counted),
        "{outcome:?}"
    );
    assert!(outcome.visitor_ordered, "{outcome:?}");
    assert_eq!(outcome.forwarded, 11);
}
