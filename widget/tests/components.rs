//! Each of the widget's components alone (wasm-bindgen-test, headless
//! Chromium): mounted with Leptos's `mount_to` into an element of a fresh
//! open shadow root, as the widget is, with fixed signals; then its DOM, its
//! ARIA and its events are checked, after `tick().await` when a signal
//! changed (Leptos applies a change in a microtask). No sleeps.

#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use leptos::mount::{UnmountHandle, mount_to};
use leptos::prelude::*;
use protocol::{CallState, CallStatus, ConsentConfig, FailureReason, TextKey};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use widget::components::{
    CallStatusView, ConsentField, Dialog, Launcher, Message, OfficeField, PhoneField, Teaser,
    WhenToCall,
};
use widget::{Locale, Texts};

wasm_bindgen_test_configure!(run_in_browser);

/// A component mounted alone; unmounted (host element too) when dropped.
struct Alone<M: leptos::tachys::view::Mountable> {
    root: web_sys::ShadowRoot,
    host: web_sys::Element,
    _view: UnmountHandle<M>,
}

impl<M: leptos::tachys::view::Mountable> Drop for Alone<M> {
    fn drop(&mut self) {
        self.host.remove();
    }
}

fn mount_alone<F, N>(view: F) -> Alone<N::State>
where
    F: FnOnce() -> N + 'static,
    N: IntoView,
{
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("document");
    let host = document.create_element("div").expect("host");
    document
        .body()
        .expect("body")
        .append_child(&host)
        .expect("append");
    let root = host
        .attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))
        .expect("shadow");
    let parent: web_sys::HtmlElement = document
        .create_element("div")
        .expect("div")
        .unchecked_into();
    root.append_child(&parent).expect("append");
    let view = mount_to(parent, view);
    Alone {
        root,
        host,
        _view: view,
    }
}

impl<M: leptos::tachys::view::Mountable> Alone<M> {
    fn query(&self, selector: &str) -> web_sys::HtmlElement {
        self.root
            .query_selector(selector)
            .ok()
            .flatten()
            .map(JsCast::unchecked_into)
            .unwrap_or_else(|| panic!("no {selector}"))
    }

    fn attr(&self, selector: &str, name: &str) -> Option<String> {
        self.query(selector).get_attribute(name)
    }

    fn text(&self, selector: &str) -> String {
        self.query(selector).text_content().unwrap_or_default()
    }
}

/// Lets Leptos apply what changed (a macrotask turn).
async fn tick() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .expect("window")
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0)
            .expect("setTimeout");
    });
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .expect("resolved");
}

/// The English texts, as the `words` prop.
fn english() -> impl Fn(TextKey) -> String + Copy + Send + Sync + 'static {
    let texts = StoredValue::new(Texts::new(Locale::En, None, None));
    move |key| texts.with_value(|t| t.get(key).to_owned())
}

fn fire(element: &web_sys::Element, kind: &str) {
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    let event = web_sys::Event::new_with_event_init_dict(kind, &init).expect("event");
    element.dispatch_event(&event).expect("dispatched");
}

/// Calls recorded by a component's callbacks.
type Calls<T> = Rc<RefCell<Vec<T>>>;

#[wasm_bindgen_test]
async fn the_launcher_says_whether_the_dialog_is_open_and_reports_its_clicks() {
    let open = RwSignal::new(false);
    let clicks: Calls<()> = Rc::default();
    let heard = clicks.clone();
    let w = mount_alone(move || {
        view! {
            <Launcher
                open=move || open.get()
                words=english()
                on_toggle=move || heard.borrow_mut().push(())
            />
        }
    });
    assert_eq!(w.attr("button", "aria-expanded").as_deref(), Some("false"));
    assert_eq!(
        w.attr("button", "aria-label").as_deref(),
        Some("Request a callback")
    );
    assert_eq!(w.attr("button", "aria-haspopup").as_deref(), Some("dialog"));
    assert_eq!(w.attr("button", "type").as_deref(), Some("button"));
    w.query("button").click();
    assert_eq!(clicks.borrow().len(), 1);
    open.set(true);
    tick().await;
    assert_eq!(w.attr("button", "aria-expanded").as_deref(), Some("true"));
}

