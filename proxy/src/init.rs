//! `proxy init`: writes a working `proxy.toml` and the Profile key's file
//! for one site, from flags (for scripts) or by asking in a terminal, and
//! says what to paste into the site.
//!
//! The key is read from standard input without echo (or from `--key-file`),
//! checked, and written to a file only its owner can read (mode 0600); the
//! config names that file and never holds the key. The config is checked by
//! the same loader as `proxy check-config` before `init` reports success,
//! and nothing existing is overwritten without `--force`.

use std::fmt::Write as _;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use callkeeper::{ApiKey, WidgetRef};
use secrecy::{ExposeSecret, SecretString};

use crate::config::Config;

/// CallKeeper's API, unless the site is tried against the sandbox.
pub const DEFAULT_UPSTREAM: &str = "https://api.callkeeper.ru";

/// What `proxy init` was told on its command line; what is missing is asked
/// for in a terminal.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The config file to write.
    pub config: PathBuf,
    /// The site's id (`data-site`).
    pub site: Option<String>,
    /// Origins of the pages that show the widget.
    pub origins: Vec<String>,
    /// The CallKeeper company name.
    pub unique: Option<String>,
    /// The CallKeeper widget's hash …
    pub whash: Option<String>,
    /// … or its alias.
    pub walias: Option<String>,
    /// CallKeeper's base URL.
    pub upstream: Option<String>,
    /// Where visitors' browsers reach the proxy.
    pub public_url: Option<String>,
    /// The public listener.
    pub listen: SocketAddr,
    /// The admin listener.
    pub admin_listen: SocketAddr,
    /// The lead store; next to the config when not given.
    pub database: Option<PathBuf>,
    /// Read the key from this file instead of standard input.
    pub key_file: Option<PathBuf>,
    /// Where to write the key; `callkeeper-SITE.key` next to the config when not given.
    pub key_out: Option<PathBuf>,
    /// Replace an existing config and key file.
    pub force: bool,
}

/// What `init` wrote, and what the site owner pastes.
#[derive(Debug)]
pub struct Written {
    /// The config file.
    pub config: PathBuf,
    /// The key file (mode 0600).
    pub key_file: PathBuf,
    /// The tag to paste before `</body>`.
    pub script_tag: String,
    /// Lines for a Content-Security-Policy.
    pub csp: Vec<String>,
}

/// Asks for what is missing, writes the key file and the config, and checks the config.
pub fn run(mut options: InitOptions) -> anyhow::Result<Written> {
    let interactive = rustix::termios::isatty(std::io::stdin());
    // Each answer locks standard input only while reading it: the key is read from it after.
    let ask = |what: &str, flag: &str, default: Option<&str>| -> anyhow::Result<String> {
        if !interactive {
            bail!("{flag} is missing (or run proxy init in a terminal to be asked)");
        }
        match default {
            Some(default) => eprint!("{what} [{default}]: "),
            None => eprint!("{what}: "),
        }
        std::io::stderr().flush()?;
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        let line = line.trim();
        Ok(if line.is_empty() {
            default.unwrap_or_default().to_owned()
        } else {
            line.to_owned()
        })
    };

    let site = match options.site.take() {
        Some(site) => site,
        None => ask(
            "Site id (a short name for data-site, like shop)",
            "--site",
            None,
        )?,
    };
    if options.origins.is_empty() {
        let answer = ask(
            "Origins of the site's pages, separated by spaces (like https://shop.example)",
            "--origin",
            None,
        )?;
        options.origins = answer.split_whitespace().map(str::to_owned).collect();
    }
    let unique = match options.unique.take() {
        Some(unique) => unique,
        None => ask("CallKeeper company name (unique)", "--unique", None)?,
    };
    let widget = match (options.whash.take(), options.walias.take()) {
        (Some(hash), None) => WidgetRef::hash(&hash).context("--whash")?,
        (None, Some(alias)) => WidgetRef::alias(&alias).context("--walias")?,
        (Some(_), Some(_)) => bail!("give --whash or --walias, not both"),
        (None, None) => WidgetRef::hash(&ask(
            "CallKeeper widget hash (whash, 32 hex characters from the widget's settings)",
            "--whash (or --walias)",
            None,
        )?)
        .context("the widget hash")?,
    };
    let upstream = match options.upstream.take() {
        Some(upstream) => upstream,
        None if interactive => ask("CallKeeper API", "--upstream", Some(DEFAULT_UPSTREAM))?,
        None => DEFAULT_UPSTREAM.to_owned(),
    };
    let public_url = match options.public_url.take() {
        Some(url) => url,
        None => ask(
            "The proxy's public address, where browsers fetch the widget (like https://callback.example.com/)",
            "--public-url",
            None,
        )?,
    };

    let config_dir = absolute_dir_of(&options.config)?;
    let key_file = options
        .key_out
        .clone()
        .unwrap_or_else(|| config_dir.join(format!("callkeeper-{site}.key")));
    let database = options
        .database
        .clone()
        .unwrap_or_else(|| config_dir.join("callback-proxy.db"));
    for existing in [&options.config, &key_file] {
        if existing.exists() && !options.force {
            bail!(
                "{} exists; proxy init does not overwrite it without --force",
                existing.display()
            );
        }
    }

    let key = match &options.key_file {
        Some(file) => SecretString::from(
            std::fs::read_to_string(file)
                .with_context(|| format!("reading the key from {}", file.display()))?
                .trim()
                .to_owned(),
        ),
        None => read_key(interactive)?,
    };
    ApiKey::parse(key.expose_secret()).context(
        "the CallKeeper Profile key (32 hexadecimal characters, from the Profile tab of CallKeeper's personal account)",
    )?;

    let text = config_text(&ConfigValues {
        config_name: &options.config.display().to_string(),
        site: &site,
        origins: &options.origins,
        unique: &unique,
        widget: &widget,
        upstream: &upstream,
        public_url: &public_url,
        listen: options.listen,
        admin_listen: options.admin_listen,
        database: &database,
        key_file: &key_file,
    });

    write_private(&key_file, key.expose_secret().as_bytes())?;
    // The same loader as `proxy check-config` and `proxy serve`.
    let checked = Config::parse(&text, |_| None);
    let config = match checked {
        Ok(config) => config,
        Err(error) => {
            let _ = std::fs::remove_file(&key_file);
            return Err(error).context("the values given do not make a valid config");
        }
    };
    std::fs::write(&options.config, &text)
        .with_context(|| format!("writing {}", options.config.display()))?;

    let public = config
        .public_url
        .expect("config_text always writes public_url");
    let (script_tag, csp) = install_snippet(&public, &site);
    Ok(Written {
        config: options.config,
        key_file,
        script_tag,
        csp,
    })
}

