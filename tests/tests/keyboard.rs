//! A visitor who uses the keyboard alone: Tab to the launcher, Enter to
//! open (focus moves to the phone field), Tab through the form (and not out
//! of it), Space for the consent box, Enter to send, then Escape to close,
//! with focus back on the launcher.

use e2e::{Browser, start_demo_with};
use fantoccini::key::Key;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_flow_works_with_the_keyboard_alone() -> anyhow::Result<()> {
    let store = tempfile::tempdir()?;
    let demo = start_demo_with(
        &store,
        0.01,
        "consent = { version = \"1\", required = true }",
        None,
    )
    .await?;
    let browser = Browser::start().await?;
    browser
        .client
        .goto(&format!("{}test/plain.html", demo.page_url))
        .await?;
    browser.wait_for_widget().await?;

    // The page's link and button come first; the launcher after them.
    let mut tabs = 0;
    while browser.focused().await? != "cbw-launcher" {
        anyhow::ensure!(tabs < 10, "Tab never reached the launcher");
        browser.press(Key::Tab, false).await?;
        tabs += 1;
    }
    assert_eq!(tabs, 3, "link, button, launcher");
    browser.screenshot("keyboard-1-launcher-focused").await?;

    browser.press(Key::Enter, false).await?;
    browser.wait_for_state("form").await?;
    browser
        .wait_for(&format!(
            "{}.activeElement && {}.activeElement.id === 'cbw-phone'",
            e2e::SHADOW,
            e2e::SHADOW
        ))
        .await?;
    browser.type_text("999 123-45-67").await?;

    // Shift+Tab from the phone field reaches the close button, and once
    // more wraps to the last control: focus stays in the dialog.
    browser.press(Key::Tab, true).await?;
    assert_eq!(browser.focused().await?, "close");
    browser.press(Key::Tab, true).await?;
    let last = browser
        .in_widget("return root.activeElement.getAttribute('type')")
        .await?;
    assert_eq!(last, "submit", "wrapped to the last control");
    browser.press(Key::Tab, false).await?;
    assert_eq!(
        browser.focused().await?,
        "close",
        "and forward to the first"
    );

    // Forward through the form: phone, "now", consent.
    browser.press(Key::Tab, false).await?;
    assert_eq!(browser.focused().await?, "cbw-phone");
    browser.press(Key::Tab, false).await?;
    let choice = browser
        .in_widget("return root.activeElement.name + '=' + root.activeElement.value")
        .await?;
    assert_eq!(choice, "when=now");
    browser.press(Key::Tab, false).await?;
    assert_eq!(browser.focused().await?, "cbw-consent");
    browser.press(' ', false).await?;
    browser.screenshot("keyboard-2-form").await?;
    browser.press(Key::Tab, false).await?;
    let submit = browser
        .in_widget("return root.activeElement.getAttribute('type')")
        .await?;
    assert_eq!(submit, "submit");
    browser.press(Key::Enter, false).await?;

    // Focus follows the form away, to the status, which is announced.
    assert_eq!(browser.wait_for_final_state().await?, "succeeded");
    assert_eq!(browser.focused().await?, "cbw-status");
    browser.screenshot("keyboard-3-succeeded").await?;

    // Tab and Shift+Tab from the status (not a control) stay in the dialog.
    let in_dialog = "const a = root.activeElement; return !!a && root.querySelector('.dialog').contains(a) && a.className";
    browser.press(Key::Tab, false).await?;
    assert_eq!(
        browser.in_widget(in_dialog).await?,
        "close",
        "Tab from the status"
    );
    browser
        .in_widget("root.querySelector('.status').focus()")
        .await?;
    browser.press(Key::Tab, true).await?;
    assert_ne!(
        browser.in_widget(in_dialog).await?,
        false,
        "Shift+Tab from the status"
    );

    browser.press(Key::Escape, false).await?;
    browser
        .wait_for(&format!(
            "{}.querySelector('.launcher').getAttribute('aria-expanded') === 'false'",
            e2e::SHADOW
        ))
        .await?;
    assert_eq!(browser.focused().await?, "cbw-launcher", "focus returns");
    let ordered = demo
        .sandbox
        .requests()
        .into_iter()
        .any(|r| r.method == "orderCall");
    assert!(ordered, "the call was ordered");
    assert_eq!(
        browser.page_errors().await?,
        Vec::<String>::new(),
        "no error reached the page"
    );

    browser.close().await?;
    demo.shutdown.cancel();
    Ok(())
}
