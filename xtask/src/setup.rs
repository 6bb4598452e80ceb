//! Installs what the build and the tests need, once, saying so (PostgreSQL
//! too, for the proxy's tests on its second store engine).
//!
//! Versions are pinned where a mismatch breaks things: wasm-bindgen-cli must be
//! the version in Cargo.lock, and wasm-opt comes from the npm `binaryen`
//! package because Debian's binaryen 108 silently breaks wasm-bindgen's
//! externref table. esbuild (npm, pinned too) minifies the JS.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{output_of, run_command, step, target_dir};

/// The npm binaryen release we optimise with.
const BINARYEN_VERSION: &str = "132.0.0";
/// The npm esbuild release that minifies the loader and the JS glue.
const ESBUILD_VERSION: &str = "0.28.2";
/// The npm axe-core release the console's browser test runs in each page.
const AXE_CORE_VERSION: &str = "4.14.1";

/// The wasm32 target, wasm-bindgen-cli at the locked version and wasm-opt.
pub(crate) fn wasm_toolchain(root: &Path) -> Result<()> {
    let targets = output_of(Command::new("rustup").args(["target", "list", "--installed"]))
        .unwrap_or_default();
    if !targets
        .lines()
        .any(|t| t.trim() == "wasm32-unknown-unknown")
    {
        step("Installing the wasm32-unknown-unknown Rust target (rustup target add)");
        run_command(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }

    let wanted = locked_version(root, "wasm-bindgen")?;
    let installed = output_of(Command::new("wasm-bindgen").arg("--version")).unwrap_or_default();
    if installed.split_whitespace().nth(1) != Some(wanted.as_str()) {
        step(&format!(
            "Installing wasm-bindgen-cli {wanted} (the version in Cargo.lock; found {:?}); this takes about 5 minutes once",
            installed.trim()
        ));
        run_command(Command::new("cargo").args([
            "install",
            "wasm-bindgen-cli",
            "--version",
            &wanted,
            "--force",
        ]))?;
    }

    let wanted = [
        (wasm_opt(root), format!("binaryen@{BINARYEN_VERSION}")),
        (esbuild(root), format!("esbuild@{ESBUILD_VERSION}")),
    ];
    for (tool, package) in wanted {
        if tool.exists() {
            continue;
        }
        step(&format!(
            "Installing the npm package {package} into target/tools (for {})",
            tool.file_name().unwrap_or_default().to_string_lossy()
        ));
        let tools = target_dir(root).join("tools");
        std::fs::create_dir_all(&tools)?;
        run_command(
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
                .arg(&tools)
                .arg(&package),
        )
        .context("npm is needed for wasm-opt and esbuild (Debian: apt-get install npm)")?;
    }
    Ok(())
}

/// axe-core (npm, pinned) for the console's accessibility checks, installed
/// into the target directory like the tools above; returns its script, which
/// the e2e test reads from `AXE_CORE_JS` and runs in each console page.
pub(crate) fn axe_core(root: &Path) -> Result<PathBuf> {
    let tools = target_dir(root).join("tools");
    let script = tools.join("node_modules/axe-core/axe.min.js");
    if !script.exists() {
        step(&format!(
            "Installing the npm package axe-core@{AXE_CORE_VERSION} into target/tools (accessibility checks of the console)"
        ));
        std::fs::create_dir_all(&tools)?;
        run_command(
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
                .arg(&tools)
                .arg(format!("axe-core@{AXE_CORE_VERSION}")),
        )
        .context("npm is needed for axe-core (Debian: apt-get install npm)")?;
    }
    Ok(script)
}

/// Where the npm-installed wasm-opt lives.
pub(crate) fn wasm_opt(root: &Path) -> PathBuf {
    target_dir(root).join("tools/node_modules/.bin/wasm-opt")
}

/// Where npm binaryen's wasm-metadce lives (DCE across the JS boundary).
pub(crate) fn wasm_metadce(root: &Path) -> PathBuf {
    target_dir(root).join("tools/node_modules/.bin/wasm-metadce")
}

/// Where the npm-installed esbuild lives.
pub(crate) fn esbuild(root: &Path) -> PathBuf {
    target_dir(root).join("tools/node_modules/.bin/esbuild")
}

/// Chromium and ChromeDriver for the browser tests, from Debian's packages.
pub(crate) fn browser() -> Result<()> {
    let have = |tool: &str| output_of(Command::new(tool).arg("--version")).is_some();
    if have("chromium") && have("chromedriver") {
        return Ok(());
    }
    let is_root = output_of(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0");
    if !is_root {
        bail!(
            "Chromium and ChromeDriver are needed for the browser tests; run: sudo apt-get install -y chromium chromium-driver"
        );
    }
    step(
        "Installing Chromium and ChromeDriver from Debian's packages (apt-get install chromium chromium-driver)",
    );
    run_command(Command::new("apt-get").args(["update", "-qq"]))?;
    run_command(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "chromium", "chromium-driver"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// What `cargo xtask dist` needs for a static binary: Rust's
/// x86_64-unknown-linux-musl target, and musl-gcc (Debian's musl-tools)
/// for the C inside ring and the bundled SQLite.
pub(crate) fn musl_toolchain() -> Result<()> {
    let target = crate::dist::TARGET;
    let targets = output_of(Command::new("rustup").args(["target", "list", "--installed"]))
        .unwrap_or_default();
    if !targets.lines().any(|t| t.trim() == target) {
        step(&format!(
            "Installing the {target} Rust target (rustup target add), for the static binary"
        ));
        run_command(Command::new("rustup").args(["target", "add", target]))?;
    }
    if output_of(Command::new("musl-gcc").arg("--version")).is_some() {
        return Ok(());
    }
    let is_root = output_of(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0");
    if !is_root {
        bail!(
            "musl-gcc is needed for the static binary (ring and SQLite have C inside); run: sudo apt-get install -y musl-tools"
        );
    }
    step(
        "Installing musl-gcc from Debian's packages (apt-get install musl-tools), for the C inside ring and SQLite",
    );
    run_command(Command::new("apt-get").args(["update", "-qq"]))?;
    run_command(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "musl-tools"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// The role, password and database the tests use on a PostgreSQL this
/// task set up (a local test server: the password is no secret).
const TEST_ROLE: &str = "proxy_test";

/// A PostgreSQL server for the tests, as a URL: `DATABASE_URL` when it is
/// set. Otherwise, as root: Debian's `postgresql` installed when missing,
/// its cluster started (`pg_ctlcluster`, no systemd needed), and a role and
/// database `proxy_test` created, each step said. Not as root: what to run,
/// and an error. The tests never skip PostgreSQL, so neither does this.
pub(crate) fn postgres() -> Result<String> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        step("PostgreSQL for the tests: DATABASE_URL as set");
        return Ok(url);
    }
    let is_root = output_of(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0");
    if !is_root {
        bail!(
            "the proxy's tests run on PostgreSQL too, and DATABASE_URL is not set. Either set \
             DATABASE_URL=postgres://USER:PASSWORD@HOST/DATABASE (a role that may create schemas \
             there), or run as root:\n  apt-get install -y postgresql\n  pg_ctlcluster 15 main start\n  \
             su postgres -c \"psql -c \\\"CREATE ROLE {TEST_ROLE} LOGIN PASSWORD '{TEST_ROLE}'\\\"\"\n  \
             su postgres -c \"psql -c \\\"CREATE DATABASE {TEST_ROLE} OWNER {TEST_ROLE}\\\"\"\n\
             then DATABASE_URL=postgres://{TEST_ROLE}:{TEST_ROLE}@127.0.0.1:5432/{TEST_ROLE}"
        );
    }
    if output_of(Command::new("pg_lsclusters").arg("--no-header")).is_none() {
        step("Installing PostgreSQL from Debian's packages (apt-get install postgresql)");
        run_command(Command::new("apt-get").args(["update", "-qq"]))?;
        run_command(
            Command::new("apt-get")
                .args(["install", "-y", "-qq", "postgresql"])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
    }
    let clusters = output_of(Command::new("pg_lsclusters").arg("--no-header")).unwrap_or_default();
    // "15  main    5432 down   postgres /var/lib/… /var/log/…": the first cluster.
    let Some([version, name, port, status]) = clusters.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.len() >= 4).then(|| [fields[0], fields[1], fields[2], fields[3]])
    }) else {
        bail!(
            "PostgreSQL is installed but has no cluster; create one as root with `pg_createcluster --start 15 main`"
        );
    };
    if status != "online" {
        step(&format!(
            "Starting the PostgreSQL cluster {version}/{name} (pg_ctlcluster {version} {name} start)"
        ));
        run_command(Command::new("pg_ctlcluster").args([version, name, "start"]))?;
    }
    let psql = |sql: &str| {
        output_of(
            Command::new("runuser")
                .args(["-u", "postgres", "--", "psql", "-p", port, "-Atqc", sql]),
        )
    };
    let role_exists = psql(&format!(
        "SELECT 1 FROM pg_roles WHERE rolname = '{TEST_ROLE}'"
    ))
    .context("cannot run psql as the postgres user (runuser -u postgres -- psql)")?;
    if role_exists.trim().is_empty() {
        step(&format!(
            "Creating the PostgreSQL role and database {TEST_ROLE} for the tests"
        ));
        psql(&format!(
            "CREATE ROLE {TEST_ROLE} LOGIN PASSWORD '{TEST_ROLE}'"
        ))
        .context("creating the test role")?;
    }
    let database_exists = psql(&format!(
        "SELECT 1 FROM pg_database WHERE datname = '{TEST_ROLE}'"
    ))
    .unwrap_or_default();
    if database_exists.trim().is_empty() {
        psql(&format!("CREATE DATABASE {TEST_ROLE} OWNER {TEST_ROLE}"))
            .context("creating the test database")?;
    }
    let url = format!("postgres://{TEST_ROLE}:{TEST_ROLE}@127.0.0.1:{port}/{TEST_ROLE}");
    step(&format!("PostgreSQL for the tests: {url}"));
    Ok(url)
}

/// The version of a package in Cargo.lock.
fn locked_version(root: &Path, package: &str) -> Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == format!("name = \"{package}\"")
            && let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = \""))
        {
            return Ok(version.trim_end_matches('"').to_owned());
        }
    }
    bail!("{package} is not in Cargo.lock")
}