/// What a site owner adds to the site: the script tag for `site` loading
/// the widget from `public` (the proxy's `public_url`), and the
/// Content-Security-Policy lines that let it run. `proxy init` prints it and
/// the console's install page shows it.
pub fn install_snippet(public: &url::Url, site: &str) -> (String, Vec<String>) {
    let proxy_origin = public.origin().ascii_serialization();
    (
        format!(
            "<script src=\"{}\" data-site=\"{site}\" async></script>",
            public.join("widget.js").expect("a relative path joins")
        ),
        vec![
            format!("script-src {proxy_origin} 'wasm-unsafe-eval';"),
            format!("connect-src {proxy_origin};"),
        ],
    )
}

/// The Profile key from standard input: without echo in a terminal, else
/// the first line (`… | proxy init`).
fn read_key(interactive: bool) -> anyhow::Result<SecretString> {
    read_secret(
        "CallKeeper Profile key",
        "no Profile key on standard input (or give --key-file)",
        interactive,
    )
}

/// A secret from standard input: asked for as `what`, without echo in a
/// terminal; else the first line. `missing` is the error for an empty one.
pub fn read_secret(what: &str, missing: &str, interactive: bool) -> anyhow::Result<SecretString> {
    let stdin = std::io::stdin();
    let mut line = String::new();
    if interactive {
        eprint!("{what} (not shown as you type): ");
        std::io::stderr().flush()?;
        let _echo_off = EchoOff::new(&stdin)?;
        stdin.read_line(&mut line)?;
        eprintln!();
    } else {
        stdin.read_line(&mut line)?;
    }
    if line.trim().is_empty() {
        bail!("{missing}");
    }
    Ok(SecretString::from(line.trim().to_owned()))
}

/// Turns the terminal's echo off until dropped.
struct EchoOff<'a> {
    stdin: &'a std::io::Stdin,
    saved: rustix::termios::Termios,
}

impl<'a> EchoOff<'a> {
    fn new(stdin: &'a std::io::Stdin) -> anyhow::Result<Self> {
        use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
        let saved = tcgetattr(stdin).context("reading the terminal's settings")?;
        let mut quiet = saved.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        tcsetattr(stdin, OptionalActions::Now, &quiet).context("turning echo off")?;
        Ok(Self { stdin, saved })
    }
}

