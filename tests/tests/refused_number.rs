//! A number the site does not call (here a Belarusian one, on a site that
//! calls Russia only) is refused by the proxy's phone policy; the widget
//! shows the proxy's reason under the field, in the widget's own language
//! (even when the page changed it with `setLocale`), and nothing is ordered.

use e2e::{Browser, start_demo_with};
use fantoccini::Locator;

/// Waits until the phone field's message starts with `start`; returns it.
async fn phone_message_starting(browser: &Browser, start: &str) -> anyhow::Result<String> {
    browser
        .wait_for(&format!(
            "{}.querySelector('#cbw-phone-msg').textContent.startsWith({start:?})",
            e2e::SHADOW
        ))
        .await?;
    browser.widget_text("#cbw-phone-msg").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_the_site_does_not_call_is_explained_in_the_widget_s_language()
-> anyhow::Result<()> {
    let store = tempfile::tempdir()?;
    let demo = start_demo_with(&store, 0.01, "", None).await?;
    let browser = Browser::start().await?;
    let root = browser
        .widget_on(&format!("{}test/plain.html", demo.page_url))
        .await?;
    e2e::click(&root, "button.launcher").await?;
    let phone = root.find(Locator::Css("#cbw-phone")).await?;
    phone.clear().await?;
    phone.send_keys("+375 29 123 45 67").await?;
    e2e::click(&root, "button[type=submit]").await?;

    let english = phone_message_starting(&browser, "We do not call +375 numbers").await?;
    assert!(english.contains("(BY)"), "{english}");
    assert_eq!(
        phone.attr("aria-invalid").await?.as_deref(),
        Some("true"),
        "the field says it is wrong"
    );
    assert_eq!(browser.focused().await?, "cbw-phone");
    browser.screenshot("refused-number-1-en").await?;

    // Typing clears the proxy's reason.
    phone.send_keys("8").await?;
    browser
        .wait_for(&format!(
            "!{}.querySelector('#cbw-phone-msg').textContent.startsWith('We do not call')",
            e2e::SHADOW
        ))
        .await?;

    // The page switches the widget to Russian: the proxy answers in Russian.
    browser.eval("CallbackWidget.setLocale('ru')").await?;
    phone.clear().await?;
    phone.send_keys("+375 29 123 45 67").await?;
    e2e::click(&root, "button[type=submit]").await?;
    let russian = phone_message_starting(&browser, "Мы не перезваниваем на номера +375").await?;
    assert!(russian.contains("(BY)"), "{russian}");
    browser.screenshot("refused-number-2-ru").await?;

    assert!(
        demo.sandbox
            .requests()
            .iter()
            .all(|r| r.param("client") != Some("375291234567")),
        "nothing was ordered"
    );
    browser.close().await?;
    demo.shutdown.cancel();
    Ok(())
}
