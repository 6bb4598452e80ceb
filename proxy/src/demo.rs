//! The demo: the proxy, a demo host page and the sandbox CallKeeper, in one
//! process with three listeners.
//!
//! The page is served from `localhost` and the API from `127.0.0.1`, so the
//! browser treats them as different sites and CORS is exercised as on a real
//! site. The end-to-end tests start the same thing on port 0.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::response::Html;
use callkeeper::sandbox::{self, Sandbox, SandboxConfig};
use callkeeper::{ApiKey, Credentials, WidgetRef};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::Application;
use crate::config::{Config, Limits, Site};

/// The demo page, with `{{WIDGET_SRC}}` for the loader's URL.
const DEMO_PAGE: &str = include_str!("../../www/demo/index.html");
/// The demo site's id.
pub const DEMO_SITE: &str = "demo";

/// Where the demo listens and what it uses.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The proxy's API and widget files.
    pub api: SocketAddr,
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

/// A running demo.
#[derive(Debug)]
pub struct Demo {
    /// The proxy's base URL, e.g. `http://127.0.0.1:8080`.
    pub api_url: String,
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

/// Binds the three listeners and starts serving.
pub async fn start(options: DemoOptions) -> anyhow::Result<Demo> {
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

    let page = DEMO_PAGE
        .replace("{{WIDGET_SRC}}", &format!("{api_url}/widget/widget.js"))
        .replace("{{PROXY_ORIGIN}}", &api_url);
    let page_app = Router::new().fallback(move || {
        let page = page.clone();
        async move { Html(page) }
    });
    let stop = shutdown.clone();
    tokio::spawn(async move {
        axum::serve(page_listener, page_app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
    });

    let site = Site {
        id: DEMO_SITE.to_owned(),
        allowed_origins: vec![page_origin.clone()],
        upstream: Url::parse(&sandbox_url).context("sandbox URL")?,
        credentials: Credentials {
            unique: sandbox::DEMO_UNIQUE.to_owned(),
            key: ApiKey::parse(sandbox::DEMO_API_KEY).context("demo key")?,
            widget: WidgetRef::Hash(sandbox::DEMO_WHASH.to_owned()),
        },
        display_name: "demo.localhost".to_owned(),
        locale: "ru".to_owned(),
        title: String::new(),
        color: "#0b6bcb".to_owned(),
        position: "right".to_owned(),
        country_code: "7".to_owned(),
        offices: vec![],
        utc: None,
        opening_hours: None,
        text_to_manager: None,
        info_to_manager: None,
        notification: None,
        tool_name: None,
        interval: None,
        limits: Limits::default(),
    };
    let config = Config {
        listen: api_listener.local_addr()?,
        database: options.database,
        assets: options.assets,
        status_poll_interval: options.poll_interval,
        retention: Duration::from_secs(90 * 24 * 3600),
        upstream_deadline: Duration::from_secs(24 * 3600),
        trusted_proxies: vec![],
        client_ip_header: "X-Forwarded-For".to_owned(),
        max_open_streams: 1000,
        max_streams_per_ip: 10,
        sites: HashMap::from([(DEMO_SITE.to_owned(), site)]),
    };
    let application = Application::build(config, api_listener).await?;
    let proxy = tokio::spawn(application.run_until_stopped(shutdown.clone()));
    Ok(Demo {
        api_url,
        page_url: format!("{page_origin}/"),
        sandbox_url,
        sandbox,
        shutdown,
        proxy,
    })
}
