//! Proactive invitations (README, "Invitations"), in headless Chromium on a
//! page 5000 px tall (`www/test/invite.html`): the pointer leaving through
//! the top of the viewport shows the teaser once; scrolling to 60% of the
//! page invites at 50% and not at 70%; the time on the page and the
//! inactivity invite, with the page's clock moved by Chrome's virtual time
//! (no test waits a minute); a dismissed teaser never returns in the visit,
//! and under `privacy = "strict"` (nothing stored) in the page view only,
//! with the page's `data-invite-*` over the site's settings; `/checkout`
//! (a `never` path) never shows one, nor a closed company unless
//! `when_closed`; the keyboard alone reaches and accepts
//! it, and focus is never taken from the page; the page's `invite()` and
//! its events. axe-core finds no serious or critical violation with the
//! teaser shown; screenshots on a desktop and at 390 px go to
//! `tests/output/invite-*.png`. Destroying the widget leaves no listener
//! or timer of the triggers behind.

use anyhow::Context;
use e2e::{Browser, SHADOW, start_demo_with};
use fantoccini::key::Key;
use proxy::demo::Demo;
use serde_json::{Value, json};

/// Waits until the teaser has slid in (its animation done), for
/// screenshots and contrast checks of its final look.
async fn settled(browser: &Browser) -> anyhow::Result<()> {
    browser
        .wait_for(&format!(
            "{SHADOW}.querySelector('.teaser.on') && {SHADOW}.querySelector('.teaser.on').getAnimations().length === 0"
        ))
        .await?;
    Ok(())
}

/// JS: the teaser, while it shows.
fn teaser_shown() -> String {
    format!("{SHADOW}.querySelector('.teaser.on')")
}

/// The demo with `invite` as the site's `[sites.demo.invite]` (an inline table).
async fn demo_inviting(store: &tempfile::TempDir, invite: &str) -> anyhow::Result<Demo> {
    start_demo_with(store, 0.01, &format!("invite = {{ {invite} }}"), None).await
}

/// Loads the long page (`path`: another path on the demo's page server,
/// which serves the demo page there), waits for the widget, and records
/// the invitations' events (through the page's API) and a `dataLayer`.
async fn open_page(browser: &Browser, url: &str) -> anyhow::Result<()> {
    browser.client.goto(url).await?;
    browser.wait_for_widget().await?;
    browser
        .eval(
            "window.dataLayer = []; window.__events = [];
             ['invited', 'invite_accepted', 'invite_dismissed', 'opened'].forEach(e =>
               CallbackWidget.on(e, d => window.__events.push(e + ':' + (d.trigger || ''))));",
        )
        .await?;
    Ok(())
}

/// The events recorded by [`open_page`], as `name:trigger`.
async fn events(browser: &Browser) -> anyhow::Result<Vec<String>> {
    Ok(serde_json::from_value(
        browser.eval("return window.__events").await?,
    )?)
}

/// Lets the page run `frames` animation frames (so that an event it was
/// given has been handled, and a teaser it asked for would show).
async fn let_frames_pass(browser: &Browser, frames: u32) -> anyhow::Result<()> {
    browser.eval("window.__frames = 0").await?;
    browser
        .wait_for(&format!("++window.__frames > {frames}"))
        .await?;
    Ok(())
}

/// The mouse moves from the middle of the page up and out through its top
/// edge (the DevTools protocol's `Input.dispatchMouseEvent`, a trusted
/// pointer, not a script's event): Chrome fires `mouseout` with no element
/// to go to, above the viewport.
async fn leave_through_the_top(browser: &Browser) -> anyhow::Result<()> {
    for y in [300, 100, 2, -1] {
        browser
            .cdp(
                "Input.dispatchMouseEvent",
                json!({"type": "mouseMoved", "x": 640, "y": y}),
            )
            .await?;
    }
    Ok(())
}

/// Scrolls so that `share` of the page has been seen (its top to the
/// viewport's bottom), and lets the scroll be handled.
async fn scroll_to(browser: &Browser, share: f64) -> anyhow::Result<()> {
    browser
        .eval(&format!(
            "const e = document.documentElement;
             window.scrollTo(0, {share} * e.scrollHeight - innerHeight);"
        ))
        .await?;
    let_frames_pass(browser, 5).await
}

