//! A host page with hostile styles (`www/test/hostile.css`: `* { all: unset }`,
//! `!important` rules on every tag and on the widget's host element, a 40 px
//! root font, inherited text styles, the widget's custom properties) and the
//! same page without them (`plain.html`): the widget must look the same on
//! both, closed and open. Every element of the widget is compared by its box
//! and the computed styles that make its look; screenshots of both are saved.

use e2e::{Browser, start_demo_with};
use serde_json::Value;

/// Each element of the widget: its tag, class, box and the styles a page
/// could try to change, in document order.
const MEASURE: &str = "
    const props = ['display', 'font-size', 'font-family', 'font-weight', 'line-height', 'color',
                   'background-color', 'letter-spacing', 'word-spacing', 'text-transform', 'text-align',
                   'border-top-width', 'padding-top', 'margin-top', 'box-sizing', 'visibility', 'opacity',
                   'cursor', 'transform', 'filter'];
    // Boxes from the viewport's bottom right corner, where the widget sits:
    // the hostile page scrolls, and its scroll bar narrows the viewport.
    const [w, h] = [visualViewport.width, visualViewport.height];
    return [...root.querySelectorAll('*')].map(e => {
      const r = e.getBoundingClientRect(), s = getComputedStyle(e);
      const shown = r.width || r.height;
      return [e.tagName, e.className, (shown ? [r.x - w, r.y - h, r.width, r.height] : [0, 0, 0, 0]).map(Math.round),
              props.map(p => p + ':' + s.getPropertyValue(p))];
    });";

/// Opens `page`, measures the widget closed and open, screenshots each.
async fn measure(browser: &Browser, page: &str, name: &str) -> anyhow::Result<(Value, Value)> {
    browser.client.goto(page).await?;
    browser.wait_for_widget().await?;
    let closed = browser.in_widget(MEASURE).await?;
    browser
        .screenshot(&format!("hostile-{name}-1-closed"))
        .await?;
    browser.eval("CallbackWidget.open()").await?;
    browser.wait_for_state("form").await?;
    browser
        .wait_for(&format!(
            "{}.querySelector('.dialog').getClientRects().length > 0",
            e2e::SHADOW
        ))
        .await?;
    let open = browser.in_widget(MEASURE).await?;
    browser
        .screenshot(&format!("hostile-{name}-2-open"))
        .await?;
    Ok((closed, open))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_looks_the_same_on_a_hostile_page_as_on_a_plain_one() -> anyhow::Result<()> {
    let store = tempfile::tempdir()?;
    let demo = start_demo_with(&store, 0.01, "", None).await?;
    let browser = Browser::start().await?;
    let plain = measure(
        &browser,
        &format!("{}test/plain.html", demo.page_url),
        "plain",
    )
    .await?;
    let hostile = measure(
        &browser,
        &format!("{}test/hostile.html", demo.page_url),
        "hostile",
    )
    .await?;
    // The hostile styles did apply to the page itself.
    let page = browser
        .eval("return [getComputedStyle(document.documentElement).fontSize, getComputedStyle(document.body).textTransform]")
        .await?;
    assert_eq!(page, serde_json::json!(["40px", "uppercase"]));

    // Closed, only the launcher is drawn (the dialog is drawn when it
    // first opens); open, the whole form.
    for ((plain, hostile), (what, elements)) in [(plain.0, hostile.0), (plain.1, hostile.1)]
        .into_iter()
        .zip([("closed", 3), ("open", 20)])
    {
        let (plain, hostile) = (
            plain.as_array().cloned().unwrap_or_default(),
            hostile.as_array().cloned().unwrap_or_default(),
        );
        assert!(
            plain.len() >= elements,
            "{what}: the widget's elements were measured: {plain:?}"
        );
        assert_eq!(plain.len(), hostile.len(), "{what}: the same elements");
        for (a, b) in plain.iter().zip(&hostile) {
            assert_eq!(a, b, "{what}: an element differs on the hostile page");
        }
    }

    browser.close().await?;
    demo.shutdown.cancel();
    Ok(())
}
