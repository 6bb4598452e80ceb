//! The widget's tests in a real headless browser (wasm-bindgen-test).
//!
//! Capture (URL, UTM, cookies, storage rules, SPA navigation), the page API's
//! queue, the wire format against serde's, and the component: mounted into a
//! shadow root as the loader does, driven with DOM events and checked after
//! `tick().await`; no sleeps.

#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use leptos::task::tick;
use protocol::{
    CallState, CallStatus, CallbackRequest, Consent, ErrorBody, ErrorCode, FailureReason, Utm,
    VisitContext,
};
use serde::Serialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;
use widget::capture::STORAGE_KEY;
use widget::{
    Landing, Locale, Visit, WidgetHandle, ga_client_id, read_cookie, utm_from_query, wire,
};

wasm_bindgen_test_configure!(run_in_browser);

fn window() -> web_sys::Window {
    web_sys::window().expect("a window")
}

fn storage() -> web_sys::Storage {
    window()
        .session_storage()
        .expect("storage allowed")
        .expect("sessionStorage")
}

fn landing(entry: &str, referrer: Option<&str>) -> Landing {
    Landing {
        entry_page: Some(entry.to_owned()),
        referrer: referrer.map(str::to_owned),
    }
}

// --- Capture -------------------------------------------------------------

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

    let entry = landing(
        "https://shop.example/sale?utm_source=vk&utm_content=banner#top",
        None,
    );
    assert_eq!(
        entry.utm(),
        Utm {
            source: Some("vk".to_owned()),
            content: Some("banner".to_owned()),
            ..Utm::default()
        }
    );
    assert!(landing("not a url", None).utm().is_empty());
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
    assert_eq!(read_cookie("_ga=", "_ga"), None, "an empty cookie is none");
    assert_eq!(
        ga_client_id("GA1.2.1234567890.1600000000").as_deref(),
        Some("1234567890.1600000000")
    );
    assert_eq!(ga_client_id("GA1.3.abc.1"), None);
    assert_eq!(ga_client_id("garbage"), None);
}

#[wasm_bindgen_test]
fn the_context_reads_cookies_and_the_page_at_submit_time_and_sets_none() {
    let document: web_sys::HtmlDocument = window().document().expect("document").unchecked_into();
    document
        .set_cookie("_ga=GA1.2.111.222; path=/")
        .expect("cookie");
    document
        .set_cookie("roistat_visit=77; path=/")
        .expect("cookie");
    let cookies_before = document.cookie().expect("cookies");

    storage().clear().expect("clear");
    let visit = Visit::new(
        landing(
            "https://shop.example/?utm_source=ya",
            Some("https://ya.ru/"),
        ),
        false,
    );
    let context = visit.context();

    assert_eq!(context.ga_client_id.as_deref(), Some("111.222"));
    assert_eq!(context.roistat_visit.as_deref(), Some("77"));
    assert_eq!(context.referrer.as_deref(), Some("https://ya.ru/"));
    assert_eq!(
        context.entry_page.as_deref(),
        Some("https://shop.example/?utm_source=ya")
    );
    assert_eq!(context.utm.source.as_deref(), Some("ya"));
    assert_eq!(context.current_page, window().location().href().ok());
    assert!(context.user_agent.is_some_and(|ua| !ua.is_empty()));
    assert_eq!(
        document.cookie().expect("cookies"),
        cookies_before,
        "it never sets cookies"
    );
}

#[wasm_bindgen_test]
fn the_first_page_of_the_tab_stores_its_landing_and_later_pages_keep_it() {
    storage().clear().expect("clear");
    let first = Visit::new(
        landing(
            "https://shop.example/?utm_source=ya",
            Some("https://ya.ru/"),
        ),
        false,
    );
    assert!(
        storage().get_item(STORAGE_KEY).expect("read").is_some(),
        "stored"
    );
    assert_eq!(first.landing().referrer.as_deref(), Some("https://ya.ru/"));

    // A later full page load of the same tab: its own URL is not the entry page.
    let later = Visit::new(
        landing("https://shop.example/cart", Some("https://shop.example/")),
        false,
    );
    assert_eq!(
        later.landing(),
        landing(
            "https://shop.example/?utm_source=ya",
            Some("https://ya.ru/")
        )
    );
    assert_eq!(later.context().utm.source.as_deref(), Some("ya"));
}

