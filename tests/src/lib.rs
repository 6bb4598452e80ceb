//! End-to-end test harness: the real demo (proxy, demo host page and sandbox
//! CallKeeper on port 0) and a headless Chromium driven through ChromeDriver.
//!
//! Waiting is done by the browser: [`Browser::wait_for`] runs a condition on
//! every animation frame inside the page and returns when it holds, bounded by
//! the WebDriver script timeout. Nothing here sleeps for a fixed time.

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder};
use proxy::clock::{Clock, SystemClock};
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
        admin: any,
        page: any,
        sandbox: any,
        assets: widget_dist(),
        database: store_dir.path().join("leads.db"),
        time_scale: 0.01,
        poll_interval: Duration::from_millis(50),
    })
    .await
}

/// Like [`start_demo`], with the sandbox at `time_scale`, more keys for the
/// demo site's `[sites.demo]` table (opening hours, offices, limits, …) and
/// the proxy's clock (`None`: the real time).
pub async fn start_demo_with(
    store_dir: &tempfile::TempDir,
    time_scale: f64,
    site_extra: &str,
    clock: Option<Arc<dyn Clock>>,
) -> Result<Demo> {
    let options = DemoOptions {
        assets: widget_dist(),
        ..DemoOptions::ephemeral(store_dir.path(), time_scale, Duration::from_millis(50))
    };
    demo::start_with(
        options,
        site_extra,
        clock.unwrap_or_else(|| Arc::new(SystemClock)),
    )
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
    /// Starts ChromeDriver on a free port and opens a headless session in a
    /// 1280×800 desktop window.
    pub async fn start() -> Result<Self> {
        Self::start_as(None).await
    }

    /// Like [`Browser::start`], as a phone: Chrome's mobile emulation of a
    /// 390×844 touch screen at 3× (an iPhone 12-sized viewport).
    pub async fn start_mobile() -> Result<Self> {
        Self::start_as(Some(json!({
            "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3.0, "touch": true},
            "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
        })))
        .await
    }

    async fn start_as(mobile_emulation: Option<Value>) -> Result<Self> {
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
        let mut capabilities = capabilities;
        if let Some(emulation) = mobile_emulation {
            capabilities["goog:chromeOptions"]["mobileEmulation"] = emulation;
        }
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

    /// Runs axe-core (npm, [`axe_core_script`]) on the whole page and
    /// returns its serious and critical violations, one line each (rule,
    /// impact, help, where): an accessible page gives none.
    pub async fn serious_accessibility_violations(&self) -> Result<Vec<String>> {
        self.eval(&format!("{}\n;return true;", axe_core_script()?))
            .await?;
        let violations = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                   .then(r => done(r.violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
                   .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await?;
        Ok(serde_json::from_value(violations)?)
    }

    /// Presses and releases `key` (a character, or a [`Key`] such as
    /// `Key::Tab`) on whatever has focus, as a keyboard does; `shift` holds
    /// Shift meanwhile.
    pub async fn press(&self, key: impl Into<char>, shift: bool) -> Result<()> {
        let key = key.into();
        let mut keys = KeyActions::new("keyboard".to_owned());
        if shift {
            keys = keys.then(KeyAction::Down {
                value: Key::Shift.into(),
            });
        }
        keys = keys
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        if shift {
            keys = keys.then(KeyAction::Up {
                value: Key::Shift.into(),
            });
        }
        self.client.perform_actions(keys).await?;
        Ok(())
    }

    /// Types `text` into whatever has focus, key by key.
    pub async fn type_text(&self, text: &str) -> Result<()> {
        let mut keys = KeyActions::new("keyboard".to_owned());
        for c in text.chars() {
            keys = keys
                .then(KeyAction::Down { value: c })
                .then(KeyAction::Up { value: c });
        }
        self.client.perform_actions(keys).await?;
        Ok(())
    }

    /// Waits until the widget has mounted and shows its launcher.
    pub async fn wait_for_widget(&self) -> Result<()> {
        self.wait_for(&format!(
            "document.querySelector('[data-callback-widget]') && {SHADOW}.querySelector('.cbw.ready')"
        ))
        .await?;
        Ok(())
    }

    /// Loads `url`, waits for the widget, and returns its shadow root.
    pub async fn widget_on(&self, url: &str) -> Result<fantoccini::elements::ShadowRoot> {
        self.client.goto(url).await?;
        self.wait_for_widget().await?;
        self.widget_root().await
    }

    /// The widget's shadow root on the current page.
    pub async fn widget_root(&self) -> Result<fantoccini::elements::ShadowRoot> {
        let host = self
            .client
            .find(fantoccini::Locator::Css("[data-callback-widget]"))
            .await?;
        Ok(host.shadow_root().await?)
    }

    /// Runs `script` (JS) with `root` bound to the widget's shadow root, and
    /// returns its value.
    pub async fn in_widget(&self, script: &str) -> Result<Value> {
        self.eval(&format!("const root = {SHADOW}; {script}")).await
    }

    /// Sends a Chrome DevTools Protocol command (`Emulation.setCPUThrottlingRate`,
    /// say) through ChromeDriver's `goog/cdp/execute` endpoint, and returns
    /// its result. WebDriver has no such command; fantoccini sends any
    /// endpoint a driver has ([`fantoccini::wd::WebDriverCompatibleCommand`]).
    pub async fn cdp(&self, command: &str, params: Value) -> Result<Value> {
        let cdp = Cdp {
            body: json!({"cmd": command, "params": params}).to_string(),
        };
        self.client
            .issue_cmd(cdp)
            .await
            .with_context(|| format!("CDP {command}"))
    }

    /// Starts recording the page's uncaught errors and unhandled rejections,
    /// as `www/test/probe.js` does from a test page's first moment (for a
    /// page without it, such as the demo's); read back with
    /// [`Browser::page_errors`].
    pub async fn record_errors(&self) -> Result<()> {
        self.eval(
            "const p = window.__probe = window.__probe || {};
             if (!p.errors) {
               p.errors = [];
               addEventListener('error', e => p.errors.push('error: ' + e.message));
               addEventListener('unhandledrejection', e =>
                 p.errors.push('unhandledrejection: ' + (e.reason && e.reason.stack || e.reason)));
             }",
        )
        .await?;
        Ok(())
    }

    /// The uncaught errors and unhandled rejections on the page so far (see
    /// [`Browser::record_errors`]): the widget must cause none.
    pub async fn page_errors(&self) -> Result<Vec<String>> {
        let errors = self
            .eval("return (window.__probe && window.__probe.errors) || ['not recorded']")
            .await?;
        Ok(serde_json::from_value(errors)?)
    }

    /// Starts recording every `data-state` the widget's dialog takes (read
    /// back with [`Browser::recorded_states`]).
    pub async fn record_states(&self) -> Result<()> {
        self.in_widget(
            "const dialog = root.querySelector('.dialog');
             window.__states = [dialog.dataset.state];
             new MutationObserver(() => {
               const s = dialog.dataset.state;
               if (window.__states[window.__states.length - 1] !== s) window.__states.push(s);
             }).observe(dialog, { attributes: true, attributeFilter: ['data-state'] });",
        )
        .await?;
        Ok(())
    }

    /// The states recorded since [`Browser::record_states`], repeats removed.
    pub async fn recorded_states(&self) -> Result<Vec<String>> {
        Ok(serde_json::from_value(
            self.eval("return window.__states").await?,
        )?)
    }

    /// Waits until the dialog's `data-state` is `state`.
    pub async fn wait_for_state(&self, state: &str) -> Result<()> {
        let waited = self
            .wait_for(&format!(
                "{SHADOW}.querySelector('.dialog').dataset.state === {state:?}"
            ))
            .await;
        if let Err(error) = waited {
            let seen = self.what_the_widget_says().await;
            return Err(error.context(format!("waiting for the state {state}; the widget: {seen}")));
        }
        Ok(())
    }

    /// Waits until the dialog's state is final and returns it.
    pub async fn wait_for_final_state(&self) -> Result<String> {
        let waited = self
            .wait_for(&format!(
                "(() => {{ const s = {SHADOW}.querySelector('.dialog').dataset.state; return (s === 'succeeded' || s === 'failed') && s; }})()"
            ))
            .await;
        match waited {
            Ok(state) => Ok(state.as_str().unwrap_or_default().to_owned()),
            Err(error) => {
                let seen = self.what_the_widget_says().await;
                Err(error.context(format!("waiting for a final state; the widget: {seen}")))
            }
        }
    }

    /// The widget's state and every message it shows, for a failure's report.
    async fn what_the_widget_says(&self) -> Value {
        self.in_widget(
            "return { state: root.querySelector('.dialog').dataset.state,
                      said: [...root.querySelectorAll('p')].map(p => p.textContent).filter(t => t) }",
        )
        .await
        .unwrap_or(Value::Null)
    }

    /// The text of the first element matching `selector` in the widget.
    pub async fn widget_text(&self, selector: &str) -> Result<String> {
        let text = self
            .in_widget(&format!(
                "return root.querySelector({selector:?}).textContent"
            ))
            .await?;
        Ok(text.as_str().unwrap_or_default().to_owned())
    }

    /// The id (or, without one, the class) of what has focus in the widget,
    /// `""` when focus is elsewhere.
    pub async fn focused(&self) -> Result<String> {
        let id = self
            .in_widget("const a = root.activeElement; return a ? (a.id || a.className) : ''")
            .await?;
        Ok(id.as_str().unwrap_or_default().to_owned())
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

/// ChromeDriver's `POST /session/{id}/goog/cdp/execute` with `{cmd, params}`.
#[derive(Debug)]
struct Cdp {
    body: String,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.clone()))
    }
}

/// axe-core's script: `AXE_CORE_JS` (set by `cargo xtask test`), else where
/// `cargo xtask test` installs it in the default target directory.
pub fn axe_core_script() -> Result<String> {
    let path = std::env::var_os("AXE_CORE_JS").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../target/tools/node_modules/axe-core/axe.min.js")
        },
        PathBuf::from,
    );
    std::fs::read_to_string(&path).with_context(|| {
        format!(
            "axe-core not found at {}; `cargo xtask test` installs it",
            path.display()
        )
    })
}

/// Clicks the element `selector` finds in the widget's shadow root.
pub async fn click(root: &fantoccini::elements::ShadowRoot, selector: &str) -> Result<()> {
    root.find(fantoccini::Locator::Css(selector))
        .await?
        .click()
        .await?;
    Ok(())
}

/// The end-to-end host page (`www/test/host.html`) on the demo's page
/// server, landed on with UTM tags.
pub fn host_page(demo: &Demo) -> String {
    format!(
        "{}test/host.html?utm_source=e2e&utm_campaign=spring",
        demo.page_url
    )
}

/// JS: the launcher in the widget's shadow root, when it is there.
pub const LAUNCHER: &str = "document.querySelector('[data-callback-widget]') && document.querySelector('[data-callback-widget]').shadowRoot.querySelector('button.launcher')";

/// JS that returns the widget's shadow root.
pub const SHADOW: &str = "document.querySelector('[data-callback-widget]').shadowRoot";
