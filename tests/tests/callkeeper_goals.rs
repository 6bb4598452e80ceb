//! A site whose analytics goals count CallKeeper's own widget keeps them
//! counting: `eventNames: "callkeeper"` pushes CallKeeper's name for an order.

use e2e::{Browser, SHADOW, start_demo_with};
use fantoccini::Locator;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_is_pushed_to_data_layer_under_callkeepers_name() -> anyhow::Result<()> {
    let store = tempfile::tempdir()?;
    let demo = start_demo_with(&store, 0.01, "", None).await?;
    let browser = Browser::start().await?;
    let client = &browser.client;
    client
        .goto(&format!("{}test/callkeeper-goals.html", demo.page_url))
        .await?;
    browser
        .wait_for(&format!(
            "{SHADOW} && {SHADOW}.querySelector('button.launcher')"
        ))
        .await?;
    let root = client
        .find(Locator::Css("[data-callback-widget]"))
        .await?
        .shadow_root()
        .await?;
    e2e::click(&root, "button.launcher").await?;
    root.find(Locator::Css("input[type=tel]"))
        .await?
        .send_keys("(999) 123-45-88")
        .await?;
    e2e::click(&root, "form button[type=submit]").await?;

    let pushed = browser
        .wait_for("window.dataLayer.find(e => e.event === 'callkeeper-call_order-ckaction')")
        .await?;
    browser.screenshot("callkeeper-goals-ordered").await?;
    assert_eq!(pushed["eventCategory"], "callkeeper", "{pushed}");
    assert_eq!(pushed["eventAction"], "call_order");
    assert_eq!(pushed["eventLabel"], "ckaction");
    // The events CallKeeper has no name for keep ours.
    let names = browser
        .eval("return window.dataLayer.map(e => e.event)")
        .await?;
    assert!(
        names
            .as_array()
            .is_some_and(|n| n.iter().any(|e| e == "callback_opened")),
        "{names}"
    );
    browser.close().await?;
    demo.shutdown.cancel();
    Ok(())
}
