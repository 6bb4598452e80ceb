//! The widget's files as a browser on another site receives them: the right
//! types, the pre-compressed variant the browser accepts, caching by kind,
//! and the headers that let any page load them but nobody sniff them.
//!
//! Every test runs twice: with the files in a `dist/` directory (`assets`)
//! and with the same files held in memory, as the release binary serves the
//! widget built into it, so both answer alike.

use std::path::Path;

use std::sync::Arc;

use proxy::widget_files::{InMemoryFiles, WidgetFiles};

use crate::support::{TestProxy, config_toml, free_addr};

const WASM: &str = "callback_widget_bg.705e98220c.wasm";
const SCRIPT: &str = "callback_widget.0e50754b56.js";

/// A `dist/` like `cargo xtask build-widget` writes, with recognisable
/// fake contents so that a test can tell which variant it got.
fn fake_dist(dir: &Path) {
    let dist = dir.join("dist");
    std::fs::create_dir_all(&dist).expect("create dist");
    for (name, body) in [
        ("widget.js", "/* the loader */".as_bytes()),
        (WASM, b"\0asm raw"),
        (&format!("{WASM}.br"), b"wasm as brotli"),
        (&format!("{WASM}.gz"), b"wasm as gzip"),
        (SCRIPT, b"export default function init() {}"),
        (&format!("{SCRIPT}.br"), b"script as brotli"),
        (&format!("{SCRIPT}.gz"), b"script as gzip"),
    ] {
        std::fs::write(dist.join(name), body).expect("write a fake file");
    }
}

/// The two proxies: files from `dist/`, and the same files from memory.
async fn spawn_both() -> [TestProxy; 2] {
    let config = |dir: &Path| {
        fake_dist(dir);
        // The widget files never reach CallKeeper: any upstream address will do.
        config_toml(free_addr(), "http://127.0.0.1:9", &dir.join("leads.db"), "")
    };
    let from_disk = TestProxy::start(config).await;
    let in_memory = TestProxy::start_adjusted(config, |parsed| {
        let WidgetFiles::Directory(dist) = &parsed.assets else {
            panic!("the test config names a directory");
        };
        let files = InMemoryFiles::read_dir(dist).expect("the fake dist/ reads");
        parsed.assets = WidgetFiles::InMemory(Arc::new(files));
    })
    .await;
    [from_disk, in_memory]
}

/// What a GET of `file` answers, as seen by a page on another site.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn fetch(proxy: &TestProxy, file: &str, accept_encoding: Option<&str>) -> Answer {
    let mut request = reqwest::Client::new()
        .get(format!("{}/widget/{file}", proxy.url))
        .header("Origin", "https://any-site.example");
    if let Some(encodings) = accept_encoding {
        request = request.header("Accept-Encoding", encodings);
    }
    let response = request.send().await.expect("the proxy answers");
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.bytes().await.expect("a body").to_vec(),
    }
}

#[tokio::test]
async fn the_wasm_comes_precompressed_as_the_browser_accepts_with_its_type() {
    for proxy in spawn_both().await {
        let cases = [
            (Some("br"), Some("br"), "wasm as brotli"),
            (Some("gzip"), Some("gzip"), "wasm as gzip"),
            (Some("gzip, deflate, br"), Some("br"), "wasm as brotli"),
            (Some("br;q=0.1, gzip"), Some("gzip"), "wasm as gzip"),
            (Some("identity"), None, "\0asm raw"),
            (None, None, "\0asm raw"),
        ];
        for (accept, encoding, body) in cases {
            let answer = fetch(&proxy, WASM, accept).await;
            assert_eq!(answer.status, 200, "Accept-Encoding {accept:?}");
            assert_eq!(
                answer.header("content-type"),
                Some("application/wasm"),
                "streaming compilation needs the wasm type, compressed or not ({accept:?})"
            );
            assert_eq!(
                answer.header("content-encoding"),
                encoding,
                "Accept-Encoding {accept:?}"
            );
            assert_eq!(answer.body, body.as_bytes(), "Accept-Encoding {accept:?}");
            assert!(
                answer
                    .header("vary")
                    .is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding")),
                "caches must keep the variants apart ({accept:?}): {:?}",
                answer.header("vary")
            );
        }
        proxy.stop();
    }
}

