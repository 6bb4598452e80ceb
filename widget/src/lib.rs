//! The callback widget: what the visitor sees.
//!
//! The loader (`www/widget.js`) creates a host element with an open Shadow
//! DOM, fetches the site's config, loads this module and calls [`mount`];
//! the page's API (`CallbackWidget.open()`, …) reaches the widget through
//! [`WidgetHandle::command`]. Everything the widget draws lives inside that
//! shadow root, styled by a constructable stylesheet (no inline styles, so a
//! strict Content-Security-Policy needs only `'wasm-unsafe-eval'`).
//!
//! - `components`: the view, Leptos components (CSR) mounted with
//!   `mount_to` into the shadow root;
//! - `state`, `controller`: the state (one signal) and what changes it (the
//!   visitor, the proxy, the page), and focus; `phone`: the typed number;
//! - `i18n`: the texts in Russian and English, and the site's own;
//! - `api`, `watch`: the proxy's API and the live status, over gloo-net,
//!   with `protocol`'s types through serde-wasm-bindgen (`js`);
//! - `capture`, `analytics`: the visit's context, and events for the page;
//! - `alive`: the waits that end when the widget does; `proof`: the proof
//!   of work a site under attack asks for;
//! - `invite`: the proactive invitations (the teaser), their triggers and caps.
//!
//! The widget never talks to CallKeeper: it posts to the proxy, which holds
//! the secret key. Size matters more than anywhere else in the product: the
//! whole widget must stay under 80 KB brotli (README, "Widget size").

pub mod alive;
pub mod analytics;
pub mod api;
pub mod capture;
pub mod components;
pub mod controller;
pub mod i18n;
pub mod invite;
pub mod js;
mod phone;
mod proof;
pub mod state;
mod style;
mod watch;

use std::cell::RefCell;
use std::rc::Rc;

use leptos::mount::mount_to;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

pub use alive::Alive;
pub use analytics::{Analytics, WidgetEvent};
pub use api::ApiClient;
pub use capture::{Landing, Visit, ga_client_id, read_cookie, utm_from_query};
pub use controller::{Controller, Services, State};
pub use i18n::{Locale, Texts};

/// The wasm's allocator: Talc, 2.1 KB brotli smaller than std's dlmalloc
/// (README, "Widget size"). The page's thread is the module's only one.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// The `performance` mark where `mount` starts.
const MOUNT_START: &str = "callback-widget:mount-start";

/// A mounted widget, driven by the page's API through the loader.
#[wasm_bindgen]
pub struct WidgetHandle {
    mounted: Option<Mounted>,
    /// The loader's private token (`options.visitor`): an `open` with it as
    /// its argument comes from a visitor's trusted click, not the page's API.
    visitor: JsValue,
}

/// What a mounted widget holds: the controller, and Leptos's handle of the
/// view, whose drop unmounts it and disposes of its reactive owner (its
/// signals, effects, listeners, and the cleanups that end its waits).
struct Mounted {
    controller: Controller,
    /// Its type is the view's own: erasing it into an `AnyView` would bring
    /// code to update the whole widget in place, which never happens.
    _view: Box<dyn std::any::Any>,
    /// The element the view is mounted into, in the shadow root.
    container: web_sys::HtmlElement,
}

impl std::fmt::Debug for WidgetHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WidgetHandle")
    }
}

