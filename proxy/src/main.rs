//! `proxy`: run the callback proxy, or the demo.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use proxy::clock::SystemClock;
use proxy::config::Config;
use proxy::demo::{self, DemoOptions};
use proxy::init::{self, InitOptions};
use proxy::lead::LeadState;
use proxy::operator;
use proxy::store::Store;
use proxy::{Application, cancel_on_signal};
use tokio_util::sync::CancellationToken;

/// See proxy/Cargo.toml: musl's allocator made the static binary slow to start.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The callback widget's proxy: holds the CallKeeper key, stores every lead,
/// orders the call and reports its status to the widget.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve sites from a config file (production).
    Serve {
        /// The TOML config file (see proxy/config.example.toml).
        #[arg(long, env = "PROXY_CONFIG")]
        config: PathBuf,
    },
    /// Check a config file (and PROXY_… overrides), print what it sets, and exit.
    CheckConfig {
        /// The TOML config file.
        config: PathBuf,
    },
    /// Write a config and the Profile key's file for one site, then print the
    /// script tag and the CSP lines to add to the site. Asks in a terminal for
    /// what the flags do not give; the key is read without echo.
    Init {
        /// The config file to write.
        #[arg(long, default_value = "proxy.toml")]
        config: PathBuf,
        /// The site's id: data-site in the script tag, like shop.
        #[arg(long)]
        site: Option<String>,
        /// An origin whose pages show the widget, like https://shop.example (repeat for more).
        #[arg(long = "origin")]
        origins: Vec<String>,
        /// The CallKeeper company name (unique).
        #[arg(long)]
        unique: Option<String>,
        /// The CallKeeper widget's hash, from its settings.
        #[arg(long, conflicts_with = "walias")]
        whash: Option<String>,
        /// Or the widget's alias.
        #[arg(long)]
        walias: Option<String>,
        /// CallKeeper's API (another address for the sandbox).
        #[arg(long)]
        upstream: Option<String>,
        /// Where visitors' browsers reach this proxy, like https://callback.example.com/.
        #[arg(long)]
        public_url: Option<String>,
        /// The widget API's listener.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// The admin listener (/metrics, /readyz).
        #[arg(long, default_value = "127.0.0.1:9090")]
        admin_listen: SocketAddr,
        /// The lead store [default: callback-proxy.db beside the config].
        #[arg(long)]
        database: Option<PathBuf>,
        /// Read the Profile key from this file instead of standard input.
        #[arg(long)]
        key_file: Option<PathBuf>,
        /// Where to write the key (mode 0600) [default: callkeeper-SITE.key beside the config].
        #[arg(long)]
        key_out: Option<PathBuf>,
        /// Replace an existing config and key file.
        #[arg(long)]
        force: bool,
    },
    /// Check everything a site owner tends to get wrong: key file, origins,
    /// admin listener, CallKeeper (reachable, key, host, widget) and the public
    /// widget.js. Exits with 0 only when every check passes.
    Doctor {
        /// The TOML config file.
        #[arg(long, env = "PROXY_CONFIG")]
        config: PathBuf,
    },
    /// Print the argon2 hash of a password for `[[console.accounts]]
    /// password_hash` (the owners' console login). Reads the password from
    /// standard input, without echo in a terminal.
    AdminPassword,
    /// Look at leads, export them, or resend halted ones.
    Leads {
        /// The TOML config file (for the store's location).
        #[arg(long, env = "PROXY_CONFIG")]
        config: PathBuf,
        #[command(subcommand)]
        action: LeadsAction,
    },
    /// Run the demo: proxy, demo host page and sandbox CallKeeper.
    Demo {
        /// The proxy's API and widget files.
        #[arg(long, default_value = "127.0.0.1:8080")]
        api: SocketAddr,
        /// The proxy's admin listener (/metrics, /readyz); port 0: a free one, printed.
        #[arg(long, default_value = "127.0.0.1:0")]
        admin: SocketAddr,
        /// The demo host page, opened as http://localhost:PORT/.
        #[arg(long, default_value = "127.0.0.1:8081")]
        page: SocketAddr,
        /// The sandbox CallKeeper.
        #[arg(long, default_value = "127.0.0.1:8082")]
        sandbox: SocketAddr,
        /// The built widget.
        #[arg(long, default_value = "dist")]
        assets: PathBuf,
        /// The lead store.
        #[arg(long, default_value = "callback-demo.db")]
        database: PathBuf,
        /// Sandbox speed: 1.0 runs calls in real seconds.
        #[arg(long, default_value_t = 1.0)]
        time_scale: f64,
    },
}

