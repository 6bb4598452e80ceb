//! The widget's components: a launcher, the form and the live status.

use leptos::prelude::*;
use protocol::{CallStatus, CallbackRequest, ErrorCode, PhoneNumber};

use crate::api::{ApiClient, ApiFailure};
use crate::capture::visit_context;
use crate::i18n::Locale;
use crate::status::{StatusWatch, sleep};

/// Longest pause between retries of a request the proxy did not receive.
const MAX_RETRY_DELAY_MS: i32 = 30_000;

/// The whole widget: a launcher button that opens the callback dialog.
#[component]
pub fn Widget(
    /// The proxy client for this site.
    api: ApiClient,
    /// The language of the texts.
    locale: Locale,
) -> impl IntoView {
    let texts = locale.texts();
    let (open, set_open) = signal(false);
    let (phone, set_phone) = signal(String::new());
    let (phone_error, set_phone_error) = signal(None::<&'static str>);
    let (notice, set_notice) = signal(None::<&'static str>);
    let (sending, set_sending) = signal(false);
    let (status, set_status) = signal(None::<CallStatus>);
    let watch = StoredValue::new_local(None::<StatusWatch>);
    let api = StoredValue::new(api);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let number = match PhoneNumber::parse(&phone.get_untracked()) {
            Ok(number) => number,
            Err(error) => {
                set_phone_error.set(Some(texts.phone_error(&error)));
                return;
            }
        };
        set_phone_error.set(None);
        set_notice.set(None);
        set_sending.set(true);
        let request = CallbackRequest {
            phone: number.to_string(),
            context: visit_context(),
            ..Default::default()
        };
        let key = idempotency_key();
        leptos::task::spawn_local(async move {
            let client = api.get_value();
            let mut delay = 1_000;
            // The request is kept and retried while the proxy is unreachable:
            // a lead is not dropped because the visitor's network blinked.
            let outcome = loop {
                match client.create_callback(&request, &key).await {
                    Err(ApiFailure::Unreachable) => {
                        set_notice.set(Some(texts.offline));
                        sleep(delay).await;
                        delay = (delay * 2).min(MAX_RETRY_DELAY_MS);
                    }
                    Err(ApiFailure::Refused {
                        code: ErrorCode::Unavailable,
                        retry_after,
                        ..
                    }) => {
                        set_notice.set(Some(texts.offline));
                        sleep(retry_after.map_or(delay, |s| (s as i32).saturating_mul(1000))).await;
                        delay = (delay * 2).min(MAX_RETRY_DELAY_MS);
                    }
                    other => break other,
                }
            };
            set_sending.set(false);
            match outcome {
                Ok(accepted) => {
                    set_notice.set(None);
                    set_status.set(Some(accepted.status.clone()));
                    if !accepted.status.is_final {
                        let handle = StatusWatch::start(client, accepted.id, move |s| {
                            set_status.set(Some(s))
                        });
                        watch.set_value(Some(handle));
                    }
                }
                Err(ApiFailure::Refused {
                    code: ErrorCode::InvalidInput,
                    ..
                }) => {
                    set_phone_error.set(Some(texts.phone_short));
                }
                Err(ApiFailure::Refused {
                    code: ErrorCode::RateLimited,
                    ..
                }) => set_notice.set(Some(texts.rate_limited)),
                Err(_) => set_notice.set(Some(texts.failed_to_send)),
            }
        });
    };

    let try_again = move |_| {
        watch.set_value(None);
        set_status.set(None);
    };

    view! {
        <Show when=move || open.get()>
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="cbw-title">
                <div class="head">
                    <h2 id="cbw-title">{texts.title}</h2>
                    <button class="close" type="button" aria-label=texts.close on:click=move |_| set_open.set(false)>
                        "×"
                    </button>
                </div>
                <Show
                    when=move || status.get().is_some()
                    fallback=move || {
                        view! {
                            <form on:submit=submit novalidate=true>
                                <label for="cbw-phone">{texts.phone_label}</label>
                                <input
                                    id="cbw-phone"
                                    name="phone"
                                    type="tel"
                                    inputmode="tel"
                                    autocomplete="tel"
                                    placeholder="+7 (999) 123-45-67"
                                    aria-invalid=move || phone_error.get().is_some().to_string()
                                    aria-describedby="cbw-phone-error"
                                    prop:value=move || phone.get()
                                    on:input=move |ev| {
                                        set_phone.set(event_target_value(&ev));
                                        set_phone_error.set(None);
                                    }
                                />
                                <p class="error" id="cbw-phone-error" aria-live="polite">
                                    {move || phone_error.get()}
                                </p>
                                <button class="primary" type="submit" disabled=move || sending.get()>
                                    {move || if sending.get() { texts.sending } else { texts.submit }}
                                </button>
                                <p class="notice" aria-live="polite">{move || notice.get()}</p>
                            </form>
                        }
                    }
                >
                    <StatusView status=status />
                    <Show when=move || status.get().is_some_and(|s| s.is_final && s.state == protocol::CallState::Failed)>
                        <button class="primary" type="button" on:click=try_again>{texts.try_again}</button>
                    </Show>
                </Show>
            </div>
        </Show>
        <button
            class="launcher"
            type="button"
            aria-label=texts.open
            aria-expanded=move || open.get().to_string()
            on:click=move |_| set_open.update(|o| *o = !*o)
        >
            "☎"
        </button>
    }
}

/// The live status of a callback, announced to screen readers.
#[component]
pub fn StatusView(
    /// The latest status from the proxy.
    status: ReadSignal<Option<CallStatus>>,
) -> impl IntoView {
    view! {
        <p
            class="status"
            role="status"
            aria-live="polite"
            data-state=move || status.get().map(|s| state_name(s.state)).unwrap_or_default()
            data-final=move || status.get().is_some_and(|s| s.is_final).to_string()
        >
            {move || status.get().map(|s| s.message)}
        </p>
        <p class="eta">
            {move || status.get().and_then(|s| s.eta_seconds).map(|eta| format!("≈ {eta} s"))}
        </p>
    }
}

/// The wire name of a state, for styling and tests.
fn state_name(state: protocol::CallState) -> &'static str {
    use protocol::CallState as S;
    match state {
        S::Received => "received",
        S::Queued => "queued",
        S::Ordered => "ordered",
        S::Scheduled => "scheduled",
        S::InProgress => "in_progress",
        S::Succeeded => "succeeded",
        S::Failed => "failed",
    }
}

/// A fresh idempotency key for one callback request (retries reuse it).
fn idempotency_key() -> String {
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.random_uuid())
        .unwrap_or_else(|| format!("{:x}", (js_sys::Math::random() * 1e16) as u64))
}
