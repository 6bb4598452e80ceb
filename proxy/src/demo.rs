//! The demo: the proxy, a demo host page and the sandbox CallKeeper, in one
//! process with three listeners.
//!
//! The page is served from `localhost` and the API from `127.0.0.1`, so the
//! browser treats them as different sites and CORS is exercised as on a real
//! site. The end-to-end tests start the same thing on port 0.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::response::Html;
use callkeeper::sandbox::{self, Sandbox, SandboxConfig};
use secrecy::ExposeSecret as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::Application;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::store::StoreUrl;

/// The demo page, with `{{WIDGET_SRC}}` for the loader's URL.
const DEMO_PAGE: &str = include_str!("../../www/demo/index.html");
/// The demo site's id.
pub const DEMO_SITE: &str = "demo";

/// Where the demo listens and what it uses.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The proxy's API and widget files.
    pub api: SocketAddr,
    /// The proxy's admin listener (`/metrics`, `/readyz`); port 0 picks a free one.
    pub admin: SocketAddr,
    /// The demo host page (reached as `localhost`).
    pub page: SocketAddr,
    /// The sandbox CallKeeper.
    pub sandbox: SocketAddr,
    /// The built widget.
    pub assets: PathBuf,
    /// The SQLite file.
    pub database: PathBuf,
    /// Sandbox time scale: 1.0 runs calls in human seconds, 0.01 a hundred times faster.
    pub time_scale: f64,
    /// How often the proxy asks the sandbox about a call.
    pub poll_interval: Duration,
}

impl DemoOptions {
    /// Every listener on a free loopback port, the store and widget files in
    /// `dir`: what tests start. The sandbox runs `time_scale` times real time.
    pub fn ephemeral(dir: &std::path::Path, time_scale: f64, poll_interval: Duration) -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            api: any,
            admin: any,
            page: any,
            sandbox: any,
            assets: dir.join("dist"),
            database: dir.join("leads.db"),
            time_scale,
            poll_interval,
        }
    }
}