#[derive(Debug, Subcommand)]
enum LeadsAction {
    /// The newest leads, phone numbers masked.
    List {
        /// Only leads in this state (received, queued, sending, ordered,
        /// scheduled, in_progress, succeeded, failed, halted).
        #[arg(long)]
        state: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// All leads as CSV on standard output (or into --output).
    Export {
        /// Only leads in this state.
        #[arg(long)]
        state: Option<String>,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Put leads halted by a configuration or account problem back in line,
    /// once the problem is fixed. The running proxy sends them.
    Resend {
        /// One lead by id.
        #[arg(
            long,
            conflicts_with = "all_halted",
            required_unless_present = "all_halted"
        )]
        id: Option<String>,
        /// Every halted lead.
        #[arg(long)]
        all_halted: bool,
        /// Also resend leads CallKeeper already has a call id for (the
        /// visitor may be called twice).
        #[arg(long)]
        force: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The doctor's report is all it prints: no log lines among its checks.
    if !matches!(cli.command, Command::Doctor { .. }) {
        tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "info,tower_http=warn,sqlx=warn".into()),
            )
            .init();
    }
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    match cli.command {
        Command::CheckConfig { config } => {
            let loaded = Config::load(&config)?;
            println!(
                "{} is valid (with any PROXY_… overrides from the environment):",
                config.display()
            );
            for line in loaded.summary().lines() {
                println!("  {line}");
            }
            for warning in loaded.warnings() {
                eprintln!("warning: {warning}");
            }
            if let Some(refusal) = loaded.console.refusal(loaded.admin_listen) {
                anyhow::bail!("`serve` would refuse to start: {refusal}");
            }
            Ok(())
        }
        Command::Init {
            config,
            site,
            origins,
            unique,
            whash,
            walias,
            upstream,
            public_url,
            listen,
            admin_listen,
            database,
            key_file,
            key_out,
            force,
        } => {
            let written = init::run(InitOptions {
                config,
                site,
                origins,
                unique,
                whash,
                walias,
                upstream,
                public_url,
                listen,
                admin_listen,
                database,
                key_file,
                key_out,
                force,
            })?;
            println!(
                "Wrote {} and the Profile key to {} (readable by you only).",
                written.config.display(),
                written.key_file.display()
            );
            println!(
                "\nPaste this before </body> on the site's pages:\n  {}",
                written.script_tag
            );
            println!(
                "\nIf the site sends a Content-Security-Policy, add the proxy to it:\n  {}",
                written.csp.join("\n  ")
            );
            println!(
                "\nNext: proxy doctor --config {0} (checks the account), then proxy serve --config {0}.",
                written.config.display()
            );
            Ok(())
        }
        Command::AdminPassword => {
            let interactive = stdin_is_terminal();
            let password = init::read_secret(
                "The console password",
                "no password on standard input",
                interactive,
            )?;
            let password = secrecy::ExposeSecret::expose_secret(&password);
            anyhow::ensure!(
                password.chars().count() >= 10,
                "use a password of at least 10 characters: the console shows visitors' numbers"
            );
            println!("{}", proxy::console::hash_password(password)?);
            eprintln!(
                "Put it in the config: [[console.accounts]] password_hash = \"…\" (the line above)."
            );
            Ok(())
        }
        Command::Doctor { config } => {
            let report = proxy::doctor::examine(&config).await;
            println!("{report}");
            anyhow::ensure!(report.passed(), "not every check passed (the report above)");
            Ok(())
        }
        Command::Leads { config, action } => leads(&Config::load(&config)?, action).await,
        Command::Serve { config: path } => {
            #[cfg(unix)]
            let hangups = proxy::reload::Hangups::catch()?;
            let config = Config::load(&path)?;
            let listener = tokio::net::TcpListener::bind(config.listen).await?;
            let app = Application::build(config, listener).await?;
            tracing::info!(addr = %app.local_addr()?, admin = %app.admin_addr()?, "proxy listening");
            cancel_on_signal(shutdown.clone());
            #[cfg(unix)]
            hangups.reload_with(app.reloader(path), shutdown.clone());
            app.run_until_stopped(shutdown).await
        }
        Command::Demo {
            api,
            admin,
            page,
            sandbox,
            assets,
            database,
            time_scale,
        } => {
            let demo = demo::start(DemoOptions {
                api,
                admin,
                page,
                sandbox,
                assets,
                database,
                time_scale,
                poll_interval: Duration::from_millis(1000),
            })
            .await?;
            println!("\nDemo running.");
            println!("  Open the demo page:   {}", demo.page_url);
            println!("  Proxy API:            {}", demo.api_url);
            println!(
                "  Owner's console:      {}/console/ (loopback: no login)",
                demo.admin_url
            );
            println!(
                "  Admin (metrics):      {}/metrics, {}/readyz",
                demo.admin_url, demo.admin_url
            );
            println!("  Sandbox CallKeeper:   {}", demo.sandbox_url);
            println!(
                "  Phone numbers ending in 00 end busy, 01 unanswered; see README for the rest."
            );
            println!("Press Ctrl-C to stop.\n");
            cancel_on_signal(demo.shutdown.clone());
            demo.proxy.await?
        }
    }
}