/// A step of [`invitations`].
async fn the_pointer_leaving_through_the_top_invites_once_and_a_no_is_kept_for_the_visit()
-> anyhow::Result<()> {
    let store = tempfile::tempdir()?;
    let demo = demo_inviting(&store, "exit_seconds = 0").await?;
    let browser = Browser::start().await?;
    let page = format!("{}test/invite.html", demo.page_url);
    open_page(&browser, &page).await?;

    // Drawn at mount (the site invites), empty: its live region waits.
    let live = browser
        .in_widget("const p = root.querySelector('.teaser p'); return [p.getAttribute('aria-live'), p.textContent]")
        .await?;
    assert_eq!(live, json!(["polite", ""]));
    assert_eq!(
        browser
            .eval(&format!("return !!{}", teaser_shown()))
            .await?,
        false
    );

    // A pointer moving between the page's elements is not leaving.
    browser
        .eval("document.body.dispatchEvent(new MouseEvent('mouseout', { bubbles: true, clientY: 200, relatedTarget: document.body }))")
        .await?;
    let_frames_pass(&browser, 3).await?;
    assert_eq!(events(&browser).await?, Vec::<String>::new());

    // Focus on the page's link stays there when the teaser shows.
    browser.eval("document.querySelector('a').focus()").await?;
    leave_through_the_top(&browser).await?;
    browser.wait_for(&teaser_shown()).await?;
    assert_eq!(
        browser.widget_text(".teaser p").await?,
        "Want us to call you back in 30 seconds?"
    );
    assert_eq!(
        browser
            .eval("return document.activeElement.tagName")
            .await?,
        "A",
        "focus stays on the page"
    );
    assert_eq!(events(&browser).await?, ["invited:exit_intent"]);
    let pushed = browser
        .eval("return window.dataLayer.map(e => e.event + ':' + e.callbackWidget.trigger)")
        .await?;
    assert_eq!(pushed, json!(["callback_invited:exit_intent"]));
    settled(&browser).await?;
    browser.screenshot("invite-1-desktop").await?;
    check_accessibility(&browser).await?;

    // Once per page view: leaving again changes nothing.
    click_teaser_close(&browser).await?;
    leave_through_the_top(&browser).await?;
    let_frames_pass(&browser, 3).await?;
    assert_eq!(
        events(&browser).await?,
        ["invited:exit_intent", "invite_dismissed:exit_intent"]
    );
    assert_eq!(
        browser
            .eval(&format!("return !!{}", teaser_shown()))
            .await?,
        false
    );

    // "No" holds for the visit: the next page of the tab never invites.
    open_page(&browser, &page).await?;
    leave_through_the_top(&browser).await?;
    browser.eval("CallbackWidget.invite()").await?;
    let_frames_pass(&browser, 10).await?;
    assert_eq!(
        events(&browser).await?,
        Vec::<String>::new(),
        "not again in the visit"
    );
    assert_eq!(
        browser
            .eval(&format!("return !!{}", teaser_shown()))
            .await?,
        false
    );

    // Destroyed, the widget leaves no listener or timer of its triggers.
    browser.eval("CallbackWidget.destroy()").await?;
    let leftovers = browser.eval("return window.__probe.leftovers()").await?;
    assert_eq!(
        leftovers,
        json!({"listeners": [], "timers": [], "observers": 0, "openStreams": 0, "hosts": 0}),
        "destroy() leaves nothing behind"
    );
    assert_eq!(browser.page_errors().await?, Vec::<String>::new());
    browser.close().await?;
    demo.shutdown.cancel();
    Ok(())
}

/// Runs axe-core (`Browser::serious_accessibility_violations`) on the page and fails on
/// any serious or critical violation.
async fn check_accessibility(browser: &Browser) -> anyhow::Result<()> {
    let violations = browser.serious_accessibility_violations().await?;
    assert!(
        violations.is_empty(),
        "axe-core with the teaser shown: {violations:?}"
    );
    Ok(())
}

/// Clicks the teaser's close button, as the visitor does.
async fn click_teaser_close(browser: &Browser) -> anyhow::Result<()> {
    let root = browser.widget_root().await?;
    e2e::click(&root, "[data-act=invite-no]").await
}

/// A step of [`invitations`].
async fn scrolling_to_60_percent_invites_at_50_and_not_at_70() -> anyhow::Result<()> {
    let browser = Browser::start().await?;
    for (percent, invites) in [(50, true), (70, false)] {
        let store = tempfile::tempdir()?;
        let demo = demo_inviting(&store, &format!("scroll_percent = {percent}")).await?;
        open_page(&browser, &format!("{}test/invite.html", demo.page_url)).await?;
        scroll_to(&browser, 0.6).await?;
        if invites {
            browser.wait_for(&teaser_shown()).await?;
            assert_eq!(events(&browser).await?, ["invited:scroll"]);
        } else {
            assert_eq!(
                events(&browser).await?,
                Vec::<String>::new(),
                "60% < {percent}%"
            );
            // Past it, it does.
            scroll_to(&browser, 0.8).await?;
            browser.wait_for(&teaser_shown()).await?;
            assert_eq!(events(&browser).await?, ["invited:scroll"]);
        }
        demo.shutdown.cancel();
    }
    browser.close().await?;
    Ok(())
}

