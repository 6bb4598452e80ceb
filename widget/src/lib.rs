//! The callback widget: what the visitor sees.
//!
//! The loader (`www/widget.js`) creates a host element with an open Shadow
//! DOM, fetches the site's config, loads this module and calls [`mount`];
//! the page's API (`CallbackWidget.open()`, …) reaches the widget through
//! [`WidgetHandle::command`]. Everything the widget draws lives inside that
//! shadow root, styled by a constructable stylesheet (no inline styles, so a
//! strict Content-Security-Policy needs only `'wasm-unsafe-eval'`).
//!
//! - `view`: the DOM, built once and painted from the state;
//! - `controller`: the state and what changes it (the visitor, the proxy,
//!   the page), and focus;
//! - `i18n`: the texts in Russian and English, and the site's own;
//! - `api`, `wire`, `status`: the proxy's API, its JSON, the live status;
//! - `capture`, `analytics`: the visit's context, and events for the page.
//!
//! The widget never talks to CallKeeper: it posts to the proxy, which holds
//! the secret key. Size matters more than anywhere else in the product: the
//! whole widget must stay under 60 KB brotli, so this crate uses no UI
//! framework, no serde and no `format!` (README, "Widget size").

pub mod analytics;
pub mod api;
pub mod capture;
pub mod controller;
pub mod i18n;
mod js;
mod status;
mod style;
mod view;
pub mod wire;

use wasm_bindgen::prelude::*;

pub use analytics::{Analytics, WidgetEvent};
pub use api::ApiClient;
pub use capture::{Landing, Visit, ga_client_id, read_cookie, utm_from_query};
pub use controller::{Controller, Services, State};
pub use i18n::{Locale, Texts};
pub use status::Alive;

/// A mounted widget, driven by the page's API through the loader.
#[wasm_bindgen]
#[derive(Debug)]
pub struct WidgetHandle {
    controller: Option<Controller>,
    /// The loader's private token (`options.visitor`): an `open` with it as
    /// its argument comes from a visitor's trusted click, not the page's API.
    visitor: JsValue,
}

/// Mounts the widget into `root` (the loader's open shadow root).
///
/// `options` is the loader's object: `site` and `api` (required), `config`
/// (the site's config, or a promise of it: the loader fetches
/// `GET /v1/sites/{site}/config` while the wasm loads; the widget shows once
/// it is settled), `locale`, `position` (`left`/`right`) and `color`
/// (`#rrggbb`), which win over the site's config, `privacy` (`strict`),
/// `landing` (`{href, referrer}` when the script ran), `emit` (the function
/// that tells the page about a [`WidgetEvent`]), `visitor` (a private
/// object: `open` with it as its argument is a visitor's click on a
/// `data-callback-open` element) and `queue` (the page's commands so far,
/// as `[name, argument]` pairs, applied in order).
#[wasm_bindgen]
pub fn mount(root: web_sys::ShadowRoot, options: JsValue) -> Result<WidgetHandle, JsValue> {
    let (Some(site), Some(api)) = (js::string(&options, "site"), js::string(&options, "api"))
    else {
        return Err(JsValue::from_str("callback widget: data-site is missing"));
    };
    let sheet = style::adopt(&root)?;
    let document = root
        .owner_document()
        .ok_or_else(|| JsValue::from_str("no document"))?;
    let view = view::View::build(document)?;
    root.append_child(&view.container)?;

    let strict = js::string(&options, "privacy").as_deref() == Some("strict");
    let services = Services {
        api: ApiClient::new(&api, site),
        visit: Visit::new(
            Landing::from_snapshot(&js::get(&options, "landing")),
            strict,
        ),
        analytics: Analytics::new(&options),
        alive: Alive::default(),
    };
    let state = State {
        chosen_locale: js::string(&options, "locale"),
        embed_color: js::string(&options, "color"),
        embed_position: js::string(&options, "position"),
        ..State::default()
    };
    let controller = Controller::new(view, root, sheet, services, state);
    let mut handle = WidgetHandle {
        controller: Some(controller.clone()),
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
    // A config that cannot be fetched (`undefined`, or a failed promise)
    // leaves the widget's defaults: it still takes requests.
    let config = js_sys::Promise::resolve(&js::get(&options, "config"));
    wasm_bindgen_futures::spawn_local(async move {
        let config = wasm_bindgen_futures::JsFuture::from(config)
            .await
            .unwrap_or_default();
        if controller.services().alive.is_alive() {
            controller.configure(&config);
        }
    });
    Ok(handle)
}

#[wasm_bindgen]
impl WidgetHandle {
    /// Runs one command of the page's API: `open`, `close`, `set` (context
    /// for the request, e.g. `{calltouch_session: "…"}`), `setLocale` (`ru`,
    /// `en`) or `destroy`. Unknown commands and commands after `destroy` are
    /// ignored: a page's mistake must not break the page.
    pub fn command(&mut self, name: &str, argument: JsValue) {
        if name == "destroy" {
            return self.destroy();
        }
        let Some(controller) = &self.controller else {
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
            "set" => controller.services().visit.set(&argument),
            "setLocale" => {
                if let Some(tag) = argument.as_string() {
                    controller.set_locale(&tag);
                }
            }
            _ => {}
        }
    }

    /// Removes the widget's nodes, listeners, timers and connections.
    pub fn destroy(&mut self) {
        if let Some(controller) = self.controller.take() {
            controller.destroy();
        }
    }
}

impl WidgetHandle {
    /// The controller, while mounted (for tests).
    pub fn controller(&self) -> Option<Controller> {
        self.controller.clone()
    }
}