#[wasm_bindgen_test]
async fn the_dialog_is_a_labelled_modal_with_its_switches_and_a_named_close_button() {
    let state = RwSignal::new("form".to_owned());
    let later = RwSignal::new(false);
    let closed: Calls<()> = Rc::default();
    let heard = closed.clone();
    let w = mount_alone(move || {
        view! {
            <Dialog
                words=english()
                data_state=move || state.get()
                later=move || later.get()
                open_now=|| false
                on_close=move || heard.borrow_mut().push(())
            >
                <p class="inside">"child"</p>
            </Dialog>
        }
    });
    let dialog = "[role=dialog]";
    assert_eq!(w.attr(dialog, "aria-modal").as_deref(), Some("true"));
    assert_eq!(
        w.attr(dialog, "aria-labelledby").as_deref(),
        Some("cbw-title")
    );
    assert_eq!(w.text("#cbw-title"), "We'll call you back in 30 seconds");
    assert_eq!(w.attr(dialog, "data-state").as_deref(), Some("form"));
    assert_eq!(w.attr(dialog, "data-when").as_deref(), Some("now"));
    assert_eq!(w.attr(dialog, "data-open").as_deref(), Some("0"));
    assert_eq!(w.text(".inside"), "child");
    assert_eq!(
        w.attr("button.close", "aria-label").as_deref(),
        Some("Close")
    );
    w.query("button.close").click();
    assert_eq!(closed.borrow().len(), 1);
    state.set("failed".to_owned());
    later.set(true);
    tick().await;
    assert_eq!(w.attr(dialog, "data-state").as_deref(), Some("failed"));
    assert_eq!(w.attr(dialog, "data-when").as_deref(), Some("later"));
}

#[wasm_bindgen_test]
async fn the_phone_field_is_a_described_tel_field_that_reports_typing_and_leaving() {
    let error = RwSignal::new(String::new());
    let changes: Calls<(String, bool)> = Rc::default();
    let heard = changes.clone();
    let w = mount_alone(move || {
        view! {
            <PhoneField
                words=english()
                value=|| "+7 ".to_owned()
                error=move || error.get()
                on_change=move |typed, leaving| heard.borrow_mut().push((typed, leaving))
            />
        }
    });
    tick().await;
    let input: web_sys::HtmlInputElement = w.query("input").unchecked_into();
    assert_eq!(input.value(), "+7 ");
    for (name, value) in [
        ("type", "tel"),
        ("inputmode", "tel"),
        ("autocomplete", "tel"),
        ("aria-describedby", "cbw-phone-msg"),
        ("aria-invalid", "false"),
    ] {
        assert_eq!(input.get_attribute(name).as_deref(), Some(value), "{name}");
    }
    assert_eq!(w.text("label[for=cbw-phone]"), "Your phone number");
    assert_eq!(
        w.attr("#cbw-phone-msg", "aria-live").as_deref(),
        Some("polite")
    );
    assert_eq!(w.text("#cbw-phone-msg"), "");

    input.set_value("+7 999");
    fire(&input, "input");
    input.set_value("");
    fire(&input, "change");
    fire(&input, "focusout");
    assert_eq!(
        *changes.borrow(),
        [
            ("+7 999".to_owned(), false),
            (String::new(), false),
            (String::new(), true)
        ]
    );
    error.set("The number is too short".to_owned());
    tick().await;
    assert_eq!(w.text("#cbw-phone-msg"), "The number is too short");
    assert_eq!(input.get_attribute("aria-invalid").as_deref(), Some("true"));
}

#[wasm_bindgen_test]
async fn the_office_field_lists_the_offices_by_index_only_when_there_is_a_choice() {
    let offices = RwSignal::new(vec!["Minsk".to_owned()]);
    let w = mount_alone(move || {
        view! { <OfficeField words=english() offices=move || offices.get() /> }
    });
    let field = "div:has(> #cbw-office)";
    assert!(
        w.query(field).has_attribute("hidden"),
        "one office: no choice"
    );
    offices.set(vec!["Minsk".to_owned(), "Brest".to_owned()]);
    tick().await;
    assert!(!w.query(field).has_attribute("hidden"));
    let select: web_sys::HtmlSelectElement = w.query("#cbw-office").unchecked_into();
    assert_eq!(select.length(), 2);
    assert_eq!(select.value(), "0");
    assert_eq!(w.text("option[value='1']"), "Brest");
    assert_eq!(w.text("label[for=cbw-office]"), "Office");
}

