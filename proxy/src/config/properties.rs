//! Property tests of the config parser (issue 11: every parser of outside
//! input): arbitrary text never panics [`Config::parse`], and an arbitrary
//! value for any known key is either taken or refused with an error that
//! names that key (or the one key its value bounds, listed in [`bound_by`]).
//!
//! Cases run: 2,000 of arbitrary text, 2,000 of TOML-ish lines of known keys,
//! 5,000 of one known key with an arbitrary value (README "Abuse").

use proptest::prelude::*;

use super::*;

const KEY: &str = "0123456789abcdef0123456789abcdef";

/// Where a key lives: `None` at the top, else the table's header.
type Table = Option<&'static str>;

/// Every key of the file with the table it is in, and a valid value.
const KNOWN: &[(Table, &str, &str)] = &[
    (None, "listen", "\"127.0.0.1:8080\""),
    (None, "admin_listen", "\"127.0.0.1:9090\""),
    (None, "database", "\"leads.db\""),
    (None, "assets", "\"dist\""),
    (None, "status_poll_interval_ms", "1000"),
    (None, "retention_days", "90"),
    (None, "upstream_deadline_hours", "24"),
    (None, "trusted_proxies", "[\"10.0.0.1\"]"),
    (None, "client_ip_header", "\"X-Forwarded-For\""),
    (None, "reads_per_minute", "60"),
    (None, "status_polls_per_minute", "600"),
    (None, "max_open_streams", "1000"),
    (None, "max_streams_per_ip", "10"),
    (None, "max_stream_seconds", "600"),
    (None, "status_ttl_hours", "24"),
    (None, "upstream_check_interval_seconds", "300"),
    (None, "allow_readable_key_file", "false"),
    (Some("console"), "enabled", "true"),
    (Some("console"), "require_login", "false"),
    (Some("console"), "url", "\"https://admin.example.com/\""),
    (
        Some("console"),
        "accounts",
        "[{ name = \"anna\", password_hash = \"$argon2id$v=19$m=19456,t=2,p=1$rEjdyr/e9IcvK6goJpBzXA$kcMgx6319AgofVkH1/G8jcV3gswcx3mkVCQqj4yL1qY\", sites = [\"shop\"] }]",
    ),
    (Some("server"), "header_read_timeout_seconds", "10"),
    (Some("server"), "request_timeout_seconds", "30"),
    (Some("server"), "max_connections", "10000"),
    (Some("server"), "max_connections_per_ip", "256"),
    (Some("server"), "max_requests_in_flight", "1024"),
    (
        Some("sites.shop"),
        "allowed_origins",
        "[\"https://shop.example\"]",
    ),
    (
        Some("sites.shop"),
        "upstream",
        "\"https://api.callkeeper.ru\"",
    ),
    (Some("sites.shop"), "upstream_timeout_seconds", "30"),
    (Some("sites.shop"), "unique", "\"shop\""),
    (Some("sites.shop"), "api_key_env", "\"SHOP_KEY\""),
    (
        Some("sites.shop"),
        "whash",
        "\"96d6ec6937c878c2ca1f889b9b9e865a\"",
    ),
    (Some("sites.shop"), "display_name", "\"Shop\""),
    (Some("sites.shop"), "locale", "\"ru\""),
    (Some("sites.shop"), "title", "\"Call me\""),
    (Some("sites.shop"), "color", "\"#0b57d0\""),
    (Some("sites.shop"), "position", "\"right\""),
    (Some("sites.shop"), "country_code", "\"7\""),
    (Some("sites.shop"), "offices", "[\"Moscow\"]"),
    (Some("sites.shop"), "utc", "\"Europe/Moscow\""),
    (Some("sites.shop"), "opening_hours", "\"09001800\""),
    (
        Some("sites.shop"),
        "text_to_manager",
        "\"A call from {site}\"",
    ),
    (Some("sites.shop"), "info_to_manager", "\"Page {page}\""),
    (Some("sites.shop"), "notification", "\"ops@shop.example\""),
    (Some("sites.shop"), "tool_name", "\"widget\""),
    (Some("sites.shop"), "interval", "\"5\""),
    (Some("sites.shop"), "balance_warn_minutes", "60"),
    (Some("sites.shop.limits"), "number_cooldown_minutes", "5"),
    (Some("sites.shop.limits"), "number_per_day", "3"),
    (Some("sites.shop.limits"), "site_per_hour", "60"),
    (Some("sites.shop.limits"), "site_per_day", "500"),
    (Some("sites.shop.limits"), "ip_burst", "5"),
    (Some("sites.shop.limits"), "ip_per_minute", "10"),
    (Some("sites.shop.limits"), "ip_per_day", "10"),
    (Some("sites.shop.limits"), "network_per_day", "30"),
    (Some("sites.shop.limits"), "suspect_share_percent", "20"),
    (Some("sites.shop.phone"), "allowed_countries", "[\"RU\"]"),
    (Some("sites.shop.phone"), "allowed_kinds", "[\"mobile\"]"),
    (
        Some("sites.shop.phone"),
        "blocked_numbers",
        "[\"+7 999 123-45-67\"]",
    ),
    (Some("sites.shop.phone"), "blocked_prefixes", "[\"7809\"]"),
    (Some("sites.shop.bot_checks"), "min_fill_ms", "1500"),
    (
        Some("sites.shop.bot_checks"),
        "require_widget_header",
        "false",
    ),
    (Some("sites.shop.challenge"), "mode", "\"auto\""),
    (Some("sites.shop.challenge"), "bits", "18"),
    (Some("sites.shop.challenge"), "auto_after_refusals", "30"),
    (Some("sites.shop.challenge"), "auto_for_minutes", "30"),
    (Some("sites.shop.consent"), "version", "\"2024-01\""),
    (
        Some("sites.shop.consent"),
        "link",
        "\"https://shop.example/privacy\"",
    ),
    (Some("sites.shop.consent"), "required", "true"),
    (Some("sites.shop.texts"), "ru", "{ title = \"Звонок\" }"),
    (Some("sites.shop.invite"), "exit_seconds", "10"),
    (Some("sites.shop.invite"), "touch_exit", "false"),
    (Some("sites.shop.invite"), "scroll_percent", "50"),
    (Some("sites.shop.invite"), "time_seconds", "60"),
    (Some("sites.shop.invite"), "idle_seconds", "30"),
    (Some("sites.shop.invite"), "only", "[\"/catalog*\"]"),
    (Some("sites.shop.invite"), "never", "[\"/checkout*\"]"),
    (Some("sites.shop.invite"), "per_visit", "2"),
    (Some("sites.shop.invite"), "pause_minutes", "30"),
    (Some("sites.shop.invite"), "when_closed", "false"),
];

