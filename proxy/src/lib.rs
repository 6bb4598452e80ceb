//! The callback proxy: the server a site owner runs next to their site.
//!
//! It holds the secret CallKeeper key (which never reaches a browser), stores
//! every callback request before answering, forwards it with `orderCall`,
//! follows the call and hands the widget a sanitized, live status. It also
//! serves the widget's files.
//!
//! - [`config`]: the TOML configuration; [`site`]: each site built for running;
//!   [`reload`]: the config read again on SIGHUP.
//! - [`http`]: the widget's API and assets ([`http::app`]).
//! - [`lead`]: the lead, its states and transitions; [`store`]: where leads are kept (SQLite, or PostgreSQL for replicas).
//! - [`pipeline`]: the forwarder, the tracker and the retention job.
//! - [`call_state`]: CallKeeper's status codes in the visitor's words.
//! - [`changes`]: which lead changed, for the live status streams;
//!   [`lead_cache`]: leads the status GET read, dropped when they change.
//! - [`trusted_proxies`]: whose forwarding header is believed.
//! - [`clock`]: the one "now" everything above reads.
//! - [`hours`]: opening hours and callback slots in the site's zone.
//! - [`metrics`], [`monitor`] and [`heartbeat`]: what `/metrics` and `/readyz` report (on the
//!   admin listener), the balance monitor and the store's heartbeat.
//! - [`console`]: the site owners' console on the admin listener.
//! - [`operator`]: the `proxy leads …` commands; [`init`] and [`doctor`]: `proxy init` and `proxy doctor`.
//! - [`widget_files`]: the widget's files, from a directory or built into the binary.
//! - [`demo`]: the demo: proxy, demo host page and sandbox CallKeeper in one process.

pub mod call_state;
pub mod challenge;
pub mod changes;
pub mod clock;
pub mod config;
pub mod console;
pub mod demo;
pub mod doctor;
pub mod heartbeat;
pub mod hours;
pub mod http;
pub mod init;
pub mod lead;
pub mod lead_cache;
pub mod metrics;
pub mod monitor;
pub mod operator;
pub mod phone_policy;
pub mod pipeline;
pub mod reload;
pub mod serve;
pub mod site;
pub mod store;
pub mod trusted_proxies;
pub mod widget_files;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::changes::LeadChanges;
use crate::config::Config;
use crate::http::AppState;
use crate::pipeline::Pipeline;
use crate::store::Store;

/// A built proxy, bound to its port, not yet serving.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    admin_listener: TcpListener,
    state: AppState,
    pipeline: Pipeline,
    monitor: monitor::Monitor,
    serve_limits: serve::ServeLimits,
    trusted_proxies: trusted_proxies::TrustedProxies,
    /// The config it was built from, for [`Application::reloader`].
    config: Config,
}

impl Application {
    /// Opens the store, binds `listener`'s address and prepares the workers.
    pub async fn build(config: Config, listener: TcpListener) -> anyhow::Result<Self> {
        Self::build_with_clock(config, listener, Arc::new(clock::SystemClock)).await
    }

