//! `proxy doctor`: checks, with a config, everything a site owner tends to
//! get wrong, and says for each failure what to do in one sentence.
//!
//! In order: each site's key file readable by its owner only and its
//! `allowed_origins` spelled as origins (read from the file alone, so these
//! show even when the config does not load); the config as a whole; the
//! admin listener not public; then, per site, CallKeeper reachable, the
//! Profile key accepted (`getUserInfo`, with the balance), orders accepted
//! from this host and for this widget (an `orderCall` without a number, see
//! [`callkeeper::Client::check_ordering`]); and last the public URL serving
//! `widget.js` with the headers a page on another site needs.
//!
//! It orders no call, changes nothing and never prints the key. The proxy
//! need not be running, but the public URL check fails until it is.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use callkeeper::Error as UpstreamError;

use crate::config::Site;
use crate::config::{Config, site_file_checks};

/// How long one HTTP request of the doctor may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// All is well; what was seen.
    Pass(String),
    /// Something is wrong, and what to do about it.
    Fail {
        /// What is wrong.
        problem: String,
        /// One sentence: what to do.
        fix: String,
    },
    /// Not checked, because an earlier check failed (counts as not passed).
    Skipped(String),
}

/// One named check and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked, e.g. `sites.shop widget`.
    pub name: String,
    /// What it found.
    pub outcome: Outcome,
}

/// Every check, in the order they ran.
#[derive(Debug, Default)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    /// Whether every check passed (skipped ones did not).
    pub fn passed(&self) -> bool {
        self.checks
            .iter()
            .all(|check| matches!(check.outcome, Outcome::Pass(_)))
    }

    /// The check called `name`, if it ran.
    pub fn get(&self, name: &str) -> Option<&Outcome> {
        self.checks
            .iter()
            .find(|check| check.name == name)
            .map(|check| &check.outcome)
    }

    fn pass(&mut self, name: impl Into<String>, seen: impl Into<String>) {
        self.push(name, Outcome::Pass(seen.into()));
    }

    fn fail(
        &mut self,
        name: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.push(
            name,
            Outcome::Fail {
                problem: problem.into(),
                fix: fix.into(),
            },
        );
    }

    fn skip(&mut self, name: impl Into<String>, why: impl Into<String>) {
        self.push(name, Outcome::Skipped(why.into()));
    }

    fn push(&mut self, name: impl Into<String>, outcome: Outcome) {
        self.checks.push(Check {
            name: name.into(),
            outcome,
        });
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            match &check.outcome {
                Outcome::Pass(seen) => writeln!(f, "ok    {}: {seen}", check.name)?,
                Outcome::Fail { problem, fix } => {
                    writeln!(f, "FAIL  {}: {problem}", check.name)?;
                    writeln!(f, "      fix: {fix}")?;
                }
                Outcome::Skipped(why) => writeln!(f, "skip  {}: {why}", check.name)?,
            }
        }
        let failed = self
            .checks
            .iter()
            .filter(|check| !matches!(check.outcome, Outcome::Pass(_)))
            .count();
        if failed == 0 {
            write!(f, "All {} checks passed.", self.checks.len())
        } else {
            write!(
                f,
                "{failed} of {} checks did not pass: fix the first one and run proxy doctor again.",
                self.checks.len()
            )
        }
    }
}

/// Runs every check on the config file at `path`.
pub async fn examine(path: &Path) -> Report {
    let mut report = Report::default();
    let file_checks_passed = file_checks(path, &mut report);
    let config = match Config::load(path) {
        Ok(config) => config,
        Err(error) if file_checks_passed => {
            report.fail(
                "config",
                error.to_string(),
                "correct the key the message names (proxy check-config shows the same).",
            );
            return report;
        }
        Err(_) => {
            report.skip("config", "not loaded until the problems above are fixed");
            return report;
        }
    };
    report.pass(
        "config",
        format!(
            "{} loads, with {} site(s)",
            path.display(),
            config.sites.len()
        ),
    );
    admin_listener(&config, &mut report);
    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("the TLS backend initialises (no outside input is involved)");
    let mut ids: Vec<&String> = config.sites.keys().collect();
    ids.sort();
    for id in ids {
        upstream(&config.sites[id], &http, &mut report).await;
    }
    public_url(&config, &http, &mut report).await;
    report
}