impl Drop for EchoOff<'_> {
    fn drop(&mut self) {
        let _ = rustix::termios::tcsetattr(
            self.stdin,
            rustix::termios::OptionalActions::Now,
            &self.saved,
        );
    }
}

impl std::fmt::Debug for EchoOff<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EchoOff")
    }
}

/// Writes `bytes` to `path`, readable and writable by the owner only, even
/// for a moment: the file is created 0600, and an existing one is set so
/// before it is written.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("making {} private", path.display()))?;
        }
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(bytes)?;
    file.write_all(b"\n")?;
    Ok(())
}

/// The directory `file` is (to be) in, as an absolute path, so the config
/// works from any working directory (systemd's, say).
fn absolute_dir_of(file: &Path) -> anyhow::Result<PathBuf> {
    let dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::canonicalize(&dir).with_context(|| {
        format!(
            "the directory {} for the config does not exist",
            dir.display()
        )
    })
}

struct ConfigValues<'a> {
    config_name: &'a str,
    site: &'a str,
    origins: &'a [String],
    unique: &'a str,
    widget: &'a WidgetRef,
    upstream: &'a str,
    public_url: &'a str,
    listen: SocketAddr,
    admin_listen: SocketAddr,
    database: &'a Path,
    key_file: &'a Path,
}

/// A TOML string: quoted and escaped (a `Debug` of a Rust string is valid TOML
/// for the characters a path or URL has, but not in general).
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The commented config `init` writes.
fn config_text(values: &ConfigValues<'_>) -> String {
    let origins: Vec<String> = values.origins.iter().map(|o| toml_string(o)).collect();
    let (widget_key, widget_value) = match values.widget {
        WidgetRef::Hash(hash) => ("whash", hash.as_str()),
        WidgetRef::Alias(alias) => ("walias", alias.as_str()),
    };
    // TLS is never the proxy's own: an https public address means a reverse
    // proxy (nginx) on this host forwards to it, whose X-Forwarded-For is believed.
    let behind_tls = values.public_url.starts_with("https://");
    let trusted = if behind_tls {
        "trusted_proxies = [\"127.0.0.1\", \"::1\"]"
    } else {
        "trusted_proxies = []"
    };
    format!(
        r#"# The callback proxy's configuration, written by `proxy init`.
# Check it:        proxy check-config {config_name}
# Prove it works:  proxy doctor --config {config_name}
# Every key is explained in proxy.example.toml (in the release archive).

# Where the widget's API and files are served. Keep it on loopback with nginx
# (TLS) in front; see the nginx site in the release archive.
listen = "{listen}"
# /metrics, /readyz and /healthz for this host's monitoring, and the owners' console
# at /console/ (no login on loopback; elsewhere it needs [[console.accounts]]).
admin_listen = "{admin}"
# The lead store: one SQLite file. Back it up like any database.
database = {database}
# Where visitors' browsers reach this proxy: the script tag's address.
public_url = {public_url}
{assets}

# With nginx on this host in front (an https public_url), the visitor's address
# comes from its X-Forwarded-For header; otherwise from the connection.
{trusted}

[sites.{site}]
# Pages of these origins (scheme://host[:port], no path) may show the widget.
allowed_origins = [{origins}]
# CallKeeper's API.
upstream = {upstream}
# The CallKeeper account (company name) and the widget calls are ordered through.
unique = {unique}
{widget_key} = {widget_value}
# The Profile key, in a file only the proxy's user may read (chmod 600).
api_key_file = {key_file}
# Recommended next (see proxy.example.toml): the company's opening hours and
# time zone, so the widget offers calls only when someone can answer, e.g.
# opening_hours = "09001800"
# utc = "Europe/Moscow"
"#,
        config_name = values.config_name,
        assets = if crate::widget_files::WidgetFiles::built_in().is_some() {
            "# The widget's files are built into this binary. To serve a widget built\n\
             # elsewhere instead: assets = \"/path/to/dist\""
        } else {
            "# This proxy was built without the widget inside: it serves the directory\n\
             # \"dist\" (cargo xtask build-widget) unless assets = \"/path/to/dist\" is set."
        },
        listen = values.listen,
        admin = values.admin_listen,
        database = toml_string(&values.database.display().to_string()),
        public_url = toml_string(values.public_url),
        site = values.site,
        origins = origins.join(", "),
        upstream = toml_string(values.upstream),
        unique = toml_string(values.unique),
        widget_value = toml_string(widget_value),
        key_file = toml_string(&values.key_file.display().to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_strings_escape_quotes_and_backslashes() {
        assert_eq!(toml_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(toml_string("x\ny"), r#""x\u000ay""#);
    }
}