#[wasm_bindgen_test]
async fn when_to_call_offers_now_or_a_time_in_the_visitors_words_and_reports_choices() {
    let later = RwSignal::new(false);
    let slots = RwSignal::new(Vec::<i64>::new());
    let error = RwSignal::new(Some(TextKey::NoSlots));
    let choices: Calls<bool> = Rc::default();
    let picks: Calls<()> = Rc::default();
    let (heard, picked) = (choices.clone(), picks.clone());
    let w = mount_alone(move || {
        view! {
            <WhenToCall
                words=english()
                locale=|| Locale::En
                later=move || later.get()
                slots=move || slots.get()
                error=move || error.get().map(english()).unwrap_or_default()
                on_choose=move |later| heard.borrow_mut().push(later)
                on_pick=move || picked.borrow_mut().push(())
            />
        }
    });
    let radio = |value: &str| -> web_sys::HtmlInputElement {
        w.query(&format!("input[value={value}]")).unchecked_into()
    };
    assert!(radio("now").checked() && !radio("later").checked());
    assert_eq!(w.text("legend"), "When should we call?");
    assert_eq!(
        w.text("#cbw-slot-msg"),
        "No times are free yet. Please look again later."
    );
    assert_eq!(
        w.attr("#cbw-slot", "aria-describedby").as_deref(),
        Some("cbw-slot-msg")
    );

    radio("later").click();
    assert_eq!(*choices.borrow(), [true]);
    later.set(true);
    slots.set(vec![4_000_000_000, 4_000_001_800]);
    error.set(None);
    tick().await;
    assert!(radio("later").checked() && !radio("now").checked());
    let select: web_sys::HtmlSelectElement = w.query("#cbw-slot").unchecked_into();
    assert_eq!(select.length(), 2);
    assert_eq!(select.value(), "4000000000");
    assert_eq!(
        w.text("option[value='4000001800']"),
        widget::i18n::format_time(4_000_001_800, Locale::En)
    );
    assert_eq!(w.text("#cbw-slot-msg"), "");

    // A pick survives the list being fetched again.
    select.set_value("4000001800");
    fire(&select, "change");
    assert_eq!(picks.borrow().len(), 1);
    slots.set(vec![4_000_000_000, 4_000_001_800, 4_000_003_600]);
    tick().await;
    assert_eq!(select.length(), 3);
    assert_eq!(select.value(), "4000001800");
}

#[wasm_bindgen_test]
async fn the_consent_box_shows_only_when_asked_with_its_link_and_reports_ticks() {
    let consent = RwSignal::new(None::<ConsentConfig>);
    let error = RwSignal::new(false);
    let ticks: Calls<bool> = Rc::default();
    let heard = ticks.clone();
    let w = mount_alone(move || {
        view! {
            <ConsentField
                words=english()
                consent=move || consent.get()
                error=move || error.get()
                on_tick=move |ticked| heard.borrow_mut().push(ticked)
            />
        }
    });
    assert!(
        w.query(".consent").has_attribute("hidden"),
        "no consent asked"
    );
    consent.set(Some(ConsentConfig {
        version: "v1".to_owned(),
        link: Some("https://shop.example/privacy".to_owned()),
        required: true,
    }));
    tick().await;
    assert!(!w.query(".consent").has_attribute("hidden"));
    assert!(w.query("#cbw-consent").has_attribute("required"));
    assert_eq!(
        w.attr("a", "href").as_deref(),
        Some("https://shop.example/privacy")
    );
    assert!(!w.query("a").has_attribute("hidden"));
    assert_eq!(
        w.text("label[for=cbw-consent]"),
        "I agree to the processing of my personal data"
    );
    assert_eq!(
        w.attr("#cbw-consent", "aria-invalid").as_deref(),
        Some("false")
    );

    w.query("#cbw-consent").click();
    assert_eq!(*ticks.borrow(), [true]);
    error.set(true);
    tick().await;
    assert_eq!(
        w.attr("#cbw-consent", "aria-invalid").as_deref(),
        Some("true")
    );
    assert_eq!(
        w.text("#cbw-consent-msg"),
        "Please agree to the processing of your data"
    );

    consent.set(Some(ConsentConfig {
        version: "v1".to_owned(),
        link: None,
        required: false,
    }));
    tick().await;
    assert!(w.query("a").has_attribute("hidden"), "no link, no anchor");
    assert!(!w.query("#cbw-consent").has_attribute("required"));
}