#[wasm_bindgen_test]
fn strict_privacy_touches_no_storage_until_the_visitor_interacts() {
    storage().clear().expect("clear");
    let visit = Visit::new(landing("https://shop.example/?utm_source=ya", None), true);
    assert_eq!(storage().length().expect("length"), 0, "nothing written");

    // Nor read: a landing stored by another page stays unseen.
    storage()
        .set_item(STORAGE_KEY, "https://shop.example/first\n")
        .expect("write");
    let visit_with_stored = Visit::new(landing("https://shop.example/second", None), true);
    assert_eq!(
        visit_with_stored.landing().entry_page.as_deref(),
        Some("https://shop.example/second")
    );

    // Interaction unlocks storage: the stored landing now wins…
    visit_with_stored.interacted();
    assert_eq!(
        visit_with_stored.landing().entry_page.as_deref(),
        Some("https://shop.example/first")
    );
    // …and a tab without one stores its own.
    storage().clear().expect("clear");
    visit.interacted();
    assert_eq!(
        storage().get_item(STORAGE_KEY).expect("read").as_deref(),
        Some("https://shop.example/?utm_source=ya\n")
    );
}

#[wasm_bindgen_test]
fn history_navigation_changes_the_current_page_but_not_the_entry_page() {
    storage().clear().expect("clear");
    let start = window().location().href().expect("href");
    let visit = Visit::new(Landing::from_snapshot(&JsValue::UNDEFINED), false);
    assert_eq!(visit.landing().entry_page.as_deref(), Some(start.as_str()));

    let history = window().history().expect("history");
    history
        .push_state_with_url(&JsValue::NULL, "", Some("/spa/catalog?page=2"))
        .expect("pushState");
    let context = visit.context();
    history
        .replace_state_with_url(&JsValue::NULL, "", Some(&start))
        .expect("restore the URL");

    let current = context.current_page.expect("current page");
    assert!(current.ends_with("/spa/catalog?page=2"), "{current}");
    assert_eq!(context.entry_page.as_deref(), Some(start.as_str()));
}

