//! The widget's size report and budget.
//!
//! Budget (brotli): the loader at most 2 KB; everything transferred before the
//! widget is interactive (loader, glue, wasm; the styles are inside the wasm)
//! at most [`TOTAL_BUDGET`]. `cargo xtask test` fails above it.
//!
//! The product's gate is 80 KB and its goal 64 KB. The Leptos widget meets
//! the gate since round 6 (125.7 KB at the switch to Leptos, 113.9 KB with
//! the invitations of issue 16, 96.9 KB after round 5, 79.4 KB after round
//! 6); the stack alone weighs about 31 KB ([`print_floor`], `cargo xtask
//! size-floor`). The failing budget is a ratchet under the gate, just above
//! the current build, so nothing gets heavier unnoticed; lower it with every
//! kilobyte won, on the way to the goal. The report says how far the build
//! is from the gate and the goal.

use std::path::Path;

use anyhow::{Context, Result};

const LOADER_BUDGET: usize = 2 * 1024;
/// The ratchet (see the module doc); the product's gate is [`TOTAL_GATE`].
/// Raised from 108 KB to 113 KB by the invitations' cost, then lowered to
/// 112 KB by the compact SHA-256, in round 5 step by step to 95 KB, and in
/// round 6 to 78 KB, under the gate (README, "Widget size").
pub(crate) const TOTAL_BUDGET: usize = 78 * 1024;
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

/// The brotli bytes of each file in `dist` (the widget's last build).
fn brotli_sizes(dist: &Path) -> Result<Vec<(String, usize)>> {
    let mut sizes = Vec::new();
    for entry in std::fs::read_dir(dist)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "js" || e == "wasm") {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            sizes.push((name, crate::build::brotli(&std::fs::read(&path)?)?.len()));
        }
    }
    Ok(sizes)
}

/// Prints the stack's floor (`rows`: name, raw, gzip, brotli) and, when
/// `dist` has a build of the widget, how the gate splits between the
/// floor, the loader and the widget's own features.
pub(crate) fn print_floor(rows: &[(String, usize, usize, usize)], dist: &Path) -> Result<()> {
    println!(
        "{:<40} {:>10} {:>10} {:>10}",
        "the stack's floor", "raw", "gzip", "brotli"
    );
    let mut floor = 0;
    for (name, raw, gz, br) in rows {
        println!("{name:<40} {raw:>10} {gz:>10} {br:>10}");
        floor += br;
    }
    println!("{:<40} {:>32}", "floor (glue + wasm)", floor);
    let Ok(widget) = brotli_sizes(dist) else {
        println!(
            "(no widget in {}: cargo xtask build-widget)",
            dist.display()
        );
        return Ok(());
    };
    let loader: usize = widget
        .iter()
        .filter(|(name, _)| name == "widget.js")
        .map(|(_, br)| br)
        .sum();
    let total: usize = widget.iter().map(|(_, br)| br).sum();
    let features = (total - loader).saturating_sub(floor);
    let room = TOTAL_GATE.saturating_sub(loader + floor);
    println!(
        "the widget (brotli): {total} bytes = loader {loader} + the stack's floor {floor} + its own features {features}"
    );
    println!(
        "the gate ({TOTAL_GATE} bytes) leaves its features {room} bytes: they take {:.1} times that",
        features as f64 / room.max(1) as f64
    );
    Ok(())
}
