//! With the cargo feature `embed-widget` (what `cargo xtask dist` builds),
//! writes `embedded_widget.rs`: every file of the built widget in
//! `PROXY_EMBED_WIDGET_DIR`, as `include_bytes!`, for `widget_files.rs`.
//! Without the feature it does nothing, so the everyday build never depends
//! on the widget.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_EMBED_WIDGET").is_none() {
        return;
    }
    println!("cargo::rerun-if-env-changed=PROXY_EMBED_WIDGET_DIR");
    let Some(dir) = std::env::var_os("PROXY_EMBED_WIDGET_DIR").map(PathBuf::from) else {
        panic!(
            "the embed-widget feature needs PROXY_EMBED_WIDGET_DIR, the built widget's directory \
             (cargo xtask dist sets it)"
        );
    };
    // Added or removed files change the directory; changed ones are listed below.
    println!("cargo::rerun-if-changed={}", dir.display());
    let mut names: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("reading PROXY_EMBED_WIDGET_DIR {}: {error}", dir.display()))
        .map(|entry| entry.expect("a readable directory entry"))
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
        .map(|entry| {
            (
                entry.file_name().to_string_lossy().into_owned(),
                entry.path(),
            )
        })
        .collect();
    names.sort();
    assert!(
        names.iter().any(|(name, _)| name == "widget.js"),
        "{} has no widget.js: build the widget first (cargo xtask build-widget)",
        dir.display()
    );
    let mut code = String::from("pub(super) static FILES: &[(&str, &[u8])] = &[\n");
    for (name, path) in &names {
        println!("cargo::rerun-if-changed={}", path.display());
        let _ = writeln!(
            code,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        );
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("embedded_widget.rs"), code).expect("OUT_DIR is writable");
}
