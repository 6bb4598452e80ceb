//! What the widget tells the page: opened, submitted, status, closed,
//! failed, and the invitations (invited, accepted, dismissed).
//!
//! The widget reports each [`WidgetEvent`] to the loader's `emit(key,
//! detail)` function (mount option `emit`). The loader (`www/widget.js`)
//! tells the page: a `CustomEvent` named `callbackwidget:<key>` on `window`
//! (which its `on(key, handler)` listens to), a `dataLayer` push for Google
//! Tag Manager and a Yandex.Metrica `reachGoal`, under the site's names for
//! its existing goals (`eventNames`). That fan-out is a few lines of JS and
//! would cost several times more as wasm.

use wasm_bindgen::{JsCast, JsValue};

use crate::js;

/// Something that happened in the widget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WidgetEvent {
    /// The dialog opened.
    Opened,
    /// The proxy accepted a callback request (`detail.id`).
    Submitted,
    /// The callback's status changed (`detail.state`, `final`, `reason`).
    StatusChanged,
    /// The dialog closed.
    Closed,
    /// The callback failed (the status's details), or the proxy refused the
    /// request (`detail.error`, the error code).
    Failed,
    /// The teaser showed (`detail.trigger`: what invited).
    Invited,
    /// The visitor said yes to it: the dialog opens (`detail.trigger`).
    InviteAccepted,
    /// The visitor closed it (`detail.trigger`): no more in the visit.
    InviteDismissed,
}

impl WidgetEvent {
    /// The short name: `opened`, `submitted`, `status`, `closed`, `failed`.
    pub fn key(self) -> &'static str {
        match self {
            Self::Opened => "opened",
            Self::Submitted => "submitted",
            Self::StatusChanged => "status",
            Self::Closed => "closed",
            Self::Failed => "failed",
            Self::Invited => "invited",
            Self::InviteAccepted => "invite_accepted",
            Self::InviteDismissed => "invite_dismissed",
        }
    }
}

/// Where the widget's events go.
#[derive(Debug, Clone)]
pub struct Analytics {
    emit: Option<js_sys::Function>,
}

impl Analytics {
    /// From the mount options: their `emit` function, if any.
    pub fn new(options: &JsValue) -> Self {
        Self {
            emit: js::get(options, "emit").dyn_into().ok(),
        }
    }

    /// Reports `event`; whatever the page does with it never reaches the widget.
    pub fn emit(&self, event: WidgetEvent, detail: &JsValue) {
        if let Some(emit) = &self.emit {
            let _ = emit.call2(&JsValue::NULL, &JsValue::from_str(event.key()), detail);
        }
    }
}
