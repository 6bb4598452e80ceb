//! Contract fuzzing: schemathesis against a running proxy's OpenAPI document.
//!
//! The proxy publishes its widget API at `/v1/openapi.json`. schemathesis
//! (from PyPI, pinned, in a virtual environment under the target directory)
//! reads it, generates valid and invalid requests for every operation, and
//! checks each answer: never a 5xx, and never a status, content type, header
//! or body the document does not declare. It runs against the real `proxy`
//! binary in demo mode (sandbox CallKeeper on loopback), so what is fuzzed is
//! what a site owner runs.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{cargo, run_command, step, target_dir};

/// The schemathesis release we fuzz with.
const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// What schemathesis checks on every answer. `positive_data_acceptance` is
/// left out on purpose: valid requests are refused by design when a limit is
/// reached (429), a site is unknown (404) or a lead is a repeat.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
response_headers_conformance,response_schema_conformance,negative_data_rejection";

/// Runs the fuzzer for `seconds` against a freshly started demo proxy.
pub(crate) fn contract(root: &Path, seconds: u64) -> Result<()> {
    let schemathesis = install(root)?;
    step("Building the proxy for the contract fuzzer (cargo build -p proxy)");
    run_command(
        cargo()
            .args(["build", "--package", "proxy"])
            .current_dir(root),
    )?;
    let work = target_dir(root).join("fuzz");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let [api, page, sandbox] = free_ports()?;
    step(&format!(
        "Starting the demo proxy on 127.0.0.1:{api} for the fuzzer (log: {})",
        work.join("proxy.log").display()
    ));
    let log = std::fs::File::create(work.join("proxy.log"))?;
    let child = Command::new(target_dir(root).join("debug/proxy"))
        .args(["demo", "--api"])
        .arg(format!("127.0.0.1:{api}"))
        .arg("--page")
        .arg(format!("127.0.0.1:{page}"))
        .arg("--sandbox")
        .arg(format!("127.0.0.1:{sandbox}"))
        .arg("--assets")
        .arg(root.join("dist"))
        .arg("--database")
        .arg(work.join("leads.db"))
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting the proxy")?;
    let _proxy = KillOnDrop(child);
    wait_until_listening(api)?;
    // Half the cases use the demo site and the demo page's origin, so that
    // requests get past "no such site" and "origin not allowed" into
    // validation, limits and the store; the other half stay random.
    std::fs::write(
        work.join("schemathesis.toml"),
        format!(
            "[dictionaries.site]\nvalues = [\"demo\"]\n\
             [dictionaries.origin]\nvalues = [\"http://localhost:{page}\"]\n\
             [parameters]\n\
             \"path.site\" = {{ dictionary = \"site\", probability = 0.5 }}\n\
             \"header.Origin\" = {{ dictionary = \"origin\", probability = 0.5 }}\n"
        ),
    )?;

    step(&format!(
        "Fuzzing the widget API for {seconds} s (schemathesis {SCHEMATHESIS_VERSION}, checks: {CHECKS})"
    ));
    run_command(
        Command::new(schemathesis)
            .arg("run")
            .arg(format!("http://127.0.0.1:{api}/v1/openapi.json"))
            .args(["--checks", CHECKS])
            .args(["--max-time", &seconds.to_string()])
            .args(["--workers", "2"])
            .args(["--seed", "1"])
            .args(["--suppress-health-check", "too_slow,filter_too_much"])
            .env("SCHEMATHESIS_HOOKS", "")
            .current_dir(&work),
    )
    .context("the contract fuzzer found answers outside the OpenAPI document (above)")
}

/// The pinned schemathesis in its own virtual environment.
fn install(root: &Path) -> Result<PathBuf> {
    let venv = target_dir(root).join("tools/schemathesis-venv");
    let bin = venv.join("bin/schemathesis");
    let installed = Command::new(&bin)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if installed.contains(SCHEMATHESIS_VERSION) {
        return Ok(bin);
    }
    step(&format!(
        "Installing schemathesis {SCHEMATHESIS_VERSION} from PyPI into {} (once)",
        venv.display()
    ));
    run_command(Command::new("python3").args(["-m", "venv"]).arg(&venv))
        .context("python3 with venv is needed for the contract fuzzer (Debian: apt-get install python3-venv)")?;
    run_command(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("schemathesis=={SCHEMATHESIS_VERSION}")),
    )?;
    Ok(bin)
}

fn free_ports() -> Result<[u16; 3]> {
    // Bound together, so the three differ; released just before the proxy
    // binds them (a race with another program is possible but harmless: the
    // proxy then fails to start and says so).
    let listeners = [
        TcpListener::bind("127.0.0.1:0")?,
        TcpListener::bind("127.0.0.1:0")?,
        TcpListener::bind("127.0.0.1:0")?,
    ];
    let mut ports = [0; 3];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr()?.port();
    }
    Ok(ports)
}

fn wait_until_listening(port: u16) -> Result<()> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("the proxy did not start listening on 127.0.0.1:{port} within 30 s")
}

/// The proxy under test ends with the fuzzer, whatever happens.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
