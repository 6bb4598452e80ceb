//! `proxy init` from flags: a config that loads as `serve` loads it, the key
//! in a private file and never in the config, the snippet and CSP to paste,
//! and nothing overwritten without `--force`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use proxy::config::Config;
use proxy::init::{InitOptions, run};
use proxy::widget_files::WidgetFiles;

use crate::support::KEY;

/// Every value given as a flag (so nothing is asked), the key from `--key-file`.
fn options(dir: &Path) -> InitOptions {
    let key_source = dir.join("pasted.key");
    std::fs::write(&key_source, format!("  {KEY}\n")).expect("write the key source");
    InitOptions {
        config: dir.join("proxy.toml"),
        site: Some("shop".to_owned()),
        origins: vec![
            "https://shop.example".to_owned(),
            "https://www.shop.example".to_owned(),
        ],
        unique: Some("example_company".to_owned()),
        whash: Some("96d6ec6937c878c2ca1f889b9b9e865a".to_owned()),
        walias: None,
        upstream: Some("http://127.0.0.1:8089/".to_owned()),
        public_url: Some("https://callback.example.com".to_owned()),
        listen: "127.0.0.1:8080".parse().expect("an address"),
        admin_listen: "127.0.0.1:9090".parse().expect("an address"),
        database: None,
        key_file: Some(key_source),
        key_out: None,
        force: false,
    }
}

#[test]
fn init_writes_a_config_that_loads_and_a_key_only_its_owner_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let written = run(options(dir.path())).expect("init succeeds");

    let mode = std::fs::metadata(&written.key_file)
        .expect("the key file exists")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{:o}", mode & 0o777);
    assert_eq!(
        std::fs::read_to_string(&written.key_file)
            .expect("key")
            .trim(),
        KEY
    );
    let text = std::fs::read_to_string(&written.config).expect("config");
    assert!(!text.contains(KEY), "the key must stay out of the config");
    assert!(
        text.lines().filter(|line| line.starts_with('#')).count() > 10,
        "the config explains itself:\n{text}"
    );

    let config = Config::load(&written.config).expect("the written config loads");
    let site = &config.sites["shop"];
    assert!(site.allows_origin("https://www.shop.example"));
    let expected = dir
        .path()
        .canonicalize()
        .expect("canonical")
        .join("callback-proxy.db");
    assert!(
        matches!(&config.store, proxy::store::StoreUrl::Sqlite(path) if *path == expected),
        "the store is beside the config, by an absolute path: {}",
        config.store
    );
    assert!(
        matches!(config.assets, WidgetFiles::Directory(_)),
        "a test build has no widget inside, so the config's default falls back to dist"
    );
    assert_eq!(
        config.public_url.as_ref().map(url::Url::as_str),
        Some("https://callback.example.com/")
    );
    assert!(
        !config.trusted_proxies.is_empty(),
        "an https public URL means nginx in front"
    );

    assert_eq!(
        written.script_tag,
        r#"<script src="https://callback.example.com/widget.js" data-site="shop" async></script>"#
    );
    assert_eq!(
        written.csp,
        [
            "script-src https://callback.example.com 'wasm-unsafe-eval';",
            "connect-src https://callback.example.com;",
        ]
    );
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().expect("tempdir");
    run(options(dir.path())).expect("the first init succeeds");
    let config = dir.path().join("proxy.toml");
    std::fs::write(&config, "# edited by hand\n").expect("edit");

    let error = run(options(dir.path())).expect_err("a second init refuses");
    assert!(error.to_string().contains("--force"), "{error:#}");
    assert_eq!(
        std::fs::read_to_string(&config).expect("config"),
        "# edited by hand\n",
        "untouched"
    );

    let mut forced = options(dir.path());
    forced.force = true;
    run(forced).expect("--force replaces");
    assert!(Config::load(&config).is_ok());
}

#[test]
fn init_refuses_a_bad_value_and_leaves_no_key_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut bad = options(dir.path());
    bad.origins = vec!["https://shop.example/catalog".to_owned()];
    let error = run(bad).expect_err("an origin with a path is refused");
    assert!(
        format!("{error:#}").contains("sites.shop.allowed_origins"),
        "{error:#}"
    );
    assert!(!dir.path().join("proxy.toml").exists());
    assert!(!dir.path().join("callkeeper-shop.key").exists());

    let mut bad_key = options(dir.path());
    std::fs::write(dir.path().join("pasted.key"), "not a key").expect("write");
    bad_key.key_file = Some(dir.path().join("pasted.key"));
    let error = run(bad_key).expect_err("a malformed key is refused");
    assert!(format!("{error:#}").contains("Profile key"), "{error:#}");
}
