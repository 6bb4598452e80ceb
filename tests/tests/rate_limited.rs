//! Too many requests from one address: the proxy answers 429 with
//! Retry-After, and the widget says so politely under the form, keeping
//! what the visitor typed.

use e2e::{Browser, start_demo_with};
use fantoccini::Locator;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_said_politely_and_the_form_stays() -> anyhow::Result<()> {
    let store = tempfile::tempdir()?;
    // Two requests at once per address, then one a minute.
    let demo = start_demo_with(
        &store,
        0.01,
        "limits = { ip_burst = 2, ip_per_minute = 1 }",
        None,
    )
    .await?;
    // Someone on the same address (this test) has just ordered twice.
    let http = reqwest::Client::new();
    let origin = demo.page_url.trim_end_matches('/');
    for phone in ["+7 999 000-00-11", "+7 999 000-00-12"] {
        let status = http
            .post(format!("{}/v1/sites/demo/callbacks", demo.api_url))
            .header("content-type", "application/json")
            .header("origin", origin)
            // As the widget sends it (the demo requires its header).
            .header("x-callback-widget", "1")
            .body(format!("{{\"phone\":\"{phone}\",\"elapsed_ms\":5000}}"))
            .send()
            .await?
            .status();
        assert_eq!(status, 202, "within the burst");
    }

    let browser = Browser::start().await?;
    let root = browser
        .widget_on(&format!("{}test/plain.html", demo.page_url))
        .await?;
    e2e::click(&root, "button.launcher").await?;
    root.find(Locator::Css("#cbw-phone"))
        .await?
        .send_keys("999 123-45-67")
        .await?;
    e2e::click(&root, "button[type=submit]").await?;
    browser
        .wait_for(&format!(
            "{}.querySelector('#cbw-message').textContent.startsWith('Too many')",
            e2e::SHADOW
        ))
        .await?;
    assert_eq!(
        browser.widget_text("#cbw-message").await?,
        "Too many requests. Please try again in 1 min."
    );
    let form = browser
        .in_widget(
            "return [root.querySelector('.dialog').dataset.state, root.querySelector('#cbw-phone').value,
                     root.querySelector('#cbw-message').getAttribute('aria-live')]",
        )
        .await?;
    assert_eq!(
        form,
        serde_json::json!(["form", "+7 999 123-45-67", "polite"]),
        "the form and the number stay; the message is announced"
    );
    browser.screenshot("rate-limited-1").await?;
    assert!(
        demo.sandbox
            .requests()
            .iter()
            .all(|r| r.param("client") != Some("79991234567")),
        "the visitor's call was not ordered"
    );

    browser.close().await?;
    demo.shutdown.cancel();
    Ok(())
}