/// Mounts the widget into `root` (the loader's open shadow root).
///
/// `options` is the loader's object: `site` and `api` (required), `config`
/// (the site's config, or a promise of it: the loader fetches
/// `GET /v1/sites/{site}/config` while the wasm loads; the widget shows once
/// it is settled), `locale`, `position` (`left`/`right`) and `color`
/// (`#rrggbb`), which win over the site's config, `privacy` (`strict`),
/// `landing` (`{href, referrer}` when the script ran), `invite` (the
/// page's invitation settings, each a string: `data-invite-*`), `emit` (the function
/// that tells the page about a [`WidgetEvent`]), `visitor` (a private
/// object: `open` with it as its argument is a visitor's click on a
/// `data-callback-open` element) and `queue` (the page's commands so far,
/// as `[name, argument]` pairs, applied in order).
///
/// The time it takes is the page's `performance` entry `callback-widget:mount`.
#[wasm_bindgen]
pub fn mount(root: web_sys::ShadowRoot, options: JsValue) -> Result<WidgetHandle, JsValue> {
    let performance = web_sys::window().and_then(|w| w.performance());
    if let Some(performance) = &performance {
        let _ = performance.mark(MOUNT_START);
    }
    let (Some(site), Some(api)) = (js::string(&options, "site"), js::string(&options, "api"))
    else {
        return Err(JsValue::from_str("callback widget: data-site is missing"));
    };
    let sheet = style::adopt(&root)?;
    let document = root
        .owner_document()
        .ok_or_else(|| JsValue::from_str("no document"))?;
    // `mount_to` takes an element: one without a box of its own.
    let container: web_sys::HtmlElement = document.create_element("div")?.unchecked_into();
    container.set_class_name("mount");
    root.append_child(&container)?;

    let strict = js::string(&options, "privacy").as_deref() == Some("strict");
    let services = Services {
        api: ApiClient::new(&api, site),
        visit: Visit::new(
            Landing::from_snapshot(&js::get(&options, "landing")),
            strict,
        ),
        analytics: Analytics::new(&options),
        alive: Alive::default(),
        invite: invite::Invitations::new(strict, js::get(&options, "invite")),
    };
    let state = State {
        chosen_locale: js::string(&options, "locale"),
        embed_color: js::string(&options, "color"),
        embed_position: js::string(&options, "position"),
        ..State::initial()
    };
    let made: Rc<RefCell<Option<Controller>>> = Rc::default();
    let made_inside = made.clone();
    let view = mount_to(container.clone(), move || {
        let controller = Controller::new(root, sheet, services, state);
        *made_inside.borrow_mut() = Some(controller.clone());
        view! { <components::App controller=controller /> }
    });
    let controller = made
        .take()
        .ok_or_else(|| JsValue::from_str("callback widget: not mounted"))?;
    let mut handle = WidgetHandle {
        mounted: Some(Mounted {
            controller: controller.clone(),
            _view: Box::new(view),
            container,
        }),
        visitor: js::get(&options, "visitor"),
    };
    let queue = js::get(&options, "queue");
    if queue.is_object() {
        for command in js_sys::Array::from(&queue).iter() {
            let name = js::get(&command, "0").as_string().unwrap_or_default();
            handle.command(&name, js::get(&command, "1"));
        }
    }
    // A request an earlier page of the tab could not send goes now.
    controller.resume();
    if let Some(performance) = &performance {
        let _ = performance.measure_with_start_mark("callback-widget:mount", MOUNT_START);
    }
    // A config that cannot be fetched (`undefined`, or a failed promise)
    // leaves the widget's defaults: it still takes requests.
    let config = js_sys::Promise::resolve(&js::get(&options, "config"));
    leptos::task::spawn_local(async move {
        let config = wasm_bindgen_futures::JsFuture::from(config)
            .await
            .unwrap_or_default();
        // Applied in a task of its own, not at the end of the one that
        // mounted (its microtasks): two short tasks rather than one long.
        if controller.services().alive.sleep(0).await {
            controller.configure(config);
        }
    });
    Ok(handle)
}

#[wasm_bindgen]
impl WidgetHandle {
    /// Runs one command of the page's API: `open`, `close`, `set` (context
    /// for the request, e.g. `{calltouch_session: "…"}`), `setLocale` (`ru`,
    /// `en`), `invite` (shows the teaser, within the caps unless
    /// `{force: true}`) or `destroy`. Unknown commands and commands after `destroy` are
    /// ignored: a page's mistake must not break the page.
    pub fn command(&mut self, name: &str, argument: JsValue) {
        if name == "destroy" {
            return self.destroy();
        }
        let Some(Mounted { controller, .. }) = &self.mounted else {
            return;
        };
        match name {
            "open" => {
                // Under strict privacy only the visitor unlocks storage.
                if argument.is_object() && argument == self.visitor {
                    controller.services().visit.interacted();
                }
                controller.set_open(true);
            }
            "close" => controller.set_open(false),
            "invite" => controller.invite("api", js::get(&argument, "force").is_truthy()),
            "set" => controller.services().visit.set(&argument),
            "setLocale" => {
                if let Some(tag) = argument.as_string() {
                    controller.set_locale(&tag);
                }
            }
            _ => {}
        }
    }

    /// Removes the widget: its waits and status stream end, and dropping
    /// Leptos's mount handle unmounts the view and disposes of its reactive
    /// owner (signals, effects, listeners, the countdown's interval).
    pub fn destroy(&mut self) {
        if let Some(mounted) = self.mounted.take() {
            mounted.controller.destroy();
            let container = mounted.container.clone();
            drop(mounted);
            container.remove();
        }
    }
}

impl WidgetHandle {
    /// The controller, while mounted (for tests).
    pub fn controller(&self) -> Option<Controller> {
        self.mounted.as_ref().map(|m| m.controller.clone())
    }
}
