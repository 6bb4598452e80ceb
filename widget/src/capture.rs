//! What the widget learns about the visit, for CallKeeper's `orderCall`.
//!
//! - The landing: the entry page and its referrer, snapshotted by the loader
//!   the moment the script runs (before a single-page app rewrites the URL),
//!   and kept for the tab in `sessionStorage` so that they survive full page
//!   loads (the loader stores them as it runs, in the format of
//!   [`Landing`]'s `encode`, so a page left before the widget loaded still
//!   counts). UTM tags are read from the entry page's query.
//! - At submit time: the current page (`location.href`, so History API
//!   navigation is followed without listening to it), the user agent, the GA
//!   client id (`_ga` cookie), the Roistat visit (`roistat_visit` cookie) and
//!   what the site passed with `set()`.
//!
//! It never sets cookies. With `privacy = "strict"` it neither reads nor
//! writes storage until the visitor interacts with the widget.
//!
//! A callback request the proxy has not answered (it could not be reached,
//! or asked to retry) is kept for the tab in `sessionStorage` too
//! ([`PENDING_KEY`]), so that a reload or the next page of the site sends it
//! again instead of losing the lead. It is written only after the visitor's
//! own submit (storage is allowed from then on, even when strict), and
//! removed as soon as the proxy answers. As only that submit writes it, it
//! is read on every page of the tab, strict or not: it is there only if the
//! visitor used the widget.

use std::cell::{Cell, RefCell};

use protocol::{Strings, Utm, VisitContext};
use wasm_bindgen::{JsCast, JsValue};

use crate::js;

/// The `sessionStorage` key of the landing.
pub const STORAGE_KEY: &str = "callback-widget.landing";
/// The `sessionStorage` key of the request the proxy has not answered:
/// `{ms since the epoch when submitted}\n{Idempotency-Key}\n{JSON body}`
/// (JSON text holds no raw line break).
pub const PENDING_KEY: &str = "callback-widget.pending";
/// A pending request older than this (ms) is dropped, not sent.
const PENDING_MAX_AGE_MS: f64 = 24.0 * 3_600_000.0;
/// At most this many keys from `set()` are kept (the proxy keeps a bounded set too).
const MAX_EXTRA: usize = 20;

/// Where the visit began.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Landing {
    /// The first page of the visit, with its query.
    pub entry_page: Option<String>,
    /// `document.referrer` of the first page.
    pub referrer: Option<String>,
}

impl Landing {
    /// The loader's snapshot `{href, referrer}`; the current page when there is none.
    pub fn from_snapshot(snapshot: &JsValue) -> Self {
        let window = web_sys::window();
        Self {
            entry_page: js::string(snapshot, "href")
                .or_else(|| window.as_ref().and_then(|w| w.location().href().ok())),
            referrer: if snapshot.is_object() {
                js::string(snapshot, "referrer")
            } else {
                window
                    .and_then(|w| w.document())
                    .map(|d| d.referrer())
                    .filter(|r| !r.is_empty())
            },
        }
    }

    /// The UTM tags of the entry page.
    pub fn utm(&self) -> Utm {
        self.entry_page
            .as_deref()
            .and_then(|page| web_sys::Url::new(page).ok())
            .map(|url| utm_from_query(&url.search()))
            .unwrap_or_default()
    }

    /// One line each: URLs never hold a raw line break.
    fn encode(&self) -> String {
        let mut text = self.entry_page.clone().unwrap_or_default();
        text.push('\n');
        text.push_str(self.referrer.as_deref().unwrap_or_default());
        text
    }

    fn decode(text: &str) -> Option<Self> {
        let (entry, referrer) = text.split_once('\n')?;
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Some(Self {
            entry_page: Some(entry.to_owned()).filter(|e| !e.is_empty()),
            referrer: some(referrer),
        })
    }
}

/// What the widget knows about this visit.
#[derive(Debug)]
pub struct Visit {
    landing: RefCell<Landing>,
    storage_allowed: Cell<bool>,
    calltouch_session: RefCell<Option<String>>,
    extra: RefCell<Vec<(String, String)>>,
}

impl Visit {
    /// Starts from the loader's snapshot. Unless `strict`, a landing stored
    /// earlier in this tab wins, and the snapshot is stored when there is none.
    pub fn new(snapshot: Landing, strict: bool) -> Self {
        let visit = Self {
            landing: RefCell::new(snapshot),
            storage_allowed: Cell::new(!strict),
            calltouch_session: RefCell::default(),
            extra: RefCell::default(),
        };
        visit.sync_storage();
        visit
    }

    /// The visitor interacted with the widget: storage is allowed from now on.
    pub fn interacted(&self) {
        if !self.storage_allowed.replace(true) {
            self.sync_storage();
        }
    }

    /// Where the visit began.
    pub fn landing(&self) -> Landing {
        self.landing.borrow().clone()
    }

    /// Keeps the request the proxy did not answer (the only one: it replaces
    /// any other), submitted at `since` (ms since the epoch), if storage is
    /// allowed (it is once the visitor submitted).
    pub fn keep_pending(&self, since: f64, key: &str, body: &str) {
        if let Some(storage) = session_storage().filter(|_| self.storage_allowed.get()) {
            let since = String::from(
                js_sys::Number::from(since)
                    .to_string_with_radix(10)
                    .unwrap_or_default(),
            );
            let _ = storage.set_item(PENDING_KEY, &[&since, "\n", key, "\n", body].concat());
        }
    }

