//! The callback widget: what the visitor sees.
//!
//! The loader (`www/widget.js`) creates a host element with an open Shadow
//! DOM, loads this module and calls [`mount`]; the page's API
//! (`CallbackWidget.open()`, …) reaches the widget through
//! [`WidgetHandle::command`]. Everything the widget draws lives inside that
//! shadow root, styled by a constructable stylesheet (no inline styles, so a
//! strict Content-Security-Policy needs only `'wasm-unsafe-eval'`).
//!
//! The widget never talks to CallKeeper: it posts to the proxy, which holds
//! the secret key. Size matters more than anywhere else in the product: the
//! whole widget must stay under 60 KB brotli, so this crate uses neither
//! serde nor `format!` (see `js`).

pub mod analytics;
pub mod api;
pub mod capture;
pub mod components;
pub mod i18n;
mod js;
mod status;
mod style;
pub mod wire;

use std::any::Any;
use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::prelude::*;

pub use analytics::{Analytics, WidgetEvent};
pub use api::ApiClient;
pub use capture::{Landing, Visit, ga_client_id, read_cookie, utm_from_query};
pub use components::{Controller, Services, State, Widget};
pub use i18n::{Locale, Texts};
pub use status::Alive;

/// A mounted widget, driven by the page's API through the loader.
#[wasm_bindgen]
#[derive(Debug)]
pub struct WidgetHandle {
    mounted: Option<Mounted>,
}

struct Mounted {
    container: web_sys::HtmlElement,
    controller: Controller,
    /// Owns the state's signals, so that they outlive a re-render.
    owner: Owner,
    /// The rendered view; dropping it removes its nodes and listeners.
    view: Option<Box<dyn Any>>,
}

impl std::fmt::Debug for Mounted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mounted")
    }
}

/// Mounts the widget into `root` (the loader's open shadow root).
///
/// `options` is the loader's object: `site` and `api` (required), `locale`,
/// `position` (`left`/`right`), `color` (`#rrggbb`), `privacy` (`strict`),
/// `landing` (`{href, referrer}` when the script ran), `emit` (the function
/// that tells the page about a [`WidgetEvent`]) and `queue` (the page's
/// commands so far, as `[name, argument]` pairs, applied in order).
#[wasm_bindgen]
pub fn mount(root: web_sys::ShadowRoot, options: JsValue) -> Result<WidgetHandle, JsValue> {
    let (Some(site), Some(api)) = (js::string(&options, "site"), js::string(&options, "api"))
    else {
        return Err(JsValue::from_str("callback widget: data-site is missing"));
    };
    style::adopt(&root, js::string(&options, "color").as_deref())?;
    let document = root
        .owner_document()
        .ok_or_else(|| JsValue::from_str("no document"))?;
    let container: web_sys::HtmlElement = document.create_element("div")?.unchecked_into();
    let left = js::string(&options, "position").as_deref() == Some("left");
    container.set_class_name(if left { "cbw left" } else { "cbw" });
    root.append_child(&container)?;

    let strict = js::string(&options, "privacy").as_deref() == Some("strict");
    let services = Rc::new(Services {
        api: ApiClient::new(&api, site),
        visit: Visit::new(
            Landing::from_snapshot(&js::get(&options, "landing")),
            strict,
        ),
        analytics: Analytics::new(&options),
        alive: Alive::default(),
    });
    let owner = Owner::new();
    let state = owner.with(State::new);
    let mut handle = WidgetHandle {
        mounted: Some(Mounted {
            container,
            controller: Controller { state, services },
            owner,
            view: None,
        }),
    };
    handle.render(Locale::choose(js::string(&options, "locale").as_deref()));
    let queue = js::get(&options, "queue");
    if queue.is_object() {
        for command in js_sys::Array::from(&queue).iter() {
            let name = js::get(&command, "0").as_string().unwrap_or_default();
            handle.command(&name, js::get(&command, "1"));
        }
    }
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
        let Some(mounted) = &self.mounted else {
            return;
        };
        let controller = &mounted.controller;
        match name {
            "open" => controller.set_open(true),
            "close" => controller.set_open(false),
            "set" => controller.services.visit.set(&argument),
            "setLocale" => {
                if let Some(locale) = argument.as_string().and_then(|t| Locale::from_tag(&t)) {
                    self.render(locale);
                }
            }
            _ => {}
        }
    }

    /// Removes the widget's nodes, listeners, timers and connections.
    pub fn destroy(&mut self) {
        if let Some(mut mounted) = self.mounted.take() {
            mounted.controller.services.alive.end();
            mounted.view.take();
            // Drops the state, and with it the status stream.
            drop(mounted.owner);
            mounted.container.remove();
        }
    }
}

impl WidgetHandle {
    /// Draws the view in `locale`, replacing the current one.
    #[inline(never)]
    fn render(&mut self, locale: Locale) {
        let Some(mounted) = &mut self.mounted else {
            return;
        };
        mounted.view.take();
        let controller = mounted.controller.clone();
        let texts = locale.texts();
        let view = leptos::mount::mount_to(mounted.container.clone(), move || {
            view! { <Widget controller=controller texts=texts /> }
        });
        mounted.view = Some(Box::new(view));
    }

    /// The controller, while mounted (for tests).
    pub fn controller(&self) -> Option<Controller> {
        self.mounted.as_ref().map(|m| m.controller.clone())
    }
}
