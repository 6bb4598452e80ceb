//! Where the widget's wasm bytes go: the largest functions, and how much of
//! the code each family of crates takes (Leptos, serde, gloo, the bindings,
//! the standard library, ours).
//!
//! It reads a copy of the optimised wasm that kept its name section
//! (`wasm-opt -g`; the shipped file has none) with `wasmparser`, so it
//! needs no tool beyond the build's own. Sizes are function bodies' bytes
//! before compression; a crate family's share is of all code bytes.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use wasmparser::{Parser, Payload};

/// How many of the largest functions are listed.
const LARGEST: usize = 15;

/// Prints the breakdown of `wasm` (which must carry a name section).
pub(crate) fn report(wasm: &Path) -> Result<()> {
    let bytes = std::fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let mut imported = 0u32;
    let mut bodies: Vec<(u32, usize)> = Vec::new();
    let mut names: BTreeMap<u32, String> = BTreeMap::new();
    let mut data = 0usize;
    for payload in Parser::new(0).parse_all(&bytes) {
        match payload? {
            Payload::ImportSection(imports) => {
                for import in imports.into_imports() {
                    if matches!(import?.ty, wasmparser::TypeRef::Func(_)) {
                        imported += 1;
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let index = imported + bodies.len() as u32;
                bodies.push((index, body.range().len()));
            }
            Payload::DataSection(section) => data += section.range().len(),
            Payload::CustomSection(section) => {
                for (index, name) in crate::layout::function_names(&section)? {
                    names.insert(index, rustc_demangle::demangle(name).to_string());
                }
            }
            _ => {}
        }
    }
    let code: usize = bodies.iter().map(|(_, size)| size).sum();
    anyhow::ensure!(code > 0, "{} has no code", wasm.display());

    let name_of = |index: u32| {
        names
            .get(&index)
            .cloned()
            .unwrap_or_else(|| format!("func[{index}]"))
    };
    let mut families: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, size) in &bodies {
        *families.entry(family(&name_of(*index))).or_default() += size;
    }
    let mut largest = bodies.clone();
    largest.sort_by_key(|item| std::cmp::Reverse(item.1));

    println!(
        "\nwasm breakdown (before compression): code {code} bytes in {} functions, data {data} bytes",
        bodies.len()
    );
    println!("{:>7} {:>6}  family", "bytes", "share");
    let mut by_size: Vec<_> = families.into_iter().collect();
    by_size.sort_by_key(|item| std::cmp::Reverse(item.1));
    for (family, size) in by_size {
        println!("{size:>7} {:>5.1}%  {family}", percent(size, code));
    }
    println!("\n{LARGEST} largest functions:");
    println!("{:>7} {:>6}  function", "bytes", "share");
    for (index, size) in largest.iter().take(LARGEST) {
        let mut name = name_of(*index);
        // Hashes and long generic arguments say little in a table.
        if let Some(hash) = name.rfind("::h").filter(|at| name.len() - at == 19) {
            name.truncate(hash);
        }
        if name.chars().count() > 110 {
            name = name.chars().take(107).collect::<String>() + "...";
        }
        println!("{size:>7} {:>5.1}%  {name}", percent(*size, code));
    }
    Ok(())
}

fn percent(part: usize, whole: usize) -> f64 {
    part as f64 * 100.0 / whole as f64
}

/// The family of crates a function's code belongs to: the crate of the
/// first path in its name (the implementing type, for `<T as Trait>::f`;
/// the dropped type, for drop glue).
fn family(name: &str) -> &'static str {
    let name = name
        .strip_prefix("core::ptr::drop_in_place<")
        .unwrap_or(name);
    let name = name.trim_start_matches(['<', '&', '(', '[', '*', ' ']);
    // `<T as tachys::…>::f`: a blanket impl; the trait's crate wrote it.
    let name = match name.split_once(" as ") {
        Some((param, rest)) if param.len() <= 2 => rest,
        _ => name,
    };
    let name = name
        .strip_prefix("mut ")
        .or_else(|| name.strip_prefix("dyn "))
        .or_else(|| name.strip_prefix("const "))
        .unwrap_or(name);
    let krate = name.split("::").next().unwrap_or_default();
    // `core[c5930c85a12de822]`: the crate with its disambiguator.
    let krate = krate.split('[').next().unwrap_or_default();
    match krate {
        "widget" | "protocol" => "ours (widget, protocol)",
        // `mount` and the exported methods, with what was inlined into them.
        _ if name.contains("externref shim") || name.starts_with("widgethandle_") => {
            "ours (widget, protocol)"
        }
        "leptos" | "leptos_dom" | "leptos_macro" | "tachys" | "reactive_graph" | "any_spawner"
        | "reactive_stores" | "or_poisoned" | "throw_error" | "slotmap" | "send_wrapper"
        | "oco_ref" | "next_tuple" | "either_of" | "guardian" => {
            "Leptos (leptos, tachys, reactive_graph)"
        }
        "serde" | "serde_core" | "serde_wasm_bindgen" => "serde (serde, serde-wasm-bindgen)",
        "gloo_net" | "gloo_utils" | "futures_channel" | "futures_core" | "futures_util"
        | "pin_project" => "gloo (gloo-net, futures)",
        "wasm_bindgen" | "js_sys" | "web_sys" | "wasm_bindgen_futures" => {
            "bindings (wasm-bindgen, js-sys, web-sys)"
        }
        "core" | "alloc" | "std" | "dlmalloc" | "talc" | "hashbrown" | "compiler_builtins" => {
            "Rust std (core, alloc, allocator)"
        }
        _ if krate.starts_with("func[") => "unnamed",
        _ => "other",
    }
}
