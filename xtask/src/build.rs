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
/// compressed 0.7 KB smaller than `-O3`, and `--reorder-locals` a little
/// more (README, "Widget size"). The functions' order is set after these,
/// by their code (`crate::layout`).
const WASM_OPT_PASSES: &[&str] = &["-Os", "--converge", "--reorder-locals"];

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
    build_wasm(root, &[])?;

    let built = target.join(format!("wasm32-unknown-unknown/{PROFILE}/widget.wasm"));
    let bindgen_out = target.join("widget-bindgen");
    let Optimised { glue, wasm, named } = bindgen_and_optimise(root, &built, &bindgen_out, NAME)?;
    step("Measuring where the bytes go (the optimised wasm, with its names)");
    crate::breakdown::report(&named)?;

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

/// Builds the widget's package for wasm32 in the shipped profile, with the
/// build machine's paths remapped; `extra`: more of cargo's arguments.
fn build_wasm(root: &Path, extra: &[&str]) -> Result<()> {
    run_command(
        cargo()
            .args(["build", "--package", "widget"])
            .args(extra)
            .args(["--target", "wasm32-unknown-unknown", "--profile", PROFILE])
            .env("CARGO_ENCODED_RUSTFLAGS", remapped_paths(root))
            .current_dir(root),
    )
}

/// wasm-opt with the widget's passes and features, keeping the functions'
/// names (`-g`) for the size breakdown and the ordering; the step after the
/// ordering drops them from what ships.
fn optimise(root: &Path, from: &Path, to: &Path) -> Result<()> {
    run_command(
        Command::new(setup::wasm_opt(root))
            .args(WASM_OPT_PASSES)
            .args(["-g", "--strip-producers"])
            .args(WASM_FEATURES)
            .arg(from)
            .arg("-o")
            .arg(to),
    )
}

/// What [`bindgen_and_optimise`] leaves in its directory.
struct Optimised {
    /// The JS glue, minified.
    glue: std::path::PathBuf,
    /// The optimised wasm, without names.
    wasm: std::path::PathBuf,
    /// The optimised wasm with its names, for the size breakdown.
    named: std::path::PathBuf,
}

/// The widget's pipeline after cargo, for any wasm built on the stack:
/// wasm-bindgen (`--target web`), the unused exports pruned, wasm-opt, the
/// glue minified with esbuild. Writes into `out` (emptied first).
fn bindgen_and_optimise(root: &Path, built: &Path, out: &Path, name: &str) -> Result<Optimised> {
    step("Generating the JS glue (wasm-bindgen --target web)");
    let _ = std::fs::remove_dir_all(out);
    run_command(
        Command::new("wasm-bindgen")
            .arg(built)
            .args([
                "--target",
                "web",
                "--no-typescript",
                "--out-name",
                name,
                "--out-dir",
            ])
            .arg(out),
    )?;

    let wasm = out.join(format!("{name}_bg.wasm"));
    let bindgen_wasm = out.join("bindgen.wasm");
    std::fs::rename(&wasm, &bindgen_wasm)?;
    let unoptimised = out.join("unoptimised.wasm");
    step("Dropping the exports the widget never uses (wasm-metadce, from npm binaryen)");
    prune_unused_exports(root, &bindgen_wasm, &unoptimised)?;

    step("Optimising the wasm (wasm-opt -Os --converge, from npm binaryen)");
    let named = out.join("named.wasm");
    optimise(root, &unoptimised, &named)?;
    step("Ordering the functions by their code, for brotli (xtask/src/layout.rs)");
    let keyed = out.join("keyed.wasm");
    crate::layout::name_functions_by_code(&named, &keyed)?;
    run_command(
        Command::new(setup::wasm_opt(root))
            .args([
                "--reorder-functions-by-name",
                "--strip-debug",
                "--strip-producers",
            ])
            .args(WASM_FEATURES)
            .arg(&keyed)
            .arg("-o")
            .arg(&wasm),
    )?;

    step(
        "Shortening the names the glue and the wasm link by (wasm-opt --minify-imports-and-exports-and-modules)",
    );
    let names = shorten_link_names(root, &wasm)?;

    step("Minifying the JS glue without the pruned classes (esbuild)");
    let glue = out.join(format!("{name}.js"));
    let source = std::fs::read_to_string(&glue)?;
    let source = only_init_exported(&stub_debug_string(&drop_dead_classes(&source)?)?)?;
    std::fs::write(&glue, names.apply(&source)?)?;
    minify(root, &glue, &glue)?;
    Ok(Optimised { glue, wasm, named })
}