/// A running demo.
#[derive(Debug)]
pub struct Demo {
    /// The proxy's base URL, e.g. `http://127.0.0.1:8080`.
    pub api_url: String,
    /// The proxy's admin listener, e.g. `http://127.0.0.1:40123`.
    pub admin_url: String,
    /// The demo page's URL, e.g. `http://localhost:8081/`.
    pub page_url: String,
    /// The sandbox's base URL.
    pub sandbox_url: String,
    /// The sandbox, for inspecting what it received.
    pub sandbox: Sandbox,
    /// Stops everything.
    pub shutdown: CancellationToken,
    /// The proxy's task.
    pub proxy: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// A file of `www/test/`, the end-to-end tests' extra host pages (read from
/// the source tree, so tests add pages without touching the proxy), with the
/// demo page's placeholders filled in. Only plain names of its own files
/// are served ([`is_test_page_name`]): the name comes from the URL, and
/// `dir.join` of an absolute or `..` path would read anywhere.
fn test_page(file: &str, widget_src: &str, proxy_origin: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    if !is_test_page_name(file) {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../www/test");
    let Ok(text) = std::fs::read_to_string(dir.join(file)) else {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    };
    let text = text
        .replace("{{WIDGET_SRC}}", widget_src)
        .replace("{{PROXY_ORIGIN}}", proxy_origin);
    let kind = match file.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js") => "text/javascript",
        Some("css") => "text/css",
        _ => "text/html; charset=utf-8",
    };
    ([(axum::http::header::CONTENT_TYPE, kind)], text).into_response()
}

/// `[A-Za-z0-9_-]+\.(html|js|css)`: a name in `www/test/`, never a path.
fn is_test_page_name(file: &str) -> bool {
    let Some((stem, extension)) = file.rsplit_once('.') else {
        return false;
    };
    !stem.is_empty()
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && matches!(extension, "html" | "js" | "css")
}

/// Binds the three listeners and starts serving.
pub async fn start(options: DemoOptions) -> anyhow::Result<Demo> {
    start_with(options, "", Arc::new(SystemClock)).await
}

/// Like [`start`], with more keys for the demo site's `[sites.demo]` table
/// (tests use it for retry intervals, opening hours or limits). It ends the
/// config, so it may also add tables (another site, `[console]`);
/// `{{SANDBOX_URL}}` in it is the sandbox's URL.
///
/// `clock` is the proxy's "now" (handlers and workers alike); the sandbox
/// keeps the real time.
pub async fn start_with(
    options: DemoOptions,
    site_extra: &str,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Demo> {
    let store = StoreUrl::Sqlite(options.database.clone());
    start_on(options, &store, site_extra, clock).await
}

/// Like [`start_with`], on the store `store` instead of the SQLite file
/// `options.database` (the proxy's tests run the demo on PostgreSQL too).
pub async fn start_on(
    options: DemoOptions,
    store: &StoreUrl,
    site_extra: &str,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Demo> {
    let bind = |addr: SocketAddr, what: &'static str| async move {
        TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the {what} on {addr} (is the port in use?)"))
    };
    let api_listener = bind(options.api, "proxy").await?;
    let page_listener = bind(options.page, "demo page").await?;
    let sandbox_listener = bind(options.sandbox, "sandbox CallKeeper").await?;
    let api_url = format!("http://{}", api_listener.local_addr()?);
    let page_origin = format!("http://localhost:{}", page_listener.local_addr()?.port());
    let sandbox_url = format!("http://{}", sandbox_listener.local_addr()?);
    let shutdown = CancellationToken::new();

    let sandbox = Sandbox::new(SandboxConfig {
        time_scale: options.time_scale,
        ..SandboxConfig::demo()
    });
    let sandbox_app = sandbox.router();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        axum::serve(sandbox_listener, sandbox_app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
    });

    let widget_src = format!("{api_url}/widget/widget.js");
    let page = DEMO_PAGE
        .replace("{{WIDGET_SRC}}", &widget_src)
        .replace("{{PROXY_ORIGIN}}", &api_url);
    // The test pages embed the short form of the snippet, the demo page the
    // long one, so that both URLs of the loader are exercised.
    let test_page = {
        let (widget_src, api_url) = (format!("{api_url}/widget.js"), api_url.clone());
        move |axum::extract::Path(file): axum::extract::Path<String>| {
            let page = test_page(&file, &widget_src, &api_url);
            async move { page }
        }
    };
    let page_app = Router::new()
        .route("/test/{file}", axum::routing::get(test_page))
        .fallback(move || {
            let page = page.clone();
            async move { Html(page) }
        });
    let stop = shutdown.clone();
    tokio::spawn(async move {
        axum::serve(page_listener, page_app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
    });

    // The demo's configuration is written as a site owner would write it,
    // so it goes through the same parsing and validation as production.
    let config_text = format!(
        "listen = \"{listen}\"\nadmin_listen = \"{admin}\"\npublic_url = \"{api_url}/\"\n{store}assets = {assets:?}\nstatus_poll_interval_ms = {poll}\n\n\
         {store_table}[sites.{DEMO_SITE}]\nallowed_origins = [\"{page_origin}\"]\nupstream = \"{sandbox_url}\"\n\
         unique = \"{unique}\"\napi_key_env = \"DEMO_KEY\"\nwhash = \"{whash}\"\ndisplay_name = \"demo.localhost\"\n{site_extra}\n",
        site_extra = site_extra.replace("{{SANDBOX_URL}}", &sandbox_url),
        listen = api_listener.local_addr()?,
        admin = options.admin,
        store = match store {
            StoreUrl::Sqlite(path) => format!("database = {:?}\n", path.display().to_string()),
            StoreUrl::Postgres(_) => String::new(),
        },
        store_table = match store {
            StoreUrl::Sqlite(_) => String::new(),
            StoreUrl::Postgres(url) => format!("[store]\nurl = {:?}\n\n", url.expose_secret()),
        },
        assets = options.assets.display().to_string(),
        poll = options.poll_interval.as_millis(),
        unique = sandbox::DEMO_UNIQUE,
        whash = sandbox::DEMO_WHASH,
    );
    let config = Config::parse(&config_text, |_| Some(sandbox::DEMO_API_KEY.to_owned()))
        .context("the demo's configuration")?;
    let application = Application::build_with_clock(config, api_listener, clock).await?;
    let admin_url = format!("http://{}", application.admin_addr()?);
    let proxy = tokio::spawn(application.run_until_stopped(shutdown.clone()));
    Ok(Demo {
        api_url,
        admin_url,
        page_url: format!("{page_origin}/"),
        sandbox_url,
        sandbox,
        shutdown,
        proxy,
    })
}

#[cfg(test)]
mod tests {
    use super::is_test_page_name;

    #[test]
    fn only_plain_names_of_test_pages_are_served() {
        for good in ["host.html", "site.js", "hostile.css", "a_b-c9.html"] {
            assert!(is_test_page_name(good), "{good}");
        }
        for bad in [
            "/etc/passwd",
            "../Cargo.toml",
            "..%2FCargo.toml",
            ".hidden.html",
            "a/b.html",
            "page.html.bak",
            "x.wasm",
            "",
            ".html",
            "é.html",
        ] {
            assert!(!is_test_page_name(bad), "{bad}");
        }
    }
}