/// A step of [`invitations`].
async fn a_minute_on_the_page_invites_with_the_pages_clock_moved() -> anyhow::Result<()> {
    with_the_clock_moved("time_seconds = 60", "time", 60_000.0).await
}

/// A step of [`invitations`].
async fn half_a_minute_without_input_invites_with_the_pages_clock_moved() -> anyhow::Result<()> {
    with_the_clock_moved("idle_seconds = 30", "idle", 30_000.0).await
}

/// With the site's `invite`, the teaser does not show at first; with the
/// page's clock moved `ms` ahead, it shows, invited by `trigger`, no sooner.
async fn with_the_clock_moved(invite: &str, trigger: &str, ms: f64) -> anyhow::Result<()> {
    let store = tempfile::tempdir()?;
    let demo = demo_inviting(&store, invite).await?;
    let browser = Browser::start().await?;
    open_page(&browser, &format!("{}test/invite.html", demo.page_url)).await?;
    let_frames_pass(&browser, 3).await?;
    assert_eq!(events(&browser).await?, Vec::<String>::new(), "not yet");
    // Chrome's virtual time: the page's timers and clocks run ahead as
    // fast as it can, instead of the test waiting.
    browser
        .cdp(
            "Emulation.setVirtualTimePolicy",
            json!({"policy": "advance", "budget": ms + 1_000.0}),
        )
        .await?;
    // Waited for on the page's timers, which run in its virtual time
    // (animation frames may not).
    browser
        .client
        .execute_async(
            &format!(
                "const done = arguments[arguments.length - 1];
                 const check = () => {{ if ({}) done(true); else setTimeout(check, 100); }};
                 check();",
                teaser_shown()
            ),
            vec![],
        )
        .await?;
    assert_eq!(events(&browser).await?, [format!("invited:{trigger}")]);
    let on_page = browser.eval("return performance.now()").await?;
    assert!(
        on_page.as_f64().is_some_and(|now| now >= ms),
        "shown after {ms} ms on the page, at {on_page} ms"
    );
    browser.close().await?;
    demo.shutdown.cancel();
    Ok(())
}

/// A step of [`invitations`].
async fn under_strict_privacy_a_no_lasts_the_page_view_and_the_pages_settings_win()
-> anyhow::Result<()> {
    let store = tempfile::tempdir()?;
    // The site waits an hour; the page's data-invite-exit_seconds="0" wins.
    let demo = demo_inviting(&store, "exit_seconds = 3600").await?;
    let browser = Browser::start().await?;
    let page = format!("{}test/invite-strict.html", demo.page_url);
    open_page(&browser, &page).await?;
    leave_through_the_top(&browser).await?;
    browser.wait_for(&teaser_shown()).await?;
    click_teaser_close(&browser).await?;
    browser.wait_for(&format!("!{}", teaser_shown())).await?;
    assert_eq!(
        events(&browser).await?,
        ["invited:exit_intent", "invite_dismissed:exit_intent"]
    );
    assert_eq!(
        browser
            .eval("return sessionStorage.getItem('callback-widget.invite')")
            .await?,
        Value::Null,
        "nothing stored"
    );
    // So the next page view may invite again.
    open_page(&browser, &page).await?;
    leave_through_the_top(&browser).await?;
    browser.wait_for(&teaser_shown()).await?;
    assert_eq!(events(&browser).await?, ["invited:exit_intent"]);
    browser.close().await?;
    demo.shutdown.cancel();
    Ok(())
}

