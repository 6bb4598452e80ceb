//! The release archive, installed as a site owner installs it: unpacked in
//! an empty directory with no repository and no `dist/` around, `proxy
//! init` with flags (the key on standard input) against the sandbox
//! CallKeeper, `proxy doctor`, `proxy serve`, and a visitor on a page that
//! carries exactly the script tag and CSP `init` printed, to a succeeded
//! call, with the widget served from inside the binary.
//!
//! It needs the archive (`cargo xtask dist`), so it is ignored by a plain
//! `cargo test`; `cargo xtask test` builds the archive and runs it with
//! `CALLBACK_PROXY_ARCHIVE` naming it.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use axum::response::Html;
use callkeeper::sandbox::{
    DEMO_API_KEY, DEMO_UNIQUE, DEMO_WHASH, RunningSandbox, Sandbox, SandboxConfig,
};
use e2e::{Browser, SHADOW};
use fantoccini::Locator;

/// The demo page, whose snippet and CSP are replaced by what `init` printed.
const DEMO_PAGE: &str = include_str!("../../www/demo/index.html");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the release archive: cargo xtask test builds it and runs this test"]
async fn the_archive_installs_with_init_passes_doctor_and_serves_a_call() -> Result<()> {
    let archive = PathBuf::from(std::env::var_os("CALLBACK_PROXY_ARCHIVE").context(
        "CALLBACK_PROXY_ARCHIVE must name the archive `cargo xtask dist` writes (cargo xtask test sets it)",
    )?);
    let home = tempfile::tempdir()?;
    let proxy_dir = unpack(&archive, home.path())?;
    let binary = proxy_dir.join("callback-proxy");
    for file in [
        "proxy.example.toml",
        "callback-proxy.service",
        "nginx-callback-proxy.conf",
        "INSTALL.txt",
    ] {
        ensure!(proxy_dir.join(file).is_file(), "the archive lacks {file}");
    }
    ensure!(
        !proxy_dir.join("dist").exists() && !home.path().join("dist").exists(),
        "no dist/ may be around: the widget must come from the binary"
    );

    // The sandbox 100× faster than real time; the page on `localhost`, the
    // proxy on 127.0.0.1: two sites, as on the web.
    let sandbox: RunningSandbox = Sandbox::new(SandboxConfig {
        time_scale: 0.01,
        ..SandboxConfig::demo()
    })
    .spawn("127.0.0.1:0".parse()?)
    .await?;
    let page_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let page_origin = format!("http://localhost:{}", page_listener.local_addr()?.port());
    let api = free_addr()?;
    let admin = free_addr()?;
    let public_url = format!("http://{api}/");

    let init = run_with_stdin(
        Command::new(&binary)
            .args(["init", "--site", "shop", "--origin", &page_origin])
            .args(["--unique", DEMO_UNIQUE, "--whash", DEMO_WHASH])
            .args(["--upstream", sandbox.url().as_str()])
            .args(["--public-url", &public_url])
            .args(["--listen", &api.to_string()])
            .args(["--admin-listen", &admin.to_string()])
            .current_dir(&proxy_dir),
        &format!("{DEMO_API_KEY}\n"),
    )?;
    let said = String::from_utf8_lossy(&init.stdout).into_owned();
    ensure!(
        init.status.success(),
        "proxy init failed: {said}{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let script_tag = line_starting(&said, "<script ")?;
    let script_src = line_starting(&said, "script-src ")?;
    let connect_src = line_starting(&said, "connect-src ")?;
    let key_mode = std::fs::metadata(proxy_dir.join("callkeeper-shop.key"))?
        .permissions()
        .mode();
    ensure!(
        key_mode & 0o777 == 0o600,
        "the key file's mode is {key_mode:o}"
    );
    let config = std::fs::read_to_string(proxy_dir.join("proxy.toml"))?;
    ensure!(
        !config.contains(DEMO_API_KEY),
        "the key must not be in the config"
    );
    // A second init does not overwrite what the first wrote.
    let again = run_with_stdin(
        Command::new(&binary)
            .args(["init", "--site", "shop", "--origin", &page_origin])
            .args(["--unique", DEMO_UNIQUE, "--whash", DEMO_WHASH])
            .args(["--public-url", &public_url])
            .current_dir(&proxy_dir),
        &format!("{DEMO_API_KEY}\n"),
    )?;
    ensure!(
        !again.status.success()
            && String::from_utf8_lossy(&again.stderr).contains("without --force"),
        "a second init must refuse to overwrite: {}",
        String::from_utf8_lossy(&again.stderr)
    );

    let check = run(&binary, &["check-config", "proxy.toml"], &proxy_dir)?;
    ensure!(
        check.status.success(),
        "check-config: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    ensure!(
        String::from_utf8_lossy(&check.stdout).contains("built into this binary"),
        "the config must serve the widget inside the binary: {}",
        String::from_utf8_lossy(&check.stdout)
    );

    // Before `serve`, only the public URL can fail.
    let doctor = run(&binary, &["doctor", "--config", "proxy.toml"], &proxy_dir)?;
    let report = String::from_utf8_lossy(&doctor.stdout).into_owned();
    ensure!(
        !doctor.status.success()
            && report.contains("FAIL  public URL")
            && report.contains("1 of 9 checks did not pass"),
        "before serve, doctor should fail the public URL only:\n{report}"
    );

    let _proxy = Running(
        Command::new(&binary)
            .args(["serve", "--config", "proxy.toml"])
            .current_dir(&proxy_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting proxy serve")?,
    );
    wait_until_healthy(&public_url).await?;

    let doctor = run(&binary, &["doctor", "--config", "proxy.toml"], &proxy_dir)?;
    let report = String::from_utf8_lossy(&doctor.stdout).into_owned();
    ensure!(
        doctor.status.success() && report.contains("All 9 checks passed."),
        "doctor should pass with the proxy running:\n{report}"
    );

    // The loader, from memory, with its brotli twin as a browser asks.
    let loader = reqwest::Client::new()
        .get(format!("{public_url}widget.js"))
        .header("Accept-Encoding", "br")
        .send()
        .await?;
    ensure!(loader.status() == 200, "widget.js: {}", loader.status());
    ensure!(
        loader
            .headers()
            .get("content-encoding")
            .is_some_and(|v| v == "br"),
        "the embedded widget.js has a brotli twin: {:?}",
        loader.headers()
    );

    // The site owner's page: the demo page with init's snippet and CSP.
    let page = DEMO_PAGE
        .lines()
        .map(|line| {
            if line.contains("{{WIDGET_SRC}}") {
                format!("  {script_tag}")
            } else if line.contains("Content-Security-Policy") {
                format!(
                    "  <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'; {script_src} {connect_src} style-src 'self'\">"
                )
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let page_app = axum::Router::new().fallback(move || {
        let page = page.clone();
        async move { Html(page) }
    });
    tokio::spawn(async move { axum::serve(page_listener, page_app).await });

    let browser = Browser::start().await?;
    let outcome = order_a_call(&browser, &format!("{page_origin}/")).await;
    if outcome.is_err() {
        browser.screenshot("install-failed").await?;
    }
    let errors = browser.page_errors().await.unwrap_or_default();
    browser.close().await?;
    ensure!(errors.is_empty(), "the page logged errors: {errors:?}");
    let state = outcome?;
    ensure!(state == "succeeded", "the call ended {state}");
    Ok(())
}

/// A visitor opens the widget, leaves a number and waits for the call's end.
async fn order_a_call(browser: &Browser, page: &str) -> Result<String> {
    browser.client.goto(page).await?;
    browser.record_errors().await?;
    browser
        .wait_for(&format!(
            "document.querySelector('[data-callback-widget]') && {SHADOW}.querySelector('button.launcher')"
        ))
        .await
        .context("the widget's launcher never appeared")?;
    let root = browser.widget_root().await?;
    e2e::click(&root, "button.launcher").await?;
    root.find(Locator::Css("input[type=tel]"))
        .await?
        .send_keys("(999) 123-45-67")
        .await?;
    e2e::click(&root, "form button[type=submit]").await?;
    browser.wait_for_final_state().await
}

/// Unpacks `archive` into `into` with tar, as a site owner would, and
/// returns the one directory it holds.
fn unpack(archive: &Path, into: &Path) -> Result<PathBuf> {
    let status = Command::new("tar")
        .arg("xzf")
        .arg(archive)
        .arg("-C")
        .arg(into)
        .status()?;
    ensure!(status.success(), "tar xzf {} failed", archive.display());
    let entries: Vec<PathBuf> = std::fs::read_dir(into)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    match entries.as_slice() {
        [dir] if dir.is_dir() => Ok(dir.clone()),
        other => bail!("the archive should hold one directory, not {other:?}"),
    }
}

fn run(binary: &Path, args: &[&str], dir: &Path) -> Result<Output> {
    Command::new(binary)
        .args(args)
        .current_dir(dir)
        .output()
        .with_context(|| format!("running proxy {args:?}"))
}

fn run_with_stdin(command: &mut Command, input: &str) -> Result<Output> {
    use std::io::Write;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running proxy init")?;
    child
        .stdin
        .take()
        .context("standard input")?
        .write_all(input.as_bytes())?;
    Ok(child.wait_with_output()?)
}

/// The first line of `text` that starts with `prefix` (after indentation).
fn line_starting(text: &str, prefix: &str) -> Result<String> {
    text.lines()
        .map(str::trim)
        .find(|line| line.starts_with(prefix))
        .map(str::to_owned)
        .with_context(|| format!("proxy init printed no line starting {prefix:?}:\n{text}"))
}

fn free_addr() -> Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

async fn wait_until_healthy(public_url: &str) -> Result<()> {
    let started = Instant::now();
    loop {
        let answer = reqwest::get(format!("{public_url}healthz")).await;
        if answer.is_ok_and(|response| response.status().is_success()) {
            return Ok(());
        }
        if started.elapsed() > e2e::WAIT {
            bail!("proxy serve did not answer /healthz within {:?}", e2e::WAIT);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A child process killed when the test ends, passed or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
