//! One site that embeds the widget, as the proxy uses it: every value
//! checked and typed ([`Site::from_raw`]), and its limits.

use std::fmt;
use std::time::Duration;

use callkeeper::{Credentials, Interval, OpeningHours, Utc};
use protocol::{HexColour, Locale, Position};
use url::Url;

use super::checks::{
    check_consent, check_invite, check_origins, check_site_id, check_template, check_texts,
    credentials, looks_like_email,
};
use super::error::{ConfigError, invalid};
use super::raw::{RawLimits, RawSite};
use crate::phone_policy::PhonePolicy;

/// The longest `{page}` read to staff.
pub const MAX_IVR_PAGE_CHARS: usize = 64;

/// `%D0%BA` as the text it encodes; a stray `%` stays as it is.
fn percent_decoded(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One site that embeds the widget.
#[derive(Debug, Clone)]
pub struct Site {
    /// The id in the widget's `data-site` and the API's URLs.
    pub id: String,
    /// Origins whose pages may order callbacks, e.g. `https://example.com`.
    pub allowed_origins: Vec<String>,
    /// CallKeeper's base URL: the sandbox, or `https://api.callkeeper.ru`.
    pub upstream: Url,
    /// How long one request to CallKeeper may take
    /// (`upstream_timeout_seconds`, 30 by default). The forwarder's send
    /// lease and the wait before a send cut off by a crash is looked up
    /// follow from it.
    pub upstream_timeout: Duration,
    /// The CallKeeper account and widget.
    pub credentials: Credentials,
    /// `site` sent to CallKeeper (shown with the call).
    pub display_name: String,
    /// The language of the proxy's status messages (Russian unless
    /// `locale` is set).
    pub locale: Locale,
    /// The widget's language when the site fixes it (`locale`); `None` lets
    /// the widget follow the page's `lang`, then the browser.
    pub widget_locale: Option<Locale>,
    /// The form's title; empty means the widget's default.
    pub title: String,
    /// The accent colour.
    pub color: HexColour,
    /// The launcher's side.
    pub position: Position,
    /// Default country code pre-filled in the phone field.
    pub country_code: String,
    /// Which numbers the site calls back (`[sites.NAME.phone]`), read in
    /// the country of `country_code`.
    pub phone: PhonePolicy,
    /// Offices the visitor may choose (index = CallKeeper's `manager` office index).
    pub offices: Vec<String>,
    /// The company's time zone (`utc`); absent: CallKeeper's widget setting.
    pub utc: Option<Utc>,
    /// When the company takes calls (`opening_hours`); absent: the widget's setting.
    pub opening_hours: Option<OpeningHours>,
    /// Spoken to the manager when the call starts; a template for [`Site::ivr_text`].
    pub text_to_manager: Option<String>,
    /// Spoken when the manager presses the info key; a template for [`Site::ivr_text`].
    pub info_to_manager: Option<String>,
    /// E-mail CallKeeper sends status notifications to.
    pub notification: Option<String>,
    /// `tool_name` sent to CallKeeper: which form the call came from.
    pub tool_name: Option<String>,
    /// Minutes between CallKeeper's retries of a failed call.
    pub interval: Option<Interval>,
    /// How many callbacks this site takes, per number, address and time.
    pub limits: Limits,
    /// What tells the widget from a script (`[sites.NAME.bot_checks]`).
    pub bot_checks: BotChecks,
    /// When orders need a proof of work (`[sites.NAME.challenge]`).
    pub challenge: ChallengeSettings,
    /// The consent checkbox of the form (`[sites.NAME.consent]`).
    pub consent: Option<protocol::ConsentConfig>,
    /// The site's wording of the widget's texts (`[sites.NAME.texts]`).
    pub texts: protocol::SiteTexts,
    /// A warning (log and `/readyz`) when the account has fewer minutes
    /// than this left; 0 never warns.
    pub balance_warn_minutes: u32,
    /// The proactive invitations (`[sites.NAME.invite]`), checked and as the
    /// widget reads them ([`protocol::SiteConfig::invite`]).
    pub invite: protocol::Strings,
}

/// What tells a visitor using the widget from a script (`[sites.NAME.bot_checks]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BotChecks {
    /// A request sent sooner than this after the dialog opened is refused
    /// (`min_fill_ms`, 1500); typing a phone number takes longer.
    pub min_fill: Duration,
    /// Whether a request must carry the widget's header and the dialog's
    /// elapsed time (`require_widget_header`, on: the widget sends both; off
    /// for a site whose other clients post orders through the API).
    pub require_widget_header: bool,
}

