//! The v1 HTTP contract between the widget and the proxy.
//!
//! - `GET  /v1/sites/{site}/config` → [`SiteConfig`]
//! - `POST /v1/sites/{site}/callbacks` with [`CallbackRequest`] and an
//!   `Idempotency-Key` header → `202` [`CallbackAccepted`]
//! - `GET  /v1/callbacks/{id}` → [`CallStatus`]
//! - `GET  /v1/callbacks/{id}/events` → Server-Sent Events, `event: status`,
//!   `data:` a [`CallStatus`], with `id:` so `Last-Event-ID` resumes.
//! - Every error: [`ErrorBody`].
//!
//! Unknown JSON fields are ignored (never rejected), so an older proxy accepts
//! a newer widget's body.

use serde::{Deserialize, Serialize};

use crate::Strings;
use crate::wire_name::wire_names;

/// URL paths of the v1 API, shared so that neither side spells them twice.
/// Joined, not `format!`ed: the widget's wasm then needs no formatting
/// machinery for them (README, "Widget size").
pub mod paths {
    /// Public configuration of a site.
    pub fn site_config(site: &str) -> String {
        ["/v1/sites/", site, "/config"].concat()
    }
    /// The callback slots of a site.
    pub fn slots(site: &str) -> String {
        ["/v1/sites/", site, "/slots"].concat()
    }
    /// Where the widget posts a callback request.
    pub fn callbacks(site: &str) -> String {
        ["/v1/sites/", site, "/callbacks"].concat()
    }
    /// The status of one callback request.
    pub fn callback(id: &str) -> String {
        ["/v1/callbacks/", id].concat()
    }
    /// The live status stream of one callback request.
    pub fn callback_events(id: &str) -> String {
        ["/v1/callbacks/", id, "/events"].concat()
    }
    /// Name of the header that makes a create request safe to retry.
    pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
    /// The header the widget sends with every order (`X-Callback-Widget: 1`),
    /// required by a site whose `bot_checks.require_widget_header` is on.
    pub const WIDGET_HEADER: &str = "X-Callback-Widget";
    /// The header carrying a solved proof-of-work challenge: `token:nonce`
    /// (see [`crate::challenge`]).
    pub const PROOF_HEADER: &str = "X-Callback-Proof";
}

/// What the widget sends when the visitor asks to be called back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct CallbackRequest {
    /// The phone number as typed; the proxy parses it with [`crate::PhoneNumber`].
    pub phone: String,
    /// Index of the office the visitor chose, counted from 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub office: Option<u32>,
    /// A requested time (Unix seconds); absent means "call me now".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<i64>,
    /// The visitor's name, when the form asks for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The visitor's e-mail, when the form asks for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The consent the visitor gave, when the site asks for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent: Option<Consent>,
    /// Where the visitor came from and what they looked at.
    pub context: VisitContext,
    /// The form's honeypot: a field the widget hides from people, so only
    /// a script that fills every input fills it. Empty or absent from a person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// Milliseconds between the dialog first opening and the request being
    /// sent; a person takes longer than the site's `min_fill_ms`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<u64>,
}

/// The visitor accepted the consent text of this version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Consent {
    /// Always true when present; kept explicit so a form bug cannot imply consent.
    pub accepted: bool,
    /// The version of the consent text shown.
    pub version: String,
}

/// The visit's context, captured by the widget in the visitor's browser.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct VisitContext {
    /// `document.referrer` of the entry page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    /// The page the visitor is on while ordering.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_page: Option<String>,
    /// The first page of the visit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_page: Option<String>,
    /// `navigator.userAgent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// UTM tags of the landing URL.
    pub utm: Utm,
    /// Google Analytics client id, from the `_ga` cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ga_client_id: Option<String>,
    /// Roistat visit number, from the `roistat_visit` cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roistat_visit: Option<String>,
    /// Calltouch session id, set by the site through the widget's API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calltouch_session: Option<String>,
    /// Extra keys the site passed with `set()`; the proxy keeps a bounded set.
    #[serde(skip_serializing_if = "Strings::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, String>))]
    pub extra: Strings,
}

/// UTM tags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Utm {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
}

impl Utm {
    /// Whether no tag is set.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// The proxy's answer to an accepted callback request (`202`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallbackAccepted {
    /// The status token: random, opaque, never CallKeeper's id.
    pub id: String,
    /// The status at the time of the answer.
    pub status: CallStatus,
}

/// What the visitor is told about their call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallStatus {
    /// Where the call is.
    pub state: CallState,
    /// Whether this state will not change any more.
    #[serde(rename = "final")]
    pub is_final: bool,
    /// Why a failed call failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<FailureReason>,
    /// A message for the visitor, in the site's language.
    pub message: String,
    /// An estimate of the seconds until the visitor's phone rings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_seconds: Option<u32>,
    /// When the call is scheduled, or when the next attempt is (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
}