    fn sync_storage(&self) {
        if !self.storage_allowed.get() {
            return;
        }
        // Storage may be missing or throw (disabled, sandboxed frame): then the
        // landing lives as long as the page.
        let Some(storage) = session_storage() else {
            return;
        };
        match storage
            .get_item(STORAGE_KEY)
            .ok()
            .flatten()
            .and_then(|t| Landing::decode(&t))
        {
            Some(stored) => *self.landing.borrow_mut() = stored,
            None => {
                let _ = storage.set_item(STORAGE_KEY, &self.landing.borrow().encode());
            }
        }
    }

    /// Context the site passed with `set({...})`: `calltouch_session` has its
    /// own field, other string or number values go to `extra`.
    pub fn set(&self, values: &JsValue) {
        if !values.is_object() {
            return;
        }
        let mut extra = self.extra.borrow_mut();
        for key in js_sys::Object::keys(values.unchecked_ref::<js_sys::Object>()).iter() {
            let Some(key) = key.as_string() else { continue };
            let value = js::string(values, &key);
            if key == "calltouch_session" {
                *self.calltouch_session.borrow_mut() = value;
                continue;
            }
            extra.retain(|(k, _)| *k != key);
            if let Some(value) = value.filter(|_| extra.len() < MAX_EXTRA) {
                extra.push((key, value));
            }
        }
    }

    /// The context to send with a callback request, read now.
    pub fn context(&self) -> VisitContext {
        let landing = self.landing();
        let window = web_sys::window();
        let cookies = window
            .as_ref()
            .and_then(|w| w.document())
            // Read as a property: no `HtmlDocument` cast to bring in. A
            // sandboxed frame's `cookie` throws: no cookies then.
            .and_then(|d| js::get(d.as_ref(), "cookie").as_string())
            .unwrap_or_default();
        VisitContext {
            utm: landing.utm(),
            referrer: landing.referrer,
            current_page: window
                .as_ref()
                .and_then(|w| w.location().href().ok())
                .map(without_fragment),
            entry_page: landing.entry_page.map(without_fragment),
            user_agent: window.and_then(|w| w.navigator().user_agent().ok()),
            ga_client_id: read_cookie(&cookies, "_ga").and_then(|v| ga_client_id(&v)),
            roistat_visit: read_cookie(&cookies, "roistat_visit"),
            calltouch_session: self.calltouch_session.borrow().clone(),
            extra: self.extra(),
        }
    }

    /// The site's values as the request's `context.extra`.
    fn extra(&self) -> Strings {
        let mut extra = Strings::new();
        for (key, value) in self.extra.borrow().iter() {
            extra.insert(key.clone(), value.clone());
        }
        extra
    }

    /// What the site passed with `set()`, other than `calltouch_session`, in
    /// the order it was set (the request's `context.extra`).
    pub fn site_values(&self) -> Vec<(String, String)> {
        self.extra.borrow().clone()
    }
}

pub(crate) fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.session_storage().ok().flatten())
}

/// The request kept by [`Visit::keep_pending`]: when it was submitted (ms
/// since the epoch), its Idempotency-Key and its body. One older than a day,
/// or unreadable, is removed and not returned.
pub fn pending() -> Option<(f64, String, String)> {
    let storage = session_storage()?;
    let text = storage.get_item(PENDING_KEY).ok()??;
    let mut parts = text.splitn(3, '\n');
    let since = js_sys::Number::parse_float(parts.next()?);
    let entry = parts.next().zip(parts.next());
    match entry {
        Some((key, body)) if js_sys::Date::now() - since <= PENDING_MAX_AGE_MS => {
            Some((since, key.to_owned(), body.to_owned()))
        }
        _ => {
            let _ = storage.remove_item(PENDING_KEY);
            None
        }
    }
}

/// Removes the pending request once the proxy answered it, unless another
/// (a later submit's) has replaced it.
pub fn drop_pending(key: &str) {
    if let Some(storage) = session_storage()
        && pending().is_some_and(|(_, kept, _)| kept == key)
    {
        let _ = storage.remove_item(PENDING_KEY);
    }
}

/// A URL without its `#fragment`, which is the page's own business (it may
/// hold a token or what the visitor searched for) and not the call's.
fn without_fragment(mut url: String) -> String {
    if let Some(at) = url.find('#') {
        url.truncate(at);
    }
    url
}

/// The UTM tags of a query string such as `?utm_source=ya&x=1`.
pub fn utm_from_query(query: &str) -> Utm {
    let Ok(params) = web_sys::UrlSearchParams::new_with_str(query) else {
        return Utm::default();
    };
    let get = |key: &str| params.get(key).filter(|v| !v.is_empty());
    Utm {
        source: get("utm_source"),
        medium: get("utm_medium"),
        campaign: get("utm_campaign"),
        content: get("utm_content"),
        term: get("utm_term"),
    }
}

/// The value of cookie `name` in a `document.cookie` string.
pub fn read_cookie(cookies: &str, name: &str) -> Option<String> {
    cookies.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name && !value.is_empty()).then(|| value.to_owned())
    })
}

/// The GA client id in a `_ga` cookie: `GA1.2.1234567890.1600000000` → `1234567890.1600000000`.
pub fn ga_client_id(cookie: &str) -> Option<String> {
    let mut parts = cookie.split('.');
    let (version, _depth) = (parts.next()?, parts.next()?);
    if !version.starts_with("GA") {
        return None;
    }
    let (random, timestamp) = (parts.next()?, parts.next()?);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(random) && digits(timestamp)) {
        return None;
    }
    let mut id = random.to_owned();
    id.push('.');
    id.push_str(timestamp);
    Some(id)
}