impl Default for BotChecks {
    fn default() -> Self {
        Self {
            min_fill: Duration::from_millis(1500),
            require_widget_header: true,
        }
    }
}

/// When a site's orders need a proof of work (`[sites.NAME.challenge]`;
/// see [`crate::challenge`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChallengeSettings {
    /// `off`, `auto` (the default) or `always`.
    pub mode: ChallengeMode,
    /// Zero bits the work's hash must start with (`bits`, 18: about 260,000
    /// hashes, a fraction of a second in the widget; 8 to 24).
    pub bits: u8,
    /// In `auto` mode: this many refused requests within ten minutes
    /// (`auto_after_refusals`, 30) switch the challenge on ...
    pub auto_after_refusals: u32,
    /// ... for this long (`auto_for_minutes`, 30).
    pub auto_for: Duration,
}

/// When the proof of work is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChallengeMode {
    /// Never.
    Off,
    /// While the site's refusals are high.
    Auto,
    /// For every order.
    Always,
}

impl Default for ChallengeSettings {
    fn default() -> Self {
        Self {
            mode: ChallengeMode::Auto,
            bits: 18,
            auto_after_refusals: 30,
            auto_for: std::time::Duration::from_secs(30 * 60),
        }
    }
}

impl ChallengeSettings {
    pub(super) fn from_raw(
        raw: &super::raw::RawChallenge,
        key: &impl Fn(&str) -> String,
    ) -> Result<Self, ConfigError> {
        if !(8..=24).contains(&raw.bits) {
            return Err(invalid(
                key("bits"),
                "use 8 to 24 (each bit doubles the visitor's wait)",
            ));
        }
        if raw.auto_after_refusals == 0 || raw.auto_after_refusals > MAX_LIMIT_COUNT {
            return Err(invalid(
                key("auto_after_refusals"),
                format!("use 1 to {MAX_LIMIT_COUNT}"),
            ));
        }
        if raw.auto_for_minutes == 0 || raw.auto_for_minutes > 24 * 60 {
            return Err(invalid(key("auto_for_minutes"), "use 1 to 1440 (a day)"));
        }
        Ok(Self {
            mode: raw.mode,
            bits: raw.bits,
            auto_after_refusals: raw.auto_after_refusals,
            auto_for: Duration::from_secs(raw.auto_for_minutes * 60),
        })
    }
}

/// How many callbacks a site takes (`[sites.NAME.limits]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// One order per phone number per this long (`number_cooldown_minutes`, 5).
    pub number_cooldown: Duration,
    /// Orders per phone number per day (3).
    pub number_per_day: u32,
    /// Orders per site per hour (60).
    pub site_per_hour: u32,
    /// Orders per site per day (500).
    pub site_per_day: u32,
    /// Requests one client address may make at once before the per-minute rate applies (5).
    pub ip_burst: u32,
    /// Requests per minute from one client address, after the burst (10).
    pub ip_per_minute: u32,
    /// Orders stored per day from one address (an IPv6 /64 is one address), counted from the store (10).
    pub ip_per_day: u32,
    /// Orders stored per day from one IPv6 /48, counted from the store (30).
    pub network_per_day: u32,
    /// The share of `site_per_hour`, in percent, that addresses already
    /// refused (by a limit, the phone policy or a bot check) may fill (20).
    pub suspect_share_percent: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            number_cooldown: Duration::from_secs(5 * 60),
            number_per_day: 3,
            site_per_hour: 60,
            site_per_day: 500,
            ip_burst: 5,
            ip_per_minute: 10,
            ip_per_day: 10,
            network_per_day: 30,
            suspect_share_percent: 20,
        }
    }
}

