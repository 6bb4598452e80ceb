//! The whole widget: the launcher and the dialog in one fixed box, wired to
//! the [`Controller`].

use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use protocol::{TextKey, WireName};
use send_wrapper::SendWrapper;

use super::{
    CallStatusView, ConsentField, Dialog, Launcher, Message, OfficeField, PhoneField, Teaser,
    WhenToCall, Words, from_state, text,
};
use crate::controller::{Controller, Part, State};
use crate::i18n::{fill, number};

/// The widget's box (`.cbw`, `left` when it sits on the left, `ready` once
/// the site's config is read: the stylesheet hides it until then). Every
/// reactive value the parts get reads the controller's one state signal.
///
/// The box hears the visitor's actions on any part (a trusted event allows
/// storage under strict privacy) and the keyboard (Escape, the Tab trap).
/// When the widget's reactive owner goes, its waits end ([`on_cleanup`]).
#[component]
pub fn App(
    /// The widget's state and actions.
    controller: Controller,
) -> impl IntoView {
    let state = controller.state();
    let alive = SendWrapper::new(controller.services().alive.clone());
    on_cleanup(move || alive.end());

    // Event handlers hold the controller; those inside the dialog are part
    // of its children, a `Send` closure (Leptos's `TypedChildren`). The widget
    // runs on the page's one thread, so the wrapper never fires.
    let c = SendWrapper::new(controller);
    let heard = {
        let c = c.clone();
        move |event: web_sys::Event| c.interacted(&event)
    };
    let (on_click, on_input, on_change) = (heard.clone(), heard.clone(), heard);
    let on_key = {
        let c = c.clone();
        move |event: web_sys::KeyboardEvent| {
            c.interacted(&event);
            c.on_key(&event);
        }
    };
    let class = from_state(state, |s| {
        [
            "cbw",
            if s.left { " left" } else { "" },
            if s.ready { " ready" } else { "" },
        ]
        .concat()
    });
    let toggle = c.clone();

    // The dialog is drawn when it first opens (and then stays): mounting
    // draws the launcher only, one short task on the page's thread. It is
    // mounted into the box on its own, not returned by a reactive child:
    // that would bring a second copy of the whole dialog's code, to update
    // it in place, which never happens. So the dialog comes after the
    // teaser, which is drawn at mount: three elements, hidden and empty
    // until an invitation (its live region must be in the page before its
    // words), cheaper drawn at once than through a second lazy subtree
    // (README, "Widget size").
    let drawn = c.drawn();
    let (yes, no) = (c.clone(), c.clone());
    let dialog = SendWrapper::new(Rc::new(RefCell::new(None::<Box<dyn Any>>)));
    let mounted = dialog.clone();
    Effect::new(move |_| {
        drawn.track();
        if state.with_untracked(State::drawn) && mounted.borrow().is_none() {
            let Some(host) = c.element(Part::Box) else {
                return;
            };
            let c = c.clone();
            let handle = leptos::mount::mount_to(host, move || drawn_dialog(c));
            *mounted.borrow_mut() = Some(Box::new(handle));
        }
    });
    // Before the state signal goes with this owner: the dialog reads it.
    on_cleanup(move || drop(dialog.replace(None)));

    view! {
        <div
            class=class
            id=Part::Box.id()
            on:click=move |e| on_click(e.into())
            on:input=on_input
            on:change=on_change
            on:keydown=on_key
        >
            <Launcher
                open=from_state(state, |s| s.open)
                words=words_of(state)
                on_toggle=move || toggle.toggle()
            />
            <Teaser
                words=words_of(state)
                shown=from_state(state, |s| !s.invite.is_empty())
                on_yes=move || yes.accept_invite()
                on_no=move || no.dismiss_invite()
            />
        </div>
    }
}

/// The texts of the state's language.
fn text_of(state: RwSignal<State>, key: TextKey) -> String {
    state.read().texts.get(key).to_owned()
}

/// The texts of the state's language, for a component: one closure type
/// for every part, so that their text bindings share one too.
fn words_of(state: RwSignal<State>) -> impl Words {
    move |key| text_of(state, key)
}

/// The dialog with the call's status and the form, wired to the controller.
fn drawn_dialog(c: SendWrapper<Controller>) -> impl IntoView {
    let state = c.state();
    let words = words_of(state);
    let locale = from_state(state, |s| s.texts.locale);
    let data_state = from_state(state, |s| {
        s.status
            .as_ref()
            .map_or("form", |s| s.state.name())
            .to_owned()
    });
    let message = from_state(state, |s| match s.message {
        Some(TextKey::RateLimited) => fill(
            s.texts.get(TextKey::RateLimited),
            &number(u64::from(s.wait_minutes)),
        ),
        Some(key) => s.texts.get(key).to_owned(),
        None => String::new(),
    });
    let wants_later = from_state(state, State::wants_later);
    let on_submit = {
        let c = c.clone();
        move |event: web_sys::SubmitEvent| {
            event.prevent_default();
            c.interacted(&event);
            c.submit();
        }
    };
    let (c2, c3, c4, c5, c6, c7) = (c.clone(), c.clone(), c.clone(), c.clone(), c.clone(), c);

    view! {
        <Dialog
            words=words
            data_state=data_state
            later=wants_later
            open_now=from_state(state, |s| s.site.open_now)
            on_close=move || c2.set_open(false)
        >
            <CallStatusView
                words=words
                locale=locale
                status=from_state(state, |s| s.status.clone())
                for_later=from_state(state, |s| s.for_later)
                eta_until=from_state(state, |s| s.eta_until)
                on_back=move |later| c3.back_to_form(later)
            />
            <form novalidate on:submit=on_submit>
                <PhoneField
                    words=words
                    value=from_state(state, |s| s.phone.clone())
                    error=from_state(state, |s| {
                        s.phone_refusal.clone().unwrap_or_else(|| {
                            s.phone_error.map_or_else(String::new, |key| s.texts.get(key).to_owned())
                        })
                    })
                    on_change=move |typed, leaving| c4.phone_typed(typed, leaving)
                />
                <OfficeField
                    words=words
                    offices=from_state(state, |s| s.site.offices.clone())
                />
                <WhenToCall
                    words=words
                    locale=locale
                    later=wants_later
                    slots=from_state(state, |s| s.slots.clone())
                    error=from_state(state, |s| {
                        s.slot_error.map_or_else(String::new, |key| s.texts.get(key).to_owned())
                    })
                    on_choose=move |later| c5.choose_later(later)
                    on_pick=move || c6.slot_chosen()
                />
                <ConsentField
                    words=words
                    consent=from_state(state, |s| s.site.consent.clone())
                    error=from_state(state, |s| s.consent_error)
                    on_tick=move |ticked| c7.consent_ticked(ticked)
                />
                <button class="primary" type="submit">
                    {text(words, TextKey::Submit)}
                </button>
                <Message id="cbw-message" text=message />
                // The honeypot: off-screen, out of the Tab order and hidden
                // from screen readers, so only a script fills it.
                <div class="hp" aria-hidden="true">
                    <input id="cbw-website" name="website" tabindex="-1" autocomplete="off" />
                </div>
            </form>
        </Dialog>
    }
}
