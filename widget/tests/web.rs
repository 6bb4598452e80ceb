//! The widget's tests in a real headless browser (wasm-bindgen-test).
//!
//! Capture (URL, UTM, cookies, storage rules, SPA navigation), the page API's
//! queue, the contract's types round-tripped through JavaScript as the
//! widget sends and reads them, and the widget itself: mounted
//! into a shadow root as the loader does, with a site config, driven with DOM
//! events and checked after `tick().await` (which lets the widget's pending
//! tasks run); no sleeps. The proxy's address is a closed port, so requests
//! fail at once.
//!
//! One file past 800 lines because it is one test binary: each file under
//! `tests/` is a separate wasm build and browser start, which costs about a
//! minute apiece on two cores. The components alone are in `components.rs`.

#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use protocol::challenge::{self, Challenge};
use protocol::{
    CallState, CallStatus, CallbackAccepted, CallbackRequest, Consent, ConsentConfig, ErrorBody,
    ErrorCode, FailureReason, SiteConfig, SiteTexts, Slot, Slots, Strings, TEXT_KEYS, TextKey, Utm,
    VisitContext,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;
use widget::capture::{PENDING_KEY, STORAGE_KEY};
use widget::{
    Landing, Locale, Texts, Visit, WidgetHandle, ga_client_id, js, read_cookie, utm_from_query,
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

/// The test page's URL, without its `#fragment` (the widget never sends one).
fn page_without_fragment() -> String {
    let href = window().location().href().expect("href");
    href.split('#').next().expect("a URL").to_owned()
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
    assert_eq!(context.current_page, Some(page_without_fragment()));
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
    let start = start.split('#').next().expect("a URL");
    assert_eq!(
        context.entry_page.as_deref(),
        Some(start),
        "without its fragment"
    );
}

#[wasm_bindgen_test]
fn the_pages_fragment_is_never_sent() {
    storage().clear().expect("clear");
    let start = window().location().href().expect("href");
    let visit = Visit::new(
        landing(
            "https://shop.example/?utm_source=ya#access_token=secret",
            None,
        ),
        false,
    );
    let history = window().history().expect("history");
    history
        .replace_state_with_url(&JsValue::NULL, "", Some("?page=2#search=my+name"))
        .expect("replaceState");
    let context = visit.context();
    history
        .replace_state_with_url(&JsValue::NULL, "", Some(&start))
        .expect("restore the URL");

    assert_eq!(
        context.entry_page.as_deref(),
        Some("https://shop.example/?utm_source=ya")
    );
    assert_eq!(context.utm.source.as_deref(), Some("ya"));
    let current = context.current_page.expect("current page");
    assert!(current.ends_with("?page=2"), "{current}");
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

// --- The contract's types, round-tripped through JavaScript ----------------

/// JSON text as the widget writes it (serde-wasm-bindgen, `JSON.stringify`).
fn serde_json_text<T: Serialize>(value: &T) -> String {
    js::to_json(value)
}

/// The name a `protocol` enum's variant is written with through
/// serde-wasm-bindgen (`in_progress`, `rate_limited`); the widget itself
/// names them with `WireName`, which these tests check against it.
fn wire_name<T: Serialize>(value: &T) -> String {
    js::to_js(value).as_string().unwrap_or_default()
}

/// `value` written as the widget writes it, parsed by the browser and read
/// back as the widget reads the proxy's answers.
fn round_trip<T: Serialize + DeserializeOwned>(value: &T) -> Option<T> {
    let text = js::to_json(value);
    js::from_js(js_sys::JSON::parse(&text).expect("JSON"))
}

#[wasm_bindgen_test]
fn a_request_is_written_with_its_wire_names_and_read_back_whole() {
    let request = CallbackRequest {
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
            extra: [
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), "2".to_owned()),
            ]
            .into(),
        },
        website: None,
        elapsed_ms: Some(4_200),
    };
    assert_eq!(round_trip(&request).as_ref(), Some(&request));
    let text = serde_json_text(&request);
    for part in [
        r#""phone":"79991234567""#,
        r#""office":2"#,
        r#""time":1700000000"#,
        r#""consent":{"accepted":true,"version":"2024-01"}"#,
        r#""utm":{"source":"ya","term":"звонок"}"#,
        r#""extra":{"a":"1","b":"2"}"#,
        r#""elapsed_ms":4200"#,
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
    assert!(!text.contains("email") && !text.contains("null"), "{text}");

    let empty = CallbackRequest::default();
    assert_eq!(round_trip(&empty), Some(empty.clone()));
    assert_eq!(
        serde_json_text(&empty),
        r#"{"phone":"","context":{"utm":{}}}"#
    );
}

#[wasm_bindgen_test]
fn every_status_is_read_back_and_an_unknown_state_is_not() {
    let states = [
        (CallState::Received, "received"),
        (CallState::Queued, "queued"),
        (CallState::Ordered, "ordered"),
        (CallState::Scheduled, "scheduled"),
        (CallState::InProgress, "in_progress"),
        (CallState::Succeeded, "succeeded"),
        (CallState::Failed, "failed"),
    ];
    for (state, name) in states {
        let status = CallStatus {
            state,
            is_final: state.is_final(),
            reason: None,
            message: "m".to_owned(),
            eta_seconds: Some(30),
            at: Some(1_700_000_000),
        };
        assert_eq!(round_trip(&status), Some(status.clone()), "{name}");
        assert_eq!(wire_name(&state), name);
    }
    for reason in [
        FailureReason::Busy,
        FailureReason::NoAnswer,
        FailureReason::InvalidNumber,
        FailureReason::CompanyUnavailable,
        FailureReason::Closed,
        FailureReason::Cancelled,
        FailureReason::NotOrdered,
    ] {
        let status = CallStatus {
            state: CallState::Failed,
            is_final: true,
            reason: Some(reason),
            message: String::new(),
            eta_seconds: None,
            at: None,
        };
        assert_eq!(round_trip(&status), Some(status.clone()), "{reason:?}");
    }
    assert_eq!(wire_name(&FailureReason::NoAnswer), "no_answer");
    let unknown =
        js_sys::JSON::parse(r#"{"state":"teleported","final":true,"message":""}"#).expect("json");
    assert_eq!(js::from_js::<CallStatus>(unknown), None);
    let accepted = CallbackAccepted {
        id: "cb_1".to_owned(),
        status: status(CallState::Queued, None),
    };
    assert_eq!(round_trip(&accepted), Some(accepted.clone()));
}

#[wasm_bindgen_test]
fn every_error_code_is_read_back() {
    let codes = [
        (ErrorCode::BadRequest, "bad_request"),
        (ErrorCode::InvalidInput, "invalid_input"),
        (ErrorCode::NotFound, "not_found"),
        (ErrorCode::OriginNotAllowed, "origin_not_allowed"),
        (ErrorCode::IdempotencyConflict, "idempotency_conflict"),
        (ErrorCode::PayloadTooLarge, "payload_too_large"),
        (ErrorCode::RateLimited, "rate_limited"),
        (ErrorCode::ChallengeRequired, "challenge_required"),
        (ErrorCode::Unavailable, "unavailable"),
        (ErrorCode::Internal, "internal"),
    ];
    for (code, name) in codes {
        let body = ErrorBody {
            error: protocol::ApiError {
                code,
                message: "m".to_owned(),
                field: Some("phone".to_owned()),
            },
            challenge: (code == ErrorCode::ChallengeRequired).then(|| Challenge {
                token: "1700000300.ab.cd".to_owned(),
                bits: 18,
            }),
        };
        assert_eq!(round_trip(&body), Some(body.clone()), "{name}");
        assert_eq!(wire_name(&code), name);
    }
    let foreign = js_sys::JSON::parse(r#"{"message":"Bad Gateway"}"#).expect("json");
    assert_eq!(js::from_js::<ErrorBody>(foreign), None, "not the proxy's");
}

#[wasm_bindgen_test]
fn a_site_config_is_read_back_and_a_partial_one_keeps_the_defaults() {
    let config = SiteConfig {
        site: "demo".to_owned(),
        locale: "en".to_owned(),
        color: "#112233".to_owned(),
        position: "left".to_owned(),
        title: "Call us".to_owned(),
        country_code: "375".to_owned(),
        offices: vec!["Minsk".to_owned(), "Brest".to_owned()],
        open_now: false,
        min_fill_ms: 1500,
        consent: Some(ConsentConfig {
            version: "v2".to_owned(),
            link: Some("https://shop.example/privacy".to_owned()),
            required: false,
        }),
        texts: SiteTexts {
            en: [("submit".to_owned(), "Ring me".to_owned())].into(),
            ..SiteTexts::default()
        },
        invite: [("scroll_percent".to_owned(), "50".to_owned())].into(),
    };
    let read = round_trip(&config).expect("a config");
    assert_eq!(read, config);
    let texts = Texts::new(Locale::En, Some(&read.texts.en), None);
    assert_eq!(texts.get(TextKey::Submit), "Ring me");

    // An older or smaller config: what is missing takes its default.
    let partial = js_sys::JSON::parse(r#"{"open_now":true,"offices":["A"]}"#).expect("json");
    let partial: SiteConfig = js::from_js(partial).expect("lenient");
    assert!(partial.open_now && partial.consent.is_none() && partial.locale.is_empty());
    assert_eq!(partial.offices, ["A"]);
}

#[wasm_bindgen_test]
fn slots_are_read_back() {
    let slots = Slots {
        open_now: true,
        time_zone: "UTC+03:00".to_owned(),
        slots: vec![
            Slot {
                start: 1_700_000_000,
                end: 1_700_001_800,
            },
            Slot {
                start: 1_700_001_800,
                end: 1_700_003_600,
            },
        ],
    };
    assert_eq!(round_trip(&slots), Some(slots.clone()));
    assert_eq!(js::from_js::<Slots>(JsValue::NULL), None);
}

// --- Texts and language ------------------------------------------------------

#[wasm_bindgen_test]
fn the_language_follows_the_tag() {
    assert_eq!(Locale::from_tag("ru-RU"), Some(Locale::Ru));
    assert_eq!(Locale::from_tag("en_GB"), Some(Locale::En));
    assert_eq!(Locale::from_tag("EN"), Some(Locale::En));
    assert_eq!(Locale::from_tag("de"), None);
}

/// Runs `check` with the page's `<html lang>` set to `lang`, then restores it.
fn with_page_lang(lang: &str, check: impl FnOnce()) {
    let html = window()
        .document()
        .and_then(|d| d.document_element())
        .expect("html");
    let before = html.get_attribute("lang");
    html.set_attribute("lang", lang).expect("lang");
    check();
    match before {
        Some(before) => html.set_attribute("lang", &before).expect("lang"),
        None => html.remove_attribute("lang").expect("lang"),
    }
}

#[wasm_bindgen_test]
fn the_language_is_the_pages_choice_then_the_sites_then_the_page_lang_then_the_browsers() {
    with_page_lang("ru", || {
        assert_eq!(
            Locale::choose(Some("en"), Some("ru")),
            Locale::En,
            "data-locale"
        );
        assert_eq!(
            Locale::choose(None, Some("en")),
            Locale::En,
            "the site's config"
        );
        assert_eq!(Locale::choose(None, None), Locale::Ru, "<html lang>");
        assert_eq!(
            Locale::choose(Some("de"), Some("fr")),
            Locale::Ru,
            "ours only"
        );
    });
    with_page_lang("de", || {
        let browser = window().navigator().language().unwrap_or_default();
        let expected = Locale::from_tag(&browser).unwrap_or(Locale::Ru);
        assert_eq!(
            Locale::choose(None, None),
            expected,
            "the browser's {browser}"
        );
    });
}

#[wasm_bindgen_test]
fn every_text_exists_in_both_languages_with_its_placeholder() {
    for locale in [Locale::Ru, Locale::En] {
        let texts = Texts::new(locale, None, None);
        for (index, key) in TEXT_KEYS.iter().enumerate() {
            let text = locale.defaults()[index];
            assert!(!text.trim().is_empty(), "{key} in {locale:?}");
            let placeholder = match *key {
                "rate_limited" | "eta" => Some("{n}"),
                "scheduled" | "retry" => Some("{time}"),
                _ => None,
            };
            assert_eq!(
                placeholder.is_some_and(|p| text.contains(p)),
                placeholder.is_some(),
                "{key} in {locale:?}: {text}"
            );
            assert!(
                placeholder.is_some() || !text.contains('{'),
                "{key}: {text}"
            );
        }
        assert!(texts.fill(TextKey::Eta, "7").contains('7'));
    }
    let site: Strings = [
        ("title".to_owned(), "Звоните".to_owned()),
        ("eta".to_owned(), "≈{n}".to_owned()),
    ]
    .into();
    let texts = Texts::new(Locale::Ru, Some(&site), Some("Old title"));
    assert_eq!(texts.get(TextKey::Title), "Звоните", "texts win over title");
    assert_eq!(texts.fill(TextKey::Eta, "12"), "≈12");
    let titled = Texts::new(Locale::En, None, Some("Old title"));
    assert_eq!(titled.get(TextKey::Title), "Old title");
}

// --- The widget, mounted as the loader mounts it ----------------------------

/// Lets every pending task and promise of the widget run (a macrotask turn).
async fn tick() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0)
            .expect("setTimeout");
    });
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .expect("resolved");
}