/// The visitor-facing states of a callback request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// Stored by the proxy, not yet sent to CallKeeper.
    Received,
    /// CallKeeper could not be reached; the proxy keeps retrying.
    Queued,
    /// CallKeeper accepted the order and will dial.
    Ordered,
    /// The call is scheduled for a time.
    Scheduled,
    /// The call is happening now.
    InProgress,
    /// The call went through.
    Succeeded,
    /// The call did not go through; see [`FailureReason`].
    Failed,
}

wire_names!(CallState {
    Received = "received",
    Queued = "queued",
    Ordered = "ordered",
    Scheduled = "scheduled",
    InProgress = "in_progress",
    Succeeded = "succeeded",
    Failed = "failed",
});

impl CallState {
    /// Whether a call in this state is over.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

/// Why a call failed, in the visitor's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    /// The visitor's line was busy.
    Busy,
    /// The visitor did not pick up.
    NoAnswer,
    /// The number cannot be called.
    InvalidNumber,
    /// The company did not answer or could not be reached.
    CompanyUnavailable,
    /// The company is closed.
    Closed,
    /// The call was cancelled or blocked.
    Cancelled,
    /// The callback could not be ordered (the service is misconfigured).
    NotOrdered,
}

wire_names!(FailureReason {
    Busy = "busy",
    NoAnswer = "no_answer",
    InvalidNumber = "invalid_number",
    CompanyUnavailable = "company_unavailable",
    Closed = "closed",
    Cancelled = "cancelled",
    NotOrdered = "not_ordered",
});

/// What the widget needs to render for one site.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct SiteConfig {
    /// The site's id, as in the URL.
    pub site: String,
    /// Language of the texts: `ru` or `en`.
    pub locale: String,
    /// The accent colour, `#rrggbb`.
    pub color: String,
    /// `right` or `left`.
    pub position: String,
    /// Title of the form.
    pub title: String,
    /// The default country code to pre-fill, digits only.
    pub country_code: String,
    /// Offices the visitor may choose from, by index.
    pub offices: Vec<String>,
    /// Whether the company takes calls right now.
    pub open_now: bool,
    /// The least time (ms) between the dialog opening and a request the
    /// site accepts; the widget holds a quicker request back until then.
    pub min_fill_ms: u64,
    /// The consent checkbox, when the site asks for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentConfig>,
    /// The site's own wording of any of the widget's texts, per language.
    pub texts: SiteTexts,
    /// The proactive invitations (`[sites.NAME.invite]`): each of
    /// [`INVITE_KEYS`] that the site sets, its value written as the page's
    /// `data-invite-*` attribute would write it (`"50"`, `"true"`,
    /// `"/checkout*,/cart"`), so the widget reads both through one parser
    /// (and the map's deserialiser is the texts' one: no new code in the
    /// wasm). Empty: no invitation is ever shown by itself.
    #[serde(skip_serializing_if = "Strings::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, String>))]
    pub invite: Strings,
}

/// The settings of the proactive invitations, as a site writes them
/// (`[sites.NAME.invite]`, `data-invite-*`): the triggers (`exit_seconds`,
/// `touch_exit`, `scroll_percent`, `time_seconds`, `idle_seconds`), the
/// page rules (`only`, `never`) and the caps (`per_visit`, `pause_minutes`,
/// `when_closed`). README, "Invitations", says what each means.
pub const INVITE_KEYS: [&str; 10] = [
    "exit_seconds",
    "touch_exit",
    "scroll_percent",
    "time_seconds",
    "idle_seconds",
    "only",
    "never",
    "per_visit",
    "pause_minutes",
    "when_closed",
];

/// The consent checkbox of a site's form (`[sites.NAME.consent]`). Its words
/// are the texts `consent` and `consent_link`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ConsentConfig {
    /// The version of the consent text, sent back as [`Consent::version`].
    pub version: String,
    /// Where the full text (the privacy policy) is, linked from the checkbox's label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Whether the form cannot be sent without the box ticked.
    pub required: bool,
}

/// A site's wording of the widget's texts: for each language, text key
/// (one of [`TEXT_KEYS`]) to text. Keys not given keep the widget's own text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct SiteTexts {
    /// Russian.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, String>))]
    pub ru: Strings,
    /// English.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, String>))]
    pub en: Strings,
}

