//! Installs what the build and the tests need, once, saying so.
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

/// Where the npm-installed wasm-opt lives.
pub(crate) fn wasm_opt(root: &Path) -> PathBuf {
    target_dir(root).join("tools/node_modules/.bin/wasm-opt")
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
