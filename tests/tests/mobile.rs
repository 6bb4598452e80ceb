//! On a phone (a 390 px wide touch screen) the dialog is a full-width bottom
//! sheet with 16 px fields (no zoom on focus), and the call goes through.

use e2e::{Browser, start_demo_with};
use fantoccini::Locator;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_the_dialog_is_a_bottom_sheet() -> anyhow::Result<()> {
    let store = tempfile::tempdir()?;
    let demo = start_demo_with(&store, 0.01, "", None).await?;
    let browser = Browser::start_mobile().await?;
    let client = &browser.client;
    client
        .goto(&format!("{}test/plain.html", demo.page_url))
        .await?;
    browser.wait_for_widget().await?;
    assert_eq!(browser.eval("return innerWidth").await?, 390);
    browser.screenshot("mobile-1-launcher").await?;
    let root = client
        .find(Locator::Css("[data-callback-widget]"))
        .await?
        .shadow_root()
        .await?;
    e2e::click(&root, "button.launcher").await?;
    browser.wait_for_state("form").await?;

    let sheet = browser
        .in_widget(
            "const r = root.querySelector('.dialog').getBoundingClientRect();
             const size = s => getComputedStyle(root.querySelector(s)).fontSize;
             return { left: r.left, width: r.width, bottom: Math.round(r.bottom),
                      viewport: [innerWidth, innerHeight],
                      launcher: root.querySelector('.launcher').getClientRects().length,
                      phone: size('#cbw-phone'), submit: r.width - root.querySelector('button[type=submit]').getBoundingClientRect().width };",
        )
        .await?;
    assert_eq!(sheet["left"], 0, "{sheet}");
    assert_eq!(sheet["width"], 390, "{sheet}");
    assert_eq!(
        sheet["bottom"], sheet["viewport"][1],
        "at the bottom: {sheet}"
    );
    assert_eq!(
        sheet["launcher"], 0,
        "the sheet covers the launcher: {sheet}"
    );
    assert_eq!(sheet["phone"], "16px", "{sheet}");
    assert_eq!(
        sheet["submit"], 40,
        "a full-width button, 20 px padding: {sheet}"
    );
    browser.screenshot("mobile-2-sheet").await?;

    root.find(Locator::Css("#cbw-phone"))
        .await?
        .send_keys("999 123-45-67")
        .await?;
    e2e::click(&root, "button[type=submit]").await?;
    assert_eq!(browser.wait_for_final_state().await?, "succeeded");
    browser.screenshot("mobile-3-succeeded").await?;

    // Closing gives the launcher back.
    e2e::click(&root, ".dialog button.close").await?;
    browser
        .wait_for(&format!(
            "{}.querySelector('.launcher').getClientRects().length > 0",
            e2e::SHADOW
        ))
        .await?;

    browser.close().await?;
    demo.shutdown.cancel();
    Ok(())
}
