//! The callback widget: what the visitor sees.
//!
//! The loader (`www/widget.js`) creates a host element with an open Shadow
//! DOM, loads this module and calls [`mount`]. Everything the widget draws
//! lives inside that shadow root, styled by a constructable stylesheet (no
//! inline styles, so a strict Content-Security-Policy needs only
//! `'wasm-unsafe-eval'`).
//!
//! The widget never talks to CallKeeper: it posts to the proxy, which holds
//! the secret key.

pub mod api;
pub mod capture;
pub mod components;
pub mod i18n;
mod status;
mod style;

use std::any::Any;

use leptos::prelude::*;
use serde::Deserialize;
use wasm_bindgen::prelude::*;

pub use api::ApiClient;
pub use capture::{ga_client_id, read_cookie, utm_from_query};
pub use components::Widget;
pub use i18n::{Locale, Texts};

/// What the loader passes to [`mount`].
#[derive(Debug, Clone, Deserialize)]
pub struct MountOptions {
    /// The site's id in the proxy's configuration.
    pub site: String,
    /// The proxy's origin, e.g. `https://callback.example.com`.
    pub api: String,
    /// `ru` or `en`; defaults from the page's `lang`, then the browser.
    #[serde(default)]
    pub locale: Option<String>,
}

/// A mounted widget; `destroy()` removes it and everything it attached.
#[wasm_bindgen]
#[derive(Debug)]
pub struct WidgetHandle {
    container: web_sys::Element,
    // Dropping the unmount handle removes the view and disposes its reactive owner.
    unmount: Option<Box<dyn Any>>,
}

#[wasm_bindgen]
impl WidgetHandle {
    /// Removes the widget's nodes, listeners and timers.
    pub fn destroy(&mut self) {
        self.unmount.take();
        self.container.remove();
    }
}

/// Mounts the widget into `root` (the loader's open shadow root).
#[wasm_bindgen]
pub fn mount(root: web_sys::ShadowRoot, options: JsValue) -> Result<WidgetHandle, JsValue> {
    let options: MountOptions = serde_wasm_bindgen::from_value(options)?;
    style::adopt(&root)?;
    let document = root
        .owner_document()
        .ok_or_else(|| JsValue::from_str("no document"))?;
    let container = document.create_element("div")?;
    container.set_class_name("cbw");
    root.append_child(&container)?;

    let locale = Locale::choose(options.locale.as_deref());
    let api = ApiClient::new(options.api, options.site);
    let handle = leptos::mount::mount_to(container.clone().unchecked_into(), move || {
        view! { <Widget api=api locale=locale /> }
    });
    Ok(WidgetHandle {
        container,
        unmount: Some(Box::new(handle)),
    })
}
