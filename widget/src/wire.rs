//! The v1 contract's JSON, read and written with the browser's `JSON`.
//!
//! The shapes are `protocol`'s (`CallbackRequest`, `CallbackAccepted`,
//! `CallStatus`, `ErrorBody`, `SiteConfig`, `Slots`), spelled here field by field because serde costs
//! too much in the wasm (see `js`). The widget's tests compare every shape and
//! every enum name with serde's output of the same `protocol` value, so a
//! change in `protocol` that this file misses fails there.

use js_sys::{JSON, Object};
use protocol::{
    CallState, CallStatus, CallbackAccepted, CallbackRequest, ConsentConfig, ErrorCode,
    FailureReason, Utm, VisitContext,
};
use wasm_bindgen::JsValue;

use crate::js::{get, set, set_opt, string};

/// A callback request as the JSON body of `POST /v1/sites/{site}/callbacks`;
/// `site_values` are added to `context.extra` (after those already in it).
pub fn request_json(request: &CallbackRequest, site_values: &[(String, String)]) -> Option<String> {
    let body = Object::new();
    set(&body, "phone", &JsValue::from_str(&request.phone));
    if let Some(office) = request.office {
        set(&body, "office", &JsValue::from(office));
    }
    if let Some(time) = request.time {
        // Unix seconds fit a double exactly.
        set(&body, "time", &JsValue::from(time as f64));
    }
    set_opt(&body, "name", request.name.as_deref());
    set_opt(&body, "email", request.email.as_deref());
    if let Some(consent) = &request.consent {
        let js = Object::new();
        set(&js, "accepted", &JsValue::from(consent.accepted));
        set(&js, "version", &JsValue::from_str(&consent.version));
        set(&body, "consent", &js);
    }
    set(
        &body,
        "context",
        &context_object(&request.context, site_values),
    );
    JSON::stringify(&body).ok()?.as_string()
}

fn context_object(context: &VisitContext, site_values: &[(String, String)]) -> Object {
    let js = Object::new();
    set_opt(&js, "referrer", context.referrer.as_deref());
    set_opt(&js, "current_page", context.current_page.as_deref());
    set_opt(&js, "entry_page", context.entry_page.as_deref());
    set_opt(&js, "user_agent", context.user_agent.as_deref());
    set(&js, "utm", &utm_object(&context.utm));
    set_opt(&js, "ga_client_id", context.ga_client_id.as_deref());
    set_opt(&js, "roistat_visit", context.roistat_visit.as_deref());
    set_opt(
        &js,
        "calltouch_session",
        context.calltouch_session.as_deref(),
    );
    if !context.extra.is_empty() || !site_values.is_empty() {
        let extra = Object::new();
        let pairs = context
            .extra
            .iter()
            .chain(site_values.iter().map(|(k, v)| (k, v)));
        for (key, value) in pairs {
            set(&extra, key, &JsValue::from_str(value));
        }
        set(&js, "extra", &extra);
    }
    js
}

fn utm_object(utm: &Utm) -> Object {
    let js = Object::new();
    set_opt(&js, "source", utm.source.as_deref());
    set_opt(&js, "medium", utm.medium.as_deref());
    set_opt(&js, "campaign", utm.campaign.as_deref());
    set_opt(&js, "content", utm.content.as_deref());
    set_opt(&js, "term", utm.term.as_deref());
    js
}

/// Parses JSON text; `None` when it is not JSON.
pub fn parse(text: &str) -> Option<JsValue> {
    JSON::parse(text).ok()
}

/// A `202` answer: `{"id", "status"}`.
pub fn accepted(json: &JsValue) -> Option<CallbackAccepted> {
    Some(CallbackAccepted {
        id: string(json, "id")?,
        status: status(&get(json, "status"))?,
    })
}

/// A `CallStatus`; `None` when a required field is missing or unknown.
pub fn status(json: &JsValue) -> Option<CallStatus> {
    let whole = |key| {
        get(json, key)
            .as_f64()
            .filter(|n| n.fract() == 0.0 && *n >= 0.0)
    };
    Some(CallStatus {
        state: state(&string(json, "state")?)?,
        is_final: get(json, "final").as_bool()?,
        reason: string(json, "reason").and_then(|r| reason(&r)),
        message: get(json, "message").as_string()?,
        eta_seconds: whole("eta_seconds").map(|n| n as u32),
        at: whole("at").map(|n| n as i64),
    })
}

/// The error of an `ErrorBody`: its code and the field at fault.
pub fn error(json: &JsValue) -> Option<(ErrorCode, Option<String>)> {
    let error = get(json, "error");
    Some((
        error_code(&string(&error, "code")?)?,
        string(&error, "field"),
    ))
}