impl Site {
    /// Checks one `[sites.NAME]` table; every error names its key.
    pub(super) fn from_raw(
        id: &str,
        raw: RawSite,
        allow_readable_key_file: bool,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let key = |name: &str| format!("sites.{id}.{name}");
        check_site_id(id)?;
        check_origins(&raw.allowed_origins, &key)?;
        let upstream = Url::parse(&raw.upstream)
            .map_err(|_| invalid(key("upstream"), format!("{:?} is not a URL", raw.upstream)))?;
        // The key goes to this address with every call.
        callkeeper::check_base_url(&upstream)
            .map_err(|e| invalid(key("upstream"), format!("{}: {e}", raw.upstream)))?;
        let upstream_timeout = super::bounded(
            &key("upstream_timeout_seconds"),
            raw.upstream_timeout_seconds,
            1,
            120,
        )?;
        let credentials = credentials(&raw, &key, allow_readable_key_file, env)?;
        let widget_locale = raw
            .locale
            .as_deref()
            .map(str::parse::<Locale>)
            .transpose()
            .map_err(|_| {
                invalid(
                    key("locale"),
                    "use \"ru\" or \"en\" (or leave it out: the widget then follows the page's language)",
                )
            })?;
        let color = HexColour::parse(&raw.color)
            .map_err(|_| invalid(key("color"), "use a colour like \"#0b6bcb\""))?;
        let position = raw
            .position
            .parse::<Position>()
            .map_err(|_| invalid(key("position"), "use \"right\" or \"left\""))?;
        let utc = raw
            .utc
            .as_deref()
            .map(Utc::parse)
            .transpose()
            .map_err(|e| invalid(key("utc"), e.to_string()))?;
        let opening_hours = raw
            .opening_hours
            .as_deref()
            .map(OpeningHours::parse)
            .transpose()
            .map_err(|e| invalid(key("opening_hours"), e.to_string()))?;
        if opening_hours.is_some_and(|hours| hours.is_always_closed()) {
            return Err(invalid(
                key("opening_hours"),
                "every day is closed, so CallKeeper would cancel every call; remove the key or open some hours",
            ));
        }
        let interval = raw
            .interval
            .as_deref()
            .map(Interval::parse)
            .transpose()
            .map_err(|e| invalid(key("interval"), e.to_string()))?;
        for (name, template) in [
            ("text_to_manager", &raw.text_to_manager),
            ("info_to_manager", &raw.info_to_manager),
        ] {
            if let Some(template) = template {
                check_template(template).map_err(|message| invalid(key(name), message))?;
            }
        }
        if let Some(email) = &raw.notification
            && !looks_like_email(email)
        {
            return Err(invalid(
                key("notification"),
                format!("{email:?} is not an e-mail address like calls@example.com"),
            ));
        }
        if raw
            .tool_name
            .as_ref()
            .is_some_and(|name| name.trim().is_empty() || name.chars().count() > 100)
        {
            return Err(invalid(key("tool_name"), "use 1 to 100 characters"));
        }
        let phone = raw
            .phone
            .build(&raw.country_code)
            .map_err(|e| invalid(key(e.key()), e.to_string()))?;
        let limits = Limits::from_raw(&raw.limits, &|name| key(&format!("limits.{name}")))?;
        let challenge =
            ChallengeSettings::from_raw(&raw.challenge, &|name| key(&format!("challenge.{name}")))?;
        let consent = raw
            .consent
            .map(|consent| check_consent(consent, &|name| key(&format!("consent.{name}"))))
            .transpose()?;
        for (language, texts) in [("ru", &raw.texts.ru), ("en", &raw.texts.en)] {
            check_texts(texts, &|name| key(&format!("texts.{language}.{name}")))?;
        }
        let invite = check_invite(&raw.invite, &|name| key(&format!("invite.{name}")))?;
        Ok(Self {
            id: id.to_owned(),
            allowed_origins: raw.allowed_origins,
            upstream,
            upstream_timeout: Duration::from_secs(upstream_timeout),
            credentials,
            display_name: raw.display_name.unwrap_or_else(|| id.to_owned()),
            locale: widget_locale.unwrap_or_default(),
            widget_locale,
            title: raw.title,
            color,
            position,
            country_code: raw.country_code,
            phone,
            offices: raw.offices,
            utc,
            opening_hours,
            text_to_manager: raw.text_to_manager,
            info_to_manager: raw.info_to_manager,
            notification: raw.notification,
            tool_name: raw.tool_name,
            interval,
            limits,
            bot_checks: BotChecks {
                min_fill: Duration::from_millis(raw.bot_checks.min_fill_ms),
                require_widget_header: raw.bot_checks.require_widget_header,
            },
            challenge,
            balance_warn_minutes: raw.balance_warn_minutes,
            invite: invite.into(),
            consent,
            texts: protocol::SiteTexts {
                ru: raw.texts.ru.into(),
                en: raw.texts.en.into(),
            },
        })
    }