/// `cargo xtask size-floor`: builds the stack's floor
/// (`widget/examples/stack_floor.rs`: Leptos, gloo-net, serde-wasm-bindgen
/// and `protocol`'s types doing the least a callback widget must) through
/// the widget's pipeline, and prints its size beside the widget's last
/// build in `dist/`. What the gate leaves for the widget's own features is
/// the gate minus the floor (README, "Widget size").
pub(crate) fn size_floor(root: &Path) -> Result<()> {
    let target = target_dir(root);
    step("Building the stack's floor for wasm32 (cargo build --example stack_floor)");
    build_wasm(root, &["--example", "stack_floor"])?;
    let built = target.join(format!(
        "wasm32-unknown-unknown/{PROFILE}/examples/stack_floor.wasm"
    ));
    let out = target.join("floor-bindgen");
    let Optimised { glue, wasm, .. } = bindgen_and_optimise(root, &built, &out, "stack_floor")?;
    let mut rows = Vec::new();
    for file in [&glue, &wasm] {
        let bytes = std::fs::read(file)?;
        rows.push((
            file.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            bytes.len(),
            gzip(&bytes)?.len(),
            brotli(&bytes)?.len(),
        ));
    }
    crate::size::print_floor(&rows, &root.join("dist"))
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
/// JavaScript, so they and what only they reach go. Their methods are no
/// longer exported at all (`vendor/wasm-streams/PATCHED.md`, −4.3 KB
/// brotli: code reached from the function table survives this pruning);
/// what is left here is each class's `free` (0.16 KB).
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

/// The glue without the JS classes whose wasm exports
/// [`prune_unused_exports`] removed (wasm-streams' `IntoUnderlying*`, which
/// nothing constructs): each class from `export class X {` to its
/// `if (Symbol.dispose) X.…` line, and its three-line `XFinalization`
/// registry (0.3 KB brotli). Fails when there are none to drop, like the
/// pruning, so a wasm-bindgen update that changes the glue's shape is
/// noticed rather than shipped unpruned.
fn drop_dead_classes(glue: &str) -> Result<String> {
    const CLASS: &str = "export class IntoUnderlying";
    const REGISTRY: &str = "const IntoUnderlying";
    let mut kept = Vec::new();
    let mut lines = glue.lines();
    let mut dropped = 0;
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix(CLASS) {
            let name = ["IntoUnderlying", rest.trim_end_matches(" {")].concat();
            let end = format!("if (Symbol.dispose) {name}.");
            anyhow::ensure!(
                lines.by_ref().any(|l| l.starts_with(&end)),
                "the glue's class {name} has no `{end}` line: check drop_dead_classes"
            );
            dropped += 1;
        } else if line.starts_with(REGISTRY) && line.contains("Finalization = ") {
            // The registry's two other lines.
            lines.next();
            lines.next();
        } else {
            kept.push(line);
        }
    }
    anyhow::ensure!(
        dropped > 0,
        "the glue has no IntoUnderlying classes to drop: check drop_dead_classes after a dependency update"
    );
    Ok(kept.join("\n"))
}

/// The glue with its `debugString` (how `JsValue`'s `Debug` describes a
/// JavaScript value: 58 lines, 0.24 KB brotli) reduced to an empty
/// description. That `Debug` only runs to format a panic's message, and on
/// wasm32-unknown-unknown std writes panic messages nowhere (the widget
/// sets no panic hook): the description was built to be thrown away. Fails
/// if the glue has no such function, so that a wasm-bindgen update that
/// renames it is noticed.
fn stub_debug_string(glue: &str) -> Result<String> {
    const START: &str = "\nfunction debugString(val) {\n";
    let start = glue
        .find(START)
        .context("the glue has no `function debugString(val)`: check stub_debug_string")?;
    let length = glue[start + 1..]
        .find("\n}\n")
        .context("the glue's debugString has no closing `}` line: check stub_debug_string")?;
    let end = start + 1 + length + 3;
    Ok([
        &glue[..start],
        "\nfunction debugString() {\n    return '';\n}\n",
        &glue[end..],
    ]
    .concat())
}

/// The glue exporting only what the loader calls (`mount` and the class,
/// and `default`, the asynchronous init), not `initSync`, so that esbuild's
/// tree shaking drops it. Fails if the export line is not wasm-bindgen's.
fn only_init_exported(glue: &str) -> Result<String> {
    const EXPORTS: &str = "\nexport { initSync, __wbg_init as default };";
    anyhow::ensure!(
        glue.matches(EXPORTS).count() == 1,
        "the glue does not end with wasm-bindgen's export of initSync and the init: check only_init_exported"
    );
    Ok(glue.replace(EXPORTS, "\nexport { __wbg_init as default };"))
}