    /// Like [`Application::build`], with "now" from `clock` everywhere
    /// (handlers, workers, metrics); tests pin or move time with it.
    pub async fn build_with_clock(
        config: Config,
        listener: TcpListener,
        clock: Arc<dyn clock::Clock>,
    ) -> anyhow::Result<Self> {
        if let Some(refusal) = config.console.refusal(config.admin_listen) {
            anyhow::bail!(refusal);
        }
        let admin_listener = TcpListener::bind(config.admin_listen)
            .await
            .with_context(|| {
                format!(
                    "binding the admin listener on {} (admin_listen; is the port in use?)",
                    config.admin_listen
                )
            })?;
        let store = Store::connect(&config.store)
            .await
            .with_context(|| format!("opening the lead store {}", config.store))?;
        let changes = LeadChanges::default();
        let wake = Arc::new(tokio::sync::Notify::new());
        let metrics = Arc::new(metrics::Metrics::new(&config, clock.clone()));
        let limits = Arc::new(http::IpLimits::new(&config));
        let built_from = config.clone();
        let console = Arc::new(console::Console::new(&config, admin_listener.local_addr()?));
        let sites = site::Sites::build(config.sites);
        let pipeline = Pipeline {
            store: store.clone(),
            changes: changes.clone(),
            wake: wake.clone(),
            sites: sites.clone(),
            poll_interval: config.status_poll_interval,
            upstream_deadline: config.upstream_deadline,
            retention: config.retention,
            metrics: metrics.clone(),
            clock: clock.clone(),
        };
        let monitor = monitor::Monitor {
            sites: pipeline.sites.clone(),
            metrics: metrics.clone(),
            every: config.upstream_check_interval,
        };
        let state = AppState::new(http::Shared {
            lead_cache: lead_cache::LeadCache::following(&changes),
            console,
            limits,
            streams: Arc::new(http::Streams::new(
                config.max_open_streams,
                config.max_streams_per_ip,
            )),
            status_ttl: config.status_ttl,
            stream_lifetime: config.stream_lifetime,
            clock,
            shutdown: CancellationToken::new(),
            heartbeat: Arc::new(heartbeat::StoreHeartbeat::default()),
            challenges: Arc::default(),
            store,
            sites,
            changes,
            wake,
            assets: config.assets,
            metrics,
        });
        Ok(Self {
            listener,
            admin_listener,
            state,
            pipeline,
            monitor,
            serve_limits: config.server,
            trusted_proxies: config.trusted_proxies,
            config: built_from,
        })
    }

    /// What reloads this proxy's sites from the config file at `path`
    /// (the file it was built from), e.g. on SIGHUP ([`reload::Hangups`]).
    pub fn reloader(&self, path: std::path::PathBuf) -> reload::Reloader {
        reload::Reloader::new(
            path,
            self.config.clone(),
            self.state.sites.clone(),
            self.state.limits.clone(),
            self.state.metrics.clone(),
        )
    }

    /// The address the API listens on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The address the admin listener (`/readyz`, `/metrics`) listens on.
    pub fn admin_addr(&self) -> std::io::Result<SocketAddr> {
        self.admin_listener.local_addr()
    }

    /// Serves until `shutdown` is cancelled, then lets in-flight requests finish.
    /// Leads not yet sent stay in the store and are sent by the next start.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        // Replicas on one PostgreSQL: changes the others write reach this
        // one's status streams.
        self.state
            .store
            .follow_changes(&self.state.changes, shutdown.clone())
            .await
            .context("listening to the lead store's change notifications")?;
        let workers = tokio::spawn(self.pipeline.run(shutdown.clone()));
        let monitor = tokio::spawn(self.monitor.run(shutdown.clone()));
        let heartbeat = tokio::spawn(self.state.heartbeat.clone().run(
            self.state.store.clone(),
            self.state.clock.clone(),
            shutdown.clone(),
        ));
        // Loopback by default, for monitors: the usual limits, nobody exempt.
        let admin = tokio::spawn(serve::serve(
            self.admin_listener,
            http::admin_app(self.state.clone()),
            serve::ServeLimits::default(),
            Arc::new(|_| false),
            shutdown.clone(),
        ));
        // Open status streams end when shutdown begins, or they would hold it up.
        let streams_end = self.state.shutdown.clone();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            stop.cancelled().await;
            streams_end.cancel();
        });
        let trusted = self.trusted_proxies;
        let exempt = Arc::new(move |ip: std::net::IpAddr| trusted.contains(ip));
        let app = http::app(self.state);
        serve::serve(self.listener, app, self.serve_limits, exempt, shutdown).await?;
        workers.await.context("the workers panicked")?;
        monitor.await.context("the balance monitor panicked")?;
        heartbeat.await.context("the store heartbeat panicked")?;
        admin.await.context("the admin listener panicked")??;
        Ok(())
    }
}

/// Cancels `token` on Ctrl-C or SIGTERM.
pub fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(term) => term,
                    Err(_) => {
                        let _ = ctrl_c.await;
                        token.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down: finishing in-flight requests");
        token.cancel();
    });
}