    /// What of a visitor's `current_page` staff may hear (issue 11): the
    /// CallKeeper IVR reads `{page}` aloud, and the visitor writes it, so
    /// only the path of a URL whose origin this site allows, decoded, in
    /// letters, digits and `/-_.`, cut to [`MAX_IVR_PAGE_CHARS`]; `None`
    /// for anything else.
    pub fn page_for_ivr(&self, page: &str) -> Option<String> {
        let url = Url::parse(page).ok()?;
        if !self.allows_origin(&url.origin().ascii_serialization()) {
            return None;
        }
        let path: String = percent_decoded(url.path())
            .chars()
            .filter(|c| c.is_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'))
            .take(MAX_IVR_PAGE_CHARS)
            .collect();
        Some(path)
    }

    /// Whether a page of `origin` may use this site's widget.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|allowed| allowed == origin)
    }

    /// Fills an IVR template ([`Site::text_to_manager`], [`Site::info_to_manager`]):
    /// `{site}` becomes the display name, `{page}` the path of the page the
    /// visitor ordered from ([`Site::page_for_ivr`]) and `{office}` the office
    /// they chose (a name from this config); an absent value becomes nothing.
    pub fn ivr_text(&self, template: &str, page: Option<&str>, office: Option<&str>) -> String {
        let page = page.and_then(|page| self.page_for_ivr(page));
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let after = &rest[start..];
            let Some(end) = after.find('}') else {
                break;
            };
            match &after[1..end] {
                "site" => out.push_str(&self.display_name),
                "page" => out.push_str(page.as_deref().unwrap_or_default()),
                "office" => out.push_str(office.unwrap_or_default()),
                // Validation refuses other names; keep the text if one slips in.
                _ => out.push_str(&after[..=end]),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// The longest `number_cooldown_minutes`: a week.
const MAX_COOLDOWN_MINUTES: u64 = 7 * 24 * 60;
/// The largest count a limit may allow.
const MAX_LIMIT_COUNT: u32 = 1_000_000;

impl Limits {
    pub(super) fn from_raw(
        raw: &RawLimits,
        key: &impl Fn(&str) -> String,
    ) -> Result<Self, ConfigError> {
        // A week is longer than any sensible pause, and far from overflowing.
        if raw.number_cooldown_minutes > MAX_COOLDOWN_MINUTES {
            return Err(invalid(
                key("number_cooldown_minutes"),
                format!("use 0 to {MAX_COOLDOWN_MINUTES} (a week)"),
            ));
        }
        for (name, value) in [
            ("number_per_day", raw.number_per_day),
            ("site_per_hour", raw.site_per_hour),
            ("site_per_day", raw.site_per_day),
            ("ip_burst", raw.ip_burst),
            ("ip_per_minute", raw.ip_per_minute),
            ("ip_per_day", raw.ip_per_day),
            ("network_per_day", raw.network_per_day),
            ("suspect_share_percent", raw.suspect_share_percent),
        ] {
            if value == 0 {
                return Err(invalid(
                    key(name),
                    "must be at least 1 (0 would refuse every callback)",
                ));
            }
            if value > MAX_LIMIT_COUNT {
                return Err(invalid(key(name), format!("use 1 to {MAX_LIMIT_COUNT}")));
            }
        }
        Ok(Self {
            number_cooldown: Duration::from_secs(raw.number_cooldown_minutes * 60),
            number_per_day: raw.number_per_day,
            site_per_hour: raw.site_per_hour,
            site_per_day: raw.site_per_day,
            ip_burst: raw.ip_burst,
            ip_per_minute: raw.ip_per_minute,
            ip_per_day: raw.ip_per_day,
            network_per_day: raw.network_per_day,
            suspect_share_percent: raw.suspect_share_percent.min(100),
        })
    }
}

impl fmt::Display for Limits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "per number 1 per {} min and {}/day; per site {}/hour and {}/day; per address {} at once, {}/min, {}/day ({}/day per IPv6 /48); refused addresses {}% of the hourly ceiling",
            self.number_cooldown.as_secs() / 60,
            self.number_per_day,
            self.site_per_hour,
            self.site_per_day,
            self.ip_burst,
            self.ip_per_minute,
            self.ip_per_day,
            self.network_per_day,
            self.suspect_share_percent
        )
    }
}
