//! The example config in the repository stays valid and documents every key.

use proxy::config::Config;

fn example() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"))
        .expect("readable")
}

#[test]
fn the_example_config_is_valid() {
    let config = Config::parse(&example(), |var| {
        (var == "CALLKEEPER_KEY_SHOP").then(|| "eb2cee1bc1b8d1b6e4282486af09e078".to_owned())
    })
    .expect("the example config should be valid");
    let site = &config.sites["shop"];
    assert!(site.allows_origin("https://shop.example.com"));
    assert!(site.opening_hours.is_some() && site.utc.is_some() && site.interval.is_some());
}

/// Every key the proxy reads appears in the example, so an operator finds each
/// one documented there. The keys come from the proxy itself: an unknown key
/// is refused with the list of the keys allowed in its table.
#[test]
fn the_example_config_mentions_every_key() {
    let text = example();
    for table in [
        "",
        "[server]\n",
        "[console]\n",
        "[store]\n",
        "[sites.shop]\n",
        "[sites.shop.limits]\n",
        "[sites.shop.phone]\n",
        "[sites.shop.bot_checks]\n",
    ] {
        let position = text.find(table).expect("the example has this table") + table.len();
        let mut with_unknown = text.clone();
        with_unknown.insert_str(position, "not_a_key = 1\n");
        let error = Config::parse(&with_unknown, |_| {
            Some("eb2cee1bc1b8d1b6e4282486af09e078".to_owned())
        })
        .expect_err("an unknown key is refused")
        .to_string();
        let keys = error
            .split_once("keys here: ")
            .and_then(|(_, rest)| rest.split_once(" ("))
            .map(|(keys, _)| keys)
            .unwrap_or_else(|| panic!("the error lists the allowed keys: {error}"));
        for key in keys.split(", ") {
            assert!(
                [
                    format!("{key} ="),
                    format!("[{key}."),
                    format!("[{key}]"),
                    format!(".{key}]"),
                ]
                .iter()
                .any(|spelling| text.contains(spelling.as_str())),
                "config.example.toml does not document {key} (in {table:?})"
            );
        }
    }
}

/// Every key of the example's `[sites.shop.phone]` table is in the README's
/// table of them, so the policy an operator reads about is the one they set.
#[test]
fn the_readme_documents_every_phone_policy_key() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("readable");
    let text = example();
    let table = text
        .split("[sites.shop.phone]\n")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .expect("the example has a phone table");
    let keys: Vec<&str> = table
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once(" =").map(|(key, _)| key.trim()))
        .collect();
    assert_eq!(keys.len(), 4, "the phone table's keys: {keys:?}");
    for key in keys {
        assert!(
            readme.contains(&format!("| `{key}` |")),
            "README.md does not document sites.NAME.phone.{key}"
        );
    }
}
