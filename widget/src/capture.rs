//! What the widget learns about the visit, for CallKeeper's `orderCall`.
//!
//! It reads the referrer, the page, the UTM tags, the user agent and the
//! analytics ids (GA client id from `_ga`, Roistat visit from
//! `roistat_visit`). It never sets cookies.

use protocol::{Utm, VisitContext};

/// Captures the context of the current visit.
pub(crate) fn visit_context() -> VisitContext {
    let Some(window) = web_sys::window() else {
        return VisitContext::default();
    };
    let document = window.document();
    let location = window.location();
    let href = location.href().ok();
    let query = location.search().unwrap_or_default();
    let cookies = document
        .as_ref()
        .and_then(|d| {
            wasm_bindgen::JsCast::dyn_ref::<web_sys::HtmlDocument>(d).and_then(|h| h.cookie().ok())
        })
        .unwrap_or_default();
    VisitContext {
        referrer: document
            .as_ref()
            .map(web_sys::Document::referrer)
            .filter(|r| !r.is_empty()),
        current_page: href.clone(),
        entry_page: href,
        user_agent: window.navigator().user_agent().ok(),
        utm: utm_from_query(&query),
        ga_client_id: read_cookie(&cookies, "_ga").and_then(|v| ga_client_id(&v)),
        roistat_visit: read_cookie(&cookies, "roistat_visit"),
        ..VisitContext::default()
    }
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
    (digits(random) && digits(timestamp)).then(|| format!("{random}.{timestamp}"))
}
