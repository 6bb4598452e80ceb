//! The configuration's tests: defaults, every key read into its type,
//! errors that name the key, and the environment overrides.

use callkeeper::{Interval, Utc};
use protocol::Locale;

use super::*;

const KEY: &str = "0123456789abcdef0123456789abcdef";
const WHASH: &str = "96d6ec6937c878c2ca1f889b9b9e865a";

fn site_toml(extra: &str) -> String {
    format!(
        "[sites.shop]\nallowed_origins = [\"https://shop.example\"]\nunique = \"shop\"\napi_key_env = \"SHOP_KEY\"\nwhash = \"{WHASH}\"\n{extra}"
    )
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, |_| Some(KEY.to_owned()))
}

/// The error's key, or a panic naming what loaded instead.
fn error_key(text: &str) -> String {
    match parse(text) {
        Err(ConfigError::Invalid { key, .. }) => key,
        Err(other) => panic!("expected an error naming a key, got {other}"),
        Ok(_) => panic!("expected an error for:\n{text}"),
    }
}

#[test]
fn a_valid_config_loads_with_the_key_from_the_environment() {
    let config = parse(&site_toml("")).expect("valid");
    let site = &config.sites["shop"];
    assert!(site.allows_origin("https://shop.example"));
    assert!(!site.allows_origin("https://evil.example"));
    assert!(
        !format!("{config:?}").contains(KEY),
        "Debug must not print the key"
    );
    assert!(!config.summary().contains(KEY), "nor the summary");
}

#[test]
fn defaults_apply_to_every_optional_key() {
    let config = parse(&site_toml("")).expect("valid");
    assert_eq!(config.listen, "127.0.0.1:8080".parse().expect("address"));
    assert_eq!(config.retention, Duration::from_secs(90 * 24 * 3600));
    assert_eq!(config.upstream_deadline, Duration::from_secs(24 * 3600));
    assert!(config.trusted_proxies.is_empty());
    assert_eq!(config.client_ip_header, "X-Forwarded-For");
    assert_eq!(config.max_open_streams, 1000);
    assert_eq!(config.max_streams_per_ip, 10);
    let site = &config.sites["shop"];
    assert_eq!(site.display_name, "shop");
    assert_eq!(site.utc, None);
    assert_eq!(site.opening_hours, None);
    assert_eq!(site.interval, None);
    assert_eq!(
        site.limits,
        Limits {
            number_cooldown: Duration::from_secs(300),
            number_per_day: 3,
            site_per_hour: 60,
            site_per_day: 500,
            ip_burst: 5,
            ip_per_minute: 10,
            ip_per_day: 10,
            network_per_day: 30,
            suspect_share_percent: 20,
        }
    );
}

#[test]
fn every_new_key_is_read_into_its_type() {
    let text = format!(
        "retention_days = 61\nupstream_deadline_hours = 6\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n\
         client_ip_header = \"X-Real-IP\"\nmax_open_streams = 50\nmax_streams_per_ip = 2\n{}",
        site_toml(
            "utc = \"Europe/Moscow\"\nopening_hours = \"09001800\"\ninterval = \"5,10\"\n\
             text_to_manager = \"Call from {site}, page {page}\"\ninfo_to_manager = \"Office {office}\"\n\
             notification = \"calls@shop.example\"\ntool_name = \"header form\"\n\
             [sites.shop.limits]\nip_burst = 2\nnumber_cooldown_minutes = 0\n"
        )
    );
    let config = parse(&text).expect("valid");
    assert_eq!(config.retention, Duration::from_secs(61 * 24 * 3600));
    assert_eq!(config.upstream_deadline, Duration::from_secs(6 * 3600));
    assert_eq!(config.trusted_proxies.to_string(), "10.0.0.0/8, ::1");
    assert_eq!(config.client_ip_header, "X-Real-IP");
    let site = &config.sites["shop"];
    assert_eq!(site.utc.as_ref().and_then(Utc::offset_minutes), Some(180));
    assert_eq!(
        site.opening_hours.map(|h| h.to_string()).as_deref(),
        Some("09001800")
    );
    assert_eq!(
        site.interval.as_ref().map(Interval::minutes),
        Some(&[5, 10][..])
    );
    assert_eq!(site.notification.as_deref(), Some("calls@shop.example"));
    assert_eq!(site.tool_name.as_deref(), Some("header form"));
    assert_eq!(site.limits.ip_burst, 2);
    assert_eq!(site.limits.number_cooldown, Duration::ZERO);
    assert_eq!(
        site.limits.ip_per_minute, 10,
        "the others keep their defaults"
    );
}

