//! Proactive invitations: when the teaser beside the launcher offers a call
//! by itself (README, "Invitations"), and when it never does.
//!
//! The settings are the site's (`[sites.NAME.invite]`, in its config) with
//! the page's `data-invite-*` over them, both written as text and read here
//! once ([`Invite::read`]). The triggers live in the wasm, not the loader:
//! one listener on `window` (the pointer leaving through the top, scrolling,
//! input) and the widget's own timers ([`crate::Alive`]), so the teaser, its
//! caps and its events stay in one place, the loader keeps its 2 KB, and
//! destroying the widget removes the listener and clears the timers.
//!
//! The caps: one invitation per page view; at most `per_visit` per visit;
//! none after the visitor said no (closed the teaser); none within
//! `pause_minutes` of the dialog opening or a callback being ordered; none
//! while the company is closed unless `when_closed` (the dialog then offers
//! a time). The visit's record ([`Record`]) is kept in `sessionStorage`, and
//! under `privacy = "strict"` in memory only: for the page view.

use std::cell::{Cell, RefCell};

use protocol::Strings;
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::Closure;

use crate::capture::session_storage as storage;
use crate::js;

/// The `sessionStorage` key of the visit's [`Record`]: `shown no engaged_at`.
pub const STORAGE_KEY: &str = "callback-widget.invite";

/// The events the one listener hears on `window`.
pub(crate) const EVENTS: [&str; 7] = [
    "mouseout",
    "scroll",
    "keydown",
    "pointerdown",
    "pointermove",
    "touchstart",
    "wheel",
];

/// The one listener on `window` for every trigger.
pub type PageListener = Closure<dyn FnMut(web_sys::Event)>;

/// The settings, read once. A trigger left out is off.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Invite {
    /// Exit intent counts after this many ms on the page.
    pub exit_ms: Option<f64>,
    /// On a touch screen, a fast scroll back up is the exit intent.
    pub touch_exit: bool,
    /// The share of the page seen (percent) that invites.
    pub scroll_percent: Option<f64>,
    /// The time on the page (ms) that invites.
    pub time_ms: Option<f64>,
    /// The time without input (ms) that invites.
    pub idle_ms: Option<f64>,
    /// Paths where invitations may show, comma-separated without spaces
    /// (empty: every path).
    pub only: String,
    /// Paths where they never show, comma-separated.
    pub never: String,
    /// At most this many per visit (2).
    pub per_visit: f64,
    /// None within this long (ms) of the dialog opening or an order (30 min).
    pub pause_ms: f64,
    /// Whether they show while the company is closed.
    pub when_closed: bool,
}

impl Invite {
    /// The site's settings (its config's `invite`) with the page's (the
    /// loader's `options.invite`, from `data-invite-*` and the settings
    /// object, every value a string) over them.
    pub fn read(site: &Strings, page: &JsValue) -> Self {
        let get = |name: &str| js::string(page, name).or_else(|| site.get(name).cloned());
        // `parseFloat` is the browser's: Rust's float parser would add kilobytes.
        let number = |name: &str| {
            get(name)
                .map(|text| js_sys::Number::parse_float(&text))
                .filter(|n| *n >= 0.0)
        };
        let ms = |name: &str| number(name).map(|seconds| seconds * 1000.0);
        let flag = |name: &str| get(name).as_deref() == Some("true");
        Self {
            exit_ms: ms("exit_seconds"),
            touch_exit: flag("touch_exit"),
            scroll_percent: number("scroll_percent"),
            time_ms: ms("time_seconds"),
            idle_ms: ms("idle_seconds"),
            only: get("only").unwrap_or_default(),
            never: get("never").unwrap_or_default(),
            per_visit: number("per_visit").unwrap_or(2.0),
            pause_ms: number("pause_minutes").unwrap_or(30.0) * 60_000.0,
            when_closed: flag("when_closed"),
        }
    }

    /// Whether any trigger is on (then the teaser is drawn and the page
    /// listened to from the start).
    pub fn any_trigger(&self) -> bool {
        self.exit_ms.is_some()
            || self.scroll_percent.is_some()
            || self.time_ms.is_some()
            || self.idle_ms.is_some()
    }

