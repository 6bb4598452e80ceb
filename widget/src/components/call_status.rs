//! The call's status once the proxy has the request: what is happening in
//! plain words, the estimate counting down, and after a failure the ways
//! back to the form.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use protocol::{CallState, CallStatus, FailureReason, TextKey};
use send_wrapper::SendWrapper;

use super::{Reactive, Words, text};
use crate::i18n::{Locale, fill, format_time, number};

/// The status (`role=status`, announced; focus goes to it when the form
/// is gone), the estimate (not a live region: it changes every second) and
/// the "try again" and "pick a time" buttons, which the stylesheet shows
/// only when the call failed.
///
/// The countdown is this component's own: a one-second interval runs while
/// there is an estimate and the call is not over, and is cleared when the
/// estimate ends or the component goes.
#[component]
pub fn CallStatusView(
    /// The texts in use.
    words: impl Words,
    /// Their language, for times.
    locale: impl Reactive<Locale>,
    /// The latest status; `None` while the form shows.
    status: impl Reactive<Option<CallStatus>>,
    /// Whether the call is for a time the visitor chose.
    for_later: impl Reactive<bool>,
    /// When the estimate runs out (ms since the epoch; 0: no estimate).
    eta_until: impl Reactive<f64>,
    /// "Try again" (`false`) or "pick a time" (`true`) was clicked.
    on_back: impl Fn(bool) + Clone + 'static,
) -> impl IntoView {
    // The clock is a `Trigger` and the interval's handle a plain cell, not
    // signals of their own types: each signal type brings its own copy of
    // the reactive machinery into the wasm (README, "Widget size").
    let clock = Trigger::new();
    let counting = move || eta_until() > 0.0 && status().is_some_and(|s| !s.is_final);
    let interval = SendWrapper::new(Rc::new(Cell::new(None::<IntervalHandle>)));
    let running = interval.clone();
    Effect::new(move |_| {
        if counting() {
            if running.get().is_none() {
                let tick = move || clock.notify();
                running.set(set_interval_with_handle(tick, Duration::from_secs(1)).ok());
            }
        } else if let Some(handle) = Cell::take(&running) {
            handle.clear();
        }
    });
    on_cleanup(move || {
        if let Some(handle) = Cell::take(&interval) {
            handle.clear();
        }
    });
    let eta = move || {
        clock.track();
        if !counting() {
            return String::new();
        }
        let left = ((eta_until() - js_sys::Date::now()) / 1000.0).ceil();
        if left >= 1.0 {
            fill(&words(TextKey::Eta), &number(left as u64))
        } else {
            words(TextKey::EtaSoon)
        }
    };
    let said = move || {
        status()
            .map(|s| status_text(&s, words, locale(), for_later()))
            .unwrap_or_default()
    };
    let on_pick = on_back.clone();
    view! {
        <p class="status" id="cbw-status" role="status" tabindex="-1">{said}</p>
        <p class="eta">{eta}</p>
        <div class="again">
            <button class="primary" type="button" data-act="again" on:click=move |_| on_back(false)>
                {text(words, TextKey::TryAgain)}
            </button>
            <button class="secondary" type="button" data-act="pick" on:click=move |_| on_pick(true)>
                {text(words, TextKey::PickTime)}
            </button>
        </div>
    }
}

/// What the visitor reads about the call: the state (or why it failed) in
/// plain words (`words`), and when a scheduled call comes, in `locale`
/// (`for_later`: the visitor chose the time).
pub fn status_text(
    status: &CallStatus,
    words: impl Fn(TextKey) -> String,
    locale: Locale,
    for_later: bool,
) -> String {
    let reason = status.reason.map(|reason| match reason {
        FailureReason::Busy => TextKey::Busy,
        FailureReason::NoAnswer => TextKey::NoAnswer,
        FailureReason::InvalidNumber => TextKey::InvalidNumber,
        FailureReason::CompanyUnavailable => TextKey::CompanyUnavailable,
        FailureReason::Closed => TextKey::Closed,
        FailureReason::Cancelled => TextKey::Cancelled,
        FailureReason::NotOrdered => TextKey::NotOrdered,
    });
    let key = match status.state {
        CallState::Received => TextKey::Received,
        CallState::Queued => TextKey::Queued,
        CallState::Ordered => TextKey::Ordered,
        CallState::InProgress => TextKey::InProgress,
        CallState::Succeeded => TextKey::Succeeded,
        CallState::Failed => reason.unwrap_or(TextKey::Cancelled),
        CallState::Scheduled => {
            let time = status
                .at
                .map(|at| format_time(at, locale))
                .unwrap_or_default();
            return match reason {
                // A failed attempt that CallKeeper will repeat.
                Some(reason) => [
                    words(reason).as_str(),
                    ". ",
                    &fill(&words(TextKey::Retry), &time),
                ]
                .concat(),
                // The call the visitor chose the time of…
                None if for_later => fill(&words(TextKey::Scheduled), &time),
                // …or, for a call ordered for now, CallKeeper's next attempt.
                None => fill(&words(TextKey::Retry), &time),
            };
        }
    };
    words(key)
}