#[test]
fn the_balance_warning_and_upstream_check_default_and_can_be_set() {
    let config = parse(&site_toml("")).expect("valid");
    assert_eq!(config.upstream_check_interval, Duration::from_secs(300));
    assert_eq!(config.sites["shop"].balance_warn_minutes, 60);

    let text = format!(
        "upstream_check_interval_seconds = 30\n{}",
        site_toml("balance_warn_minutes = 0")
    );
    let config = parse(&text).expect("valid");
    assert_eq!(config.upstream_check_interval, Duration::from_secs(30));
    assert_eq!(
        config.sites["shop"].balance_warn_minutes, 0,
        "0 turns the warning off"
    );

    let zero = format!("upstream_check_interval_seconds = 0\n{}", site_toml(""));
    assert_eq!(error_key(&zero), "upstream_check_interval_seconds");
    assert_eq!(
        error_key(&site_toml("balance_warn_minutes = -5")),
        "sites.shop.balance_warn_minutes"
    );
}

#[test]
fn ivr_templates_fill_their_placeholders() {
    let config = parse(&site_toml("display_name = \"Shop\"")).expect("valid");
    let site = &config.sites["shop"];
    assert_eq!(
        site.ivr_text(
            "{site}: a call from {page} for {office}.",
            Some("https://shop.example/sale"),
            Some("Moscow")
        ),
        "Shop: a call from /sale for Moscow."
    );
    // A page of another origin, or scripted text, is not read to staff.
    let call_me = site.ivr_text("{page}", Some("https://evil.example/sale"), None);
    assert_eq!(call_me, "");
    let spoken = site.ivr_text(
        "{page}",
        Some("https://shop.example/%D0%BA%D0%B8%D1%82?say=transfer+money#now"),
        None,
    );
    assert_eq!(spoken, "/кит", "the decoded path only, without the query");
    let long = format!("https://shop.example/{}", "a, b! ".repeat(100));
    assert_eq!(
        site.ivr_text("{page}", Some(&long), None).chars().count(),
        MAX_IVR_PAGE_CHARS
    );
    assert_eq!(
        site.ivr_text("From {site} {page}{office}!", None, None),
        "From Shop !"
    );
}