/// Events the widget reported through the `emit` option.
type Events = Rc<RefCell<Vec<(String, JsValue)>>>;

/// A mounted widget, removed (host element too) when dropped.
struct Mounted {
    root: web_sys::ShadowRoot,
    handle: WidgetHandle,
    events: Events,
    host: web_sys::Element,
    /// The loader's token for a visitor's own `data-callback-open` click.
    visitor: JsValue,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.handle.destroy();
        self.host.remove();
    }
}

/// Mounts the widget into a fresh shadow root, as the loader does, with
/// `extra` merged into the options (e.g. a `queue`) and `config` as the
/// site's config; waits until it shows. A request an earlier test left
/// pending is forgotten first (it would be sent again).
async fn mount_with(extra: &str, config: &str) -> Mounted {
    storage().remove_item(PENDING_KEY).expect("remove");
    mount_keeping_pending(extra, config).await
}

/// [`mount_with`], as a later page of the tab: a pending request is resumed.
async fn mount_keeping_pending(extra: &str, config: &str) -> Mounted {
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
        r#"{{"site":"demo","api":"http://127.0.0.1:9","locale":"en","config":{config}{extra}}}"#
    ))
    .expect("options");
    let events: Events = Rc::default();
    let sink = events.clone();
    let emit = Closure::<dyn FnMut(JsValue, JsValue)>::new(move |key: JsValue, detail| {
        sink.borrow_mut()
            .push((key.as_string().unwrap_or_default(), detail));
    });
    js_sys::Reflect::set(&options, &"emit".into(), &emit.into_js_value()).expect("set");
    let visitor: JsValue = js_sys::Object::new().into();
    js_sys::Reflect::set(&options, &"visitor".into(), &visitor).expect("set");
    let handle = widget::mount(root.clone(), options).expect("mounted");
    // The config is applied in a task after the mount's: wait for it.
    for _ in 0..20 {
        tick().await;
        if root.query_selector(".cbw.ready").ok().flatten().is_some() {
            break;
        }
    }
    tick().await;
    Mounted {
        root,
        handle,
        events,
        host,
        visitor,
    }
}