/// The key files' modes and the origins, from the file alone. Whether they all passed.
fn file_checks(path: &Path, report: &mut Report) -> bool {
    let sites = match site_file_checks(path) {
        Ok(sites) => sites,
        // The config check reports why the file cannot be read.
        Err(_) => return true,
    };
    let mut all_passed = true;
    for site in sites {
        let id = &site.site;
        match site.key_file {
            Some((file, Ok(()))) => report.pass(
                format!("sites.{id} key file"),
                format!("{} is readable by its owner only", file.display()),
            ),
            Some((file, Err(problem))) => {
                all_passed = false;
                report.fail(
                    format!("sites.{id} key file"),
                    problem,
                    format!(
                        "run chmod 600 {} and make the proxy's user its owner (chown), so no other \
                         account on the server can read the key",
                        file.display()
                    ),
                );
            }
            None => report.pass(
                format!("sites.{id} key file"),
                "the key does not come from a file this proxy checks (api_key_env, or allow_readable_key_file)",
            ),
        }
        match site.origins {
            Ok(origins) => report.pass(
                format!("sites.{id} allowed origins"),
                format!("{} are origins", origins.join(", ")),
            ),
            Err(error) => {
                all_passed = false;
                report.fail(
                    format!("sites.{id} allowed origins"),
                    error.to_string(),
                    "write each one as the address bar shows the site, scheme, host and port only, \
                     like https://shop.example (no path, no trailing slash).",
                );
            }
        }
    }
    all_passed
}

