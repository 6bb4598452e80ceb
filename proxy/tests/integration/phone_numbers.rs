//! Numbers at the edge (issue 11): the site's phone policy refuses what the
//! company must never dial, with a message on the field in the visitor's
//! language, and every spelling of one number is one number for the limits
//! and for CallKeeper.

use serde_json::{Value, json};

use crate::support::{Stub, TestProxy, eventually};

/// Posts `phone` from the shop's page with `Accept-Language: language`.
async fn post_in(proxy: &TestProxy, phone: &str, language: &str) -> (u16, Option<String>, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/v1/sites/shop/callbacks", proxy.url))
        .header("Origin", &proxy.origin)
        .header("Accept-Language", language)
        .header("X-Callback-Widget", "1")
        .json(&json!({"phone": phone, "elapsed_ms": 5000}))
        .send()
        .await
        .expect("the proxy answers");
    let status = response.status().as_u16();
    let reason = response
        .headers()
        .get("refusal-reason")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, reason, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn premium_foreign_and_satellite_numbers_are_refused_on_the_phone_field() {
    let stub = Stub::default();
    // A burst large enough for every attempt below from one address.
    let proxy = TestProxy::against(&stub, "limits = { ip_burst = 50, ip_per_minute = 100 }").await;
    // (what an attacker types, the reason, words of the Russian message)
    let cases = [
        ("+7 809 505-12-34", "kind_not_allowed", "платные"),
        ("8 809 505 12 34", "kind_not_allowed", "платные"),
        ("+882 234 567 8901", "country_not_allowed", "+882"),
        ("+979 123 456 789", "country_not_allowed", "+979"),
        ("+870 301 234 567", "country_not_allowed", "+870"),
        ("+44 20 7946 0018", "country_not_allowed", "+44"),
        ("+7 999 12", "invalid", "не существует"),
        ("call me", "unparseable", "символа"),
    ];
    for (phone, reason, words) in cases {
        let (status, header, body) = post_in(&proxy, phone, "ru-RU,ru;q=0.9").await;
        assert_eq!(status, 422, "{phone}: {body}");
        assert_eq!(header.as_deref(), Some(reason), "{phone}");
        assert_eq!(body["error"]["code"], "invalid_input");
        assert_eq!(body["error"]["field"], "phone");
        let message = body["error"]["message"].as_str().expect("a message");
        assert!(message.contains(words), "{phone}: {message}");
    }
    let (status, _, body) = post_in(&proxy, "+7 809 505-12-34", "en-GB,en;q=0.8").await;
    assert_eq!(status, 422);
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("premium-rate")),
        "the visitor's language: {body}"
    );
    assert_eq!(proxy.refusals("phone_kind_not_allowed").await, 3);
    assert_eq!(proxy.refusals("phone_country_not_allowed").await, 4);
    assert_eq!(proxy.refusals("phone_invalid").await, 1);
    assert_eq!(proxy.refusals("phone_unparseable").await, 1);

    // A real number still goes through, and nothing refused reached CallKeeper.
    let (status, _, body) = post_in(&proxy, "+7 999 123-45-67", "ru").await;
    assert_eq!(status, 202, "{body}");
    eventually("the good number is placed", || async {
        !stub.placed().is_empty()
    })
    .await;
    let placed: Vec<String> = stub.placed().into_iter().map(|call| call.phone).collect();
    assert_eq!(placed, ["79991234567"]);
    proxy.stop();
}

#[tokio::test]
async fn every_spelling_of_one_number_is_one_number_for_the_limits() {
    let stub = Stub::default();
    let proxy = TestProxy::against(&stub, "").await;
    let (status, _, body) = post_in(&proxy, "8 (999) 123-45-67", "ru").await;
    assert_eq!(status, 202, "{body}");
    // Within the number's cooldown, every other spelling is the same number.
    for spelling in [
        "+7 999 123-45-67",
        "79991234567",
        "999 123 45 67",
        "00 7 999 123 45 67",
        "810 7 999 123 45 67",
        "+8 999 123 45 67",
        "+7 8 999 123-45-67",
    ] {
        let (status, _, body) = post_in(&proxy, spelling, "ru").await;
        assert_eq!(
            status, 429,
            "{spelling} is the number ordered a moment ago: {body}"
        );
    }
    eventually("the order is placed", || async {
        !stub.placed().is_empty()
    })
    .await;
    let placed: Vec<String> = stub.placed().into_iter().map(|call| call.phone).collect();
    assert_eq!(placed, ["79991234567"], "CallKeeper gets the E.164 digits");
    proxy.stop();
}

#[tokio::test]
async fn a_site_blocks_numbers_and_prefixes_and_chooses_its_countries() {
    let stub = Stub::default();
    let proxy = TestProxy::against(
        &stub,
        "[sites.shop.phone]\nallowed_countries = [\"RU\", \"BY\"]\n\
         blocked_numbers = [\"8 999 000 00 00\"]\nblocked_prefixes = [\"7995\"]\n",
    )
    .await;
    for phone in ["+7 999 000-00-00", "+7 995 123-45-67"] {
        let (status, reason, body) = post_in(&proxy, phone, "ru").await;
        assert_eq!(
            (status, reason.as_deref()),
            (422, Some("blocked")),
            "{phone}: {body}"
        );
    }
    let (status, _, body) = post_in(&proxy, "+375 29 123-45-67", "ru").await;
    assert_eq!(status, 202, "Belarus is allowed here: {body}");
    assert_eq!(proxy.refusals("phone_blocked").await, 2);
    proxy.stop();
}
