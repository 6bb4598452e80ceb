//! The widget on a site's page: one tag (included twice), a strict CSP, no
//! long task or layout shift, the page's styles kept out, and `destroy()`.
//! (`spa.rs` has the single-page app; each file is its own test binary, so
//! the two browsers never compete for the CPU and cause long tasks.)
//!
//! The host page is `www/test/host.html`; `www/test/probe.js` records from
//! the first moment what the widget must never cause or leave behind.

use e2e::{Browser, SHADOW, start_demo};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tag_twice_loads_one_widget_quietly_under_a_strict_csp_and_destroy_leaves_nothing()
-> anyhow::Result<()> {
    let store = tempfile::tempdir()?;
    let demo = start_demo(&store).await?;
    let browser = Browser::start().await?;
    browser.client.goto(&e2e::host_page(&demo)).await?;

    // The launcher appears within a second of the load event.
    let after_load = browser
        .wait_for(&format!(
            "(() => {{ const p = window.__probe; return p.loadEnd && ({}) && performance.now() - p.loadEnd + 1; }})()",
            e2e::LAUNCHER
        ))
        .await?;
    browser.screenshot("embed-1-launcher").await?;
    let after_load = after_load.as_f64().unwrap_or(f64::MAX);
    assert!(
        after_load < 1_000.0,
        "launcher visible {after_load:.0} ms after load"
    );

    let report = browser
        .eval(
            "const p = window.__probe; return {
               hosts: document.querySelectorAll('[data-callback-widget]').length,
               launchers: document.querySelector('[data-callback-widget]').shadowRoot.querySelectorAll('.launcher').length,
               violations: p.violations, longTasks: p.longTasks, layoutShift: p.layoutShift,
               sheets: document.adoptedStyleSheets.length, api: typeof window.CallbackWidget.open,
               at: p.longTaskAt, frames: p.longFrames, load: p.loadEnd,
               mount: performance.getEntriesByName('callback-widget:mount').map(m => [Math.round(m.startTime), Math.round(m.duration)]), nav: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
               res: performance.getEntriesByType('resource').map(e => [e.name.slice(-30), Math.round(e.startTime), Math.round(e.responseEnd)]) }",
        )
        .await?;
    println!("load report: {report}");
    assert_eq!(report["hosts"], 1, "one widget for two tags: {report}");
    assert_eq!(report["launchers"], 1, "{report}");
    assert_eq!(
        report["violations"],
        Value::Array(vec![]),
        "no CSP violation: {report}"
    );
    assert_eq!(
        report["longTasks"],
        Value::Array(vec![]),
        "no long task: {report}"
    );
    assert_eq!(report["layoutShift"], 0.0, "no layout shift: {report}");
    assert_eq!(report["sheets"], 0, "no style leaks to the page: {report}");
    assert_eq!(report["api"], "function", "{report}");

    // The wasm is served for streaming instantiation.
    let glue_and_wasm = browser
        .eval("return performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes('/widget/callback_widget'))")
        .await?;
    let urls: Vec<String> = serde_json::from_value(glue_and_wasm)?;
    let wasm = urls
        .iter()
        .find(|u| u.ends_with(".wasm"))
        .expect("the wasm was loaded");
    let response = reqwest::get(wasm).await?;
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/wasm")
    );

    // The host page's styles (www/test/host.css makes every button 300 px,
    // with !important, and the root font 40 px) do not reach in.
    let size = browser
        .eval(&format!(
            "const b = {SHADOW}.querySelector('.launcher').getBoundingClientRect();
             return [Math.round(b.width), Math.round(b.height),
                     getComputedStyle({SHADOW}.querySelector('.launcher')).fontSize];"
        ))
        .await?;
    assert_eq!(size, serde_json::json!([56, 56, "24px"]));

    // Open it, so that destroy has a dialog to remove as well.
    browser.eval("window.CallbackWidget.open()").await?;
    browser
        .wait_for(&format!(
            "{SHADOW}.querySelector('.launcher').getAttribute('aria-expanded') === 'true'"
        ))
        .await?;
    browser.eval("window.CallbackWidget.destroy()").await?;
    let leftovers = browser.eval("return window.__probe.leftovers()").await?;
    assert_eq!(
        leftovers,
        serde_json::json!({"listeners": [], "timers": [], "observers": 0, "openStreams": 0, "hosts": 0}),
        "destroy() leaves nothing behind"
    );
    // Commands after destroy are ignored, not errors.
    browser.eval("window.CallbackWidget.open()").await?;
    assert_eq!(
        browser
            .eval("return document.querySelectorAll('[data-callback-widget]').length")
            .await?,
        0
    );
    browser.screenshot("embed-2-destroyed").await?;

    browser.close().await?;
    demo.shutdown.cancel();
    Ok(())
}
