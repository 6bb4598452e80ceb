//! The owners' console in a real browser (issue 15): an owner logs in, sees
//! the lead a visitor ordered a moment ago on the demo page with its
//! timeline, reveals its number, downloads the CSV and copies the install
//! snippet; a callback ordered from the install page's live preview of a
//! site whose CallKeeper widget is disabled halts, is marked as a test, and
//! is resent from the console. axe-core (npm, run in the page) finds no
//! serious or critical violation on any page, and each page is
//! screenshotted into `tests/output/console-*.png`.

use callkeeper::sandbox::{DEMO_DISABLED_WHASH, DEMO_UNIQUE};
use e2e::{Browser, start_demo_with};
use fantoccini::Locator;
use serde_json::Value;

const PASSWORD: &str = "a long console password";

/// Runs axe-core on the current page and fails on any serious or critical
/// violation; then saves the screenshot `console-NAME`.
async fn check_page(browser: &Browser, name: &str) -> anyhow::Result<()> {
    browser
        .wait_for("document.readyState === 'complete'")
        .await?;
    let violations = browser.serious_accessibility_violations().await?;
    assert!(
        violations.is_empty(),
        "axe-core on the {name} page: {violations:?}"
    );
    browser.screenshot(&format!("console-{name}")).await?;
    Ok(())
}

/// Fetches `url` in the page (with the owner's cookie) until its text holds
/// `needle`: the browser waits, between tries, for an animation frame.
async fn wait_for_text(browser: &Browser, url: &str, needle: &str) -> anyhow::Result<()> {
    browser
        .client
        .execute_async(
            "const [url, needle, done] = arguments;
             const poll = () => fetch(url).then(r => r.text()).then(t =>
               t.includes(needle) ? done(true) : requestAnimationFrame(poll));
             poll();",
            vec![Value::from(url), Value::from(needle)],
        )
        .await
        .map_err(|e| anyhow::anyhow!("waiting for {needle:?} at {url}: {e}"))?;
    Ok(())
}

/// Orders a callback for `digits` (after the +7 the field starts with) in
/// the widget of the current page (or frame).
async fn order_in_widget(browser: &Browser, digits: &str) -> anyhow::Result<()> {
    browser.wait_for_widget().await?;
    let root = browser.widget_root().await?;
    e2e::click(&root, "button.launcher").await?;
    root.find(Locator::Css("input[type=tel]"))
        .await?
        .send_keys(digits)
        .await?;
    e2e::click(&root, "form button[type=submit]").await?;
    Ok(())
}

/// Waits for `selector` in the page after a click that navigates: each try
/// is a WebDriver command of its own, since a script waiting in the old page
/// (`Browser::wait_for`) dies with it when the new one comes.
async fn arrived(browser: &Browser, selector: &str) -> anyhow::Result<()> {
    browser
        .client
        .wait()
        .at_most(std::time::Duration::from_secs(30))
        .for_element(Locator::Css(selector))
        .await
        .map_err(|e| anyhow::anyhow!("waiting for the page with `{selector}`: {e}"))?;
    Ok(())
}

async fn click(browser: &Browser, selector: &str) -> anyhow::Result<()> {
    browser
        .client
        .find(Locator::Css(selector))
        .await?
        .click()
        .await?;
    Ok(())
}

