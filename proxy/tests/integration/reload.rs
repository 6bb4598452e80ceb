//! Reloading the config on SIGHUP, against the real binary (a child
//! process, signalled with `kill -HUP` as systemd's `ExecReload` does): a
//! number blocked in the file is refused by the next order; a file that
//! does not load keeps the old config entirely and says why, in the log
//! and in `callback_proxy_config_reloads_total`; a change that needs a
//! restart is named and waits for it.

use serde_json::json;

use crate::support::{ORIGIN, ProxyBinary, Stub, config_toml, eventually, free_addr};

/// Orders a callback for `phone` from a second address each time (so the
/// per-address burst never binds); the status and `Refusal-Reason`.
async fn order(proxy: &ProxyBinary, phone: &str) -> (u16, Option<String>) {
    let response = reqwest::Client::new()
        .post(format!("{}/v1/sites/shop/callbacks", proxy.url))
        .header("Origin", ORIGIN)
        .header("X-Callback-Widget", "1")
        .json(&json!({"phone": phone, "elapsed_ms": 5000}))
        .send()
        .await
        .expect("the proxy answers");
    let reason = response
        .headers()
        .get("refusal-reason")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (response.status().as_u16(), reason)
}

/// Sends SIGHUP and waits until the reload counter for `outcome` reaches `count`.
async fn reload_and_wait(proxy: &ProxyBinary, outcome: &str, count: u64) {
    proxy.hangup();
    let series = format!("callback_proxy_config_reloads_total{{outcome=\"{outcome}\"}}");
    eventually(&format!("{count} reload(s) {outcome}"), || async {
        proxy.metric(&series).await == Some(count)
    })
    .await;
}

#[tokio::test]
async fn a_sighup_puts_a_blocked_number_in_force_and_a_bad_file_keeps_the_old_config() {
    let stub = Stub::default();
    let upstream = stub.serve().await;
    let listen = free_addr();
    let site = |extra: &str| {
        let extra = extra.to_owned();
        let upstream = upstream.clone();
        move |dir: &std::path::Path| {
            config_toml(
                listen,
                &upstream,
                &dir.join("leads.db"),
                &format!("limits = {{ ip_burst = 100, ip_per_minute = 100 }}\n{extra}"),
            )
        }
    };
    let proxy = ProxyBinary::start(site(""), "info").await;
    let text = std::fs::read_to_string(&proxy.config).expect("the config");
    assert_eq!(order(&proxy, "+7 916 555-00-11").await, (202, None));

    // Block a number in the file, SIGHUP: the next order for it is refused.
    let blocked = format!("{text}\n[sites.shop.phone]\nblocked_numbers = [\"+7 916 555-00-22\"]\n");
    std::fs::write(&proxy.config, &blocked).expect("rewrite the config");
    reload_and_wait(&proxy, "applied", 1).await;
    assert_eq!(
        order(&proxy, "8 916 555 00 22").await,
        (422, Some("blocked".to_owned()))
    );
    assert_eq!(order(&proxy, "+7 916 555-00-33").await, (202, None));
    assert!(proxy.log().contains("config reloaded"), "{}", proxy.log());
    assert_eq!(
        proxy.metric("callback_proxy_config_restart_needed").await,
        Some(0)
    );

    // Not TOML: rejected, the old config (with the block) stays entirely.
    std::fs::write(&proxy.config, "listen = [ this is not toml").expect("rewrite");
    reload_and_wait(&proxy, "rejected", 1).await;
    assert_eq!(
        order(&proxy, "+79165550022").await,
        (422, Some("blocked".to_owned()))
    );
    assert_eq!(order(&proxy, "+7 916 555-00-44").await, (202, None));
    // TOML that fails a check: rejected too, and the log names the key.
    let failing = blocked.replace(
        &format!("allowed_origins = [\"{ORIGIN}\"]"),
        "allowed_origins = [\"not an origin\"]",
    );
    assert_ne!(failing, blocked, "the test rewrites the origins");
    std::fs::write(&proxy.config, &failing).expect("rewrite");
    reload_and_wait(&proxy, "rejected", 2).await;
    let log = proxy.log();
    let rejections: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("config reload rejected"))
        .collect();
    assert_eq!(rejections.len(), 2, "{log}");
    assert!(
        rejections[1].contains("sites.shop.allowed_origins"),
        "{}",
        rejections[1]
    );
    assert_eq!(
        order(&proxy, "+79165550022").await,
        (422, Some("blocked".to_owned()))
    );
    assert_eq!(order(&proxy, "+7 916 555-00-55").await, (202, None));

    // A setting that needs a restart: named, its old value kept, the rest
    // applied (here: the block lifted).
    let moved = text.replace(
        &format!("listen = \"{listen}\""),
        &format!("listen = \"{}\"", free_addr()),
    );
    assert_ne!(moved, text, "the test moves the listener");
    std::fs::write(&proxy.config, &moved).expect("rewrite");
    reload_and_wait(&proxy, "applied", 2).await;
    assert_eq!(
        proxy.metric("callback_proxy_config_restart_needed").await,
        Some(1)
    );
    let log = proxy.log();
    assert!(
        log.lines()
            .any(|line| line.contains("need a restart") && line.contains("listen")),
        "{log}"
    );
    assert_eq!(order(&proxy, "+7 916 555-00-22").await, (202, None));
    eventually("the four orders are forwarded", || async {
        stub.placed().len() == 4
    })
    .await;
}
