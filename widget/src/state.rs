//! What the widget knows and shows: its [`State`], held in one Leptos
//! signal (the widget's store) that the components read and the
//! controller changes.

use protocol::{CallStatus, SiteConfig, TextKey};

use crate::i18n::{Locale, Texts};

/// What the widget knows and shows. It outlives a change of language, so
/// neither a typed number nor a call's status is lost when the site calls
/// `setLocale`.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// Whether the dialog is open.
    pub open: bool,
    /// When the dialog first opened (ms since the epoch; 0: never): the
    /// proxy refuses a request sent sooner after it than a person can type.
    /// The dialog is drawn from then on ([`State::drawn`]).
    pub opened_at: f64,
    /// Whether the site's config has been read (the widget shows from then on).
    pub ready: bool,
    /// Whether the launcher sits on the left.
    pub left: bool,
    /// The language the page chose (`data-locale`, `setLocale`).
    pub chosen_locale: Option<String>,
    /// The texts in use, in their language.
    pub texts: Texts,
    /// The site's config (`open_now` is true until it says otherwise).
    pub site: SiteConfig,
    /// The accent colour and the side the page chose, which win over the site's.
    pub embed_color: Option<String>,
    /// See `embed_color`.
    pub embed_position: Option<String>,
    /// The number as typed.
    pub phone: String,
    /// Whether the consent box is ticked.
    pub consent_ticked: bool,
    /// The coming slots' starts (Unix seconds).
    pub slots: Vec<i64>,
    /// When the slots were fetched (ms since the epoch; 0: never).
    pub slots_at: f64,
    /// The visitor chose "at a time I choose".
    pub later: bool,
    /// What is wrong with the typed number, shown under it.
    pub phone_error: Option<TextKey>,
    /// The proxy's reason for refusing the number (shown instead of
    /// `phone_error`'s text until the number is changed).
    pub phone_refusal: Option<String>,
    /// What is wrong with the chosen time, shown under the list.
    pub slot_error: Option<TextKey>,
    /// The consent box must be ticked.
    pub consent_error: bool,
    /// The message under the submit button: sending, offline, too many requests.
    pub message: Option<TextKey>,
    /// Minutes to wait, for [`TextKey::RateLimited`].
    pub wait_minutes: u32,
    /// Whether a request is on its way.
    pub sending: bool,
    /// Whether the call on its way or followed is for a chosen time (its
    /// estimate, made for a call now, is then not shown).
    pub for_later: bool,
    /// The callback's latest status, once the proxy accepted it.
    pub status: Option<CallStatus>,
    /// When the estimate runs out (ms since the epoch; 0: no estimate).
    pub eta_until: f64,
    /// What invited, while the teaser shows (`exit_intent`, `scroll`,
    /// `time`, `idle`, `api`); empty: it does not.
    pub invite: &'static str,
}

impl State {
    /// The state before the site's config is known: open for calls.
    pub fn initial() -> Self {
        let mut state = Self::default();
        state.site.open_now = true;
        state
    }

    /// Whether the dialog has been drawn: it is drawn when it first opens
    /// and stays, so mounting draws the launcher only and loading never
    /// runs one long task on the page's thread.
    pub fn drawn(&self) -> bool {
        self.opened_at > 0.0
    }

    /// Whether the form offers a time: chosen, or the company is closed.
    pub fn wants_later(&self) -> bool {
        self.later || !self.site.open_now
    }

    /// Chooses the language again and rebuilds the texts.
    pub(crate) fn localize(&mut self) {
        let site = &self.site;
        let locale = Locale::choose(self.chosen_locale.as_deref(), non_empty(&site.locale));
        let texts = match locale {
            Locale::Ru => &site.texts.ru,
            Locale::En => &site.texts.en,
        };
        self.texts = Texts::new(locale, Some(texts), non_empty(&site.title));
    }
}

/// A config's setting: an empty string is none.
pub(crate) fn non_empty(text: &str) -> Option<&str> {
    Some(text).filter(|t| !t.is_empty())
}
