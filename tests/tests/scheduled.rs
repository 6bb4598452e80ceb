//! The company is closed (its opening hours are set to start two hours after
//! the proxy's pinned clock): the widget offers no "now", lists the coming
//! slots in the visitor's own time, and the visitor schedules a call for one,
//! with an office and the site's consent.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use e2e::{Browser, SHADOW, start_demo_with};
use fantoccini::Locator;
use proxy::clock::FixedClock;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_is_scheduled_for_a_slot_while_the_company_is_closed() -> anyhow::Result<()> {
    // The proxy's clock is pinned to now: the slots are then in CallKeeper's
    // future, so its sandbox schedules the call rather than dialling. (The
    // pinned clock drives the proxy's workers too; pinned to the present, the
    // lead is sent at once.) The company, in UTC+3, opens for an hour
    // starting two hours from now.
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let opens = (now / 3_600 + 3 + 2) % 24;
    let store = tempfile::tempdir()?;
    let demo = start_demo_with(
        &store,
        0.01,
        &format!(
            "opening_hours = \"{opens:02}00{opens:02}59\"\nutc = \"UTC+03:00\"\n\
             offices = [\"Moscow\", \"St Petersburg\"]\n\
             consent = {{ version = \"2024-05\", link = \"https://example.com/privacy\", required = true }}"
        ),
        Some(Arc::new(FixedClock::at_unix(now))),
    )
    .await?;
    let browser = Browser::start().await?;
    let root = browser
        .widget_on(&format!("{}test/plain.html", demo.page_url))
        .await?;
    e2e::click(&root, "button.launcher").await?;

    // The slots arrive: no "now", why not, and the times.
    browser
        .wait_for(&format!(
            "{SHADOW}.querySelector('#cbw-slot').options.length > 1"
        ))
        .await?;
    let shown = browser
        .in_widget(
            "const visible = s => root.querySelector(s).getClientRects().length > 0;
             return { now: visible('.choice'), closed: visible('.closed'), slots: visible('#cbw-slot'),
                      offices: root.querySelector('#cbw-office').options.length,
                      consent: visible('#cbw-consent'), open: root.querySelector('.dialog').dataset.open }",
        )
        .await?;
    assert_eq!(
        shown,
        serde_json::json!({"now": false, "closed": true, "slots": true, "offices": 2, "consent": true, "open": "0"})
    );
    assert_eq!(
        browser.widget_text(".closed").await?,
        "We're closed right now. Pick a time and we'll call you then."
    );
    browser.screenshot("scheduled-1-closed").await?;

    // The second slot is half an hour after opening, written in the
    // browser's own zone and language by Intl.
    let (start, label, expected) = {
        let option = browser
            .in_widget(
                "const o = root.querySelector('#cbw-slot').options[1];
                 const start = Number(o.value);
                 return [start, o.textContent, new Date(start * 1000).toLocaleString('en',
                   { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' })];",
            )
            .await?;
        (
            option[0].as_i64().unwrap_or_default(),
            option[1].as_str().unwrap_or_default().to_owned(),
            option[2].as_str().unwrap_or_default().to_owned(),
        )
    };
    // Every slot is ahead, in order, and inside the opening hour there.
    let starts: Vec<i64> = serde_json::from_value(
        browser
            .in_widget(
                "return [...root.querySelector('#cbw-slot').options].map(o => Number(o.value))",
            )
            .await?,
    )?;
    assert!(
        starts.is_sorted() && starts[0] > i64::try_from(now)?,
        "{starts:?}"
    );
    for slot in &starts {
        let (hour, minute) = ((slot / 3_600 + 3) % 24, slot % 3_600 / 60);
        assert!(
            hour == i64::try_from(opens)? && (minute == 0 || minute == 30),
            "{slot} is {hour}:{minute} there: {starts:?}"
        );
    }
    assert_eq!(start, starts[1]);
    assert_eq!(label, expected);

    // Pick the second slot, the first office, tick the consent, send.
    root.find(Locator::Css("#cbw-slot"))
        .await?
        .select_by_index(1)
        .await?;
    root.find(Locator::Css("#cbw-office"))
        .await?
        .select_by_index(0)
        .await?;
    root.find(Locator::Css("#cbw-phone"))
        .await?
        .send_keys("999 123-45-67")
        .await?;
    e2e::click(&root, "#cbw-consent").await?;
    browser.screenshot("scheduled-2-picked").await?;
    e2e::click(&root, "button[type=submit]").await?;
    browser.wait_for_state("scheduled").await?;
    assert_eq!(
        browser.widget_text(".status").await?,
        format!("We'll call you on {label}")
    );
    browser.screenshot("scheduled-3-scheduled").await?;

    let order = demo
        .sandbox
        .requests()
        .into_iter()
        .find(|r| r.method == "orderCall")
        .expect("the call was ordered");
    assert_eq!(
        order.param("time_to_call"),
        Some(start.to_string().as_str())
    );
    assert_eq!(order.param("manager"), Some("0"), "the office chosen");

    browser.close().await?;
    demo.shutdown.cancel();
    Ok(())
}