/// A config like the demo's: Russia, open, no offices, no consent.
const CONFIG: &str = r##"{"site":"demo","locale":"","color":"#0b6bcb","position":"right","title":"","country_code":"7","offices":[],"open_now":true,"texts":{"ru":{},"en":{}}}"##;

async fn mount_widget(extra: &str) -> Mounted {
    mount_with(extra, CONFIG).await
}

fn query(root: &web_sys::ShadowRoot, selector: &str) -> web_sys::HtmlElement {
    root.query_selector(selector)
        .ok()
        .flatten()
        .map(JsCast::unchecked_into)
        .unwrap_or_else(|| panic!("no {selector}"))
}

fn text(root: &web_sys::ShadowRoot, selector: &str) -> String {
    query(root, selector).text_content().unwrap_or_default()
}

fn is_shown(element: &web_sys::HtmlElement) -> bool {
    element.get_client_rects().length() > 0
}

fn shown(root: &web_sys::ShadowRoot, selector: &str) -> bool {
    is_shown(&query(root, selector))
}

fn event_keys(events: &Events) -> Vec<String> {
    events.borrow().iter().map(|(k, _)| k.clone()).collect()
}

fn phone(root: &web_sys::ShadowRoot) -> web_sys::HtmlInputElement {
    query(root, "input[type=tel]").unchecked_into()
}

fn fire(element: &web_sys::Element, kind: &str) {
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    let event = web_sys::Event::new_with_event_init_dict(kind, &init).expect("event");
    element.dispatch_event(&event).expect("dispatched");
}

/// Types `value` into the phone field, as an `input` event.
fn type_phone(root: &web_sys::ShadowRoot, value: &str) {
    let input = phone(root);
    input.set_value(value);
    fire(&input, "input");
}

fn press(root: &web_sys::ShadowRoot, key: &str, shift: bool) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(key);
    init.set_shift_key(shift);
    init.set_bubbles(true);
    init.set_cancelable(true);
    let event =
        web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).expect("event");
    let target: web_sys::Element = root
        .active_element()
        .unwrap_or_else(|| query(root, ".dialog").into());
    target.dispatch_event(&event).expect("dispatched");
}

fn active_id(root: &web_sys::ShadowRoot) -> String {
    root.active_element().map(|e| e.id()).unwrap_or_default()
}

fn status(state: CallState, reason: Option<FailureReason>) -> CallStatus {
    CallStatus {
        state,
        is_final: state.is_final(),
        reason,
        message: "the proxy's words, not shown".to_owned(),
        eta_seconds: None,
        at: None,
    }
}

/// Lets the widget run until `done` holds, a bounded number of turns.
async fn until(mut done: impl FnMut() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tick().await;
    }
    panic!("the widget never got there");
}

#[wasm_bindgen_test]
async fn an_unreachable_proxy_keeps_the_request_and_says_so() {
    // These tests' proxy is a closed port: every request fails at once.
    let w = mount_widget("").await;
    w.handle.controller().expect("mounted").set_open(true);
    tick().await;
    type_phone(&w.root, "+7 999 123 45 67");
    query(&w.root, "form button[type=submit]").click();
    until(|| text(&w.root, "#cbw-message").starts_with("You're offline")).await;
    assert_eq!(
        text(&w.root, "#cbw-message"),
        "You're offline. Your request is saved and will be sent when you're back."
    );
    assert!(
        w.handle
            .controller()
            .expect("mounted")
            .with_state(|s| s.sending),
        "kept, retried"
    );
    assert_eq!(phone(&w.root).value(), "+7 999 123 45 67");
    assert!(
        !event_keys(&w.events).contains(&"failed".to_owned()),
        "not given up"
    );
}

#[wasm_bindgen_test]
async fn a_request_that_never_gets_through_while_online_is_given_up_after_five_tries() {
    // A site whose proxy CORS blocks fails as an unreachable one does, while
    // the browser is online: it is not retried forever.
    assert!(window().navigator().on_line(), "the test browser is online");
    let w = mount_widget("").await;
    let controller = w.handle.controller().expect("mounted");
    controller.set_open(true);
    tick().await;
    type_phone(&w.root, "+7 999 123 45 67");
    query(&w.root, "form button[type=submit]").click();
    until(|| text(&w.root, "#cbw-message").starts_with("You're offline")).await;
    // Coming back online retries at once (not after the 1, 2, 4, 8 s waits).
    let online = web_sys::Event::new("online").expect("event");
    until(|| {
        window().dispatch_event(&online).expect("dispatched");
        event_keys(&w.events).contains(&"failed".to_owned())
    })
    .await;
    assert_eq!(
        text(&w.root, "#cbw-message"),
        "The request could not be sent. Please try again."
    );
    assert!(!controller.with_state(|s| s.sending), "given up");
    let failed = w.events.borrow().last().cloned().expect("an event");
    assert_eq!(failed.0, "failed");
    assert_eq!(
        js_sys::Reflect::get(&failed.1, &"error".into())
            .ok()
            .and_then(|e| e.as_string())
            .as_deref(),
        Some("unreachable")
    );
    assert_eq!(
        phone(&w.root).value(),
        "+7 999 123 45 67",
        "the number is kept"
    );
}