#[wasm_bindgen_test]
fn the_loaders_snapshot_is_the_landing() {
    let snapshot =
        js_sys::JSON::parse(r#"{"href":"https://shop.example/?utm_medium=cpc","referrer":""}"#)
            .expect("json");
    assert_eq!(
        Landing::from_snapshot(&snapshot),
        landing("https://shop.example/?utm_medium=cpc", None),
        "an empty referrer is none"
    );
}

#[wasm_bindgen_test]
fn site_values_from_set_go_to_the_request() {
    storage().clear().expect("clear");
    let visit = Visit::new(landing("https://shop.example/", None), false);
    let values = js_sys::JSON::parse(
        r#"{"calltouch_session":"ct-42","order":"A-1","items":3,"skip":{"nested":true}}"#,
    )
    .expect("json");
    visit.set(&values);
    visit.set(&js_sys::JSON::parse(r#"{"order":"A-2"}"#).expect("json"));
    visit.set(&JsValue::from_str("not an object"));

    assert_eq!(visit.context().calltouch_session.as_deref(), Some("ct-42"));
    assert_eq!(
        visit.site_values(),
        vec![
            ("items".to_owned(), "3".to_owned()),
            ("order".to_owned(), "A-2".to_owned()),
        ]
    );
}

// --- The wire format, checked against serde's ------------------------------

fn serde_json_text<T: Serialize>(value: &T) -> String {
    let js = value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .expect("serialisable");
    js_sys::JSON::stringify(&js)
        .expect("stringify")
        .as_string()
        .expect("a string")
}

fn serde_js<T: Serialize>(value: &T) -> JsValue {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .expect("serialisable")
}

#[wasm_bindgen_test]
fn a_request_is_written_as_serde_writes_it() {
    let mut request = CallbackRequest {
        phone: "79991234567".to_owned(),
        office: Some(2),
        time: Some(1_700_000_000),
        name: Some("Анна".to_owned()),
        email: None,
        consent: Some(Consent {
            accepted: true,
            version: "2024-01".to_owned(),
        }),
        context: VisitContext {
            referrer: Some("https://ya.ru/".to_owned()),
            current_page: Some("https://shop.example/cart".to_owned()),
            entry_page: Some("https://shop.example/?utm_source=ya".to_owned()),
            user_agent: Some("UA".to_owned()),
            utm: Utm {
                source: Some("ya".to_owned()),
                term: Some("звонок".to_owned()),
                ..Utm::default()
            },
            ga_client_id: Some("1.2".to_owned()),
            roistat_visit: None,
            calltouch_session: Some("ct".to_owned()),
            extra: BTreeMap::new(),
        },
    };
    let site_values = vec![
        ("a".to_owned(), "1".to_owned()),
        ("b".to_owned(), "2".to_owned()),
    ];
    let ours = wire::request_json(&request, &site_values).expect("json");
    request.context.extra = site_values.into_iter().collect();
    assert_eq!(ours, serde_json_text(&request));

    let empty = CallbackRequest::default();
    assert_eq!(
        wire::request_json(&empty, &[]).expect("json"),
        serde_json_text(&empty)
    );
}

#[wasm_bindgen_test]
fn every_status_serde_writes_is_read_back() {
    for (name, state) in wire::STATES {
        let status = CallStatus {
            state,
            is_final: state.is_final(),
            reason: None,
            message: "m".to_owned(),
            eta_seconds: Some(30),
            at: Some(1_700_000_000),
        };
        assert_eq!(
            wire::status(&serde_js(&status)),
            Some(status.clone()),
            "{name}"
        );
        assert_eq!(serde_json_text(&state), format!("\"{name}\""));
        assert_eq!(wire::state_name(state), name);
    }
    for (name, reason) in wire::REASONS {
        let status = CallStatus {
            state: CallState::Failed,
            is_final: true,
            reason: Some(reason),
            message: String::new(),
            eta_seconds: None,
            at: None,
        };
        assert_eq!(
            wire::status(&serde_js(&status)),
            Some(status.clone()),
            "{name}"
        );
        assert_eq!(serde_json_text(&reason), format!("\"{name}\""));
    }
    let unknown =
        js_sys::JSON::parse(r#"{"state":"teleported","final":true,"message":""}"#).expect("json");
    assert_eq!(wire::status(&unknown), None);
    assert_eq!(FailureReason::Busy, wire::REASONS[0].1);
}

#[wasm_bindgen_test]
fn every_error_code_serde_writes_is_read_back() {
    for (name, code) in wire::ERROR_CODES {
        let body = ErrorBody {
            error: protocol::ApiError {
                code,
                message: "m".to_owned(),
                field: Some("phone".to_owned()),
            },
        };
        assert_eq!(
            wire::error(&serde_js(&body)),
            Some((code, Some("phone".to_owned()))),
            "{name}"
        );
    }
    assert_eq!(ErrorCode::BadRequest, wire::ERROR_CODES[0].1);
}

#[wasm_bindgen_test]
fn the_language_follows_the_tag() {
    assert_eq!(Locale::from_tag("ru-RU"), Some(Locale::Ru));
    assert_eq!(Locale::from_tag("en_GB"), Some(Locale::En));
    assert_eq!(Locale::from_tag("EN"), Some(Locale::En));
    assert_eq!(Locale::from_tag("de"), None);
    assert_eq!(
        Locale::choose(Some("en")),
        Locale::En,
        "the site's choice wins"
    );
}

// --- The widget, mounted as the loader mounts it ----------------------------

/// Events the widget reported through the `emit` option.
type Events = Rc<RefCell<Vec<(String, JsValue)>>>;

/// Mounts the widget into a fresh shadow root, as the loader does, with
/// `extra` merged into the options (e.g. a `queue`).
fn mount_widget(extra: &str) -> (web_sys::ShadowRoot, WidgetHandle, Events) {
    let document = window().document().expect("document");
    let host = document.create_element("callback-widget").expect("host");
    document
        .body()
        .expect("body")
        .append_child(&host)
        .expect("append");
    let root = host
        .attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))
        .expect("shadow");
    let options = js_sys::JSON::parse(&format!(
        r#"{{"site":"demo","api":"http://127.0.0.1:9","locale":"en"{extra}}}"#
    ))
    .expect("options");
    let events: Events = Rc::default();
    let sink = events.clone();
    let emit = Closure::<dyn FnMut(JsValue, JsValue)>::new(move |key: JsValue, detail| {
        sink.borrow_mut()
            .push((key.as_string().unwrap_or_default(), detail));
    });
    js_sys::Reflect::set(&options, &"emit".into(), &emit.into_js_value()).expect("set");
    let handle = widget::mount(root.clone(), options).expect("mounted");
    (root, handle, events)
}

fn query(root: &web_sys::ShadowRoot, selector: &str) -> Option<web_sys::HtmlElement> {
    root.query_selector(selector)
        .ok()
        .flatten()
        .map(JsCast::unchecked_into)
}

fn is_shown(element: &web_sys::HtmlElement) -> bool {
    window()
        .get_computed_style(element)
        .ok()
        .flatten()
        .and_then(|s| s.get_property_value("display").ok())
        .is_some_and(|d| d != "none")
}

fn event_keys(events: &Events) -> Vec<String> {
    events.borrow().iter().map(|(k, _)| k.clone()).collect()
}

#[wasm_bindgen_test]
async fn the_launcher_opens_a_labelled_dialog_and_tells_the_page() {
    let (root, _handle, events) = mount_widget("");
    let launcher = query(&root, "button.launcher").expect("a launcher");
    assert_eq!(
        launcher.get_attribute("aria-label").as_deref(),
        Some("Request a callback")
    );
    let dialog = query(&root, "[role=dialog]").expect("a dialog");
    assert!(!is_shown(&dialog), "closed at first");

    launcher.click();
    tick().await;
    assert!(is_shown(&dialog), "the dialog opens");
    assert_eq!(
        launcher.get_attribute("aria-expanded").as_deref(),
        Some("true")
    );
    let input = query(&root, "input[type=tel]").expect("a phone field");
    assert_eq!(input.get_attribute("autocomplete").as_deref(), Some("tel"));
    assert!(is_shown(&input));

    query(&root, "button.close").expect("close").click();
    tick().await;
    assert!(!is_shown(&dialog), "closed again");
    assert_eq!(event_keys(&events), ["opened", "closed"]);
}

#[wasm_bindgen_test]
async fn an_invalid_phone_is_explained_in_place_and_not_sent() {
    let (root, _handle, events) = mount_widget(r#","locale":"ru""#);
    query(&root, "button.launcher").expect("launcher").click();
    tick().await;
    let input: web_sys::HtmlInputElement = query(&root, "input[type=tel]")
        .expect("phone")
        .unchecked_into();
    input.set_value("123-45");
    query(&root, "form button").expect("submit").click();
    tick().await;

    let message = query(&root, "#cbw-message")
        .expect("message slot")
        .text_content()
        .unwrap_or_default();
    assert_eq!(message, "В номере не хватает цифр");
    assert_eq!(input.get_attribute("aria-invalid").as_deref(), Some("true"));
    let dialog = query(&root, "[role=dialog]").expect("dialog");
    assert_eq!(
        dialog.get_attribute("data-state").as_deref(),
        Some("form"),
        "nothing was sent"
    );
    assert!(!event_keys(&events).contains(&"submitted".to_owned()));
}

#[wasm_bindgen_test]
async fn commands_queued_before_the_widget_loaded_run_in_order() {
    let (root, handle, events) = mount_widget(
        r#","queue":[["set",{"calltouch_session":"ct-7"}],["setLocale","ru"],["open"],["unknown"]]"#,
    );
    tick().await;
    let launcher = query(&root, "button.launcher").expect("launcher");
    assert_eq!(
        launcher.get_attribute("aria-expanded").as_deref(),
        Some("true"),
        "open"
    );
    assert_eq!(
        launcher.get_attribute("aria-label").as_deref(),
        Some("Заказать обратный звонок"),
        "in Russian"
    );
    let controller = handle.controller().expect("mounted");
    assert_eq!(
        controller
            .services
            .visit
            .context()
            .calltouch_session
            .as_deref(),
        Some("ct-7")
    );
    assert_eq!(event_keys(&events), ["opened"]);
}

#[wasm_bindgen_test]
async fn a_new_language_keeps_the_dialog_open_and_what_was_said() {
    let (root, mut handle, _events) = mount_widget("");
    handle.command("open", JsValue::UNDEFINED);
    let input: web_sys::HtmlInputElement = query(&root, "input[type=tel]")
        .expect("phone")
        .unchecked_into();
    input.set_value("1");
    query(&root, "form button").expect("submit").click();
    tick().await;

    handle.command("setLocale", JsValue::from_str("ru-RU"));
    tick().await;
    assert_eq!(
        root.query_selector_all("button.launcher")
            .expect("query")
            .length(),
        1
    );
    assert_eq!(
        query(&root, "h2").and_then(|h| h.text_content()).as_deref(),
        Some("Перезвоним за 30 секунд")
    );
    assert_eq!(
        query(&root, "button.launcher")
            .and_then(|b| b.get_attribute("aria-expanded"))
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        query(&root, "#cbw-message")
            .and_then(|p| p.text_content())
            .as_deref(),
        Some("В номере не хватает цифр"),
        "the message follows the language"
    );
}

#[wasm_bindgen_test]
async fn destroy_removes_the_widget_and_later_commands_do_nothing() {
    let (root, mut handle, events) = mount_widget("");
    assert!(root.child_element_count() > 0);
    handle.command("destroy", JsValue::UNDEFINED);
    tick().await;
    assert_eq!(root.child_element_count(), 0, "no node left");
    handle.command("open", JsValue::UNDEFINED);
    handle.destroy();
    assert!(handle.controller().is_none());
    assert!(event_keys(&events).is_empty());
}