/// The admin listener (`/metrics`, `/readyz`, the console) must not face
/// the internet, and off loopback its console needs accounts (else `serve`
/// refuses to start).
fn admin_listener(config: &Config, report: &mut Report) {
    let address = config.admin_listen;
    let name = "admin listener";
    let ip = address.ip();
    let refusal = config.console.refusal(address);
    if let (true, Some(refusal)) = (ip.is_loopback() || is_private(ip), refusal) {
        // `serve` would not start: say so here rather than after a deploy.
        report.fail(
            name,
            format!("admin_listen = {address}: the owners' console there needs a login"),
            refusal,
        );
    } else if ip.is_loopback() || is_private(ip) {
        report.pass(
            name,
            format!("{address} is reachable from this host or a private network only"),
        );
    } else {
        let which = if ip.is_unspecified() {
            "every address of this host, the public ones too"
        } else {
            "a public address"
        };
        report.fail(
            name,
            format!("admin_listen = {address} listens on {which}: anyone could read /metrics"),
            "set admin_listen = \"127.0.0.1:9090\", or an address of a private network your \
             monitoring reaches.",
        );
    }
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_link_local(),
        // fc00::/7, unique local addresses.
        IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// One site's CallKeeper: reachable, the key accepted, orders accepted from
/// this host for this widget.
async fn upstream(site: &Site, http: &reqwest::Client, report: &mut Report) {
    let id = &site.id;
    let base = &site.upstream;
    let reach = format!("sites.{id} upstream");
    let key = format!("sites.{id} credentials");
    let host = format!("sites.{id} host authorization");
    let widget = format!("sites.{id} widget");
    match http.get(base.clone()).send().await {
        Ok(response) => report.pass(
            &reach,
            format!("{base} answers (HTTP {})", response.status().as_u16()),
        ),
        Err(error) => {
            report.fail(
                &reach,
                format!("nothing answers at {base}: {}", error_chain(&error)),
                "check sites.NAME.upstream (https://api.callkeeper.ru unless you test against \
                 the sandbox), the server's DNS and that its firewall lets it connect out on that port.",
            );
            for name in [&key, &host, &widget] {
                report.skip(name, "CallKeeper is unreachable");
            }
            return;
        }
    }

    let client = callkeeper::Client::new(base.clone(), site.credentials.clone());
    let key_fix = "copy the Profile key from CallKeeper's personal account (the Profile tab) into \
                   the key file, or run proxy init --force again.";
    match client.get_user_info().await {
        Ok(user) => {
            let balance = user.balance_minutes.map_or_else(
                || "the answer shows no balance".to_owned(),
                |minutes| format!("balance {minutes} minutes"),
            );
            report.pass(&key, format!("getUserInfo accepts the Profile key; {balance}"));
        }
        Err(error @ (UpstreamError::UnknownUser | UpstreamError::WrongKey)) => {
            report.fail(
                &key,
                format!("CallKeeper does not know this Profile key ({error})"),
                key_fix,
            );
        }
        Err(error) => report.fail(
            &key,
            format!("getUserInfo failed: {error}"),
            "run proxy doctor again in a minute; if it persists, CallKeeper or the path to it has a problem.",
        ),
    }

    match client.check_ordering().await {
        Ok(()) => {
            report.pass(
                &host,
                "CallKeeper takes orders from this server (no 401 Unauthorized host)",
            );
            report.pass(
                &widget,
                format!(
                    "CallKeeper accepts {} with this key: an orderCall without a number was \
                     answered 409 Not enough values, and no call was ordered",
                    widget_name(&site.credentials.widget)
                ),
            );
        }
        Err(UpstreamError::UnauthorizedHost) => {
            report.fail(
                &host,
                "orderCall answered 401 Unauthorized host: the account takes orders only from \
                 the hosts listed in its settings, and this server is not one",
                "add this server's public IP address to the allowed hosts in CallKeeper's \
                 settings (or turn the host check off there).",
            );
            report.skip(
                &widget,
                "CallKeeper refused this host before looking at the widget",
            );
        }
        Err(error @ (UpstreamError::WrongKey | UpstreamError::MalformedKeyOrHash)) => {
            report.fail(
                &host,
                format!("orderCall refused the key ({error}): 403 means no account has it"),
                key_fix,
            );
            report.skip(
                &widget,
                "CallKeeper refused the key before looking at the widget",
            );
        }
        Err(error) => {
            report.pass(&host, "CallKeeper did not answer 401 Unauthorized host");
            let (problem, fix) = match &error {
                UpstreamError::WrongPair => (
                    format!(
                        "CallKeeper does not know {} on this account (424 Wrong pair whash or walias and apiak)",
                        widget_name(&site.credentials.widget)
                    ),
                    "copy the widget's hash (whash) from the widget's settings in CallKeeper's \
                     personal account into sites.NAME.whash, for the same account as the key.",
                ),
                UpstreamError::WidgetDisabled => (
                    format!(
                        "{} is disabled in CallKeeper (710)",
                        widget_name(&site.credentials.widget)
                    ),
                    "turn the widget on in CallKeeper's personal account, or use the hash of one that is on.",
                ),
                other => (
                    format!("orderCall without a number answered: {other}"),
                    "run proxy doctor again in a minute; if it persists, check the account in \
                     CallKeeper's personal account.",
                ),
            };
            report.fail(&widget, problem, fix);
        }
    }
}

fn widget_name(widget: &callkeeper::WidgetRef) -> String {
    match widget {
        callkeeper::WidgetRef::Hash(hash) => format!("widget whash {hash}"),
        callkeeper::WidgetRef::Alias(alias) => format!("widget walias {alias}"),
    }
}

/// The loader as a visitor's browser fetches it, through whatever is in front.
async fn public_url(config: &Config, http: &reqwest::Client, report: &mut Report) {
    let name = "public URL";
    let Some(base) = &config.public_url else {
        report.fail(
            name,
            "public_url is not set, so the widget's address cannot be checked",
            "set public_url to the address visitors' browsers reach the proxy at, like \
             https://callback.example.com/ (proxy init writes it).",
        );
        return;
    };
    let url = base
        .join("widget.js")
        .expect("a relative path joins onto an http URL");
    let response = match http
        .get(url.clone())
        .header(reqwest::header::ACCEPT_ENCODING, "identity")
        .send()
        .await
    {
        Ok(response) => response,
        Err(error) => {
            report.fail(
                name,
                format!("nothing answers at {url}: {}", error_chain(&error)),
                "start the proxy (proxy serve, or systemctl start callback-proxy) and make sure \
                 nginx passes this address to it.",
            );
            return;
        }
    };
    let status = response.status();
    let headers = response.headers();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut wrong = Vec::new();
    if !status.is_success() {
        wrong.push(format!("HTTP {} instead of 200", status.as_u16()));
    }
    let content_type = header("content-type");
    if !content_type.contains("javascript") {
        wrong.push(format!(
            "Content-Type {content_type:?} (browsers refuse a script that is not JavaScript)"
        ));
    }
    if header("access-control-allow-origin") != "*" {
        wrong.push("no Access-Control-Allow-Origin: * (pages of other sites need it)".to_owned());
    }
    if header("x-content-type-options") != "nosniff" {
        wrong.push("no X-Content-Type-Options: nosniff".to_owned());
    }
    if !header("cache-control").contains("max-age") {
        wrong.push(format!(
            "Cache-Control {:?} instead of a short max-age (new releases would not reach visitors)",
            header("cache-control")
        ));
    }
    if wrong.is_empty() {
        report.pass(
            name,
            format!("{url} serves the loader with the widget's headers"),
        );
    } else {
        report.fail(
            name,
            format!("{url}: {}", wrong.join("; ")),
            "let nginx pass the proxy's answers through unchanged (proxy_pass, without \
             proxy_hide_header or a default_type of its own for this location).",
        );
    }
}

/// An error with its causes, for a reader: "error sending request: connection refused".
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