/// The names by which the glue and the wasm link, before and after
/// [`shorten_link_names`].
#[derive(Debug, Default)]
struct LinkNames {
    /// The import modules' names (wasm-bindgen's one: `./<name>_bg.js`),
    /// and the one they all became.
    modules: Vec<String>,
    module: String,
    /// Each import's and export's name, and its short name.
    imports: std::collections::HashMap<String, String>,
    exports: std::collections::HashMap<String, String>,
}

/// Shortens the wasm's import and export names, in place: wasm-bindgen's are
/// long and hashed (`__wbg_setAttribute_f75317b2b5cabfb4`), written once in
/// the wasm and once in the glue, and a hash does not compress (about 3 KB
/// brotli of the two files). Returns the map, which [`LinkNames::apply`]
/// applies to the glue.
fn shorten_link_names(root: &Path, wasm: &Path) -> Result<LinkNames> {
    let shortened = wasm.with_extension("short.wasm");
    let output = Command::new(setup::wasm_opt(root))
        .arg(wasm)
        .arg("--minify-imports-and-exports-and-modules")
        // The last pass over what ships: the features section is for tools.
        .arg("--strip-target-features")
        .args(WASM_FEATURES)
        .arg("-o")
        .arg(&shortened)
        .output()
        .context("running wasm-opt --minify-imports-and-exports-and-modules")?;
    anyhow::ensure!(
        output.status.success(),
        "wasm-opt failed to shorten the names: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // `{"imports": [[module, name, short], …], "exports": [[name, short], …]}`
    let map: serde_json::Value = serde_json::from_slice(&output.stdout)
        .context("reading wasm-opt's map of shortened names")?;
    let rows = |key: &str| -> Vec<Vec<String>> {
        map[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(|row| {
                row.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|cell| cell.as_str().map(str::to_owned))
                    .collect()
            })
            .collect()
    };
    let mut names = LinkNames::default();
    for row in rows("imports") {
        if let [module, name, short] = &row[..] {
            if !names.modules.contains(module) {
                names.modules.push(module.clone());
            }
            names.imports.insert(name.clone(), short.clone());
        }
    }
    for row in rows("exports") {
        if let [name, short] = &row[..] {
            names.exports.insert(name.clone(), short.clone());
        }
    }
    // The modules' one new name, as the shortened wasm says it.
    let bytes = std::fs::read(&shortened)?;
    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
        if let wasmparser::Payload::ImportSection(imports) = payload? {
            for import in imports.into_imports() {
                names.module = import?.module.to_owned();
            }
        }
    }
    anyhow::ensure!(
        !names.imports.is_empty()
            && names.exports.contains_key("mount")
            && !names.module.is_empty(),
        "wasm-opt's map of shortened names lacks the imports, `mount` or the module: check shorten_link_names"
    );
    std::fs::rename(&shortened, wasm)?;
    Ok(names)
}

impl LinkNames {
    /// The glue with the short names: each import's key in the imports
    /// object, the module's key, and each export read as `wasm.<name>`.
    /// Fails unless every import and module key was found exactly once.
    fn apply(&self, glue: &str) -> Result<String> {
        let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
        let mut out = String::with_capacity(glue.len());
        let mut renamed_imports = 0;
        let mut rest = glue;
        while let Some(start) = rest.find(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '$')
        {
            let (before, from) = rest.split_at(start);
            out.push_str(before);
            let end = from.find(|c: char| !is_ident(c)).unwrap_or(from.len());
            let (word, after) = from.split_at(end);
            let short = if out.ends_with("wasm.") {
                self.exports.get(word)
            } else if after.trim_start().starts_with(':') && !out.ends_with('.') {
                let short = self.imports.get(word);
                renamed_imports += usize::from(short.is_some());
                short
            } else {
                None
            };
            out.push_str(short.map_or(word, String::as_str));
            rest = after;
        }
        out.push_str(rest);
        anyhow::ensure!(
            renamed_imports == self.imports.len(),
            "the glue names {renamed_imports} of the wasm's {} imports as keys: check LinkNames::apply",
            self.imports.len()
        );
        for module in &self.modules {
            let key = format!("\"{module}\":");
            anyhow::ensure!(
                out.matches(&key).count() == 1,
                "the glue does not name the module {module} once as a key: check LinkNames::apply"
            );
            out = out.replace(&key, &format!("\"{}\":", self.module));
        }
        Ok(out)
    }
}