/// The keys a key's value is a bound of: a small `max_open_streams` makes
/// the default `max_streams_per_ip` too large, and the error rightly names
/// the key that is now out of range.
fn bound_by(key: &str) -> &'static [&'static str] {
    match key {
        "max_open_streams" => &["max_streams_per_ip"],
        "server.max_connections" => &["server.max_connections_per_ip"],
        _ => &[],
    }
}

/// `entries` as a file: the top-level keys first, then one table each.
fn render(entries: &[(Table, &str, String)]) -> String {
    let mut text = String::new();
    for (_, key, value) in entries.iter().filter(|(table, ..)| table.is_none()) {
        text.push_str(&format!("{key} = {value}\n"));
    }
    let mut tables: Vec<&str> = entries.iter().filter_map(|(table, ..)| *table).collect();
    tables.sort_unstable();
    tables.dedup();
    for table in tables {
        text.push_str(&format!("\n[{table}]\n"));
        for (_, key, value) in entries.iter().filter(|(t, ..)| *t == Some(table)) {
            text.push_str(&format!("{key} = {value}\n"));
        }
    }
    text
}

/// The smallest valid config for trying `entry` (the site's required keys,
/// and the consent's `version` when `entry` is in that table), without `entry`.
fn base_for(entry: &(Table, &str, &str)) -> Vec<(Table, &'static str, String)> {
    let mut required = vec!["allowed_origins", "unique", "api_key_env", "whash"];
    if entry.0 == Some("sites.shop.consent") {
        required.push("version");
    }
    required
        .iter()
        .filter(|key| **key != entry.1)
        .filter_map(|key| KNOWN.iter().find(|(_, k, _)| k == key))
        .map(|(table, key, value)| (*table, *key, (*value).to_owned()))
        .collect()
}

