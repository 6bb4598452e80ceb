//! `callkeeper-sandbox`: serves the CallKeeper sandbox on a local address
//! for demos and manual testing. It prints the demo credentials (which are
//! public test values from the API document), never real ones.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use callkeeper::sandbox::{self, Sandbox, SandboxConfig};
use clap::Parser;

/// A local imitation of the CallKeeper API (api.callkeeper.ru).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on, e.g. 127.0.0.1:8089.
    #[arg(long, default_value = "127.0.0.1:8089")]
    listen: SocketAddr,
    /// TOML file with accounts and pace (see `SandboxConfig`); the demo account when absent.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Multiplies every duration: 1.0 = real time, 0.01 = 100× faster.
    #[arg(long)]
    time_scale: Option<f64>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("callkeeper-sandbox: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|err| format!("cannot read the config {}: {err}", path.display()))?;
            SandboxConfig::from_toml(&text).map_err(|err| format!("{}: {err}", path.display()))?
        }
        None => SandboxConfig::demo(),
    };
    if let Some(scale) = args.time_scale {
        config.time_scale = scale;
    }
    config.validate().map_err(|err| err.to_string())?;
    let time_scale = config.time_scale;
    let sandbox = Sandbox::new(config);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|err| {
            format!(
                "cannot listen on {}: {err} (is the port in use?)",
                args.listen
            )
        })?;
    let addr = listener.local_addr().map_err(|err| err.to_string())?;
    println!("CallKeeper sandbox listening on http://{addr}/ (time scale {time_scale})");
    if args.config.is_none() {
        println!("demo credentials:");
        println!("  unique  = {}", sandbox::DEMO_UNIQUE);
        println!("  apiak   = {}", sandbox::DEMO_API_KEY);
        println!("  whash   = {}", sandbox::DEMO_WHASH);
        println!("  walias  = {}", sandbox::DEMO_WALIAS);
        println!("  disabled whash (710) = {}", sandbox::DEMO_DISABLED_WHASH);
    }
    println!(
        "visitor numbers ending 00–09 end in failures (see callkeeper::sandbox docs); others succeed"
    );
    let app = sandbox
        .router()
        .into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            // If the signal handler cannot be installed, run until killed.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
        .await
        .map_err(|err| format!("the server failed: {err}"))
}