#[wasm_bindgen_test]
async fn the_status_says_the_state_counts_the_estimate_down_and_offers_ways_back() {
    let status = RwSignal::new(None::<CallStatus>);
    let eta_until = RwSignal::new(0.0);
    let backs: Calls<bool> = Rc::default();
    let heard = backs.clone();
    let w = mount_alone(move || {
        view! {
            <CallStatusView
                words=english()
                locale=|| Locale::En
                status=move || status.get()
                for_later=|| false
                eta_until=move || eta_until.get()
                on_back=move |later| heard.borrow_mut().push(later)
            />
        }
    });
    assert_eq!(w.attr(".status", "role").as_deref(), Some("status"));
    assert_eq!(w.text(".status"), "");
    assert_eq!(w.attr(".eta", "aria-live"), None, "not a live region");

    status.set(Some(CallStatus {
        state: CallState::Ordered,
        is_final: false,
        reason: None,
        message: String::new(),
        eta_seconds: Some(20),
        at: None,
    }));
    eta_until.set(js_sys::Date::now() + 20_000.0);
    tick().await;
    assert_eq!(
        w.text(".status"),
        "Call ordered: we're ringing our staff, then you"
    );
    assert_eq!(w.text(".eta"), "In about 20 s (an estimate)");

    status.set(Some(CallStatus {
        state: CallState::Failed,
        is_final: true,
        reason: Some(FailureReason::Busy),
        message: String::new(),
        eta_seconds: None,
        at: None,
    }));
    tick().await;
    assert_eq!(w.text(".status"), "Your line was busy");
    assert_eq!(w.text(".eta"), "", "no estimate once it is over");
    w.query("button[data-act=again]").click();
    w.query("button[data-act=pick]").click();
    assert_eq!(*backs.borrow(), [false, true]);
}

#[wasm_bindgen_test]
async fn a_message_is_a_polite_live_region_that_follows_its_text() {
    let text = RwSignal::new(String::new());
    let w = mount_alone(move || view! { <Message id="cbw-message" text=move || text.get() /> });
    assert_eq!(
        w.attr("#cbw-message", "aria-live").as_deref(),
        Some("polite")
    );
    assert_eq!(w.text("#cbw-message"), "");
    text.set("Sending…".to_owned());
    tick().await;
    assert_eq!(w.text("#cbw-message"), "Sending…");
}

#[wasm_bindgen_test]
async fn the_teaser_is_an_empty_live_region_until_it_invites_and_reports_yes_and_no() {
    let shown = RwSignal::new(false);
    let answers: Calls<bool> = Rc::default();
    let (yes, no) = (answers.clone(), answers.clone());
    let w = mount_alone(move || {
        view! {
            <Teaser
                words=english()
                shown=move || shown.get()
                on_yes=move || yes.borrow_mut().push(true)
                on_no=move || no.borrow_mut().push(false)
            />
        }
    });
    // The live region is there before its words, and nothing can be focused.
    assert_eq!(w.attr("p", "aria-live").as_deref(), Some("polite"));
    assert_eq!(w.text("p"), "");
    assert_eq!(w.attr(".teaser", "class").as_deref(), Some("teaser"));
    shown.set(true);
    tick().await;
    assert_eq!(w.text("p"), "Want us to call you back in 30 seconds?");
    assert_eq!(w.attr(".teaser", "class").as_deref(), Some("teaser on"));
    assert_eq!(w.text("#cbw-invite-yes"), "Yes, call me");
    assert_eq!(w.attr(".close", "aria-label").as_deref(), Some("Close"));
    assert_eq!(
        w.root.active_element(),
        None,
        "showing it never takes focus"
    );
    w.query("#cbw-invite-yes").click();
    w.query(".close").click();
    assert_eq!(*answers.borrow(), [true, false]);
    shown.set(false);
    tick().await;
    assert_eq!(w.text("p"), "", "gone with its words");
}
