//! The example config in the repository stays valid.

use proxy::config::Config;

#[test]
fn the_example_config_is_valid() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"))
        .expect("readable");
    let config = Config::parse(&text, |var| {
        (var == "CALLKEEPER_KEY_SHOP").then(|| "eb2cee1bc1b8d1b6e4282486af09e078".to_owned())
    })
    .expect("the example config should be valid");
    assert!(config.sites["shop"].allows_origin("https://shop.example.com"));
}