#[tokio::test]
async fn hashed_files_are_cached_for_a_year_and_the_loader_briefly() {
    for proxy in spawn_both().await {
        for (file, accept) in [(WASM, Some("br")), (SCRIPT, Some("gzip")), (SCRIPT, None)] {
            let answer = fetch(&proxy, file, accept).await;
            assert_eq!(answer.status, 200, "{file}");
            assert_eq!(
                answer.header("cache-control"),
                Some("public, max-age=31536000, immutable"),
                "{file} never changes under its hashed name"
            );
        }
        let script = fetch(&proxy, SCRIPT, Some("br")).await;
        assert!(
            script
                .header("content-type")
                .is_some_and(|t| t.contains("javascript")),
            "{:?}",
            script.header("content-type")
        );
        assert_eq!(script.header("content-encoding"), Some("br"));
        assert_eq!(script.body, b"script as brotli");

        let loader = fetch(&proxy, "widget.js", Some("br, gzip")).await;
        assert_eq!(loader.status, 200);
        assert_eq!(loader.body, b"/* the loader */");
        assert_eq!(
            loader.header("content-encoding"),
            None,
            "no compressed loader exists"
        );
        assert!(
            loader
                .header("content-type")
                .is_some_and(|t| t.contains("javascript"))
        );
        let cache = loader.header("cache-control").unwrap_or_default();
        let max_age: u64 = cache
            .split(',')
            .find_map(|part| part.trim().strip_prefix("max-age="))
            .and_then(|age| age.parse().ok())
            .unwrap_or_else(|| panic!("the loader has a max-age: {cache:?}"));
        assert!(
            max_age <= 3600 && !cache.contains("immutable"),
            "a release must reach visitors within the hour: {cache:?}"
        );

        // The embed snippet's short URL, PROXY/widget.js, is the same loader with the same headers.
        let short = reqwest::Client::new()
            .get(format!("{}/widget.js", proxy.url))
            .send()
            .await
            .expect("the proxy answers");
        assert_eq!(short.status().as_u16(), 200);
        assert_eq!(
            short
                .headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some(cache)
        );
        assert_eq!(
            short
                .headers()
                .get("access-control-allow-origin")
                .and_then(|v| v.to_str().ok()),
            Some("*")
        );
        assert_eq!(
            short.bytes().await.expect("body").as_ref(),
            b"/* the loader */"
        );
        proxy.stop();
    }
}

#[tokio::test]
async fn every_widget_file_is_public_but_not_sniffed_and_a_missing_one_is_not_cached() {
    for proxy in spawn_both().await {
        let missing = "callback_widget_bg.0000000000.wasm";
        for (file, accept) in [
            ("widget.js", None),
            (WASM, Some("br")),
            (WASM, None),
            (SCRIPT, Some("gzip")),
            (missing, Some("br")),
        ] {
            let answer = fetch(&proxy, file, accept).await;
            for (header, value) in [
                ("access-control-allow-origin", "*"),
                ("x-content-type-options", "nosniff"),
                ("cross-origin-resource-policy", "cross-origin"),
            ] {
                assert_eq!(answer.header(header), Some(value), "{header} of {file}");
            }
        }
        let answer = fetch(&proxy, missing, None).await;
        assert_eq!(answer.status, 404);
        assert_eq!(
            answer.header("cache-control"),
            Some("no-store"),
            "a 404 must not be cached for a year under a name the next release may use"
        );
        proxy.stop();
    }
}

/// A browser revalidates the loader after its few minutes: the proxy answers
/// 304 (from disk by `Last-Modified`, from memory by `ETag`) and the 304 keeps
/// the loader's caching, or the browser would stop caching it.
#[tokio::test]
async fn the_loader_revalidates_with_304_and_keeps_its_caching() {
    for proxy in spawn_both().await {
        let first = fetch(&proxy, "widget.js", Some("br")).await;
        assert_eq!(first.status, 200);
        let (validator, value) = match (first.header("etag"), first.header("last-modified")) {
            (Some(etag), _) => ("If-None-Match", etag.to_owned()),
            (None, Some(date)) => ("If-Modified-Since", date.to_owned()),
            (None, None) => panic!("the loader has no validator: {:?}", first.headers),
        };
        let again = reqwest::Client::new()
            .get(format!("{}/widget/widget.js", proxy.url))
            .header("Accept-Encoding", "br")
            .header(validator, &value)
            .send()
            .await
            .expect("the proxy answers");
        assert_eq!(again.status().as_u16(), 304, "{validator}: {value}");
        assert_eq!(
            again
                .headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            first.header("cache-control"),
            "a 304 renews the cached headers"
        );
        let changed = reqwest::Client::new()
            .get(format!("{}/widget/widget.js", proxy.url))
            .header("If-None-Match", "\"0123\"")
            .send()
            .await
            .expect("the proxy answers");
        assert_eq!(changed.status().as_u16(), 200, "another tag gets the file");
        proxy.stop();
    }
}
