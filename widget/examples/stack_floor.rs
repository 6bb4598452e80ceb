//! The stack's floor: the least a widget on the design's stack can weigh.
//!
//! Not the widget, and not shipped: `cargo xtask size-floor` builds this
//! into wasm through the widget's own pipeline (same profile, wasm-bindgen,
//! wasm-metadce, wasm-opt, esbuild) and prints its size beside the widget's,
//! so that the size gate can be argued with a figure (README, "Widget
//! size"). It is the smallest thing that uses every part of the stack the
//! way the widget must: Leptos mounted into a shadow root, one state
//! signal, a launcher that opens a form, a `tel` field, a gloo-net GET of
//! the site's config and POST of a `protocol::CallbackRequest` (serde-wasm-
//! bindgen and the browser's JSON), and the call's status over gloo-net's
//! EventSource. No texts, no styles, no capture, no validation, no retry:
//! everything the widget adds on top is what the gate leaves room for.

use futures_util::StreamExt;
use gloo_net::eventsource::futures::EventSource;
use gloo_net::http::Request;
use leptos::prelude::*;
use protocol::{CallStatus, CallbackAccepted, CallbackRequest, ErrorBody, SiteConfig};
use send_wrapper::SendWrapper;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// The widget's allocator (Talc, `widget/src/lib.rs`), so that the floor
/// measures the same stack.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// All the floor knows.
#[derive(Clone, Default)]
struct Floor {
    open: bool,
    phone: String,
    site: Option<SiteConfig>,
    status: Option<CallStatus>,
    refused: bool,
}

/// Reads a JSON answer into a `protocol` type.
async fn read<T: DeserializeOwned>(request: Request) -> Option<Result<T, ErrorBody>> {
    let response: web_sys::Response = request.send().await.ok()?.into();
    let json = JsFuture::from(response.json().ok()?).await.ok()?;
    Some(if response.ok() {
        Ok(serde_wasm_bindgen::from_value(json).ok()?)
    } else {
        Err(serde_wasm_bindgen::from_value(json).ok()?)
    })
}

/// Sends the request and follows the call until its status is final.
async fn call(state: RwSignal<Floor>, api: String, request: CallbackRequest) {
    let body = serde_wasm_bindgen::to_value(&request).unwrap_or_default();
    let Some(json) = js_sys::JSON::stringify(&body)
        .ok()
        .and_then(|j| j.as_string())
    else {
        return;
    };
    let post = Request::post(&[api.as_str(), "/v1/callbacks"].concat())
        .header("Content-Type", "application/json")
        .body(json);
    let Ok(post) = post else { return };
    let accepted = match read::<CallbackAccepted>(post).await {
        Some(Ok(accepted)) => accepted,
        _ => return state.update(|s| s.refused = true),
    };
    state.update(|s| s.status = Some(accepted.status));
    let url = [
        api.as_str(),
        "/v1/callbacks/",
        accepted.id.as_str(),
        "/events",
    ]
    .concat();
    let Ok(mut source) = EventSource::new(&url) else {
        return;
    };
    let Ok(mut events) = source.subscribe("status") else {
        return;
    };
    while let Some(Ok((_, message))) = events.next().await {
        let text = message.data().as_string().unwrap_or_default();
        let json = js_sys::JSON::parse(&text).unwrap_or_default();
        if let Ok(status) = serde_wasm_bindgen::from_value::<CallStatus>(json) {
            let done = status.is_final;
            state.update(|s| s.status = Some(status));
            if done {
                break;
            }
        }
    }
}

/// Mounts the floor into `root`, talking to the proxy at `api`.
#[wasm_bindgen]
pub fn mount(root: web_sys::ShadowRoot, api: String) -> Result<(), JsValue> {
    let document = root.owner_document().ok_or("no document")?;
    let container: web_sys::HtmlElement = document.create_element("div")?.unchecked_into();
    root.append_child(&container)?;
    let handle = leptos::mount::mount_to(container, move || {
        let state = RwSignal::new(Floor::default());
        let config = api.clone();
        leptos::task::spawn_local(async move {
            let Ok(get) =
                Request::get(&[config.as_str(), "/v1/sites/demo/config"].concat()).build()
            else {
                return;
            };
            if let Some(Ok(site)) = read::<SiteConfig>(get).await {
                state.update(|s| s.site = Some(site));
            }
        });
        let api = SendWrapper::new(api);
        let submit = move |event: web_sys::SubmitEvent| {
            event.prevent_default();
            let request = CallbackRequest {
                phone: state.read_untracked().phone.clone(),
                ..CallbackRequest::default()
            };
            leptos::task::spawn_local(call(state, (*api).clone(), request));
        };
        view! {
            <div class="cbw" class:open=move || state.read().open>
                <button
                    type="button"
                    aria-expanded=move || if state.read().open { "true" } else { "false" }
                    on:click=move |_| state.update(|s| s.open = !s.open)
                >
                    "☎"
                </button>
                <form on:submit=submit hidden=move || !state.read().open>
                    <input
                        type="tel"
                        prop:value=move || state.read().phone.clone()
                        on:input=move |e| state.update(|s| s.phone = event_target_value(&e))
                    />
                    <p role="status">
                        {move || {
                            let s = state.read();
                            match &s.status {
                                Some(status) => status.message.clone(),
                                None if s.refused => "refused".to_owned(),
                                None => String::new(),
                            }
                        }}
                    </p>
                    <button type="submit">"Call me"</button>
                </form>
            </div>
        }
    });
    // The floor lives as long as the page.
    handle.forget();
    Ok(())
}
