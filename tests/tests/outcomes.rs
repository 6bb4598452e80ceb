//! Calls that fail on the visitor's side: a busy line, then (tried again) no
//! answer, each said in plain words on the status, with a way to try again.

use e2e::{Browser, start_demo_with};
use fantoccini::Locator;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_line_and_an_unanswered_call_are_said_in_plain_words() -> anyhow::Result<()> {
    let store = tempfile::tempdir()?;
    let demo = start_demo_with(&store, 0.01, "", None).await?;
    let browser = Browser::start().await?;
    let root = browser
        .widget_on(&format!("{}test/plain.html", demo.page_url))
        .await?;
    e2e::click(&root, "button.launcher").await?;

    // The sandbox answers busy for a number ending in 00.
    let phone = root.find(Locator::Css("#cbw-phone")).await?;
    phone.send_keys("999 123-45-00").await?;
    e2e::click(&root, "button[type=submit]").await?;
    assert_eq!(browser.wait_for_final_state().await?, "failed");
    assert_eq!(browser.widget_text(".status").await?, "Your line was busy");
    let again_shown = browser
        .in_widget("return root.querySelector('.again').getClientRects().length > 0")
        .await?;
    assert_eq!(again_shown, true, "a way to try again");
    browser.screenshot("outcome-1-busy").await?;

    // Try again: the form comes back with the number, focused, to correct or resend.
    e2e::click(&root, "button[data-act=again]").await?;
    browser.wait_for_state("form").await?;
    assert_eq!(browser.focused().await?, "cbw-phone");
    assert_eq!(
        phone.prop("value").await?.as_deref(),
        Some("+7 999 123-45-00")
    );
    browser.screenshot("outcome-2-try-again").await?;

    // Another number that does not answer (…01).
    phone.clear().await?;
    phone.send_keys("+7 999 123-45-01").await?;
    e2e::click(&root, "button[type=submit]").await?;
    assert_eq!(browser.wait_for_final_state().await?, "failed");
    assert_eq!(
        browser.widget_text(".status").await?,
        "You didn't answer the call"
    );
    browser.screenshot("outcome-3-no-answer").await?;

    let clients: Vec<String> = demo
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.method == "orderCall")
        .filter_map(|r| r.param("client").map(str::to_owned))
        .collect();
    assert_eq!(clients, ["79991234500", "79991234501"]);

    browser.close().await?;
    demo.shutdown.cancel();
    Ok(())
}