    /// Whether the page at `path` may show an invitation.
    pub fn allows_path(&self, path: &str) -> bool {
        // Split when asked (rarely): cheaper in the wasm than lists kept.
        let any = |patterns: &str| {
            patterns.split(',').any(|pattern| {
                pattern
                    .strip_suffix('*')
                    .map_or(path == pattern, |start| path.starts_with(start))
            })
        };
        (self.only.is_empty() || any(&self.only)) && !any(&self.never)
    }
}

/// What the visit has seen of invitations.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Record {
    /// Invitations shown.
    pub shown: f64,
    /// The visitor closed one: no more.
    pub no: bool,
    /// When the dialog last opened or a callback was ordered (ms since the epoch).
    pub engaged_at: f64,
}

impl Record {
    fn encode(self) -> String {
        let text = |n: f64| {
            String::from(
                js_sys::Number::from(n)
                    .to_string_with_radix(10)
                    .unwrap_or_default(),
            )
        };
        [
            text(self.shown).as_str(),
            if self.no { " 1 " } else { " 0 " },
            &text(self.engaged_at),
        ]
        .concat()
    }

    fn decode(text: &str) -> Self {
        let mut parts = text.split(' ').map(js_sys::Number::parse_float);
        let mut next = || parts.next().filter(|n| n.is_finite()).unwrap_or(0.0);
        Self {
            shown: next(),
            no: next() > 0.0,
            engaged_at: next(),
        }
    }
}

/// The invitations of one widget: their settings, the visit's record, and
/// what the triggers follow on the page.
#[derive(Debug, Default)]
pub struct Invitations {
    /// The settings (read when the site's config is applied).
    pub settings: RefCell<Invite>,
    record: Cell<Record>,
    /// Whether the record lives in memory only (`privacy = "strict"`).
    strict: bool,
    /// One invitation per page view.
    pub shown_here: Cell<bool>,
    /// The page's last input (`performance.now()`), for `idle_seconds`.
    pub last_input: Cell<f64>,
    /// Where a scroll up began (y, `performance.now()`), for `touch_exit`.
    pub scroll_from: Cell<(f64, f64)>,
    /// An `invite()` of the page's before the config was applied (`force`).
    pub pending: Cell<Option<bool>>,
    /// The page's settings (the loader's `options.invite`).
    pub page: JsValue,
    /// The listener on `window` ([`EVENTS`]), while there is one.
    pub listener: RefCell<Option<PageListener>>,
}

impl Invitations {
    /// With the page's settings (`page`); reads the visit's record, unless `strict`.
    pub fn new(strict: bool, page: JsValue) -> Self {
        let stored = storage()
            .filter(|_| !strict)
            .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
        Self {
            record: Cell::new(stored.as_deref().map(Record::decode).unwrap_or_default()),
            strict,
            page,
            ..Self::default()
        }
    }

    /// The visit's record.
    pub fn record(&self) -> Record {
        self.record.get()
    }

    /// Changes the record, and keeps it for the visit unless strict.
    pub fn change(&self, change: impl FnOnce(&mut Record)) {
        let mut record = self.record.get();
        change(&mut record);
        self.record.set(record);
        if let Some(storage) = storage().filter(|_| !self.strict) {
            let _ = storage.set_item(STORAGE_KEY, &record.encode());
        }
    }

    /// Whether the caps let one more invitation show now (the company's
    /// hours and the dialog are the controller's to check).
    pub fn allowed(&self, now: f64) -> bool {
        let settings = self.settings.borrow();
        let record = self.record.get();
        let path = web_sys::window()
            .and_then(|w| w.location().pathname().ok())
            .unwrap_or_default();
        !self.shown_here.get()
            && !record.no
            && record.shown < settings.per_visit
            && now - record.engaged_at >= settings.pause_ms
            && settings.allows_path(&path)
    }
}

/// `performance.now()`: ms since the page began, the time on the page.
pub fn page_time() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}