#[test]
fn errors_name_the_key_at_fault() {
    let missing_env = Config::parse(&site_toml(""), |_| None).expect_err("no key");
    assert!(
        missing_env.to_string().contains("sites.shop.api_key_env"),
        "{missing_env}"
    );

    let bad_origin = site_toml("").replace("https://shop.example", "https://shop.example/");
    assert_eq!(error_key(&bad_origin), "sites.shop.allowed_origins");

    let cases = [
        (site_toml("color = \"blue\""), "sites.shop.color"),
        ("listen = \"nowhere\"\n".to_owned(), "listen"),
        (format!("listen = 8080\n{}", site_toml("")), "listen"),
        (site_toml("utc = \"Moscow time\""), "sites.shop.utc"),
        (
            site_toml("opening_hours = \"9-18\""),
            "sites.shop.opening_hours",
        ),
        (
            site_toml("opening_hours = \"00000000\""),
            "sites.shop.opening_hours",
        ),
        (site_toml("interval = \"0\""), "sites.shop.interval"),
        (
            site_toml("text_to_manager = \"Call {client}\""),
            "sites.shop.text_to_manager",
        ),
        (
            site_toml("info_to_manager = \"Open {site\""),
            "sites.shop.info_to_manager",
        ),
        (
            site_toml("notification = \"calls\""),
            "sites.shop.notification",
        ),
        (site_toml("tool_name = \" \""), "sites.shop.tool_name"),
        (
            site_toml("[sites.shop.limits]\nip_burst = 0"),
            "sites.shop.limits.ip_burst",
        ),
        (
            site_toml("[sites.shop.limits]\nsite_per_day = -1"),
            "sites.shop.limits.site_per_day",
        ),
        (
            site_toml("[sites.shop.limits]\nper_ip = 1"),
            "sites.shop.limits.per_ip",
        ),
        (
            format!("retention_days = 0\n{}", site_toml("")),
            "retention_days",
        ),
        (
            format!("upstream_deadline_hours = 0\n{}", site_toml("")),
            "upstream_deadline_hours",
        ),
        (
            format!("trusted_proxies = [\"10.0.0.0/33\"]\n{}", site_toml("")),
            "trusted_proxies",
        ),
        (
            format!("client_ip_header = \"X Forwarded\"\n{}", site_toml("")),
            "client_ip_header",
        ),
        (
            format!("max_streams_per_ip = 0\n{}", site_toml("")),
            "max_streams_per_ip",
        ),
        (
            site_toml("").replace("unique = \"shop\"\n", ""),
            "sites.shop.unique",
        ),
        (
            site_toml("").replace(WHASH, "not-a-hash"),
            "sites.shop.whash",
        ),
        ("".to_owned(), "sites"),
        // Past the 60-day scheduling horizon, or a scheduled call loses its number.
        (
            format!("retention_days = 60\n{}", site_toml("")),
            "retention_days",
        ),
        (
            site_toml("[sites.shop.limits]\nnumber_cooldown_minutes = 9223372036854775807"),
            "sites.shop.limits.number_cooldown_minutes",
        ),
        (
            site_toml("[sites.shop.limits]\nnumber_per_day = 4000000000"),
            "sites.shop.limits.number_per_day",
        ),
        (
            format!("status_ttl_hours = 9223372036854775807\n{}", site_toml("")),
            "status_ttl_hours",
        ),
        (
            format!("status_poll_interval_ms = 0\n{}", site_toml("")),
            "status_poll_interval_ms",
        ),
        (
            format!("max_streams_per_ip = 2000\n{}", site_toml("")),
            "max_streams_per_ip",
        ),
        // The key would cross the network in plain text.
        (
            site_toml("upstream = \"http://api.callkeeper.ru\""),
            "sites.shop.upstream",
        ),
        (
            format!(
                "[server]\nheader_read_timeout_seconds = 0\n{}",
                site_toml("")
            ),
            "server.header_read_timeout_seconds",
        ),
        (
            format!(
                "[server]\nmax_connections = 10\nmax_connections_per_ip = 11\n{}",
                site_toml("")
            ),
            "server.max_connections_per_ip",
        ),
        (
            format!("[server]\nmax_requests_in_flight = 0\n{}", site_toml("")),
            "server.max_requests_in_flight",
        ),
        (
            format!("[server]\nidle_seconds = 5\n{}", site_toml("")),
            "server.idle_seconds",
        ),
    ];
    for (text, key) in cases {
        assert_eq!(error_key(&text), key, "for:\n{text}");
    }
}

#[test]
fn consent_and_texts_are_read_and_checked() {
    let config = parse(&site_toml(
        "locale = \"en\"\n[sites.shop.consent]\nversion = \"2024-05\"\nlink = \"https://shop.example/privacy\"\n\
         [sites.shop.texts.ru]\ntitle = \"Перезвоним\"\n[sites.shop.texts.en]\nsubmit = \"Ring me\"\n",
    ))
    .expect("valid");
    let site = &config.sites["shop"];
    assert_eq!(
        site.consent,
        Some(protocol::ConsentConfig {
            version: "2024-05".to_owned(),
            link: Some("https://shop.example/privacy".to_owned()),
            required: true,
        }),
        "required unless said otherwise"
    );
    assert_eq!(site.texts.ru["title"], "Перезвоним");
    assert_eq!(site.texts.en["submit"], "Ring me");
    assert_eq!(site.widget_locale.map(Locale::as_str), Some("en"));

    let unset = parse(&site_toml("")).expect("valid");
    assert_eq!(unset.sites["shop"].widget_locale, None, "the page decides");
    assert_eq!(
        unset.sites["shop"].locale.as_str(),
        "ru",
        "the proxy's messages"
    );

    for (extra, key) in [
        (
            "[sites.shop.texts.en]\ntitel = \"x\"",
            "sites.shop.texts.en.titel",
        ),
        (
            "[sites.shop.texts.ru]\ntitle = \" \"",
            "sites.shop.texts.ru.title",
        ),
        (
            "[sites.shop.texts.de]\ntitle = \"x\"",
            "sites.shop.texts.de",
        ),
        (
            "[sites.shop.consent]\nversion = \"\"",
            "sites.shop.consent.version",
        ),
        (
            "[sites.shop.consent]\nrequired = true",
            "sites.shop.consent.version",
        ),
        (
            "[sites.shop.consent]\nversion = \"1\"\nlink = \"javascript:alert(1)\"",
            "sites.shop.consent.link",
        ),
        ("locale = \"de\"", "sites.shop.locale"),
    ] {
        assert_eq!(error_key(&site_toml(extra)), key, "for {extra}");
    }
    let unknown = parse(&site_toml("[sites.shop.texts.en]\ntitel = \"x\""))
        .expect_err("unknown text")
        .to_string();
    assert!(
        unknown.contains("title, phone"),
        "lists the keys: {unknown}"
    );
}