/// `window.fetch` replaced until dropped: each call's method, URL,
/// Idempotency-Key, `X-Callback-Widget`, `X-Callback-Proof` and body go to
/// `cbwCalls`; a POST without a proof is answered 428 with `cbwChallenge`
/// when it is set; a POST is answered 202 with
/// `cbwAnswer` when it is set, and anything else fails as an unreachable
/// proxy does; a GET of the slots is answered 200 with `cbwSlots` when it
/// is set. (gloo-net calls `fetch` with a `Request`; its body is read
/// before the answer, so a test sees the call once the widget has it.)
struct FakeFetch(JsValue);

impl FakeFetch {
    fn install() -> Self {
        let install = js_sys::Function::new_no_args(
            r#"const original = window.fetch;
            window.cbwCalls = [];
            window.cbwAnswer = undefined;
            window.cbwSlots = undefined;
            window.cbwChallenge = undefined;
            window.fetch = async (input, init) => {
                const request = new Request(input, init);
                const key = request.headers.get("Idempotency-Key") || undefined;
                const widget = request.headers.get("X-Callback-Widget") || undefined;
                const proof = request.headers.get("X-Callback-Proof") || undefined;
                const method = request.method;
                const url = request.url;
                const body = method === "POST" ? await request.text() : undefined;
                window.cbwCalls.push({ url, method, key, widget, proof, body });
                if (window.cbwChallenge !== undefined && method === "POST" && !proof) {
                    return new Response(window.cbwChallenge, { status: 428 });
                }
                if (window.cbwSlots !== undefined && url.includes("/slots")) {
                    return new Response(window.cbwSlots, { status: 200 });
                }
                if (window.cbwAnswer !== undefined && method === "POST") {
                    return new Response(window.cbwAnswer, { status: 202 });
                }
                throw new TypeError("Failed to fetch");
            };
            return original;"#,
        );
        Self(install.call0(&JsValue::NULL).expect("installed"))
    }

    fn answer(&self, json: &str) {
        js_sys::Reflect::set(&window(), &"cbwAnswer".into(), &json.into()).expect("set");
    }

    fn slots(&self, json: &str) {
        js_sys::Reflect::set(&window(), &"cbwSlots".into(), &json.into()).expect("set");
    }

    /// How many times the slots were asked for.
    fn slot_fetches(&self) -> usize {
        let calls = js_sys::Reflect::get(&window(), &"cbwCalls".into()).expect("calls");
        js_sys::Array::from(&calls)
            .iter()
            .filter(|call| field(call, "url").contains("/slots"))
            .count()
    }

    /// Answers a POST without a proof 428 with `json` (an `ErrorBody`).
    fn challenge(&self, json: &str) {
        js_sys::Reflect::set(&window(), &"cbwChallenge".into(), &json.into()).expect("set");
    }

    /// The `X-Callback-Proof` header of each POST so far ("" without one).
    fn proofs(&self) -> Vec<String> {
        let calls = js_sys::Reflect::get(&window(), &"cbwCalls".into()).expect("calls");
        js_sys::Array::from(&calls)
            .iter()
            .filter(|call| field(call, "method") == "POST")
            .map(|call| field(&call, "proof"))
            .collect()
    }

    /// The `X-Callback-Widget` header of each POST so far.
    fn widget_headers(&self) -> Vec<String> {
        let calls = js_sys::Reflect::get(&window(), &"cbwCalls".into()).expect("calls");
        js_sys::Array::from(&calls)
            .iter()
            .filter(|call| field(call, "method") == "POST")
            .map(|call| field(&call, "widget"))
            .collect()
    }

    /// The POSTs so far: (Idempotency-Key, body).
    fn posts(&self) -> Vec<(String, String)> {
        let calls = js_sys::Reflect::get(&window(), &"cbwCalls".into()).expect("calls");
        js_sys::Array::from(&calls)
            .iter()
            .filter(|call| field(call, "method") == "POST")
            .map(|call| (field(&call, "key"), field(&call, "body")))
            .collect()
    }
}

impl Drop for FakeFetch {
    fn drop(&mut self) {
        js_sys::Reflect::set(&window(), &"fetch".into(), &self.0).expect("restored");
    }
}