/// Minifies an ES module or script with esbuild.
fn minify(root: &Path, from: &Path, to: &Path) -> Result<()> {
    let output = Command::new(setup::esbuild(root))
        .arg(from)
        .args([
            "--minify",
            "--tree-shaking=true",
            "--target=es2020",
            "--log-level=warning",
        ])
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
    use brotli::enc::backward_references::BrotliEncoderMode;
    let mut out = Vec::new();
    // Smaller blocks (2^16 bytes of input each, each with its own codes)
    // and, for the wasm, the encoder's mode for binary data: 68 bytes off
    // the wasm, none off the scripts. The stream is standard brotli.
    let binary = bytes.starts_with(b"\0asm");
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        lgblock: 16,
        mode: if binary {
            BrotliEncoderMode::BROTLI_MODE_FONT
        } else {
            BrotliEncoderMode::BROTLI_MODE_GENERIC
        },
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{LinkNames, drop_dead_classes};

    #[test]
    fn the_glue_links_by_the_short_names() -> anyhow::Result<()> {
        let names = LinkNames {
            modules: vec!["./w_bg.js".to_owned()],
            module: "a".to_owned(),
            imports: [("__wbg_set_1f".to_owned(), "$a".to_owned())].into(),
            exports: [
                ("mount".to_owned(), "Hc".to_owned()),
                ("invoke__h1".to_owned(), "Mc".to_owned()),
                ("invoke__h1_16".to_owned(), "Nc".to_owned()),
            ]
            .into(),
        };
        let glue = "const i = { __wbg_set_1f: function(a) { a.mount(); }, };\n\
                    return { \"./w_bg.js\": i };\n\
                    wasm.mount(1); wasm.invoke__h1_16(); wasm.invoke__h1(); wasm.memory;";
        assert_eq!(
            names.apply(glue)?,
            "const i = { $a: function(a) { a.mount(); }, };\n\
             return { \"a\": i };\n\
             wasm.Hc(1); wasm.Nc(); wasm.Mc(); wasm.memory;"
        );
        // An import the glue does not name is a broken link, not a smaller file.
        let missing = LinkNames {
            imports: [("__wbg_gone".to_owned(), "$b".to_owned())].into(),
            ..names
        };
        assert!(missing.apply(glue).is_err());
        Ok(())
    }

    #[test]
    fn the_glues_debug_string_describes_nothing_and_the_rest_stays() -> anyhow::Result<()> {
        let glue = "const a = 1;\nfunction debugString(val) {\n    switch (typeof val) {\n        case 'number':\n            return `${val}`;\n    }\n}\nfunction after() {\n}\n";
        let stubbed = super::stub_debug_string(glue)?;
        assert_eq!(
            stubbed,
            "const a = 1;\nfunction debugString() {\n    return '';\n}\nfunction after() {\n}\n"
        );
        assert!(super::stub_debug_string("function other() {\n}\n").is_err());
        Ok(())
    }

    #[test]
    fn the_glue_exports_its_init_but_not_init_sync() -> anyhow::Result<()> {
        let glue = "function initSync() {}\nexport { initSync, __wbg_init as default };\n";
        assert_eq!(
            super::only_init_exported(glue)?,
            "function initSync() {}\nexport { __wbg_init as default };\n"
        );
        assert!(super::only_init_exported("export { __wbg_init as default };").is_err());
        Ok(())
    }

    #[test]
    fn the_pruned_classes_and_their_registries_leave_the_glue() -> anyhow::Result<()> {
        let glue = "export class IntoUnderlyingSink {\n    free() {}\n}\n\
                    if (Symbol.dispose) IntoUnderlyingSink.prototype[Symbol.dispose] = IntoUnderlyingSink.prototype.free;\n\
                    export class WidgetHandle {\n}\n\
                    const IntoUnderlyingSinkFinalization = (typeof FinalizationRegistry === 'undefined')\n    ? {}\n    : new FinalizationRegistry(ptr => 0);\n\
                    const WidgetHandleFinalization = 1;";
        let kept = drop_dead_classes(glue)?;
        assert_eq!(
            kept,
            "export class WidgetHandle {\n}\nconst WidgetHandleFinalization = 1;"
        );
        assert!(drop_dead_classes("export class WidgetHandle {\n}").is_err());
        Ok(())
    }
}