/// A state's wire name.
pub fn state_name(state: CallState) -> &'static str {
    STATES
        .iter()
        .find(|(_, s)| *s == state)
        .map_or("", |(name, _)| name)
}

fn state(name: &str) -> Option<CallState> {
    STATES.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// A failure reason's wire name.
pub fn reason_name(reason: FailureReason) -> &'static str {
    REASONS
        .iter()
        .find(|(_, r)| *r == reason)
        .map_or("", |(name, _)| name)
}

fn reason(name: &str) -> Option<FailureReason> {
    REASONS.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
}

fn error_code(name: &str) -> Option<ErrorCode> {
    ERROR_CODES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
}

/// Every state with its wire name (serde's `snake_case` of the variant).
pub const STATES: [(&str, CallState); 7] = [
    ("received", CallState::Received),
    ("queued", CallState::Queued),
    ("ordered", CallState::Ordered),
    ("scheduled", CallState::Scheduled),
    ("in_progress", CallState::InProgress),
    ("succeeded", CallState::Succeeded),
    ("failed", CallState::Failed),
];

/// Every failure reason with its wire name.
pub const REASONS: [(&str, FailureReason); 7] = [
    ("busy", FailureReason::Busy),
    ("no_answer", FailureReason::NoAnswer),
    ("invalid_number", FailureReason::InvalidNumber),
    ("company_unavailable", FailureReason::CompanyUnavailable),
    ("closed", FailureReason::Closed),
    ("cancelled", FailureReason::Cancelled),
    ("not_ordered", FailureReason::NotOrdered),
];

/// Every error code with its wire name.
pub const ERROR_CODES: [(&str, ErrorCode); 9] = [
    ("bad_request", ErrorCode::BadRequest),
    ("invalid_input", ErrorCode::InvalidInput),
    ("not_found", ErrorCode::NotFound),
    ("origin_not_allowed", ErrorCode::OriginNotAllowed),
    ("idempotency_conflict", ErrorCode::IdempotencyConflict),
    ("payload_too_large", ErrorCode::PayloadTooLarge),
    ("rate_limited", ErrorCode::RateLimited),
    ("unavailable", ErrorCode::Unavailable),
    ("internal", ErrorCode::Internal),
];

/// What the widget takes from a `SiteConfig` (`GET /v1/sites/{site}/config`);
/// every field is optional, so a missing or older config still gives a widget.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteSettings {
    /// The site's language for the widget, when it fixes one.
    pub locale: Option<String>,
    /// The accent colour.
    pub color: Option<String>,
    /// `left` or `right`.
    pub position: Option<String>,
    /// The form's title (the older setting; `texts` wins).
    pub title: Option<String>,
    /// Digits to pre-fill the phone field with.
    pub country_code: Option<String>,
    /// Offices to choose from.
    pub offices: Vec<String>,
    /// Whether the company takes calls now.
    pub open_now: bool,
    /// The consent checkbox, when there is one.
    pub consent: Option<ConsentConfig>,
    /// `texts` as it came: `{ru: {key: text}, en: {…}}`.
    pub texts: JsValue,
}

impl Default for SiteSettings {
    fn default() -> Self {
        Self {
            locale: None,
            color: None,
            position: None,
            title: None,
            country_code: None,
            offices: Vec::new(),
            open_now: true,
            consent: None,
            texts: JsValue::UNDEFINED,
        }
    }
}

/// A site's config, as far as it is readable.
pub fn site_settings(json: &JsValue) -> SiteSettings {
    let consent = get(json, "consent");
    let offices = get(json, "offices");
    SiteSettings {
        locale: string(json, "locale"),
        color: string(json, "color"),
        position: string(json, "position"),
        title: string(json, "title"),
        country_code: string(json, "country_code"),
        offices: if js_sys::Array::is_array(&offices) {
            js_sys::Array::from(&offices)
                .iter()
                .map(|o| o.as_string().unwrap_or_default())
                .collect()
        } else {
            Vec::new()
        },
        open_now: get(json, "open_now").as_bool().unwrap_or(true),
        consent: string(&consent, "version").map(|version| ConsentConfig {
            version,
            link: string(&consent, "link"),
            required: get(&consent, "required").as_bool().unwrap_or(true),
        }),
        texts: get(json, "texts"),
    }
}

/// A `Slots` answer: whether the company is open now, and the slots' starts.
pub fn slots(json: &JsValue) -> Option<(bool, Vec<i64>)> {
    let slots = get(json, "slots");
    if !js_sys::Array::is_array(&slots) {
        return None;
    }
    let starts = js_sys::Array::from(&slots)
        .iter()
        .filter_map(|slot| get(&slot, "start").as_f64())
        .map(|start| start as i64)
        .collect();
    Some((get(json, "open_now").as_bool()?, starts))
}
