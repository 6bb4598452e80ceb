//! Bot friction and consent on the create endpoint (issue 11): what a
//! script gets refused for, and that a person still orders.

use serde_json::{Value, json};

use crate::support::{ORIGIN, Stub, TestProxy};

/// Posts `body` from the shop's page, with the widget's header when
/// `widget_header`; the status and the error's field.
async fn post(proxy: &TestProxy, body: &Value, widget_header: bool) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/v1/sites/shop/callbacks", proxy.url))
        .header("Origin", ORIGIN)
        .json(body);
    if widget_header {
        request = request.header("X-Callback-Widget", "1");
    }
    let response = request.send().await.expect("the proxy answers");
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body["error"]["field"].clone())
}

const ROOMY: &str = "limits = { ip_burst = 50, ip_per_minute = 100, ip_per_day = 50 }";

#[tokio::test]
async fn a_filled_honeypot_or_a_form_sent_too_fast_is_refused() {
    let stub = Stub::default();
    let proxy = TestProxy::against(&stub, ROOMY).await;
    let (status, field) = post(
        &proxy,
        &json!({"phone": "+79995000001", "website": "http://spam.example", "elapsed_ms": 9000}),
        true,
    )
    .await;
    assert_eq!((status, field.as_str()), (422, Some("website")));
    let (status, field) = post(
        &proxy,
        &json!({"phone": "+79995000002", "website": "", "elapsed_ms": 300}),
        true,
    )
    .await;
    assert_eq!((status, field.as_str()), (422, Some("elapsed_ms")));
    assert_eq!(proxy.refusals("bot_honeypot").await, 1);
    assert_eq!(proxy.refusals("bot_too_fast").await, 1);
    // A person: an empty honeypot, a few seconds to type.
    let (status, _) = post(
        &proxy,
        &json!({"phone": "+79995000003", "website": "", "elapsed_ms": 4200}),
        true,
    )
    .await;
    assert_eq!(status, 202);
    assert!(stub.placed().iter().all(|call| call.phone != "79995000001"));
    proxy.stop();
}

#[tokio::test]
async fn a_script_without_the_widget_s_header_is_refused_unless_the_site_allows_it() {
    let stub = Stub::default();
    // The default: required.
    let proxy = TestProxy::against(&stub, ROOMY).await;
    let order = json!({"phone": "+79995000011", "elapsed_ms": 5000});
    assert_eq!(post(&proxy, &order, false).await.0, 400);
    assert_eq!(
        post(&proxy, &json!({"phone": "+79995000011"}), true)
            .await
            .0,
        400,
        "the elapsed time is required too"
    );
    assert_eq!(post(&proxy, &order, true).await.0, 202);
    assert_eq!(proxy.refusals("bot_no_widget_header").await, 2);
    proxy.stop();

    // A site whose other clients post through the API turns it off: a
    // client that sends neither still orders.
    let proxy = TestProxy::against(
        &stub,
        &format!("{ROOMY}\nbot_checks = {{ require_widget_header = false }}"),
    )
    .await;
    assert_eq!(
        post(&proxy, &json!({"phone": "+79995000004"}), false)
            .await
            .0,
        202
    );
    proxy.stop();
}

#[tokio::test]
async fn a_site_that_requires_consent_takes_only_its_current_version() {
    let stub = Stub::default();
    let proxy = TestProxy::against(
        &stub,
        &format!("{ROOMY}\n[sites.shop.consent]\nversion = \"2024-05\"\n"),
    )
    .await;
    let without = json!({"phone": "+79995000021", "elapsed_ms": 5000});
    assert_eq!(post(&proxy, &without, true).await, (422, json!("consent")));
    let old = json!({"phone": "+79995000021", "elapsed_ms": 5000, "consent": {"accepted": true, "version": "2019-01"}});
    assert_eq!(post(&proxy, &old, true).await, (422, json!("consent")));
    let declined = json!({"phone": "+79995000021", "elapsed_ms": 5000, "consent": {"accepted": false, "version": "2024-05"}});
    assert_eq!(post(&proxy, &declined, true).await, (422, json!("consent")));
    let given = json!({"phone": "+79995000021", "elapsed_ms": 5000, "consent": {"accepted": true, "version": "2024-05"}});
    assert_eq!(post(&proxy, &given, true).await.0, 202);
    proxy.stop();
}
