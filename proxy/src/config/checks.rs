//! The checks a site's values go through beyond their types: origins, the
//! key and widget, consent, texts, IVR templates, e-mail, contrast. Each
//! error names the dotted key and says what to write instead.

use std::collections::BTreeMap;

use callkeeper::{ApiKey, Credentials, WidgetRef};
use url::Url;

use super::error::{ConfigError, invalid};
use super::raw::{RawConsent, RawSite};

/// A site id is used in URLs and metrics: letters, digits, `-` and `_`.
pub(super) fn check_site_id(id: &str) -> Result<(), ConfigError> {
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(invalid(
            format!("sites.{id}"),
            "a site id may contain only letters, digits, - and _",
        ));
    }
    Ok(())
}

/// At least one origin, each an origin only (`https://example.com`).
pub(super) fn check_origins(
    origins: &[String],
    key: &impl Fn(&str) -> String,
) -> Result<(), ConfigError> {
    if origins.is_empty() {
        return Err(invalid(
            key("allowed_origins"),
            "list at least one origin, like [\"https://example.com\"]",
        ));
    }
    for origin in origins {
        let parsed = Url::parse(origin).map_err(|_| {
            invalid(
                key("allowed_origins"),
                format!("{origin:?} is not an origin like https://example.com"),
            )
        })?;
        if parsed.origin().ascii_serialization() != *origin {
            return Err(invalid(
                key("allowed_origins"),
                format!(
                    "{origin:?} must be an origin only: scheme, host and port, no path or trailing slash"
                ),
            ));
        }
    }
    Ok(())
}