fn field(object: &JsValue, key: &str) -> String {
    js_sys::Reflect::get(object, &key.into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

#[wasm_bindgen_test]
async fn a_request_quicker_than_the_site_s_least_fill_time_is_held_back_and_marked_as_the_widget_s()
{
    let fetch = FakeFetch::install();
    let config = CONFIG.replace(r#""open_now":true"#, r#""open_now":true,"min_fill_ms":400"#);
    let w = mount_with("", &config).await;
    w.handle.controller().expect("mounted").set_open(true);
    tick().await;
    type_phone(&w.root, "+7 999 123 45 67");
    // A script filling every input fills the honeypot too.
    let honeypot: web_sys::HtmlInputElement =
        query(&w.root, "input[name=website]").unchecked_into();
    assert_eq!(honeypot.tab_index(), -1, "out of the Tab order");
    honeypot.set_value("spam");
    query(&w.root, "form button[type=submit]").click();
    tick().await;
    assert!(
        fetch.posts().is_empty(),
        "held back: sent too soon after opening"
    );
    assert_eq!(text(&w.root, "#cbw-message"), "Sending…");
    until(|| !fetch.posts().is_empty()).await;

    let (_, body) = fetch.posts().first().cloned().expect("a POST");
    let sent = js_sys::JSON::parse(&body).expect("JSON");
    let elapsed = js_sys::Reflect::get(&sent, &"elapsed_ms".into())
        .expect("read")
        .as_f64()
        .expect("elapsed_ms");
    assert!(elapsed >= 400.0, "{body}");
    assert_eq!(
        js_sys::Reflect::get(&sent, &"website".into())
            .expect("read")
            .as_string()
            .as_deref(),
        Some("spam")
    );
    assert_eq!(fetch.widget_headers(), ["1"]);
}

#[wasm_bindgen_test]
async fn a_site_asking_for_a_proof_of_work_gets_one_and_the_order_goes_through() {
    let fetch = FakeFetch::install();
    fetch.challenge(
        r#"{"error":{"code":"challenge_required","message":"m"},"challenge":{"token":"1700000300.0a.0b","bits":12}}"#,
    );
    fetch.answer(r#"{"id":"cb_9","status":{"state":"queued","final":false,"message":""}}"#);
    let w = mount_widget("").await;
    w.handle.controller().expect("mounted").set_open(true);
    tick().await;
    type_phone(&w.root, "+7 999 123 45 67");
    query(&w.root, "form button[type=submit]").click();
    until(|| fetch.posts().len() == 2).await;

    let proofs = fetch.proofs();
    assert_eq!(proofs[0], "", "the first try has none");
    let (token, nonce) = proofs[1].rsplit_once(':').expect("token:nonce");
    assert_eq!(token, "1700000300.0a.0b");
    let nonce: u64 = nonce.parse().expect("a number");
    assert!(challenge::solves(token, 12, nonce), "{nonce} solves it");
    let posts = fetch.posts();
    assert_eq!(posts[0], posts[1], "the same request, key and body");
    until(|| {
        w.handle
            .controller()
            .expect("mounted")
            .with_state(|s| s.status.is_some())
    })
    .await;
}

#[wasm_bindgen_test]
fn the_visitor_s_cost_of_a_proof_of_work_is_measured() {
    // The proxy's default: 18 bits. This is a debug build (the release
    // widget is faster; `tests/tests/proof_of_work.rs` measures that one);
    // printed, not asserted.
    let performance = window().performance().expect("performance");
    let mut tries = 0;
    let started = performance.now();
    for i in 0..4 {
        let challenge = Challenge {
            token: format!("1700000300.{i:02x}.cost"),
            bits: 18,
        };
        let nonce = challenge::search(&challenge, 0, u64::MAX).expect("solved");
        assert!(challenge::solves(&challenge.token, 18, nonce));
        tries += nonce + 1;
    }
    let ms = performance.now() - started;
    console_log!(
        "proof of work, 18 bits, debug build: {:.0} ms per challenge on average, {:.0} hashes/ms",
        ms / 4.0,
        tries as f64 / ms
    );
}

#[wasm_bindgen_test]
async fn an_unsent_request_survives_a_reload_and_is_sent_again_with_its_key() {
    let fetch = FakeFetch::install();
    let w = mount_widget(r#","privacy":"strict""#).await;
    w.handle.controller().expect("mounted").set_open(true);
    tick().await;
    type_phone(&w.root, "+7 999 123 45 67");
    query(&w.root, "form button[type=submit]").click();
    until(|| text(&w.root, "#cbw-message").starts_with("You're offline")).await;

    // Kept for the tab, exactly as it was sent, strict privacy or not (the
    // visitor submitted).
    let sent = fetch.posts();
    let (key, body) = sent.first().cloned().expect("a POST");
    assert_eq!(key.len(), 32, "an Idempotency-Key");
    assert!(body.contains(r#""phone":"+79991234567""#), "{body}");
    assert!(
        !body.contains("website"),
        "a person leaves the honeypot empty: {body}"
    );
    let stored = storage()
        .get_item(PENDING_KEY)
        .expect("read")
        .expect("a pending request");
    let mut parts = stored.splitn(3, '\n');
    let since: f64 = parts.next().expect("since").parse().expect("ms");
    assert!((js_sys::Date::now() - since).abs() < 60_000.0);
    assert_eq!(parts.next(), Some(key.as_str()));
    assert_eq!(parts.next(), Some(body.as_str()));

    // The visitor goes to another page while it is retried…
    drop(w);
    // …whose widget, with the proxy reachable again, sends it once more,
    // with the same key, without opening anything.
    let accepted = CallbackAccepted {
        id: "cb_resumed".to_owned(),
        status: status(CallState::Queued, None),
    };
    fetch.answer(&serde_json_text(&accepted));
    let before = fetch.posts().len();
    let w = mount_keeping_pending("", CONFIG).await;
    until(|| event_keys(&w.events).contains(&"submitted".to_owned())).await;
    assert_eq!(fetch.posts()[before..], [(key, body)]);
    let submitted = w
        .events
        .borrow()
        .iter()
        .find(|(k, _)| k == "submitted")
        .cloned();
    assert_eq!(field(&submitted.expect("submitted").1, "id"), "cb_resumed");
    assert_eq!(
        storage().get_item(PENDING_KEY).expect("read"),
        None,
        "cleared"
    );
    let controller = w.handle.controller().expect("mounted");
    assert!(!controller.with_state(|s| s.open), "nothing opened");
    assert!(!controller.with_state(|s| s.sending));
    // Opening the dialog shows the request's status.
    controller.set_open(true);
    tick().await;
    assert_eq!(
        text(&w.root, ".status"),
        "Request saved; connecting to the phone service…"
    );
    assert!(shown(&w.root, ".status"));
}

#[wasm_bindgen_test]
async fn a_pending_request_older_than_a_day_is_dropped_not_sent() {
    let fetch = FakeFetch::install();
    fetch.answer("{}");
    // A day and a second ago.
    let day_ago = js_sys::Date::now() - 86_401_000.0;
    storage()
        .set_item(
            PENDING_KEY,
            &format!("{day_ago}\nkey\n{{\"phone\":\"+79991234567\"}}"),
        )
        .expect("write");
    let w = mount_keeping_pending("", CONFIG).await;
    tick().await;
    assert!(fetch.posts().is_empty(), "not sent");
    assert_eq!(storage().get_item(PENDING_KEY).expect("read"), None);
    assert!(
        !w.handle
            .controller()
            .expect("mounted")
            .with_state(|s| s.sending)
    );
}

#[wasm_bindgen_test]
async fn the_launcher_opens_a_labelled_modal_dialog_and_tells_the_page() {
    let w = mount_widget("").await;
    let launcher = query(&w.root, "button.launcher");
    assert_eq!(
        launcher.get_attribute("aria-label").as_deref(),
        Some("Request a callback")
    );
    assert!(
        w.root
            .query_selector("[role=dialog]")
            .ok()
            .flatten()
            .is_none(),
        "not drawn before it first opens"
    );

    launcher.click();
    tick().await;
    let dialog = query(&w.root, "[role=dialog]");
    assert_eq!(dialog.get_attribute("aria-modal").as_deref(), Some("true"));
    assert!(is_shown(&dialog), "the dialog opens");
    assert_eq!(
        launcher.get_attribute("aria-expanded").as_deref(),
        Some("true")
    );
    let input = phone(&w.root);
    for (name, value) in [
        ("type", "tel"),
        ("inputmode", "tel"),
        ("autocomplete", "tel"),
    ] {
        assert_eq!(input.get_attribute(name).as_deref(), Some(value), "{name}");
    }
    assert_eq!(input.value(), "+7 ", "the site's country code");
    let font = window()
        .get_computed_style(&input)
        .ok()
        .flatten()
        .and_then(|s| s.get_property_value("font-size").ok());
    assert_eq!(font.as_deref(), Some("16px"), "no zoom on iOS");
    assert!(!shown(&w.root, ".consent"), "no consent configured");
    assert!(!shown(&w.root, "#cbw-office"), "one office");
    assert!(shown(&w.root, ".choice"), "now or later, while open");
    assert!(!shown(&w.root, "#cbw-slot"), "now is chosen");

    query(&w.root, ".dialog button.close").click();
    tick().await;
    assert!(!is_shown(&dialog), "closed again");
    assert!(
        dialog.is_connected(),
        "kept, with what was typed, for the next opening"
    );
    assert_eq!(event_keys(&w.events), ["opened", "closed"]);
}

#[wasm_bindgen_test]
async fn the_number_is_validated_as_it_is_typed_and_on_submit() {
    let w = mount_widget(r#","locale":"ru""#).await;
    w.handle.controller().expect("mounted").set_open(true);
    tick().await;
    let message = || text(&w.root, "#cbw-phone-msg");
    let invalid = || phone(&w.root).get_attribute("aria-invalid");

    type_phone(&w.root, "+7 999 12");
    tick().await;
    assert_eq!(message(), "", "too short is not said while typing");
    type_phone(&w.root, "+7 999 12a");
    tick().await;
    assert_eq!(
        message(),
        "Номер может содержать только цифры, пробелы и + ( ) -",
        "a wrong character is said at once"
    );
    assert_eq!(invalid().as_deref(), Some("true"));
    type_phone(&w.root, "+7 999 12");
    tick().await;
    assert_eq!(
        message(),
        "В номере не хватает цифр",
        "it follows the typing"
    );
    type_phone(&w.root, "+7 999 123 45 67");
    tick().await;
    assert_eq!(message(), "", "right now");
    assert_eq!(invalid().as_deref(), Some("false"));
    type_phone(&w.root, "+7 999 123 45 67^12");
    tick().await;
    assert_eq!(message(), "Укажите номер без добавочного");
    type_phone(&w.root, "+7 999 123 45 67 89 01 23");
    tick().await;
    assert_eq!(message(), "В номере слишком много цифр");

    // Leaving a short number says so; the prefix alone is nothing typed.
    type_phone(&w.root, "+7 99");
    fire(&phone(&w.root), "focusout");
    tick().await;
    assert_eq!(message(), "В номере не хватает цифр");
    type_phone(&w.root, "+7 ");
    query(&w.root, "form button[type=submit]").click();
    tick().await;
    assert_eq!(message(), "Введите номер телефона");
    assert_eq!(active_id(&w.root), "cbw-phone", "focus goes to the field");
    assert_eq!(
        query(&w.root, "[role=dialog]")
            .get_attribute("data-state")
            .as_deref(),
        Some("form"),
        "nothing was sent"
    );
    assert!(!event_keys(&w.events).contains(&"submitted".to_owned()));
}

#[wasm_bindgen_test]
fn a_whole_number_pasted_after_the_prefix_is_the_number() {
    use widget::controller::phone_error;
    let parsed = |typed| phone_error(typed, Some("7")).map(|n| n.as_str().to_owned());
    for typed in [
        "+7 +7 (999) 123-45-67",
        "+7 8 (999) 123-45-67",
        "+7 7 999 123 45 67",
        "+7 (999) 123-45-67",
        "+7 9991234567",
    ] {
        assert_eq!(parsed(typed).as_deref(), Ok("79991234567"), "{typed}");
    }
    assert_eq!(parsed("+7"), Err(TextKey::PhoneEmpty));
    assert_eq!(
        phone_error("+44 20 7946 0018", Some("44")).map(|n| n.as_str().to_owned()),
        Ok("442079460018".to_owned())
    );
}

#[wasm_bindgen_test]
async fn each_state_is_said_in_plain_words_with_the_estimate_and_a_way_back_after_failure() {
    let w = mount_widget("").await;
    let controller = w.handle.controller().expect("mounted");
    controller.set_open(true);
    tick().await;
    let state = || {
        query(&w.root, "[role=dialog]")
            .get_attribute("data-state")
            .unwrap_or_default()
    };
    let said = [
        (CallState::Received, "Request received"),
        (
            CallState::Queued,
            "Request saved; connecting to the phone service…",
        ),
        (
            CallState::Ordered,
            "Call ordered: we're ringing our staff, then you",
        ),
        (CallState::InProgress, "Connecting: your phone will ring"),
        (CallState::Succeeded, "The call went through. Thank you!"),
    ];
    for (call_state, words) in said {
        controller.show_status(status(call_state, None));
        tick().await;
        assert_eq!(state(), wire_name(&call_state));
        assert_eq!(text(&w.root, ".status"), words);
        assert!(!shown(&w.root, "form"), "the form is gone");
        assert!(!shown(&w.root, ".again"), "no way back unless it failed");
    }
    assert_eq!(
        query(&w.root, ".status").get_attribute("role").as_deref(),
        Some("status"),
        "announced"
    );

    // The estimate counts down, said as an estimate.
    controller.show_status(CallStatus {
        eta_seconds: Some(20),
        ..status(CallState::Ordered, None)
    });
    tick().await;
    assert_eq!(text(&w.root, ".eta"), "In about 20 s (an estimate)");
    controller.show_status(CallStatus {
        eta_seconds: Some(0),
        ..status(CallState::InProgress, None)
    });
    tick().await;
    assert_eq!(text(&w.root, ".eta"), "Any moment now");

    // A call ordered for now that is scheduled is CallKeeper's next attempt,
    // said with when, in the visitor's time.
    let at = 1_900_000_000;
    controller.show_status(CallStatus {
        at: Some(at),
        ..status(CallState::Scheduled, None)
    });
    tick().await;
    let when = widget::i18n::format_time(at, Locale::En);
    assert_eq!(
        text(&w.root, ".status"),
        format!("We'll call again on {when}")
    );
    assert_eq!(text(&w.root, ".eta"), "", "no estimate for a later call");
    controller.show_status(CallStatus {
        at: Some(at),
        ..status(CallState::Scheduled, Some(FailureReason::Busy))
    });
    tick().await;
    assert_eq!(
        text(&w.root, ".status"),
        format!("Your line was busy. We'll call again on {when}")
    );

    for (reason, words) in [
        (FailureReason::Busy, "Your line was busy"),
        (FailureReason::NoAnswer, "You didn't answer the call"),
        (
            FailureReason::InvalidNumber,
            "We couldn't call this number: please check it",
        ),
        (
            FailureReason::Closed,
            "We're closed right now. Pick a time and we'll call you then.",
        ),
    ] {
        controller.show_status(status(CallState::Failed, Some(reason)));
        tick().await;
        assert_eq!(state(), "failed");
        assert_eq!(text(&w.root, ".status"), words);
        assert!(shown(&w.root, ".again"), "try again or pick a time");
    }
    assert_eq!(
        event_keys(&w.events)
            .iter()
            .filter(|k| *k == "failed")
            .count(),
        4
    );

    // Pick a time: back to the form, with the list of times.
    query(&w.root, "button[data-act=pick]").click();
    tick().await;
    assert_eq!(state(), "form");
    assert!(shown(&w.root, "#cbw-slot"));
    assert_eq!(active_id(&w.root), "cbw-slot");
    // Try again (after another failure): back to the form, to call now.
    controller.show_status(status(CallState::Failed, Some(FailureReason::NoAnswer)));
    tick().await;
    query(&w.root, "button[data-act=again]").click();
    tick().await;
    assert_eq!(state(), "form");
    assert!(!shown(&w.root, "#cbw-slot"));
    assert_eq!(active_id(&w.root), "cbw-phone");
}

#[wasm_bindgen_test]
async fn focus_moves_in_stays_in_and_returns_and_escape_closes() {
    let w = mount_widget("").await;
    let document = window().document().expect("document");
    let opener: web_sys::HtmlElement = document
        .create_element("button")
        .expect("button")
        .unchecked_into();
    document
        .body()
        .expect("body")
        .append_child(&opener)
        .expect("append");
    opener.focus().expect("focus");

    w.handle.controller().expect("mounted").set_open(true);
    tick().await;
    assert_eq!(active_id(&w.root), "cbw-phone", "focus moves in");

    // Tab from the last control wraps to the first; Shift+Tab back.
    let submit = query(&w.root, "form button[type=submit]");
    submit.focus().expect("focus");
    press(&w.root, "Tab", false);
    tick().await;
    assert_eq!(
        w.root.active_element().map(|e| e.class_name()).as_deref(),
        Some("close"),
        "wraps to the first"
    );
    press(&w.root, "Tab", true);
    tick().await;
    assert_eq!(
        w.root.active_element().map(|e| e.get_attribute("type")),
        Some(Some("submit".to_owned())),
        "and back to the last"
    );

    press(&w.root, "Escape", false);
    tick().await;
    assert!(!shown(&w.root, "[role=dialog]"), "Escape closes");
    assert_eq!(
        document.active_element(),
        Some(opener.clone().into()),
        "focus returns where it was"
    );

    // Opened from the launcher, it returns to the launcher.
    query(&w.root, "button.launcher").focus().expect("focus");
    query(&w.root, "button.launcher").click();
    tick().await;
    assert_eq!(active_id(&w.root), "cbw-phone");
    query(&w.root, ".dialog button.close").click();
    tick().await;
    assert_eq!(
        w.root.active_element().map(|e| e.class_name()).as_deref(),
        Some("launcher")
    );
    opener.remove();
}

#[wasm_bindgen_test]
async fn the_sites_config_sets_language_texts_colour_side_offices_consent_and_closed_hours() {
    let config = r##"{"locale":"ru","color":"#ffd700","position":"left","title":"","country_code":"375",
        "offices":["Минск","Брест"],"open_now":false,
        "consent":{"version":"v1","link":"https://shop.example/privacy","required":true},
        "texts":{"ru":{"submit":"Жду звонка"},"en":{}}}"##;
    let w = mount_with("", config).await;
    let controller = w.handle.controller().expect("mounted");
    controller.set_open(true);
    tick().await;
    // The page's data-locale ("en" in these tests) wins over the site's "ru".
    assert_eq!(text(&w.root, "form button[type=submit]"), "Call me back");
    controller.set_locale("ru");
    tick().await;
    assert_eq!(
        text(&w.root, "form button[type=submit]"),
        "Жду звонка",
        "the site's words"
    );
    assert_eq!(phone(&w.root).value(), "+375 ");
    assert!(query(&w.root, ".cbw").class_list().contains("left"));
    let launcher_text = window()
        .get_computed_style(&query(&w.root, ".launcher"))
        .ok()
        .flatten()
        .and_then(|s| s.get_property_value("color").ok());
    assert_eq!(
        launcher_text.as_deref(),
        Some("rgb(0, 0, 0)"),
        "black on yellow: white would be 1.4:1"
    );

    let office: web_sys::HtmlSelectElement = query(&w.root, "#cbw-office").unchecked_into();
    assert!(is_shown(&office));
    assert_eq!(office.length(), 2);

    // Closed: no "now", the times instead, and why.
    assert!(!shown(&w.root, ".choice"));
    assert!(shown(&w.root, ".closed"));
    assert!(shown(&w.root, "#cbw-slot"));

    // Consent is required: a valid number is not enough.
    assert!(shown(&w.root, ".consent"));
    assert_eq!(
        query(&w.root, ".consent a")
            .get_attribute("href")
            .as_deref(),
        Some("https://shop.example/privacy")
    );
    type_phone(&w.root, "+375 29 123 45 67");
    query(&w.root, "form button[type=submit]").click();
    tick().await;
    assert_eq!(
        text(&w.root, "#cbw-consent-msg"),
        "Нужно ваше согласие на обработку данных"
    );
    assert_eq!(active_id(&w.root), "cbw-consent");
    let consent: web_sys::HtmlInputElement = query(&w.root, "#cbw-consent").unchecked_into();
    consent.click();
    tick().await;
    assert_eq!(text(&w.root, "#cbw-consent-msg"), "", "ticked");
}

#[wasm_bindgen_test]
async fn without_a_config_the_widget_shows_with_its_defaults() {
    let w = mount_with("", "null").await;
    assert!(shown(&w.root, "button.launcher"));
    query(&w.root, "button.launcher").click();
    tick().await;
    assert_eq!(phone(&w.root).value(), "", "no country code to pre-fill");
}

#[wasm_bindgen_test]
async fn commands_queued_before_the_widget_loaded_run_in_order() {
    let w = mount_widget(
        r#","queue":[["set",{"calltouch_session":"ct-7"}],["setLocale","ru"],["open"],["unknown"]]"#,
    )
    .await;
    let launcher = query(&w.root, "button.launcher");
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
    assert_eq!(active_id(&w.root), "cbw-phone", "focus moved in once shown");
    let controller = w.handle.controller().expect("mounted");
    assert_eq!(
        controller
            .services()
            .visit
            .context()
            .calltouch_session
            .as_deref(),
        Some("ct-7")
    );
    assert_eq!(event_keys(&w.events), ["opened"]);
}

#[wasm_bindgen_test]
async fn a_new_language_keeps_the_dialog_open_and_what_was_said() {
    let mut w = mount_widget("").await;
    w.handle.command("open", JsValue::UNDEFINED);
    tick().await;
    type_phone(&w.root, "1");
    query(&w.root, "form button[type=submit]").click();
    tick().await;

    w.handle.command("setLocale", JsValue::from_str("ru-RU"));
    tick().await;
    assert_eq!(
        w.root
            .query_selector_all("button.launcher")
            .expect("query")
            .length(),
        1
    );
    assert_eq!(text(&w.root, "h2"), "Перезвоним за 30 секунд");
    assert_eq!(
        query(&w.root, "button.launcher")
            .get_attribute("aria-expanded")
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        text(&w.root, "#cbw-phone-msg"),
        "В номере не хватает цифр",
        "the message follows the language"
    );
    assert_eq!(phone(&w.root).value(), "1", "the typed number stays");
}

#[wasm_bindgen_test]
async fn destroy_removes_the_widget_and_later_commands_do_nothing() {
    let mut w = mount_widget("").await;
    assert!(w.root.child_element_count() > 0);
    w.handle.command("destroy", JsValue::UNDEFINED);
    tick().await;
    assert_eq!(w.root.child_element_count(), 0, "no node left");
    w.handle.command("open", JsValue::UNDEFINED);
    tick().await;
    w.handle.destroy();
    assert!(w.handle.controller().is_none());
    assert!(event_keys(&w.events).is_empty());
}

#[wasm_bindgen_test]
async fn under_strict_privacy_only_the_visitor_unlocks_storage_not_the_pages_open() {
    storage().clear().expect("clear");
    let mut w = mount_widget(r#","privacy":"strict""#).await;
    let landing_stored = || storage().get_item(STORAGE_KEY).expect("read").is_some();
    // The page's open() (an auto-open on a timer, say) is not the visitor.
    w.handle.command("open", JsValue::UNDEFINED);
    tick().await;
    assert!(query(&w.root, "[role=dialog]").get_client_rects().length() > 0);
    assert!(!landing_stored(), "open() alone unlocked storage");
    // Nor is a page script's open with an argument, or its synthetic click
    // on the widget's own launcher.
    w.handle.command("close", JsValue::UNDEFINED);
    w.handle.command("open", js_sys::Object::new().into());
    query(&w.root, "button.launcher").click();
    query(&w.root, "button.launcher").click();
    tick().await;
    assert!(!landing_stored(), "a page script unlocked storage");
    assert_eq!(storage().length().expect("length"), 0, "nothing written");

    // The loader's open after a visitor's trusted data-callback-open click.
    w.handle.command("close", JsValue::UNDEFINED);
    let visitor = w.visitor.clone();
    w.handle.command("open", visitor);
    tick().await;
    assert!(landing_stored(), "the visitor's click unlocks storage");
}

#[wasm_bindgen_test]
async fn times_that_could_not_be_loaded_are_said_and_tried_again() {
    let fetch = FakeFetch::install();
    let closed = r##"{"locale":"en","country_code":"7","offices":[],"open_now":false,"texts":{"ru":{},"en":{}}}"##;
    let w = mount_with("", closed).await;
    let controller = w.handle.controller().expect("mounted");
    controller.set_open(true);
    tick().await;
    let unavailable = "The times could not be loaded. Trying again…";
    until(|| text(&w.root, "#cbw-slot-msg") == unavailable).await;
    // Submitting does not say "no times are free": it tries again.
    type_phone(&w.root, "+7 999 123 45 67");
    let before = fetch.slot_fetches();
    query(&w.root, "form button[type=submit]").click();
    tick().await;
    assert_eq!(text(&w.root, "#cbw-slot-msg"), unavailable);
    assert!(fetch.slot_fetches() > before, "tried again on submit");
    assert!(fetch.posts().is_empty(), "nothing sent without a time");

    // The next opening tries again, and the times show once they load.
    controller.set_open(false);
    until(|| text(&w.root, "#cbw-slot-msg") == unavailable).await;
    let slots = Slots {
        open_now: false,
        time_zone: "UTC+03:00".to_owned(),
        slots: vec![Slot {
            start: 4_000_000_000,
            end: 4_000_001_800,
        }],
    };
    fetch.slots(&serde_json_text(&slots));
    controller.set_open(true);
    tick().await;
    until(|| text(&w.root, "#cbw-slot-msg").is_empty()).await;
    let slot: web_sys::HtmlSelectElement = query(&w.root, "#cbw-slot").unchecked_into();
    assert_eq!(slot.value(), "4000000000");
}

#[wasm_bindgen_test]
fn invitation_settings_are_the_sites_with_the_pages_over_them() {
    use widget::invite::Invite;
    let site = [
        ("scroll_percent".to_owned(), "50".to_owned()),
        ("never".to_owned(), "/checkout*,/cart".to_owned()),
        ("when_closed".to_owned(), "true".to_owned()),
    ]
    .into();
    let page =
        js_sys::JSON::parse(r#"{"scroll_percent":"70","time_seconds":"60","per_visit":"1"}"#)
            .expect("json");
    let invite = Invite::read(&site, &page);
    assert_eq!(invite.scroll_percent, Some(70.0), "the page's wins");
    assert_eq!(invite.time_ms, Some(60_000.0));
    assert_eq!(invite.exit_ms, None, "off unless set");
    assert_eq!(invite.per_visit, 1.0);
    assert_eq!(invite.pause_ms, 30.0 * 60_000.0, "the default pause");
    assert!(invite.when_closed && !invite.touch_exit && invite.any_trigger());
    assert!(invite.allows_path("/catalog/phones"));
    assert!(!invite.allows_path("/checkout"));
    assert!(!invite.allows_path("/checkout/pay"));
    assert!(!invite.allows_path("/cart"));
    assert!(
        invite.allows_path("/cart/old"),
        "without a star, that path only"
    );

    let only = Invite::read(
        &[("only".to_owned(), "/catalog*".to_owned())].into(),
        &JsValue::UNDEFINED,
    );
    assert!(only.allows_path("/catalog/x") && !only.allows_path("/about"));
    assert!(!only.any_trigger(), "page rules alone invite nobody");
    assert_eq!(
        Invite::read(&Strings::new(), &JsValue::UNDEFINED),
        Invite {
            per_visit: 2.0,
            pause_ms: 30.0 * 60_000.0,
            ..Invite::default()
        }
    );
}

#[wasm_bindgen_test]
fn the_caps_hold_an_invitation_back_per_page_per_visit_after_a_no_and_after_the_dialog() {
    use widget::invite::{Invitations, Invite};
    // Strict: the record lives in memory, so the test leaves no storage behind.
    let invitations = Invitations::new(true, JsValue::UNDEFINED);
    *invitations.settings.borrow_mut() = Invite {
        per_visit: 2.0,
        pause_ms: 30.0 * 60_000.0,
        ..Invite::default()
    };
    const MINUTE: f64 = 60_000.0;
    const HALF_HOUR: f64 = 30.0 * MINUTE;
    const HOUR: f64 = 60.0 * MINUTE;
    let now = 1_700_000_000_000.0;
    assert!(invitations.allowed(now));
    invitations.shown_here.set(true);
    assert!(!invitations.allowed(now), "one per page view");
    invitations.shown_here.set(false);
    invitations.change(|record| record.shown = 2.0);
    assert!(!invitations.allowed(now), "per_visit reached");
    invitations.change(|record| record.shown = 1.0);
    invitations.change(|record| record.engaged_at = now);
    assert!(
        !invitations.allowed(now + HALF_HOUR - MINUTE),
        "within the pause"
    );
    assert!(invitations.allowed(now + HALF_HOUR), "after it");
    invitations.change(|record| record.no = true);
    assert!(!invitations.allowed(now + HOUR), "a no is for the visit");
    let page = web_sys::window()
        .expect("window")
        .location()
        .pathname()
        .expect("path");
    *invitations.settings.borrow_mut() = Invite {
        per_visit: 2.0,
        never: page,
        ..Invite::default()
    };
    invitations.change(|record| record.no = false);
    assert!(!invitations.allowed(now + HOUR), "never on this path");
    assert_eq!(
        web_sys::window()
            .and_then(|w| w.session_storage().ok().flatten())
            .and_then(|s| s.get_item(widget::invite::STORAGE_KEY).ok().flatten()),
        None,
        "strict: nothing stored"
    );
}