/// A step of [`invitations`].
async fn while_the_company_is_closed_only_when_closed_invites() -> anyhow::Result<()> {
    // The company, in UTC, opens for an hour starting two hours from now.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let opens = (now / 3_600 + 2) % 24;
    let hours = format!("opening_hours = \"{opens:02}00{opens:02}59\"\nutc = \"UTC+00:00\"\n");
    for when_closed in [false, true] {
        let store = tempfile::tempdir()?;
        let demo = start_demo_with(
            &store,
            0.01,
            &format!("{hours}invite = {{ exit_seconds = 0, when_closed = {when_closed} }}"),
            None,
        )
        .await?;
        let browser = Browser::start().await?;
        open_page(&browser, &format!("{}test/invite.html", demo.page_url)).await?;
        leave_through_the_top(&browser).await?;
        if when_closed {
            browser.wait_for(&teaser_shown()).await?;
            assert_eq!(events(&browser).await?, ["invited:exit_intent"]);
        } else {
            browser.eval("CallbackWidget.invite()").await?;
            let_frames_pass(&browser, 10).await?;
            assert_eq!(events(&browser).await?, Vec::<String>::new(), "closed");
            browser.eval("CallbackWidget.invite({force: true})").await?;
            browser.wait_for(&teaser_shown()).await?;
            assert_eq!(events(&browser).await?, ["invited:api"]);
        }
        browser.close().await?;
        demo.shutdown.cancel();
    }
    Ok(())
}

/// A step of [`invitations`].
async fn checkout_never_invites_unless_the_page_forces_it() -> anyhow::Result<()> {
    let store = tempfile::tempdir()?;
    let demo = demo_inviting(
        &store,
        "exit_seconds = 0, scroll_percent = 1, never = [\"/checkout*\"]",
    )
    .await?;
    let browser = Browser::start().await?;
    // The demo's page server answers every other path with the demo page.
    open_page(&browser, &format!("{}checkout", demo.page_url)).await?;
    leave_through_the_top(&browser).await?;
    browser.eval("CallbackWidget.invite()").await?;
    let_frames_pass(&browser, 10).await?;
    assert_eq!(
        events(&browser).await?,
        Vec::<String>::new(),
        "never on /checkout"
    );
    browser.eval("CallbackWidget.invite({force: true})").await?;
    browser.wait_for(&teaser_shown()).await?;
    assert_eq!(
        events(&browser).await?,
        ["invited:api"],
        "the page's force wins"
    );
    browser.close().await?;
    demo.shutdown.cancel();
    Ok(())
}

/// A step of [`invitations`].
async fn the_keyboard_alone_reaches_and_accepts_the_teaser_without_losing_focus()
-> anyhow::Result<()> {
    let store = tempfile::tempdir()?;
    let demo = start_demo_with(&store, 0.01, "", None).await?;
    let browser = Browser::start().await?;
    open_page(&browser, &format!("{}test/invite.html", demo.page_url)).await?;

    // The visitor is on the page's link when the page invites.
    browser.press(Key::Tab, false).await?;
    assert_eq!(
        browser
            .eval("return document.activeElement.tagName")
            .await?,
        "A"
    );
    browser.eval("CallbackWidget.invite()").await?;
    browser.wait_for(&teaser_shown()).await?;
    assert_eq!(
        browser
            .eval("return document.activeElement.tagName")
            .await?,
        "A",
        "focus is not taken"
    );

    // Tab: the page's button, the launcher, then "Yes, call me".
    let mut tabs = 0;
    while browser.focused().await? != "cbw-invite-yes" {
        anyhow::ensure!(tabs < 6, "Tab never reached the teaser");
        browser.press(Key::Tab, false).await?;
        tabs += 1;
    }
    assert_eq!(tabs, 3, "button, launcher, the teaser's yes");
    settled(&browser).await?;
    browser.screenshot("invite-2-keyboard").await?;
    browser.press(Key::Enter, false).await?;
    browser
        .wait_for(&format!(
            "{SHADOW}.activeElement && {SHADOW}.activeElement.id === 'cbw-phone'"
        ))
        .await?;
    assert_eq!(
        events(&browser).await?,
        ["invited:api", "invite_accepted:api", "opened:"]
    );

    // Closed again: the page view has had its invitation, and the dialog
    // just opened; only the page's force shows one, and Escape closes it,
    // focus staying where it was.
    browser.press(Key::Escape, false).await?;
    browser
        .wait_for(&format!(
            "{SHADOW}.activeElement && {SHADOW}.activeElement.id === 'cbw-launcher'"
        ))
        .await?;
    browser.eval("CallbackWidget.invite()").await?;
    let_frames_pass(&browser, 10).await?;
    assert_eq!(
        browser
            .eval(&format!("return !!{}", teaser_shown()))
            .await?,
        false
    );
    browser.eval("CallbackWidget.invite({force: true})").await?;
    browser.wait_for(&teaser_shown()).await?;
    browser.press(Key::Escape, false).await?;
    browser.wait_for(&format!("!{}", teaser_shown())).await?;
    assert_eq!(browser.focused().await?, "cbw-launcher");
    assert_eq!(
        events(&browser).await?[3..],
        ["invited:api", "invite_dismissed:api"]
    );
    assert_eq!(browser.page_errors().await?, Vec::<String>::new());
    browser.close().await?;
    demo.shutdown.cancel();
    Ok(())
}