/// The CallKeeper account: the company, the Profile key (from the
/// environment or a file, never the config) and the widget.
pub(super) fn credentials(
    raw: &RawSite,
    key: &impl Fn(&str) -> String,
    allow_readable_key_file: bool,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Credentials, ConfigError> {
    let (secret, secret_key) = match (&raw.api_key_env, &raw.api_key_file) {
            (Some(var), None) => (env(var).ok_or_else(|| {
                invalid(key("api_key_env"), format!("the environment variable {var} is not set; export the CallKeeper Profile key in it"))
            })?, "api_key_env"),
            (None, Some(file)) => {
                if !allow_readable_key_file {
                    check_key_file_private(file).map_err(|message| invalid(key("api_key_file"), message))?;
                }
                (std::fs::read_to_string(file)
                .map_err(|e| invalid(key("api_key_file"), format!("cannot read {}: {e}", file.display())))?, "api_key_file")
            }
            _ => {
                return Err(invalid(
                    key("api_key_env"),
                    "set exactly one of api_key_env or api_key_file (the key itself never goes in the config)",
                ));
            }
        };
    let api_key = ApiKey::parse(secret.trim()).map_err(|e| {
        invalid(
            key(secret_key),
            format!("the CallKeeper Profile key is not valid: {e}"),
        )
    })?;
    let widget = match (&raw.whash, &raw.walias) {
        (Some(hash), None) => {
            WidgetRef::hash(hash).map_err(|e| invalid(key("whash"), e.to_string()))?
        }
        (None, Some(alias)) => {
            WidgetRef::alias(alias).map_err(|e| invalid(key("walias"), e.to_string()))?
        }
        _ => return Err(invalid(key("whash"), "set exactly one of whash or walias")),
    };
    if raw.unique.is_empty() {
        return Err(invalid(
            key("unique"),
            "the CallKeeper company name (unique) is empty",
        ));
    }
    Ok(Credentials {
        unique: raw.unique.clone(),
        key: api_key,
        widget,
    })
}

/// The key file must be readable by its owner only: a key others can read
/// is a key others can spend. `allow_readable_key_file = true` (or
/// `PROXY_ALLOW_READABLE_KEY_FILE=true`) skips this, e.g. for a file a
/// secrets manager mounts with its own access control.
pub(super) fn check_key_file_private(file: &std::path::Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "{} can be read by others (mode {:o}): run chmod 600 on it, or set \
                 allow_readable_key_file = true if its access is controlled otherwise",
                file.display(),
                mode & 0o777
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// The longest consent version (the proxy refuses longer ones in requests).
const MAX_CONSENT_VERSION: usize = 64;
/// The longest text a site may give the widget.
const MAX_TEXT_CHARS: usize = 500;

pub(super) fn check_consent(
    raw: RawConsent,
    key: &impl Fn(&str) -> String,
) -> Result<protocol::ConsentConfig, ConfigError> {
    if raw.version.trim().is_empty() || raw.version.len() > MAX_CONSENT_VERSION {
        return Err(invalid(
            key("version"),
            "name the version of your consent text in 1 to 64 characters, like \"2024-05\"; \
             each lead records which version the visitor accepted",
        ));
    }
    if let Some(link) = &raw.link {
        let scheme = Url::parse(link).map(|url| url.scheme().to_owned());
        if !matches!(scheme.as_deref(), Ok("https" | "http")) {
            return Err(invalid(
                key("link"),
                format!("{link:?} is not a web address like https://example.com/privacy"),
            ));
        }
    }
    Ok(protocol::ConsentConfig {
        version: raw.version,
        link: raw.link,
        required: raw.required,
    })
}

/// A site's texts: known keys, each with some text that is not too long.
pub(super) fn check_texts(
    texts: &BTreeMap<String, String>,
    key: &impl Fn(&str) -> String,
) -> Result<(), ConfigError> {
    for (name, text) in texts {
        if !protocol::TEXT_KEYS.contains(&name.as_str()) {
            return Err(invalid(
                key(name),
                format!(
                    "unknown text (misspelt?); the widget's texts are: {}",
                    protocol::TEXT_KEYS.join(", ")
                ),
            ));
        }
        if text.trim().is_empty() || text.chars().count() > MAX_TEXT_CHARS {
            return Err(invalid(
                key(name),
                "write 1 to 500 characters, or remove the key to keep the widget's own text",
            ));
        }
    }
    Ok(())
}

/// Checks `[sites.NAME.invite]` and writes it as the site's config sends it
/// to the widget ([`protocol::SiteConfig::invite`]: each key set, its value
/// as the page's `data-invite-*` attribute would write it).
pub(super) fn check_invite(
    raw: &super::raw::RawInvite,
    key: &impl Fn(&str) -> String,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut wire = BTreeMap::new();
    let numbers = [
        ("exit_seconds", raw.exit_seconds, 0, 3600),
        ("scroll_percent", raw.scroll_percent, 1, 100),
        ("time_seconds", raw.time_seconds, 1, 3600),
        ("idle_seconds", raw.idle_seconds, 1, 3600),
        ("per_visit", raw.per_visit, 1, 100),
        ("pause_minutes", raw.pause_minutes, 0, 1440),
    ];
    for (name, value, least, most) in numbers {
        let Some(value) = value else { continue };
        if !(least..=most).contains(&value) {
            return Err(invalid(key(name), format!("use {least} to {most}")));
        }
        wire.insert(name.to_owned(), value.to_string());
    }
    if raw.touch_exit == Some(true) && raw.exit_seconds.is_none() {
        return Err(invalid(
            key("touch_exit"),
            "set exit_seconds too: the seconds on the page before a scroll back up counts",
        ));
    }
    for (name, value) in [
        ("touch_exit", raw.touch_exit),
        ("when_closed", raw.when_closed),
    ] {
        if let Some(value) = value {
            wire.insert(name.to_owned(), value.to_string());
        }
    }
    for (name, patterns) in [("only", &raw.only), ("never", &raw.never)] {
        let Some(patterns) = patterns else { continue };
        for pattern in patterns {
            let body = pattern.strip_suffix('*').unwrap_or(pattern);
            if !body.starts_with('/')
                || body.len() > 200
                || body.contains(['*', ',', '?', '#'])
                || body.contains(char::is_whitespace)
            {
                return Err(invalid(
                    key(name),
                    format!(
                        "{pattern:?} is not a path pattern: write a path such as \"/checkout\" (that page) or \"/checkout*\" (every path that starts so), without a query"
                    ),
                ));
            }
        }
        wire.insert(name.to_owned(), patterns.join(","));
    }
    Ok(wire)
}

/// WCAG's relative luminance of a `#rrggbb` colour.
fn relative_luminance(colour: &str) -> f64 {
    let channel = |at: usize| {
        let value = f64::from(u8::from_str_radix(&colour[at..at + 2], 16).unwrap_or(0)) / 255.0;
        if value <= 0.040_45 {
            value / 12.92
        } else {
            ((value + 0.055) / 1.055).powf(2.4)
        }
    };
    0.0722f64.mul_add(
        channel(5),
        0.2126f64.mul_add(channel(1), 0.7152 * channel(3)),
    )
}

/// WCAG's contrast ratio of two `#rrggbb` colours (1 to 21).
pub fn contrast_ratio(a: &str, b: &str) -> f64 {
    let (a, b) = (relative_luminance(a), relative_luminance(b));
    (a.max(b) + 0.05) / (a.min(b) + 0.05)
}

/// The contrast WCAG 2.1 AA asks of text (1.4.3).
pub const MIN_CONTRAST: f64 = 4.5;

/// The placeholders an IVR template may use.
const PLACEHOLDERS: [&str; 3] = ["site", "page", "office"];

/// Checks that a template's only `{…}` are the known placeholders.
pub(super) fn check_template(template: &str) -> Result<(), String> {
    if template.trim().is_empty() {
        return Err("the text is empty; remove the key or write what to say".to_owned());
    }
    let mut rest = template;
    while let Some(start) = rest.find(['{', '}']) {
        let after = &rest[start..];
        if after.starts_with('}') {
            return Err("a '}' without its '{'".to_owned());
        }
        let end = after
            .find('}')
            .ok_or_else(|| "a '{' is not closed; placeholders look like {site}".to_owned())?;
        let name = &after[1..end];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "unknown placeholder {{{name}}}; use {{site}}, {{page}} or {{office}}"
            ));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

pub(super) fn looks_like_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && value.len() <= 254
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
}
