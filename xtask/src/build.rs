//! Builds the widget into `dist/`: cargo for wasm32, wasm-bindgen, wasm-opt,
//! the JS minified (esbuild), content-hashed names, the loader with those
//! names, gzip and brotli twins; and prints where the wasm's bytes go
//! (`breakdown`) and the size report (`size`).
//!
//! `dist/` layout (what the proxy serves under `/widget/`):
//! - `widget.js`: the loader a site embeds; short cache, names the files below.
//! - `callback_widget.<hash>.js`, `callback_widget_bg.<hash>.wasm`: immutable.
//! - `*.gz`, `*.br`: pre-compressed twins of each.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::{cargo, run_command, setup, step, target_dir};

const PROFILE: &str = "wasm-release";
const NAME: &str = "callback_widget";

/// wasm-opt's passes: on this widget (rustc opt-level "z"), `-Os --converge`
/// compressed 0.7 KB smaller than `-O3` (README, "Widget size").
const WASM_OPT_PASSES: &[&str] = &["-Os", "--converge"];

/// Target features rustc enables by default for wasm32-unknown-unknown, which
/// wasm-opt must be allowed to keep.
const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-reference-types",
    "--enable-sign-ext",
    "--enable-multivalue",
];

pub(crate) fn widget(root: &Path) -> Result<()> {
    let target = target_dir(root);
    step("Building the widget for wasm32 (cargo build --profile wasm-release)");
    run_command(
        cargo()
            .args([
                "build",
                "--package",
                "widget",
                "--target",
                "wasm32-unknown-unknown",
                "--profile",
                PROFILE,
            ])
            .env("CARGO_ENCODED_RUSTFLAGS", remapped_paths(root))
            .current_dir(root),
    )?;

    step("Generating the JS glue (wasm-bindgen --target web)");
    let bindgen_out = target.join("widget-bindgen");
    let _ = std::fs::remove_dir_all(&bindgen_out);
    run_command(
        Command::new("wasm-bindgen")
            .arg(target.join(format!("wasm32-unknown-unknown/{PROFILE}/widget.wasm")))
            .args([
                "--target",
                "web",
                "--no-typescript",
                "--out-name",
                NAME,
                "--out-dir",
            ])
            .arg(&bindgen_out),
    )?;

    let wasm = bindgen_out.join(format!("{NAME}_bg.wasm"));
    let bindgen_wasm = bindgen_out.join("bindgen.wasm");
    std::fs::rename(&wasm, &bindgen_wasm)?;
    // The optimiser's input, kept for the size breakdown (it has the names).
    let unoptimised = bindgen_out.join("unoptimised.wasm");
    step("Dropping the exports the widget never uses (wasm-metadce, from npm binaryen)");
    prune_unused_exports(root, &bindgen_wasm, &unoptimised)?;

    step("Optimising the wasm (wasm-opt -Os --converge, from npm binaryen)");
    run_command(
        Command::new(setup::wasm_opt(root))
            .args(WASM_OPT_PASSES)
            .args(["--strip-debug", "--strip-producers"])
            .args(WASM_FEATURES)
            .arg(&unoptimised)
            .arg("-o")
            .arg(&wasm),
    )?;
    step("Measuring where the bytes go (the same optimisation, keeping names)");
    let named = bindgen_out.join("named.wasm");
    run_command(
        Command::new(setup::wasm_opt(root))
            .args(WASM_OPT_PASSES)
            .args(["-g", "--strip-producers"])
            .args(WASM_FEATURES)
            .arg(&unoptimised)
            .arg("-o")
            .arg(&named),
    )?;
    crate::breakdown::report(&named)?;

    step("Minifying the JS glue (esbuild)");
    let glue = bindgen_out.join(format!("{NAME}.js"));
    minify(root, &glue, &glue)?;

    step("Writing dist/ (hashed names, loader, gzip and brotli)");
    // `WIDGET_DIST` elsewhere: a variant measured beside the real build.
    let dist = std::env::var_os("WIDGET_DIST").map_or_else(|| root.join("dist"), Into::into);
    let _ = std::fs::remove_dir_all(&dist);
    std::fs::create_dir_all(&dist)?;
    let glue = hashed_copy(&glue, &dist, NAME, "js")?;
    let wasm = hashed_copy(&wasm, &dist, &format!("{NAME}_bg"), "wasm")?;
    let loader =
        std::fs::read_to_string(root.join("www/widget.js")).context("reading www/widget.js")?;
    let loader = loader
        .replace("__WIDGET_GLUE__", &glue)
        .replace("__WIDGET_WASM__", &wasm);
    let loader_source = bindgen_out.join("widget.js");
    std::fs::write(&loader_source, loader)?;
    minify(root, &loader_source, &loader_source)?;
    write_with_twins(&dist.join("widget.js"), &std::fs::read(&loader_source)?)?;
    crate::size::report(&dist)?;
    Ok(())
}