/// A step of [`invitations`].
async fn on_a_phone_a_fast_scroll_back_up_invites_and_the_teaser_fits_the_screen()
-> anyhow::Result<()> {
    let store = tempfile::tempdir()?;
    let demo = demo_inviting(
        &store,
        "exit_seconds = 0, touch_exit = true, scroll_percent = 90",
    )
    .await?;
    let browser = Browser::start_mobile().await?;
    open_page(&browser, &format!("{}test/invite.html", demo.page_url)).await?;
    // Reading down the page (not yet 90% of it) invites nobody...
    for share in [0.3, 0.45, 0.6] {
        scroll_to(&browser, share).await?;
    }
    assert_eq!(events(&browser).await?, Vec::<String>::new(), "reading");
    // ...heading back up for the address bar, fast, does.
    browser.eval("window.scrollBy(0, -innerHeight)").await?;
    browser.wait_for(&teaser_shown()).await?;
    assert_eq!(events(&browser).await?, ["invited:exit_intent"]);
    settled(&browser).await?;
    let placed = browser
        .in_widget(
            "const b = root.querySelector('.teaser').getBoundingClientRect();
             return [b.left >= 0, b.right <= innerWidth, b.bottom <= innerHeight, innerWidth];",
        )
        .await?;
    assert_eq!(placed, json!([true, true, true, 390]), "inside the screen");
    browser.screenshot("invite-3-390px").await?;
    browser.close().await?;
    demo.shutdown.cancel();
    Ok(())
}

/// A step of [`invitations`]: on a desktop (no coarse pointer), a fast
/// scroll back up is not the exit intent, even with `touch_exit`.
async fn on_a_desktop_a_fast_scroll_back_up_does_not_invite() -> anyhow::Result<()> {
    let store = tempfile::tempdir()?;
    let demo = demo_inviting(&store, "exit_seconds = 0, touch_exit = true").await?;
    let browser = Browser::start().await?;
    open_page(&browser, &format!("{}test/invite.html", demo.page_url)).await?;
    for share in [0.3, 0.45, 0.6] {
        scroll_to(&browser, share).await?;
    }
    browser.eval("window.scrollBy(0, -innerHeight)").await?;
    let_frames_pass(&browser, 10).await?;
    assert_eq!(events(&browser).await?, Vec::<String>::new());
    // The pointer leaving through the top still does.
    leave_through_the_top(&browser).await?;
    browser.wait_for(&teaser_shown()).await?;
    assert_eq!(events(&browser).await?, ["invited:exit_intent"]);
    browser.close().await?;
    demo.shutdown.cancel();
    Ok(())
}

/// One test, its steps one after another, so that two browsers never
/// compete for the CPU (README, "Run the tests").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations() -> anyhow::Result<()> {
    the_pointer_leaving_through_the_top_invites_once_and_a_no_is_kept_for_the_visit()
        .await
        .context(
            "the pointer leaving through the top invites once and a no is kept for the visit",
        )?;
    scrolling_to_60_percent_invites_at_50_and_not_at_70()
        .await
        .context("scrolling to 60 percent invites at 50 and not at 70")?;
    a_minute_on_the_page_invites_with_the_pages_clock_moved()
        .await
        .context("a minute on the page invites with the pages clock moved")?;
    half_a_minute_without_input_invites_with_the_pages_clock_moved()
        .await
        .context("half a minute without input invites with the pages clock moved")?;
    under_strict_privacy_a_no_lasts_the_page_view_and_the_pages_settings_win()
        .await
        .context("under strict privacy a no lasts the page view and the pages settings win")?;
    while_the_company_is_closed_only_when_closed_invites()
        .await
        .context("while the company is closed only when closed invites")?;
    checkout_never_invites_unless_the_page_forces_it()
        .await
        .context("checkout never invites unless the page forces it")?;
    the_keyboard_alone_reaches_and_accepts_the_teaser_without_losing_focus()
        .await
        .context("the keyboard alone reaches and accepts the teaser without losing focus")?;
    on_a_phone_a_fast_scroll_back_up_invites_and_the_teaser_fits_the_screen()
        .await
        .context("on a phone a fast scroll back up invites and the teaser fits the screen")?;
    on_a_desktop_a_fast_scroll_back_up_does_not_invite()
        .await
        .context("on a desktop a fast scroll back up does not invite")?;
    Ok(())
}
