//! A single-page app: commands queued before the widget loaded, History API
//! navigation, a `<body>` swap (Turbo-style), `data-callback-open`, and
//! every event heard by the page, its `dataLayer` and Yandex.Metrica.
//!
//! The host page is `www/test/host.html` with `www/test/site.js`.

use e2e::{Browser, SHADOW, start_demo};
use fantoccini::Locator;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_page_app_queues_commands_navigates_swaps_its_body_and_hears_every_event()
-> anyhow::Result<()> {
    let store = tempfile::tempdir()?;
    let demo = start_demo(&store).await?;
    let browser = Browser::start().await?;
    let client = &browser.client;
    client.goto(&e2e::host_page(&demo)).await?;
    browser.wait_for(e2e::LAUNCHER).await?;

    // History API navigation, as a single-page app does it.
    browser
        .eval("history.pushState({}, '', '/test/host.html?page=catalog')")
        .await?;

    // Turbo-style navigation: a new <body> replaces the old one.
    browser
        .eval(
            "const body = document.createElement('body');
             body.innerHTML = '<main><h1>Catalog</h1><a href=\"#\" id=\"call\" data-callback-open>Call me</a></main>';
             document.body.replaceWith(body);",
        )
        .await?;
    browser
        .wait_for(&format!(
            "document.body.contains(document.querySelector('[data-callback-widget]')) && ({})",
            e2e::LAUNCHER
        ))
        .await?;

    // A data-callback-open element in the new body opens the widget.
    client.find(Locator::Css("#call")).await?.click().await?;
    browser
        .wait_for(&format!(
            "{SHADOW}.querySelector('.launcher').getAttribute('aria-expanded') === 'true'"
        ))
        .await?;
    let root = client
        .find(Locator::Css("[data-callback-widget]"))
        .await?
        .shadow_root()
        .await?;
    root.find(Locator::Css("input[type=tel]"))
        .await?
        .send_keys("+7 (999) 765-43-21")
        .await?;
    browser.screenshot("embed-3-form-after-body-swap").await?;
    e2e::click(&root, "form button").await?;

    let state = browser
        .wait_for(&format!(
            "(() => {{ const s = {SHADOW}.querySelector('.dialog').dataset.state; return (s === 'succeeded' || s === 'failed') && s; }})()"
        ))
        .await?;
    browser.screenshot("embed-4-final").await?;
    assert_eq!(state, "succeeded");

    // The page heard every step, as DOM events, in dataLayer and in Metrica.
    let heard = browser
        .eval(
            "return { page: window.pageEvents, handler: window.handlerDetails.length,
                      dataLayer: window.dataLayer.map(e => e.event),
                      ym: window.ymCalls.map(c => c.slice(0, 3)) }",
        )
        .await?;
    let page: Vec<String> = serde_json::from_value(heard["page"].clone())?;
    assert_eq!(page.first().map(String::as_str), Some("opened"), "{heard}");
    assert!(page.contains(&"submitted".to_owned()), "{heard}");
    assert_eq!(page.last().map(String::as_str), Some("status"), "{heard}");
    assert_eq!(
        heard["handler"], 1,
        "on('submitted') queued before load: {heard}"
    );
    let data_layer: Vec<String> = serde_json::from_value(heard["dataLayer"].clone())?;
    assert_eq!(
        data_layer.first().map(String::as_str),
        Some("callback_opened")
    );
    assert!(
        data_layer.contains(&"lead_callback".to_owned()),
        "renamed goal: {heard}"
    );
    assert!(
        heard["ym"]
            .as_array()
            .is_some_and(|calls| calls.contains(&serde_json::json!([
                4242,
                "reachGoal",
                "lead_callback"
            ]))),
        "{heard}"
    );

    // CallKeeper got the landing's UTM tags, the page after navigation and
    // the site's context queued before load.
    let orders: Vec<_> = demo
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.method == "orderCall")
        .collect();
    assert_eq!(orders.len(), 1, "exactly one orderCall: {orders:?}");
    let order = &orders[0];
    assert_eq!(order.param("client"), Some("79997654321"));
    assert_eq!(order.param("utm_source"), Some("e2e"));
    assert_eq!(order.param("utm_campaign"), Some("spring"));
    assert_eq!(order.param("calltouch_session_id"), Some("ct-e2e"));
    let current = order.param("current_page").unwrap_or_default();
    assert!(
        current.ends_with("/test/host.html?page=catalog"),
        "current_page: {current}"
    );
    let entry = order.param("entry_point").unwrap_or_default();
    assert!(entry.contains("utm_source=e2e"), "entry_point: {entry}");
    assert_eq!(
        browser.page_errors().await?,
        Vec::<String>::new(),
        "no error reached the page"
    );

    browser.close().await?;
    demo.shutdown.cancel();
    Ok(())
}