#[test]
fn a_colour_white_text_cannot_be_read_on_is_warned_about() {
    assert!((contrast_ratio("#ffffff", "#000000") - 21.0).abs() < 1e-9);
    assert!((contrast_ratio("#777777", "#ffffff") - 4.48).abs() < 0.01);
    let hours = "opening_hours = \"09001800\"\nutc = \"Europe/Moscow\"\n";
    assert!(
        parse(&site_toml(hours))
            .expect("valid")
            .warnings()
            .is_empty()
    );
    let yellow = parse(&site_toml(&format!("{hours}color = \"#ffd700\""))).expect("valid");
    let warnings = yellow.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("sites.shop.color: white text on #ffd700 has a contrast of 1.4:1"),
        "{warnings:?}"
    );
}

#[test]
fn missing_hours_or_zone_are_warned_about() {
    let none = parse(&site_toml("")).expect("valid").warnings();
    assert!(
        none.len() == 1 && none[0].starts_with("sites.shop.opening_hours is not set"),
        "{none:?}"
    );
    let no_zone = parse(&site_toml("opening_hours = \"09001800\""))
        .expect("valid")
        .warnings();
    assert!(
        no_zone.len() == 1 && no_zone[0].starts_with("sites.shop.utc is not set"),
        "{no_zone:?}"
    );
}

#[test]
fn unknown_keys_are_refused() {
    let error = parse(&site_toml("apiak = \"inline\"")).expect_err("unknown");
    assert!(error.to_string().contains("sites.shop.apiak"), "{error}");
}

#[test]
fn malformed_toml_says_so() {
    let error = parse("listen = ").expect_err("not TOML");
    assert!(matches!(error, ConfigError::Parse(_)), "{error}");
}

/// Loads `toml` as `proxy serve` does, with `env` set: in a figment jail,
/// a temporary directory whose environment changes are undone at its end
/// (jails run one at a time).
#[expect(
    clippy::result_large_err,
    reason = "figment::Jail's closure returns figment's error"
)]
fn load_with_env(toml: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let mut loaded = None;
    figment::Jail::expect_with(|jail| {
        jail.create_file("proxy.toml", toml)?;
        jail.set_env("SHOP_KEY", KEY);
        for (name, value) in env {
            jail.set_env(name, value);
        }
        loaded = Some(Config::load(&jail.directory().join("proxy.toml")));
        Ok(())
    });
    loaded.expect("the jail ran")
}

#[test]
fn the_environment_overrides_the_file() {
    let config = load_with_env(
        &site_toml("country_code = \"7\""),
        &[
            ("PROXY_LISTEN", "0.0.0.0:9000"),
            ("PROXY_RETENTION_DAYS", "120"),
            ("PROXY_TRUSTED_PROXIES", "[10.0.0.1, 10.0.0.2]"),
            ("PROXY_SITES__SHOP__UPSTREAM", "http://127.0.0.1:8082"),
            ("PROXY_SITES__SHOP__COUNTRY_CODE", "375"),
            ("PROXY_SITES__SHOP__OPENING_HOURS", "\"09001800\""),
            ("PROXY_SITES__SHOP__LIMITS__IP_BURST", "3"),
            ("PROXY_CONFIG", "proxy.toml"),
        ],
    )
    .expect("valid");
    assert_eq!(config.listen, "0.0.0.0:9000".parse().expect("address"));
    assert_eq!(config.retention, Duration::from_secs(120 * 24 * 3600));
    assert_eq!(config.trusted_proxies.len(), 2);
    let site = &config.sites["shop"];
    assert_eq!(site.upstream.as_str(), "http://127.0.0.1:8082/");
    assert_eq!(site.country_code, "375");
    assert!(site.opening_hours.is_some());
    assert_eq!(site.limits.ip_burst, 3);
    assert_eq!(site.limits.ip_per_minute, 10, "the rest of the table stays");
}

