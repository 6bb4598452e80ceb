//! `cargo xtask dist`: the release archive a site owner installs from.
//!
//! 1. The widget, into `dist/` (as `build-widget`).
//! 2. Its files synced into `target/embed-widget/`, rewriting only files
//!    whose bytes changed, so that cargo (which watches that directory
//!    through proxy/build.rs) rebuilds the proxy only when the widget
//!    really changed: `dist/` itself is written anew on every build.
//! 3. The proxy for `x86_64-unknown-linux-musl` (a static binary) with the
//!    cargo feature `embed-widget`, in the `dist` profile (release, stripped).
//! 4. `callback-proxy-VERSION-TARGET.tar.gz` with the binary, the example
//!    config, the systemd unit, the nginx site and INSTALL.txt, and its
//!    `.sha256` beside it (`sha256sum -c` reads it), in `target/release-archive/`
//!    (not `target/dist/`: cargo keeps the `dist` profile's host artifacts there).
//!
//! `aarch64-unknown-linux-musl` is not built: ring and the bundled SQLite
//! need a C compiler for that target, and Debian ships musl-gcc only for the
//! host (its `gcc-aarch64-linux-gnu` targets glibc). See README, "Install on a server".

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::{build, cargo, run_command, setup, step, target_dir};

/// The one target the archive is built for on this machine.
pub(crate) const TARGET: &str = "x86_64-unknown-linux-musl";
/// Cargo's profile for the archive's binary (Cargo.toml: release, stripped).
const PROFILE: &str = "dist";

/// Builds everything and returns the archive's path.
pub(crate) fn archive(root: &Path) -> Result<PathBuf> {
    setup::wasm_toolchain(root)?;
    build::widget(root)?;
    package(root)
}

/// The archive of the widget already built in `dist/` (the test command
/// has just built it): the static proxy with it inside, and the files beside.
pub(crate) fn package(root: &Path) -> Result<PathBuf> {
    setup::musl_toolchain()?;
    let target = target_dir(root);
    let embedded = target.join("embed-widget");
    step(&format!(
        "Syncing dist/ into {} (only changed files are rewritten, so an unchanged widget does not rebuild the proxy)",
        embedded.display()
    ));
    sync_dir(&root.join("dist"), &embedded)?;

    step(&format!(
        "Building the static proxy with the widget inside (cargo build --profile {PROFILE} --target {TARGET} --features embed-widget; about 4 minutes the first time)"
    ));
    run_command(
        cargo()
            .args([
                "build",
                "--package",
                "proxy",
                "--bin",
                "proxy",
                "--profile",
                PROFILE,
                "--target",
                TARGET,
                "--features",
                "embed-widget",
            ])
            .env("PROXY_EMBED_WIDGET_DIR", &embedded)
            .current_dir(root),
    )?;
    let binary = target.join(TARGET).join(PROFILE).join("proxy");

    let version = workspace_version(root)?;
    let name = format!("callback-proxy-{version}-{TARGET}");
    let out = target.join("release-archive");
    let staging = out.join(&name);
    step(&format!("Packing {name}.tar.gz"));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)?;
    let copies: [(PathBuf, &str); 5] = [
        (binary.clone(), "callback-proxy"),
        (root.join("proxy/config.example.toml"), "proxy.example.toml"),
        (
            root.join("deploy/callback-proxy.service"),
            "callback-proxy.service",
        ),
        (
            root.join("deploy/nginx-callback-proxy.conf"),
            "nginx-callback-proxy.conf",
        ),
        (root.join("deploy/INSTALL.txt"), "INSTALL.txt"),
    ];
    for (from, to) in &copies {
        std::fs::copy(from, staging.join(to))
            .with_context(|| format!("copying {} into the archive", from.display()))?;
    }
    let archive = out.join(format!("{name}.tar.gz"));
    // Sorted names, no owner and a fixed time: the same inputs pack the same way.
    run_command(
        Command::new("tar")
            .args([
                "--sort=name",
                "--owner=0",
                "--group=0",
                "--numeric-owner",
                "--mtime=@0",
                "-czf",
            ])
            .arg(&archive)
            .arg("-C")
            .arg(&out)
            .arg(&name),
    )?;
    let digest = hex::encode(Sha256::digest(
        std::fs::read(&archive).context("reading the archive back")?,
    ));
    let sum_file = out.join(format!("{name}.tar.gz.sha256"));
    std::fs::write(&sum_file, format!("{digest}  {name}.tar.gz\n"))?;

    let size = |path: &Path| std::fs::metadata(path).map_or(0, |m| m.len());
    println!(
        "  binary  {:>6.1} MB  {}",
        mb(size(&binary)),
        binary.display()
    );
    println!(
        "  archive {:>6.1} MB  {}",
        mb(size(&archive)),
        archive.display()
    );
    println!("  sha256  {digest}  ({})", sum_file.display());
    Ok(archive)
}

fn mb(bytes: u64) -> f64 {
    // Sizes a person reads; the precision lost in the cast does not show.
    #[allow(clippy::cast_precision_loss)]
    let bytes = bytes as f64;
    bytes / 1_000_000.0
}

/// Makes `to` hold exactly the files of `from`, writing only those whose
/// bytes differ (their modification time is what cargo watches).
fn sync_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    let mut wanted = std::collections::HashSet::new();
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        let name = entry.file_name();
        let bytes = std::fs::read(entry.path())?;
        let destination = to.join(&name);
        if std::fs::read(&destination).ok().as_deref() != Some(bytes.as_slice()) {
            std::fs::write(&destination, &bytes)?;
        }
        wanted.insert(name);
    }
    for entry in std::fs::read_dir(to)? {
        let entry = entry?;
        if !wanted.contains(&entry.file_name()) {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// `version` in the root Cargo.toml's `[workspace.package]`.
fn workspace_version(root: &Path) -> Result<String> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml"))?;
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[workspace.package]";
        } else if in_package && let Some(value) = line.strip_prefix("version = \"") {
            return Ok(value.trim_end_matches('"').to_owned());
        }
    }
    bail!("no version in [workspace.package] of Cargo.toml")
}
