//! A visitor orders a callback on the demo page in a real browser and
//! watches every state of the call, to success.

use callkeeper::sandbox::DEMO_API_KEY;
use e2e::{Browser, SHADOW, start_demo_with};
use fantoccini::Locator;

/// The visitor-facing states of a call ordered for now, in order.
const ORDER: [&str; 6] = [
    "form",
    "received",
    "queued",
    "ordered",
    "in_progress",
    "succeeded",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_orders_a_callback_and_watches_it_succeed() -> anyhow::Result<()> {
    let store = tempfile::tempdir()?;
    // Calls last 3 s (30 sandbox seconds × 0.1), long enough to see each state.
    let demo = start_demo_with(&store, 0.1, "", None).await?;
    let browser = Browser::start().await?;
    let client = &browser.client;

    // Come from another site to the shop's page with UTM tags, then move on
    // to the catalog: the referrer and the tags are the landing's.
    let referrer = format!("{}test/referrer.html", demo.page_url);
    client.goto(&referrer).await?;
    client
        .find(Locator::Css("a#to-shop"))
        .await?
        .click()
        .await?;
    browser.wait_for("location.pathname === '/'").await?;
    client
        .find(Locator::Css("a#catalog"))
        .await?
        .click()
        .await?;
    browser.wait_for("location.pathname === '/catalog'").await?;
    browser.record_errors().await?;

    // The loader mounts the widget at idle time; wait for its launcher.
    browser
        .wait_for(&format!(
            "{SHADOW} && {SHADOW}.querySelector('button.launcher')"
        ))
        .await?;
    browser.screenshot("order-1-launcher").await?;
    let root = client
        .find(Locator::Css("[data-callback-widget]"))
        .await?
        .shadow_root()
        .await?;
    e2e::click(&root, "button.launcher").await?;
    let phone = root.find(Locator::Css("input[type=tel]")).await?;
    // The field starts with the site's country code, "+7 ".
    phone.send_keys("(999) 123-45-67").await?;
    browser.screenshot("order-2-form").await?;
    browser.record_states().await?;
    e2e::click(&root, "form button[type=submit]").await?;

    // The sandbox runs the call to its end; the widget shows each status it
    // is told, a screenshot of each as it comes.
    let mut seen = "form".to_owned();
    let mut shot = 3;
    while seen != "succeeded" && seen != "failed" {
        let next = browser
            .wait_for(&format!(
                "(() => {{ const s = {SHADOW}.querySelector('.dialog').dataset.state; return s !== {seen:?} && s; }})()"
            ))
            .await?;
        seen = next.as_str().unwrap_or_default().to_owned();
        browser.screenshot(&format!("order-{shot}-{seen}")).await?;
        shot += 1;
    }
    let states = browser.recorded_states().await?;
    assert_eq!(
        states.last().map(String::as_str),
        Some("succeeded"),
        "the widget should show the sandbox's final state: {states:?}"
    );
    let mut positions = states.iter().map(|s| ORDER.iter().position(|o| o == s));
    assert!(
        positions.clone().all(|p| p.is_some()) && positions.clone().is_sorted(),
        "states in order: {states:?}"
    );
    for state in ["received", "in_progress"] {
        assert!(
            states.iter().any(|s| s == state),
            "{state} shown: {states:?}"
        );
    }
    assert!(positions.next().flatten() == Some(0));
    // The page is in Russian (<html lang="ru">) and the site fixes no language.
    assert_eq!(
        browser.widget_text(".status").await?,
        "Звонок состоялся. Спасибо!"
    );

    // The sandbox received one orderCall with the visit's context and the configured key.
    let orders: Vec<_> = demo
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.method == "orderCall")
        .collect();
    assert_eq!(orders.len(), 1, "exactly one orderCall: {orders:?}");
    let order = &orders[0];
    assert_eq!(order.param("client"), Some("79991234567"));
    assert_eq!(order.param("apiak"), Some(DEMO_API_KEY));
    assert_eq!(order.param("referrer"), Some(referrer.as_str()));
    let entry = order.param("entry_point").unwrap_or_default();
    assert!(entry.contains("/?utm_source=demo"), "entry_point: {entry}");
    let current_page = order.param("current_page").unwrap_or_default();
    assert!(
        current_page.contains("/catalog?utm_source=demo"),
        "current_page: {current_page}"
    );
    assert_eq!(order.param("utm_source"), Some("demo"));

    // No response the browser received carries the key: fetch again every URL it loaded.
    let urls = browser
        .eval(
            "return [location.href, ...performance.getEntriesByType('resource').map(e => e.name)]",
        )
        .await?;
    let urls: Vec<String> = serde_json::from_value(urls)?;
    assert!(
        urls.iter().any(|u| u.contains("/v1/callbacks/")),
        "the widget followed its status: {urls:?}"
    );
    let http = reqwest::Client::new();
    for url in &urls {
        let body = http.get(url).send().await?.bytes().await?;
        let text = String::from_utf8_lossy(&body);
        assert!(
            !text.contains(DEMO_API_KEY),
            "{url} leaks the CallKeeper key"
        );
    }
    assert_eq!(
        browser.page_errors().await?,
        Vec::<String>::new(),
        "no error reached the page"
    );

    browser.close().await?;
    demo.shutdown.cancel();
    Ok(())
}
