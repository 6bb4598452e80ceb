//! End-to-end test harness: the real demo (proxy, demo host page and sandbox
//! CallKeeper on port 0) and a headless Chromium driven through ChromeDriver.
//!
//! Waiting is done by the browser: [`Browser::wait_for`] runs a condition on
//! every animation frame inside the page and returns when it holds, bounded by
//! the WebDriver script timeout. Nothing here sleeps for a fixed time.

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fantoccini::{Client, ClientBuilder};
use proxy::demo::{self, Demo, DemoOptions};
use serde_json::{Value, json};

/// How long any one wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// Starts the demo on free ports with a fresh store; the sandbox runs calls
/// a hundred times faster than real time.
pub async fn start_demo(store_dir: &tempfile::TempDir) -> Result<Demo> {
    let any = "127.0.0.1:0".parse()?;
    demo::start(DemoOptions {
        api: any,
        page: any,
        sandbox: any,
        assets: widget_dist(),
        database: store_dir.path().join("leads.db"),
        time_scale: 0.01,
        poll_interval: Duration::from_millis(50),
    })
    .await
}

/// The built widget: `WIDGET_DIST`, or `dist/` at the workspace root.
pub fn widget_dist() -> PathBuf {
    std::env::var_os("WIDGET_DIST").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dist"),
        PathBuf::from,
    )
}

/// Where tests save screenshots for a person to look at.
pub fn output_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("output");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// A headless Chromium session; the ChromeDriver process ends with it.
#[derive(Debug)]
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    driver: Child,
}

impl Browser {
    /// Starts ChromeDriver on a free port and opens a headless session.
    pub async fn start() -> Result<Self> {
        let port = StdListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting chromedriver (run `cargo xtask test`, which installs it)")?;
        let mut browser_guard = DriverGuard(Some(driver));
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": chromium_binary(),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--window-size=1280,800"
                ]
            }
        });
        let Value::Object(capabilities) = capabilities else {
            bail!("capabilities are an object")
        };
        let url = format!("http://127.0.0.1:{port}");
        // ChromeDriver takes a moment to listen; retry the connection for a bounded time.
        let started = Instant::now();
        let client = loop {
            let attempt =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(capabilities.clone())
                    .connect(&url)
                    .await;
            match attempt {
                Ok(client) => break client,
                Err(error) if started.elapsed() > WAIT => {
                    return Err(error).context("connecting to chromedriver");
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        client
            .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
                Some(WAIT),
                Some(WAIT),
                Some(Duration::ZERO),
            ))
            .await?;
        let driver = browser_guard.0.take().context("driver process")?;
        Ok(Self { client, driver })
    }

    /// Runs `condition` (a JS expression) in the page on every animation frame
    /// until it is truthy, and returns its value. Fails after [`WAIT`].
    pub async fn wait_for(&self, condition: &str) -> Result<Value> {
        let script = format!(
            "const done = arguments[arguments.length - 1];
             const check = () => {{
               let value; try {{ value = ({condition}); }} catch (e) {{ value = undefined; }}
               if (value) done(value); else requestAnimationFrame(check);
             }};
             check();"
        );
        self.client
            .execute_async(&script, vec![])
            .await
            .with_context(|| format!("waiting for `{condition}`"))
    }

    /// Runs JS in the page and returns its value.
    pub async fn eval(&self, script: &str) -> Result<Value> {
        Ok(self.client.execute(script, vec![]).await?)
    }

    /// Saves a screenshot under `tests/output/NAME.png`.
    pub async fn screenshot(&self, name: &str) -> Result<()> {
        let png = self.client.screenshot().await?;
        std::fs::write(output_dir().join(format!("{name}.png")), png)?;
        Ok(())
    }

    /// Ends the session and the driver.
    pub async fn close(mut self) -> Result<()> {
        let closed = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        closed.map_err(Into::into)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// Kills the driver if the session could not be opened.
struct DriverGuard(Option<Child>);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn chromium_binary() -> &'static str {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
    .unwrap_or("/usr/bin/chromium")
}

/// JS that returns the widget's shadow root.
pub const SHADOW: &str = "document.querySelector('[data-callback-widget]').shadowRoot";
