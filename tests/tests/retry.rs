//! Retries after a failed call: the visitor corrects a number the call could
//! not reach and tries again; and CallKeeper's own retry of a call that was
//! not answered, shown as the next attempt's time, then success.

use e2e::{Browser, start_demo_with};
use fantoccini::Locator;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_call_is_tried_again_by_the_visitor_and_by_callkeeper() -> anyhow::Result<()> {
    let store = tempfile::tempdir()?;
    let demo = start_demo_with(&store, 0.02, "", None).await?;
    let browser = Browser::start().await?;
    let root = browser
        .widget_on(&format!("{}test/plain.html", demo.page_url))
        .await?;
    e2e::click(&root, "button.launcher").await?;
    let phone = root.find(Locator::Css("#cbw-phone")).await?;
    let submit = root.find(Locator::Css("button[type=submit]")).await?;

    // …03: CallKeeper cannot call this number (never retried).
    phone.send_keys("999 123-45-03").await?;
    submit.click().await?;
    assert_eq!(browser.wait_for_final_state().await?, "failed");
    assert_eq!(
        browser.widget_text(".status").await?,
        "We couldn't call this number: please check it"
    );
    browser.screenshot("retry-1-invalid-number").await?;

    // The visitor tries again with the number corrected.
    e2e::click(&root, "button[data-act=again]").await?;
    browser.wait_for_state("form").await?;
    assert_eq!(browser.focused().await?, "cbw-phone");
    phone.clear().await?;
    phone.send_keys("+7 999 123-45-67").await?;
    browser.screenshot("retry-2-corrected").await?;
    submit.click().await?;
    assert_eq!(browser.wait_for_final_state().await?, "succeeded");
    browser.screenshot("retry-3-succeeded").await?;

    demo.shutdown.cancel();

    // …05 does not answer the first call; CallKeeper, told to retry a minute
    // after a failed attempt (1.2 s at this pace), calls again and it does.
    let store = tempfile::tempdir()?;
    let demo = start_demo_with(&store, 0.02, "interval = \"1\"", None).await?;
    let root = browser
        .widget_on(&format!("{}test/plain.html", demo.page_url))
        .await?;
    e2e::click(&root, "button.launcher").await?;
    root.find(Locator::Css("#cbw-phone"))
        .await?
        .send_keys("999 765-43-05")
        .await?;
    browser.record_states().await?;
    e2e::click(&root, "button[type=submit]").await?;
    browser.wait_for_state("scheduled").await?;
    let retrying = browser.widget_text(".status").await?;
    // Right after the failed attempt CallKeeper says why; between attempts,
    // only when.
    assert!(
        retrying.starts_with("You didn't answer the call. We'll call again on ")
            || retrying.starts_with("We'll call again on "),
        "{retrying}"
    );
    browser.screenshot("retry-4-callkeeper-retries").await?;
    assert_eq!(browser.wait_for_final_state().await?, "succeeded");
    browser.screenshot("retry-5-answered").await?;
    let states = browser.recorded_states().await?;
    let scheduled = states.iter().position(|s| s == "scheduled");
    let in_progress_after =
        scheduled.is_some_and(|at| states[at..].iter().any(|s| s == "in_progress"));
    assert!(
        in_progress_after,
        "the second attempt is followed: {states:?}"
    );

    browser.close().await?;
    demo.shutdown.cancel();
    Ok(())
}
