//! The widget's tests in a real headless browser (wasm-bindgen-test).
//!
//! Components are mounted into a shadow root as the loader does, driven with
//! DOM events, and checked after `tick().await`: no sleeps.

#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use leptos::task::tick;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use widget::components::Widget;
use widget::{ApiClient, Locale, ga_client_id, read_cookie, utm_from_query};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn utm_tags_are_read_from_the_landing_query() {
    let utm = utm_from_query(
        "?utm_source=yandex&utm_medium=cpc&utm_campaign=%D0%BB%D0%B5%D1%82%D0%BE&x=1&utm_term=",
    );
    assert_eq!(utm.source.as_deref(), Some("yandex"));
    assert_eq!(utm.medium.as_deref(), Some("cpc"));
    assert_eq!(utm.campaign.as_deref(), Some("лето"));
    assert_eq!(utm.term, None, "an empty tag is no tag");
    assert!(utm_from_query("").is_empty());
}

#[wasm_bindgen_test]
fn analytics_ids_are_read_from_cookies() {
    let cookies = "a=1; _ga=GA1.2.1234567890.1600000000; roistat_visit=42";
    assert_eq!(
        read_cookie(cookies, "_ga").as_deref(),
        Some("GA1.2.1234567890.1600000000")
    );
    assert_eq!(read_cookie(cookies, "roistat_visit").as_deref(), Some("42"));
    assert_eq!(read_cookie(cookies, "missing"), None);
    assert_eq!(
        ga_client_id("GA1.2.1234567890.1600000000").as_deref(),
        Some("1234567890.1600000000")
    );
    assert_eq!(ga_client_id("GA1.3.abc.1"), None);
    assert_eq!(ga_client_id("garbage"), None);
}

#[wasm_bindgen_test]
fn the_language_follows_the_tag() {
    assert_eq!(Locale::from_tag("ru-RU"), Some(Locale::Ru));
    assert_eq!(Locale::from_tag("en_GB"), Some(Locale::En));
    assert_eq!(Locale::from_tag("de"), None);
    assert_eq!(
        Locale::choose(Some("en")),
        Locale::En,
        "the site's choice wins"
    );
}

/// Mounts the widget into a fresh shadow root, as the loader does.
fn mount_widget(locale: Locale) -> web_sys::ShadowRoot {
    let document = document();
    let host = document.create_element("div").expect("div");
    document
        .body()
        .expect("body")
        .append_child(&host)
        .expect("append");
    let root = host
        .attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))
        .expect("shadow");
    let container = document.create_element("div").expect("div");
    root.append_child(&container).expect("append");
    let api = ApiClient::new("http://127.0.0.1:9".to_owned(), "demo".to_owned());
    let handle = leptos::mount::mount_to(
        container.unchecked_into(),
        move || view! { <Widget api=api locale=locale /> },
    );
    handle.forget();
    root
}

fn query(root: &web_sys::ShadowRoot, selector: &str) -> Option<web_sys::HtmlElement> {
    root.query_selector(selector)
        .ok()
        .flatten()
        .map(JsCast::unchecked_into)
}

#[wasm_bindgen_test]
async fn the_launcher_opens_a_labelled_dialog() {
    let root = mount_widget(Locale::En);
    let launcher = query(&root, "button.launcher").expect("a launcher");
    assert_eq!(
        launcher.get_attribute("aria-label").as_deref(),
        Some("Request a callback")
    );
    assert!(query(&root, "[role=dialog]").is_none(), "closed at first");

    launcher.click();
    tick().await;
    let dialog = query(&root, "[role=dialog]").expect("the dialog opens");
    assert_eq!(dialog.get_attribute("aria-modal").as_deref(), Some("true"));
    let input: web_sys::HtmlInputElement = query(&root, "input[type=tel]")
        .expect("a phone field")
        .unchecked_into();
    assert_eq!(input.get_attribute("autocomplete").as_deref(), Some("tel"));
    assert_eq!(input.get_attribute("inputmode").as_deref(), Some("tel"));
}

#[wasm_bindgen_test]
async fn an_invalid_phone_is_explained_in_place_and_not_sent() {
    let root = mount_widget(Locale::Ru);
    query(&root, "button.launcher").expect("launcher").click();
    tick().await;
    let input: web_sys::HtmlInputElement = query(&root, "input[type=tel]")
        .expect("phone")
        .unchecked_into();
    input.set_value("123-45");
    input
        .dispatch_event(&web_sys::Event::new("input").expect("event"))
        .expect("dispatch");
    query(&root, "button[type=submit]").expect("submit").click();
    tick().await;

    let error = query(&root, "#cbw-phone-error")
        .expect("error slot")
        .text_content()
        .unwrap_or_default();
    assert_eq!(error, "В номере не хватает цифр");
    assert_eq!(input.get_attribute("aria-invalid").as_deref(), Some("true"));
    assert!(query(&root, ".status").is_none(), "nothing was sent");
}