/// Declares [`TextKey`] and [`TEXT_KEYS`] from one list, so that a key's
/// name and its place can never disagree.
macro_rules! text_keys {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal,)*) => {
        /// A text the widget shows. Its name (in [`TEXT_KEYS`], at the
        /// variant's index) is how a site overrides it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum TextKey {
            $($(#[doc = $doc])* $variant,)*
        }

        /// The names of every [`TextKey`], in order: what a site may write
        /// under `[sites.NAME.texts.ru]` and `.en`.
        pub const TEXT_KEYS: [&str; [$($name),*].len()] = [$($name),*];
    };
}

text_keys! {
    /// The launcher's accessible name.
    Open = "open",
    /// The close button's accessible name.
    Close = "close",
    /// The dialog's title.
    Title = "title",
    /// The phone field's label.
    Phone = "phone",
    /// The office field's label.
    Office = "office",
    /// The legend of the "when" choice.
    When = "when",
    /// "Call me now".
    Now = "now",
    /// "At a time I choose".
    Later = "later",
    /// The label of the list of times.
    Slot = "slot",
    /// Said when the company is closed (and the reason `closed`).
    Closed = "closed",
    /// No time can be chosen.
    NoSlots = "no_slots",
    /// The times could not be loaded (the network); they are tried again.
    SlotsUnavailable = "slots_unavailable",
    /// The consent checkbox's label.
    Consent = "consent",
    /// The link to the full consent text.
    ConsentLink = "consent_link",
    /// The submit button.
    Submit = "submit",
    /// After a failed call: order again.
    TryAgain = "try_again",
    /// After a failed call: choose a time.
    PickTime = "pick_time",
    /// Nothing was typed.
    PhoneEmpty = "phone_empty",
    /// A character that has no place in a phone number.
    PhoneInvalidChar = "phone_invalid_char",
    /// An extension (`^`).
    PhoneExtension = "phone_extension",
    /// Too few digits.
    PhoneShort = "phone_short",
    /// Too many digits.
    PhoneLong = "phone_long",
    /// The consent box must be ticked.
    ConsentRequired = "consent_required",
    /// The request is on its way.
    Sending = "sending",
    /// The proxy cannot be reached; the request is kept and retried.
    Offline = "offline",
    /// Too many requests; `{n}` is minutes to wait.
    RateLimited = "rate_limited",
    /// The request was refused for another reason.
    FailedToSend = "failed_to_send",
    /// The chosen time is no longer available.
    SlotTaken = "slot_taken",
    /// Status `received`.
    Received = "received",
    /// Status `queued`.
    Queued = "queued",
    /// Status `ordered`.
    Ordered = "ordered",
    /// Status `scheduled`; `{time}` is when.
    Scheduled = "scheduled",
    /// Status `scheduled` after a failed attempt; `{time}` is the next attempt.
    Retry = "retry",
    /// Status `in_progress`.
    InProgress = "in_progress",
    /// Status `succeeded`.
    Succeeded = "succeeded",
    /// Reason `busy`.
    Busy = "busy",
    /// Reason `no_answer`.
    NoAnswer = "no_answer",
    /// Reason `invalid_number`.
    InvalidNumber = "invalid_number",
    /// Reason `company_unavailable`.
    CompanyUnavailable = "company_unavailable",
    /// Reason `cancelled` (and a failure without a reason).
    Cancelled = "cancelled",
    /// Reason `not_ordered`.
    NotOrdered = "not_ordered",
    /// The estimate while the call is set up; `{n}` is seconds.
    Eta = "eta",
    /// The estimate has run out.
    EtaSoon = "eta_soon",
    /// The invitation's words (the teaser beside the launcher).
    Invite = "invite",
    /// The invitation's button that opens the dialog.
    InviteYes = "invite_yes",
}

impl TextKey {
    /// The key's name, as a site writes it.
    pub fn name(self) -> &'static str {
        TEXT_KEYS[self as usize]
    }
}

/// The callback times a visitor may choose (`GET /v1/sites/{site}/slots`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Slots {
    /// Whether the company takes calls right now ("call me now" is offered).
    pub open_now: bool,
    /// The company's time zone (IANA name or `UTC±hh:mm`), for display.
    pub time_zone: String,
    /// The coming slots, earliest first.
    pub slots: Vec<Slot>,
}

/// One callback slot; a requested `time` must fall inside one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Slot {
    /// Unix seconds.
    pub start: i64,
    /// Unix seconds (exclusive).
    pub end: i64,
}

/// The one shape of every error the proxy returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// The error.
    pub error: ApiError,
    /// With [`ErrorCode::ChallengeRequired`]: the work to do before
    /// sending the order again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<crate::challenge::Challenge>,
}