/// A TOML value of any type, valid or not for the key it lands on.
fn toml_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (0u64..100_000).prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("TOML floats are finite or inf/nan words", |f| f.is_finite())
            .prop_map(|f| format!("{f:?}")),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<String>().prop_map(|s| toml_string(&s)),
        "[a-zA-Z0-9 :/.#+@{}_-]{0,24}".prop_map(|s| format!("\"{s}\"")),
        Just("1979-05-27T07:32:00Z".to_owned()),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| format!("[{}]", items.join(", "))),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..3).prop_map(|pairs| {
                let pairs: Vec<String> = pairs.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("{{ {} }}", pairs.join(", "))
            }),
        ]
    })
}

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// The dotted key of a known entry.
fn dotted((table, key, _): &(Table, &str, &str)) -> String {
    table.map_or_else(|| (*key).to_owned(), |table| format!("{table}.{key}"))
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, |_| Some(KEY.to_owned()))
}

proptest! {
    // 2,000 cases each.
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn arbitrary_text_never_panics_the_parser(text in any::<String>()) {
        let _ = parse(&text);
    }

    #[test]
    fn toml_ish_lines_of_known_keys_never_panic_the_parser(
        lines in prop::collection::vec(
            (prop::sample::select(KNOWN), toml_value(), any::<bool>()),
            0..12,
        ),
    ) {
        let mut text = String::new();
        for (entry, value, header) in &lines {
            if *header && let Some(table) = entry.0 {
                text.push_str(&format!("[{table}]\n"));
            }
            text.push_str(&format!("{} = {value}\n", entry.1));
        }
        let _ = parse(&text);
    }
}

proptest! {
    // 5,000 cases: one known key, an arbitrary value.
    #![proptest_config(ProptestConfig::with_cases(5_000))]

    #[test]
    fn any_value_of_a_known_key_is_taken_or_refused_naming_the_key(
        entry in prop::sample::select(KNOWN),
        // Now and then the key's own valid value, so the others get to load.
        value in prop::option::weighted(0.9, toml_value()),
    ) {
        let value = value.unwrap_or_else(|| entry.2.to_owned());
        let mut entries = base_for(&entry);
        entries.push((entry.0, entry.1, value.clone()));
        let text = render(&entries);
        let key = dotted(&entry);
        match parse(&text) {
            Ok(_) => {}
            Err(ConfigError::Invalid { key: named, message }) => {
                let names_it = named == key
                    || named.starts_with(&format!("{key}."))
                    || bound_by(&key).contains(&named.as_str());
                prop_assert!(
                    names_it,
                    "{key} = {value} was refused naming {named}: {message}\n{text}"
                );
            }
            Err(other) => prop_assert!(false, "{key} = {value}: no key named: {other}\n{text}"),
        }
    }
}

#[test]
fn every_known_key_with_its_valid_value_loads() {
    for entry in KNOWN {
        let mut entries = base_for(entry);
        entries.push((entry.0, entry.1, entry.2.to_owned()));
        let text = render(&entries);
        if let Err(error) = parse(&text) {
            panic!("{} = {}: {error}\n{text}", dotted(entry), entry.2);
        }
    }
}