#[test]
fn a_bad_override_names_its_key_and_variable() {
    let error = load_with_env(
        &site_toml(""),
        &[("PROXY_SITES__SHOP__LIMITS__IP_BURST", "many")],
    )
    .expect_err("not a number");
    let text = error.to_string();
    assert!(text.contains("`sites.shop.limits.ip_burst`"), "{text}");
    assert!(
        text.contains("PROXY_SITES__SHOP__LIMITS__IP_BURST"),
        "{text}"
    );

    let error = load_with_env(
        &site_toml(""),
        &[("PROXY_SITES__SHOP__OPENING_HOURS", "09001800")],
    )
    .expect_err("read as the number 9001800");
    let text = error.to_string();
    assert!(text.contains("`sites.shop.opening_hours`"), "{text}");
    assert!(text.contains("quotes"), "says how to write it: {text}");

    let error =
        load_with_env(&site_toml(""), &[("PROXY_LISTN", "0.0.0.0:80")]).expect_err("misspelt");
    assert!(error.to_string().contains("`listn`"), "{error}");
}

#[test]
fn a_missing_file_is_named() {
    let error = Config::load(Path::new("/nonexistent/proxy.toml")).expect_err("missing");
    assert!(
        error.to_string().contains("/nonexistent/proxy.toml"),
        "{error}"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    /// Whatever a visitor puts in `current_page`, `{page}` never panics and
    /// is at most a short path in letters, digits and `/-_.`.
    #[test]
    fn whatever_the_page_staff_hear_a_short_plain_path(
        page in proptest::prelude::any::<String>(),
        path in "[ -~а-я%]{0,300}",
    ) {
        let config = parse(&site_toml("")).expect("valid");
        let site = &config.sites["shop"];
        for candidate in [page, format!("https://shop.example/{path}")] {
            if let Some(spoken) = site.page_for_ivr(&candidate) {
                proptest::prop_assert!(spoken.chars().count() <= MAX_IVR_PAGE_CHARS);
                proptest::prop_assert!(spoken
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '/' | '-' | '_' | '.')));
            }
        }
    }
}

#[test]
fn the_server_table_sets_the_listener_limits() {
    let defaults = parse(&site_toml("")).expect("valid").server;
    assert_eq!(defaults.header_read_timeout, Duration::from_secs(10));
    assert_eq!(defaults.max_connections_per_ip, 256);
    let config = parse(&format!(
        "[server]\nheader_read_timeout_seconds = 3\nrequest_timeout_seconds = 20\n\
         max_connections = 500\nmax_connections_per_ip = 20\nmax_requests_in_flight = 64\n{}",
        site_toml("")
    ))
    .expect("valid");
    assert_eq!(config.server.header_read_timeout, Duration::from_secs(3));
    assert_eq!(config.server.request_timeout, Duration::from_secs(20));
    assert_eq!(config.server.max_connections, 500);
    assert_eq!(config.server.max_connections_per_ip, 20);
    assert_eq!(config.server.max_requests_in_flight, 64);
}

#[test]
fn an_https_or_loopback_upstream_is_accepted() {
    for upstream in [
        "https://api.callkeeper.ru",
        "http://127.0.0.1:8082",
        "http://[::1]:8082",
    ] {
        let config = parse(&site_toml(&format!("upstream = \"{upstream}\"")));
        assert!(config.is_ok(), "{upstream}: {:?}", config.err());
    }
}

#[cfg(unix)]
#[test]
fn a_key_file_others_can_read_is_refused_unless_allowed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("shop.key");
    std::fs::write(&file, KEY).expect("written");
    let text = |allow: &str| {
        format!(
            "{allow}[sites.shop]\nallowed_origins = [\"https://shop.example\"]\nunique = \"shop\"\n\
             api_key_file = {file:?}\nwhash = \"{WHASH}\"\n"
        )
    };
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let error = parse(&text("")).expect_err("a world-readable key is refused");
    assert!(
        matches!(&error, ConfigError::Invalid { key, .. } if key == "sites.shop.api_key_file"),
        "{error}"
    );
    assert!(error.to_string().contains("chmod 600"), "{error}");
    parse(&text("allow_readable_key_file = true\n")).expect("allowed by the operator");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let config = parse(&text("")).expect("a private key file is read");
    assert_eq!(config.sites["shop"].credentials.unique, "shop");
}