async fn text(browser: &Browser, script: &str) -> anyhow::Result<String> {
    Ok(browser
        .eval(script)
        .await?
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_follows_leads_resends_a_halted_one_and_installs_from_the_console()
-> anyhow::Result<()> {
    let store = tempfile::tempdir()?;
    let hash = proxy::console::hash_password(PASSWORD)?;
    // A second site whose CallKeeper widget is disabled (710: a
    // configuration problem, so its leads halt), and a login even on loopback.
    let extra = format!(
        "\n[sites.closed]\nallowed_origins = [\"https://closed.example\"]\nupstream = \"{{{{SANDBOX_URL}}}}\"\n\
         unique = \"{DEMO_UNIQUE}\"\napi_key_env = \"DEMO_KEY\"\nwhash = \"{DEMO_DISABLED_WHASH}\"\n\
         display_name = \"closed.example\"\n\n[console]\nrequire_login = true\n\n[[console.accounts]]\n\
         name = \"anna\"\npassword_hash = \"{hash}\"\nsites = [\"demo\", \"closed\"]\n"
    );
    let demo = start_demo_with(&store, 0.05, &extra, None).await?;
    let browser = Browser::start().await?;
    let client = &browser.client;
    let console = format!("{}/console/", demo.admin_url);

    // A visitor orders on the demo page and the call succeeds.
    client.goto(&demo.page_url).await?;
    order_in_widget(&browser, "(999) 765-43-21").await?;
    assert_eq!(browser.wait_for_final_state().await?, "succeeded");

    // The console asks for a login first.
    client.goto(&console).await?;
    browser
        .wait_for("location.pathname === '/console/login'")
        .await?;
    check_page(&browser, "1-login").await?;
    client
        .find(Locator::Css("input#name"))
        .await?
        .send_keys("anna")
        .await?;
    client
        .find(Locator::Css("input#password"))
        .await?
        .send_keys(PASSWORD)
        .await?;
    click(&browser, "form button[type=submit]").await?;
    arrived(&browser, "header nav a[href='/console/leads']").await?;
    browser
        .wait_for("location.pathname === '/console/'")
        .await?;
    check_page(&browser, "2-overview").await?;
    let ordered = text(
        &browser,
        "return document.querySelector('#site-demo').closest('section').querySelector('[data-count=ordered]').textContent",
    )
    .await?;
    assert_eq!(ordered, "1", "today's lead is counted");

    // The lead is in the table, masked; its page has the whole timeline.
    click(&browser, "header nav a[href='/console/leads']").await?;
    arrived(&browser, "tr[data-state=succeeded]").await?;
    check_page(&browser, "3-leads").await?;
    let row = text(
        &browser,
        "return document.querySelector('tr[data-state=succeeded]').textContent",
    )
    .await?;
    assert!(
        row.contains("4321") && !row.contains("9997654321"),
        "masked: {row}"
    );
    click(&browser, "tr[data-state=succeeded] a").await?;
    arrived(&browser, "table.timeline").await?;
    let timeline: Vec<String> = serde_json::from_value(
        browser
            .eval("return [...document.querySelectorAll('table.timeline tbody tr')].map(r => r.dataset.state)")
            .await?,
    )?;
    for state in ["received", "ordered", "in_progress", "succeeded"] {
        assert!(
            timeline.iter().any(|s| s == state),
            "{state} in the timeline: {timeline:?}"
        );
    }
    assert_eq!(timeline.first().map(String::as_str), Some("received"));
    assert_eq!(timeline.last().map(String::as_str), Some("succeeded"));
    let capture = text(
        &browser,
        "return document.querySelector('dl.capture').textContent",
    )
    .await?;
    assert!(
        capture.contains(&demo.page_url),
        "the page it came from: {capture}"
    );
    check_page(&browser, "4-lead").await?;

    // Reveal the number (a POST with the CSRF token; the server logs it).
    click(&browser, "form[action$='/reveal'] button").await?;
    arrived(&browser, "[data-revealed]").await?;
    assert_eq!(
        text(
            &browser,
            "return document.querySelector('[data-revealed]').textContent"
        )
        .await?,
        "+79997654321"
    );
    check_page(&browser, "5-revealed").await?;

    // The CSV export, as the browser downloads it: the CLI's columns.
    let csv = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const link = document.querySelector('a[href=\"/console/export.csv\"]');
             fetch(link.href).then(r => r.text().then(t => done([r.headers.get('content-disposition'), r.headers.get('content-type'), t])));",
            vec![],
        )
        .await?;
    let csv: (String, String, String) = serde_json::from_value(csv)?;
    assert!(csv.0.starts_with("attachment;"), "{csv:?}");
    assert!(csv.1.starts_with("text/csv"), "{csv:?}");
    assert!(
        csv.2.starts_with("id,site,created_at,state,reason,phone,"),
        "{csv:?}"
    );
    assert!(csv.2.contains(",succeeded,,+79997654321,"), "{csv:?}");

    // The install page: the tag with the public URL, copied; the preview runs the widget.
    client.goto(&format!("{console}sites/demo/install")).await?;
    let snippet = text(
        &browser,
        "return document.getElementById('snippet').textContent",
    )
    .await?;
    assert_eq!(
        snippet,
        format!(
            "<script src=\"{}/widget.js\" data-site=\"demo\" async></script>",
            demo.api_url
        )
    );
    browser
        .cdp(
            "Browser.grantPermissions",
            serde_json::json!({"origin": demo.admin_url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]}),
        )
        .await?;
    click(&browser, "button[data-copy=snippet]").await?;
    browser
        .wait_for("document.querySelector('button[data-copy=snippet]').dataset.done === '1'")
        .await?;
    let copied = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1]; navigator.clipboard.readText().then(done, e => done('error: ' + e));",
            vec![],
        )
        .await?;
    assert_eq!(
        copied.as_str(),
        Some(snippet.as_str()),
        "the clipboard holds the tag"
    );
    browser
        .wait_for("(() => { const d = document.querySelector('iframe.preview').contentDocument; return !!(d && d.querySelector('[data-callback-widget]') && d.querySelector('[data-callback-widget]').shadowRoot.querySelector('.cbw.ready')); })()")
        .await?;
    check_page(&browser, "6-install").await?;

    // Order from the preview of the closed site: its lead halts.
    client
        .goto(&format!("{console}sites/closed/install"))
        .await?;
    browser
        .wait_for("document.querySelector('iframe.preview').contentDocument && document.querySelector('iframe.preview').contentDocument.readyState === 'complete'")
        .await?;
    client.enter_frame(0).await?;
    order_in_widget(&browser, "(999) 111-22-33").await?;
    client.enter_parent_frame().await?;
    wait_for_text(
        &browser,
        "/console/leads?state=halted",
        "data-state=\"halted\"",
    )
    .await?;
    client.goto(&format!("{console}leads?state=halted")).await?;
    check_page(&browser, "7-halted").await?;
    let halted_row = text(
        &browser,
        "return document.querySelector('tr[data-state=halted]').textContent",
    )
    .await?;
    assert!(halted_row.contains("closed"), "{halted_row}");
    assert!(
        halted_row.contains("test"),
        "ordered from the preview: {halted_row}"
    );

    // Resend it, confirmed: back in line, and the proxy orders it again.
    click(&browser, "tr[data-state=halted] a[href$='/resend']").await?;
    arrived(&browser, "form[action$='/resend']").await?;
    check_page(&browser, "8-resend").await?;
    let lead_path = text(
        &browser,
        "return new URL(document.querySelector('form[action$=\"/resend\"]').action).pathname.replace(/\\/resend$/, '')",
    )
    .await?;
    click(&browser, "form[action$='/resend'] button[type=submit]").await?;
    arrived(&browser, ".flash").await?;
    let states: Vec<String> = serde_json::from_value(
        browser
            .eval("return [...document.querySelectorAll('table.timeline tbody tr')].map(r => r.dataset.state)")
            .await?,
    )?;
    let halted_at = states.iter().position(|s| s == "halted");
    assert!(
        halted_at.is_some_and(|at| states[at..].iter().any(|s| s == "queued")),
        "queued again after halting: {states:?}"
    );
    // The sandbox refuses it again (the widget is still disabled): a second
    // orderCall came, and the lead halted a second time.
    let twice = "data-state=\"halted\"";
    browser
        .client
        .execute_async(
            "const [url, needle, done] = arguments;
             const poll = () => fetch(url).then(r => r.text()).then(t =>
               t.split(needle).length > 3 ? done(true) : requestAnimationFrame(poll));
             poll();",
            vec![Value::from(lead_path.clone()), Value::from(twice)],
        )
        .await?;
    let orders = demo
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.method == "orderCall" && r.param("client") == Some("79991112233"))
        .count();
    assert_eq!(orders, 2, "ordered, then ordered again by the resend");
    client
        .goto(&format!("{}{lead_path}", demo.admin_url))
        .await?;
    check_page(&browser, "9-resent").await?;

    // A site's page: the charts drawn by the server and the config check.
    client.goto(&format!("{console}sites/demo")).await?;
    assert!(
        browser
            .eval("return document.querySelectorAll('svg#chart-days rect').length")
            .await?
            .as_u64()
            > Some(0)
    );
    let warnings = text(
        &browser,
        "return document.querySelector('ul.warnings').textContent",
    )
    .await?;
    assert!(
        warnings.contains("sites.demo.opening_hours is not set"),
        "check-config's warning: {warnings}"
    );
    // Taller, for the whole page (README's screenshot is this one).
    browser
        .cdp(
            "Emulation.setDeviceMetricsOverride",
            serde_json::json!({"width": 1280, "height": 1180, "deviceScaleFactor": 1, "mobile": false}),
        )
        .await?;
    check_page(&browser, "10-site").await?;
    browser
        .cdp(
            "Emulation.clearDeviceMetricsOverride",
            serde_json::json!({}),
        )
        .await?;

    // The other language, by the switch.
    click(&browser, "a[hreflang=ru]").await?;
    arrived(&browser, "html[lang=ru]").await?;
    assert_eq!(
        text(
            &browser,
            "return document.querySelector('h2#days').textContent"
        )
        .await?,
        "Последние 14 дней"
    );
    check_page(&browser, "11-site-ru").await?;

    browser.close().await?;
    demo.shutdown.cancel();
    Ok(())
}
