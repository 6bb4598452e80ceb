//! The widget's size report and budget.
//!
//! Budget (brotli): the loader at most 2 KB; everything transferred before the
//! widget is interactive (loader, glue, wasm; the styles are inside the wasm)
//! at most [`TOTAL_BUDGET`]. `cargo xtask test` fails above it.
//!
//! The product's gate is 80 KB and its goal 64 KB; the Leptos widget is not
//! there yet (125.7 KB at the switch to Leptos, 109.9 KB before the
//! invitations of issue 16, 113.9 KB with them: the design's stack wins over
//! a size budget, and the bytes are being fought for). Until it is, the
//! failing budget is a ratchet just above the current build, so nothing gets
//! heavier unnoticed; lower it with every kilobyte won, down to 80 KB. The
//! report says how far the build is from the gate and the goal.

use std::path::Path;

use anyhow::{Context, Result};

const LOADER_BUDGET: usize = 2 * 1024;
/// The ratchet (see the module doc); the product's gate is [`TOTAL_GATE`].
/// Raised from 108 KB to 113 KB by the invitations' cost, then lowered to
/// 112 KB by the compact SHA-256 (README, "Widget size").
pub(crate) const TOTAL_BUDGET: usize = 112 * 1024;
const TOTAL_GATE: usize = 80 * 1024;
const TOTAL_GOAL: usize = 64 * 1024;

/// Prints each file raw, gzip and brotli; returns whether the budget holds.
pub(crate) fn report(dist: &Path) -> Result<bool> {
    let mut files: Vec<_> = std::fs::read_dir(dist)
        .with_context(|| {
            format!(
                "reading {} (build the widget first: cargo xtask build-widget)",
                dist.display()
            )
        })?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "js" || e == "wasm"))
        .collect();
    files.sort();
    println!(
        "{:<40} {:>10} {:>10} {:>10}",
        "file", "raw", "gzip", "brotli"
    );
    let (mut total, mut loader) = ([0usize; 3], 0usize);
    for file in &files {
        let raw = std::fs::read(file)?;
        let sizes = [
            raw.len(),
            crate::build::gzip(&raw)?.len(),
            crate::build::brotli(&raw)?.len(),
        ];
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        println!(
            "{name:<40} {:>10} {:>10} {:>10}",
            sizes[0], sizes[1], sizes[2]
        );
        for (sum, size) in total.iter_mut().zip(sizes) {
            *sum += size;
        }
        if name == "widget.js" {
            loader = sizes[2];
        }
    }
    println!(
        "{:<40} {:>10} {:>10} {:>10}",
        "total", total[0], total[1], total[2]
    );
    let loader_ok = loader <= LOADER_BUDGET;
    let total_ok = total[2] <= TOTAL_BUDGET;
    println!(
        "budget (brotli): loader {loader} / {LOADER_BUDGET} bytes {}; total {} / {TOTAL_BUDGET} bytes {}",
        verdict(loader_ok),
        total[2],
        verdict(total_ok)
    );
    let met = |limit| {
        if total[2] <= limit {
            "met"
        } else {
            "NOT MET YET"
        }
    };
    println!(
        "product gate (brotli): total {} / {TOTAL_GATE} bytes {}; goal {TOTAL_GOAL} bytes {}",
        total[2],
        met(TOTAL_GATE),
        met(TOTAL_GOAL)
    );
    Ok(loader_ok && total_ok)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "OVER BUDGET" }
}