#[test]
fn an_unknown_time_zone_is_a_check_config_warning() {
    let config = parse(&site_toml(
        "utc = \"Mars/Olympus_Mons\"\nopening_hours = \"09001800\"",
    ))
    .expect("the shape is valid");
    let warnings = config.warnings();
    assert!(
        warnings.iter().any(|w| w.starts_with("sites.shop.utc:")),
        "{warnings:?}"
    );
    let known = parse(&site_toml(
        "utc = \"Europe/Moscow\"\nopening_hours = \"09001800\"",
    ))
    .expect("valid");
    assert!(
        !known
            .warnings()
            .iter()
            .any(|w| w.starts_with("sites.shop.utc:"))
    );
}

#[test]
fn the_store_is_the_sqlite_file_unless_a_url_names_another() {
    let config = parse(&format!("database = \"leads.db\"\n{}", site_toml(""))).expect("valid");
    assert!(matches!(&config.store, StoreUrl::Sqlite(path) if path == Path::new("leads.db")));
    let config = parse(&format!(
        "[store]\nurl = \"sqlite://other.db\"\n\n{}",
        site_toml("")
    ))
    .expect("valid");
    assert!(matches!(&config.store, StoreUrl::Sqlite(path) if path == Path::new("other.db")));
    let config = parse(&format!(
        "[store]\nurl = \"postgres://callback:hunter2secret@db.internal/callback\"\n\n{}",
        site_toml("")
    ))
    .expect("valid");
    assert!(matches!(config.store, StoreUrl::Postgres(_)));
    assert!(
        config
            .summary()
            .contains("postgres://callback:***@db.internal/callback"),
        "{}",
        config.summary()
    );
    assert!(
        !format!("{config:?}{}", config.summary()).contains("hunter2secret"),
        "the store's password is never printed"
    );
}

#[test]
fn an_unknown_store_url_names_the_key() {
    for url in ["mysql://db/callback", "sqlite://", "postgres://[bad"] {
        assert_eq!(
            error_key(&format!("[store]\nurl = \"{url}\"\n\n{}", site_toml(""))),
            "store.url",
            "{url}"
        );
    }
}

#[test]
fn invitations_are_checked_and_sent_as_the_widget_reads_them() {
    let config = parse(&site_toml(
        "[sites.shop.invite]\nexit_seconds = 10\ntouch_exit = true\nscroll_percent = 60\nnever = [\"/checkout*\", \"/cart\"]\nwhen_closed = false",
    ))
    .expect("valid");
    let invite = &config.sites["shop"].invite;
    let wire: Vec<(&str, &str)> = invite
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        wire,
        [
            ("exit_seconds", "10"),
            ("never", "/checkout*,/cart"),
            ("scroll_percent", "60"),
            ("touch_exit", "true"),
            ("when_closed", "false"),
        ],
        "only what the site set"
    );
    assert!(
        parse(&site_toml("")).expect("valid").sites["shop"]
            .invite
            .is_empty()
    );

    for (bad, key) in [
        ("scroll_percent = 0", "sites.shop.invite.scroll_percent"),
        ("scroll_percent = 101", "sites.shop.invite.scroll_percent"),
        ("time_seconds = 0", "sites.shop.invite.time_seconds"),
        ("per_visit = 0", "sites.shop.invite.per_visit"),
        ("touch_exit = true", "sites.shop.invite.touch_exit"),
        ("never = [\"checkout\"]", "sites.shop.invite.never"),
        ("only = [\"/a*b\"]", "sites.shop.invite.only"),
        ("never = [\"/a,/b\"]", "sites.shop.invite.never"),
        ("never = [\"/cart?x=1\"]", "sites.shop.invite.never"),
    ] {
        assert_eq!(
            error_key(&site_toml(&format!("[sites.shop.invite]\n{bad}"))),
            key,
            "{bad}"
        );
    }
}
