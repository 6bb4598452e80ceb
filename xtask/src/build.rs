//! Builds the widget into `dist/`: cargo for wasm32, wasm-bindgen, dead
//! exports removed (wasm-metadce) and wasm-opt, the JS minified (esbuild),
//! content-hashed names, the loader with those names, gzip and brotli twins.
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
    step("Removing exports the widget never calls (wasm-metadce)");
    remove_unused_exports(root, &wasm, &bindgen_out)?;

    step("Optimising the wasm (wasm-opt -O3 from npm binaryen)");
    run_command(
        Command::new(setup::wasm_opt(root))
            .args(["-O3", "--strip-debug", "--strip-producers"])
            .args(WASM_FEATURES)
            .arg(&wasm)
            .arg("-o")
            .arg(&wasm),
    )?;

    step("Minifying the JS glue (esbuild)");
    let glue = bindgen_out.join(format!("{NAME}.js"));
    let source = std::fs::read_to_string(&glue)?;
    std::fs::write(&glue, without_unused_classes(&source))?;
    minify(root, &glue, &glue)?;

    step("Writing dist/ (hashed names, loader, gzip and brotli)");
    let dist = root.join("dist");
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

/// Exports that wasm-streams (linked by Leptos's `server_fn`, which the
/// widget does not use) adds: its `IntoUnderlying*` classes. Dropping them
/// lets wasm-opt remove the code behind them (about 1 KB brotli).
const UNUSED_EXPORTS: &str = "intounderlying";

/// Removes the exports in [`UNUSED_EXPORTS`] and whatever only they reach.
fn remove_unused_exports(root: &Path, wasm: &Path, work: &Path) -> Result<()> {
    let bytes = std::fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let exports = wasm_exports(&bytes).context("reading the wasm's exports")?;
    // wasm-metadce's graph: the outside world reaches every export we keep.
    let node = |name: &str| format!("{{\"name\":\"e_{name}\",\"export\":\"{name}\"}}");
    let kept: Vec<String> = exports
        .iter()
        .filter(|e| !e.contains(UNUSED_EXPORTS))
        .map(|e| format!("\"e_{e}\""))
        .collect();
    let mut graph = format!(
        "[{{\"name\":\"outside\",\"root\":true,\"reaches\":[{}]}}",
        kept.join(",")
    );
    for export in &exports {
        graph.push(',');
        graph.push_str(&node(export));
    }
    graph.push(']');
    let graph_file = work.join("metadce-graph.json");
    std::fs::write(&graph_file, graph)?;
    let status = Command::new(setup::wasm_metadce(root))
        .args(WASM_FEATURES)
        .arg(wasm)
        .arg("--graph-file")
        .arg(&graph_file)
        .arg("-o")
        .arg(wasm)
        .stdout(std::process::Stdio::null())
        .status()
        .context("running wasm-metadce")?;
    anyhow::ensure!(status.success(), "wasm-metadce failed ({status})");
    Ok(())
}

/// The names of a wasm module's exports (its export section, id 7).
fn wasm_exports(bytes: &[u8]) -> Option<Vec<String>> {
    fn leb(bytes: &[u8], at: &mut usize) -> Option<usize> {
        let (mut value, mut shift) = (0usize, 0);
        loop {
            let byte = *bytes.get(*at)?;
            *at += 1;
            value |= usize::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
            shift += 7;
        }
    }
    let mut at = 8; // magic and version
    while at < bytes.len() {
        let id = bytes[at];
        at += 1;
        let size = leb(bytes, &mut at)?;
        if id != 7 {
            at += size;
            continue;
        }
        let count = leb(bytes, &mut at)?;
        let mut names = Vec::with_capacity(count);
        for _ in 0..count {
            let len = leb(bytes, &mut at)?;
            names.push(String::from_utf8(bytes.get(at..at + len)?.to_vec()).ok()?);
            at += len + 1; // the name, then the kind
            leb(bytes, &mut at)?; // the index
        }
        return Some(names);
    }
    Some(Vec::new())
}

/// The glue without the JS classes of [`UNUSED_EXPORTS`] (esbuild keeps them:
/// their `Symbol.dispose` lines look like side effects). It works on
/// wasm-bindgen's output as it is laid out (a class ends at a `}` in column
/// 0); when the layout changes, nothing is removed and the size report shows it.
fn without_unused_classes(glue: &str) -> String {
    let mut out = String::with_capacity(glue.len());
    let mut skipping_class = false;
    let mut skipping_statement = false;
    for line in glue.lines() {
        let unused = |prefix: &str| {
            line.strip_prefix(prefix)
                .is_some_and(|rest| rest.to_ascii_lowercase().starts_with(UNUSED_EXPORTS))
        };
        if skipping_class {
            skipping_class = line != "}";
        } else if skipping_statement {
            skipping_statement = !line.trim_end().ends_with(';');
        } else if unused("export class ") {
            skipping_class = true;
        } else if unused("const ") {
            skipping_statement = !line.trim_end().ends_with(';');
        } else if !unused("if (Symbol.dispose) ") {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
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