/// An error for the widget (and the developer reading the network tab).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    /// Machine-readable kind.
    pub code: ErrorCode,
    /// A sentence for a developer; the widget shows its own localised text.
    pub message: String,
    /// The request field at fault, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Kinds of error, each with one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the body is not JSON of the right shape.
    BadRequest,
    /// 422: a field is invalid; see `field`.
    InvalidInput,
    /// 404: unknown site or callback.
    NotFound,
    /// 403: the page's origin is not one of the site's.
    OriginNotAllowed,
    /// 409: the idempotency key was used with another body.
    IdempotencyConflict,
    /// 413: the body is too large.
    PayloadTooLarge,
    /// 429: too many requests; see `Retry-After`.
    RateLimited,
    /// 428: the site asks for a proof of work first; see `challenge`.
    ChallengeRequired,
    /// 503: the request could not be stored; try again.
    Unavailable,
    /// 500: a bug on our side.
    Internal,
}

wire_names!(ErrorCode {
    BadRequest = "bad_request",
    InvalidInput = "invalid_input",
    NotFound = "not_found",
    OriginNotAllowed = "origin_not_allowed",
    IdempotencyConflict = "idempotency_conflict",
    PayloadTooLarge = "payload_too_large",
    RateLimited = "rate_limited",
    ChallengeRequired = "challenge_required",
    Unavailable = "unavailable",
    Internal = "internal",
});

impl ErrorCode {
    /// The HTTP status this kind of error is sent with.
    pub fn http_status(self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::InvalidInput => 422,
            Self::NotFound => 404,
            Self::OriginNotAllowed => 403,
            Self::IdempotencyConflict => 409,
            Self::PayloadTooLarge => 413,
            Self::RateLimited => 429,
            Self::ChallengeRequired => 428,
            Self::Unavailable => 503,
            Self::Internal => 500,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serde's derived `Serialize` (and the OpenAPI document, from the same
    /// `rename_all`) and [`WireName`]'s names agree, and every name reads back.
    fn names_agree<
        T: crate::WireName + Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
    >() {
        assert_eq!(T::ALL.len(), T::NAMES.len());
        for value in T::ALL {
            let json = serde_json::to_string(value).expect("serialisable");
            assert_eq!(json, format!("\"{}\"", value.name()));
            assert_eq!(serde_json::from_str::<T>(&json).expect("readable"), *value);
        }
        let unknown = serde_json::from_str::<T>("\"nope\"").expect_err("unknown name");
        assert!(unknown.to_string().contains("nope"), "{unknown}");
        assert!(serde_json::from_str::<T>("1").is_err());
    }

    #[test]
    fn each_enum_is_read_and_written_by_its_wire_names() {
        names_agree::<CallState>();
        names_agree::<FailureReason>();
        names_agree::<ErrorCode>();
    }

    #[test]
    fn status_serialises_final_under_its_wire_name() {
        let status = CallStatus {
            state: CallState::Failed,
            is_final: true,
            reason: Some(FailureReason::NoAnswer),
            message: "No answer".to_owned(),
            eta_seconds: None,
            at: None,
        };
        let json = serde_json::to_string(&status).expect("serialisable");
        assert_eq!(
            json,
            r#"{"state":"failed","final":true,"reason":"no_answer","message":"No answer"}"#
        );
    }

    #[test]
    fn unknown_fields_are_ignored_and_missing_ones_default() {
        let body =
            r#"{"phone":"+7 999 123-45-67","surprise":1,"context":{"utm":{"source":"ya"},"x":2}}"#;
        let request: CallbackRequest = serde_json::from_str(body).expect("lenient");
        assert_eq!(request.phone, "+7 999 123-45-67");
        assert_eq!(request.context.utm.source.as_deref(), Some("ya"));
        assert_eq!(request.office, None);
    }

    #[test]
    fn text_keys_are_unique_snake_case_names() {
        for (i, name) in TEXT_KEYS.iter().enumerate() {
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{name}"
            );
            assert!(!TEXT_KEYS[..i].contains(name), "{name} twice");
        }
        assert_eq!(TextKey::Title.name(), "title");
        assert_eq!(TextKey::EtaSoon.name(), "eta_soon");
    }

    #[test]
    fn a_site_config_without_consent_leaves_it_out() {
        let json = serde_json::to_value(SiteConfig::default()).expect("serialisable");
        assert!(json.get("consent").is_none(), "{json}");
        assert_eq!(json["texts"], serde_json::json!({"ru": {}, "en": {}}));
    }

    #[test]
    fn error_codes_map_to_their_statuses() {
        assert_eq!(ErrorCode::InvalidInput.http_status(), 422);
        assert_eq!(ErrorCode::RateLimited.http_status(), 429);
        let json = serde_json::to_string(&ErrorCode::OriginNotAllowed).expect("serialisable");
        assert_eq!(json, r#""origin_not_allowed""#);
    }
}