/// rustc flags for the shipped wasm: the build machine's paths (panic
/// locations keep their source file's name) become short relative ones,
/// `crates/<crate>-<version>/…` and `./…`. The wasm then says nothing of
/// where it was built, and is smaller (0.5 KB brotli). Flags are separated
/// by 0x1f, as `CARGO_ENCODED_RUSTFLAGS` wants.
fn remapped_paths(root: &Path) -> String {
    let cargo_home = std::env::var_os("CARGO_HOME").map_or_else(
        || std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo"),
        Into::into,
    );
    let mut prefixes: Vec<(std::path::PathBuf, &str)> =
        std::fs::read_dir(cargo_home.join("registry/src"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|index| (index.path(), "crates"))
            .collect();
    prefixes.push((root.to_path_buf(), "."));
    prefixes
        .iter()
        .map(|(from, to)| format!("--remap-path-prefix={}={to}", from.display()))
        .collect::<Vec<_>>()
        .join("\u{1f}")
}

/// Exports of wasm-streams' classes (`IntoUnderlyingSource`, `…Sink`,
/// `…ByteSource`): Leptos always depends on its server-function client,
/// which brings wasm-streams, and a `#[wasm_bindgen]` export is kept by
/// every optimiser however unused. The widget never builds a stream for
/// JavaScript, so they and what only they reach go (1.2 KB brotli).
const UNUSED_EXPORT_PREFIXES: &[&str] = &["intounderlying", "__wbg_intounderlying"];

/// Writes `from` without the exports named in [`UNUSED_EXPORT_PREFIXES`]
/// and the code only they reach: wasm-metadce with a graph whose one root
/// (the JS glue) reaches every other export. The glue keeps the dead
/// classes' methods, which nothing calls.
fn prune_unused_exports(root: &Path, from: &Path, to: &Path) -> Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    let mut kept = Vec::new();
    let mut dropped = 0;
    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
        if let wasmparser::Payload::ExportSection(exports) = payload? {
            for export in exports {
                let name = export?.name;
                if UNUSED_EXPORT_PREFIXES.iter().any(|p| name.starts_with(p)) {
                    dropped += 1;
                } else {
                    kept.push(name.to_owned());
                }
            }
        }
    }
    anyhow::ensure!(
        dropped > 0 && kept.iter().any(|name| name == "mount"),
        "{} does not have the exports the pruning expects (mount, wasm-streams' classes): \
         check UNUSED_EXPORT_PREFIXES after a dependency update",
        from.display()
    );
    // wasm-metadce's graph: not quite JSON (no escapes), but export names
    // are plain identifiers.
    let node = |name: &str| format!("{{\"name\": \"e_{name}\", \"export\": \"{name}\"}}");
    let reaches: Vec<String> = kept.iter().map(|name| format!("\"e_{name}\"")).collect();
    let mut graph = vec![format!(
        "{{\"name\": \"glue\", \"root\": true, \"reaches\": [{}]}}",
        reaches.join(", ")
    )];
    graph.extend(kept.iter().map(|name| node(name)));
    let graph_file = to.with_extension("graph.json");
    std::fs::write(&graph_file, format!("[\n{}\n]\n", graph.join(",\n")))?;
    let output = Command::new(setup::wasm_metadce(root))
        .arg(from)
        .arg("--graph-file")
        .arg(&graph_file)
        // Names kept for the size breakdown; the shipped file loses them.
        .arg("-g")
        .args(WASM_FEATURES)
        .arg("-o")
        .arg(to)
        .output()
        .context("running wasm-metadce")?;
    anyhow::ensure!(
        output.status.success(),
        "wasm-metadce failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// Minifies an ES module or script with esbuild.
fn minify(root: &Path, from: &Path, to: &Path) -> Result<()> {
    let output = Command::new(setup::esbuild(root))
        .arg(from)
        .args(["--minify", "--target=es2020", "--log-level=warning"])
        .output()
        .context("running esbuild")?;
    anyhow::ensure!(
        output.status.success(),
        "esbuild failed on {}: {}",
        from.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(to, output.stdout)?;
    Ok(())
}

/// Copies `file` into `dist` as `stem.<hash>.ext` (with compressed twins) and
/// returns the new name.
fn hashed_copy(file: &Path, dist: &Path, stem: &str, ext: &str) -> Result<String> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let hash = hex::encode(&Sha256::digest(&bytes)[..5]);
    let name = format!("{stem}.{hash}.{ext}");
    write_with_twins(&dist.join(&name), &bytes)?;
    Ok(name)
}

/// Writes a file and its `.gz` and `.br` twins, compressed at the highest levels
/// (they are built once and served many times).
fn write_with_twins(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes)?;
    std::fs::write(append_ext(path, "gz"), gzip(bytes)?)?;
    std::fs::write(append_ext(path, "br"), brotli(bytes)?)?;
    Ok(())
}

fn append_ext(path: &Path, ext: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    name.into()
}

pub(crate) fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?)
}

pub(crate) fn brotli(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
}
