//! [`Alive`]: whether the widget still exists, and the waits that end when
//! it goes.
//!
//! The widget's loops (retrying a request, reloading times, polling a
//! status, the countdown) sleep through [`Alive::sleep`]. Destroying the
//! widget (the reactive owner's `on_cleanup`) calls [`Alive::end`], which
//! clears every pending timer at once and wakes its sleeper, so no timer or
//! task outlives the widget.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::prelude::*;

/// Whether the widget still exists; its pending [`Alive::sleep`]s end when it goes.
#[derive(Debug, Clone, Default)]
pub struct Alive(Rc<AliveInner>);

#[derive(Debug, Default)]
struct AliveInner {
    ended: Cell<bool>,
    /// Pending timers: their ids and the functions that end their sleeps early.
    timers: RefCell<Vec<(i32, js_sys::Function)>>,
}

impl Alive {
    /// Whether the widget has not been destroyed.
    pub fn is_alive(&self) -> bool {
        !self.0.ended.get()
    }

    /// Clears every pending timer and wakes its sleeper, which then sees the end.
    pub fn end(&self) {
        self.0.ended.set(true);
        let window = web_sys::window();
        for (id, wake) in self.0.timers.take() {
            if let Some(window) = &window {
                window.clear_timeout_with_handle(id);
            }
            let _ = wake.call0(&JsValue::NULL);
        }
    }

    /// Waits `ms` milliseconds, or until the widget is destroyed; returns
    /// whether it is still alive.
    pub async fn sleep(&self, ms: i32) -> bool {
        self.wait(ms, false).await
    }

    /// As [`Alive::sleep`], but ends early too when the browser comes back
    /// online (the window's `online` event).
    pub async fn sleep_or_online(&self, ms: i32) -> bool {
        self.wait(ms, true).await
    }

    async fn wait(&self, ms: i32, or_online: bool) -> bool {
        if !self.is_alive() {
            return false;
        }
        let mut timer = None;
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(Ok(id)) = web_sys::window()
                .map(|w| w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms))
            {
                timer = Some((id, resolve));
            }
        });
        let Some((id, resolve)) = timer else {
            return false;
        };
        let window = web_sys::window().filter(|_| or_online);
        if let Some(window) = &window {
            let _ = window.add_event_listener_with_callback("online", &resolve);
        }
        self.0.timers.borrow_mut().push((id, resolve.clone()));
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        self.0.timers.borrow_mut().retain(|(t, _)| *t != id);
        if let Some(window) = &window {
            window.clear_timeout_with_handle(id);
            let _ = window.remove_event_listener_with_callback("online", &resolve);
        }
        self.is_alive()
    }
}
