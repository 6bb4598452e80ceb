//! A site that asks every order for a proof of work (`challenge = { mode =
//! "always" }`, the default 18 bits): the widget gets the 428, solves the
//! challenge in slices, sends the order again and the call is made. The
//! time the visitor waits for the solving is printed (README, "Abuse"):
//! measured by the page, from the 428's arrival to the second POST.

use e2e::{Browser, start_demo_with};
use fantoccini::Locator;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_solves_the_challenge_and_the_call_is_made() -> anyhow::Result<()> {
    let store = tempfile::tempdir()?;
    let demo = start_demo_with(&store, 0.01, "challenge = { mode = \"always\" }", None).await?;
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
    assert_eq!(browser.wait_for_final_state().await?, "succeeded");

    let posts = browser
        .eval(
            "return performance.getEntriesByType('resource')
               .filter(e => e.name.endsWith('/callbacks') && e.initiatorType === 'fetch')
               .map(e => [Math.round(e.startTime), Math.round(e.responseEnd)])",
        )
        .await?;
    let posts: Vec<(f64, f64)> = serde_json::from_value(posts)?;
    assert_eq!(
        posts.len(),
        2,
        "one refused with a challenge, one with the proof: {posts:?}"
    );
    let solving = posts[1].0 - posts[0].1;
    println!(
        "proof of work, 18 bits, release widget: {solving:.0} ms from the 428 to the order with its proof"
    );
    assert!(solving >= 0.0);
    assert!(
        demo.sandbox
            .requests()
            .iter()
            .any(|r| r.param("client") == Some("79991234567")),
        "the call was ordered"
    );
    browser.close().await?;
    demo.shutdown.cancel();
    Ok(())
}