async fn leads(config: &Config, action: LeadsAction) -> anyhow::Result<()> {
    let store = Store::connect(&config.store).await?;
    let parse_state = |state: Option<String>| -> anyhow::Result<Option<LeadState>> {
        state
            .map(|s| {
                s.parse::<LeadState>()
                    .map_err(|_| anyhow::anyhow!("unknown state {s:?}"))
            })
            .transpose()
    };
    match action {
        LeadsAction::List { state, limit } => {
            operator::list(
                &store,
                parse_state(state)?,
                limit,
                &mut std::io::stdout().lock(),
            )
            .await?;
        }
        LeadsAction::Export { state, output } => {
            let filter = proxy::store::LeadFilter {
                state: parse_state(state)?,
                ..proxy::store::LeadFilter::default()
            };
            let count = match output {
                Some(path) => {
                    let mut file = std::io::BufWriter::new(operator::create_private_file(&path)?);
                    operator::export_csv(&store, &filter, &mut file).await?
                }
                None => {
                    operator::export_csv(&store, &filter, &mut std::io::stdout().lock()).await?
                }
            };
            eprintln!("exported {count} lead(s)");
        }
        LeadsAction::Resend {
            id,
            all_halted: _,
            force,
        } => {
            let resent = operator::resend(
                &store,
                id.as_deref(),
                config.upstream_deadline,
                force,
                &SystemClock,
            )
            .await?;
            println!(
                "{} halted lead(s) queued again; the running proxy sends them within a second",
                resent.queued
            );
            if resent.already_ordered > 0 && !force {
                eprintln!(
                    "{} halted lead(s) not resent: CallKeeper already has a call for them, so \
                     the visitor may have been called; check in CallKeeper, then resend with --force",
                    resent.already_ordered
                );
            }
        }
    }
    Ok(())
}

/// Whether standard input is a terminal (then the password is asked for).
fn stdin_is_terminal() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stdin())
}
