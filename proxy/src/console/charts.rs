//! The console's charts, drawn by the server as inline SVG: no chart
//! library in the page and no request for one. Colours are presentation
//! attributes (not `style`), so the console's CSP needs no inline styles;
//! each chart has a title for screen readers, and the numbers it shows are
//! also in the page's text.

use maud::{Markup, html};

use super::i18n::Lang;
use super::stats::Counts;

const ORDERED: &str = "#1d5fa8";
const SUCCEEDED: &str = "#1b7a3d";
const FAILED: &str = "#b3261e";
const HALTED: &str = "#7a4f00";
const OTHER: &str = "#5f6368";

/// Ordered, succeeded and failed per day, as grouped bars.
pub(super) fn days(lang: Lang, id: &str, days: &[(i64, Counts)]) -> Markup {
    let t = lang.texts();
    let (width, height, top, bottom, left) = (560.0_f64, 200.0_f64, 10.0, 30.0, 30.0);
    let max = days
        .iter()
        .map(|(_, c)| c.ordered.max(c.succeeded).max(c.failed_total()))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = (width - left) / days.len().max(1) as f64;
    let bar = (slot - 6.0) / 3.0;
    let plot = height - top - bottom;
    let y = |n: u64| top + plot - plot * n as f64 / max;
    let title_id = format!("{id}-title");
    html! {
        svg id=(id) class="chart" role="img" aria-labelledby=(title_id) viewBox={"0 0 " (width) " " (height)} xmlns="http://www.w3.org/2000/svg" {
            title id=(title_id) { (t.chart_days) ": " (t.ordered) ", " (t.succeeded) ", " (t.failed) }
            line x1=(left) y1=(top + plot) x2=(width) y2=(top + plot) stroke="#888" {}
            text x=(left - 4.0) y=(top + 8.0) text-anchor="end" font-size="10" fill="#333" { (max as u64) }
            text x=(left - 4.0) y=(top + plot) text-anchor="end" font-size="10" fill="#333" { "0" }
            @for (i, (start, counts)) in days.iter().enumerate() {
                @let x0 = left + slot * i as f64 + 3.0;
                @for (k, (n, colour)) in [(counts.ordered, ORDERED), (counts.succeeded, SUCCEEDED), (counts.failed_total(), FAILED)].into_iter().enumerate() {
                    rect x=(x0 + bar * k as f64) y=(y(n)) width=(bar) height=(top + plot - y(n)) fill=(colour) {}
                }
                @if i % 2 == 1 || days.len() <= 7 {
                    text x=(x0 + bar * 1.5) y=(height - 12.0) text-anchor="middle" font-size="10" fill="#333" { (super::views::day_label(*start)) }
                }
            }
        }
        p class="legend" {
            span class="swatch ordered" {} (t.ordered) " "
            span class="swatch succeeded" {} (t.succeeded) " "
            span class="swatch failed" {} (t.failed)
        }
    }
}

/// Where the leads of the period ended, as horizontal bars with their counts.
pub(super) fn outcomes(lang: Lang, id: &str, counts: &Counts) -> Markup {
    let t = lang.texts();
    let mut rows: Vec<(String, u64, &str)> =
        vec![(t.succeeded.to_owned(), counts.succeeded, SUCCEEDED)];
    for (reason, n) in &counts.failed {
        let reason = if reason.is_empty() {
            t.failed.to_owned()
        } else {
            format!("{}: {reason}", t.failed)
        };
        rows.push((reason, *n, FAILED));
    }
    rows.push((t.halted.to_owned(), counts.halted, HALTED));
    rows.push((t.scheduled.to_owned(), counts.scheduled, OTHER));
    rows.push((t.in_flight.to_owned(), counts.in_flight, OTHER));
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1) as f64;
    let (width, row_height, label) = (560.0_f64, 22.0_f64, 250.0_f64);
    let height = row_height.mul_add(rows.len() as f64, 4.0);
    let title_id = format!("{id}-title");
    html! {
        svg id=(id) class="chart" role="img" aria-labelledby=(title_id) viewBox={"0 0 " (width) " " (height)} xmlns="http://www.w3.org/2000/svg" {
            title id=(title_id) { (t.chart_outcomes) }
            @for (i, (name, n, colour)) in rows.iter().enumerate() {
                @let y0 = row_height.mul_add(i as f64, 2.0);
                @let w = (width - label - 40.0) * *n as f64 / max;
                text x="0" y=(y0 + 14.0) font-size="12" fill="#222" { (truncate(name, 38)) }
                rect x=(label) y=(y0 + 3.0) width=(w) height=(row_height - 8.0) fill=(*colour) {}
                text x=(label + w + 4.0) y=(y0 + 14.0) font-size="12" fill="#222" { (n) }
            }
        }
    }
}

fn truncate(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(chars - 1).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_chart_has_a_bar_per_series_per_day_and_a_title() {
        let counts = Counts {
            ordered: 4,
            succeeded: 3,
            ..Counts::default()
        };
        let days: Vec<(i64, Counts)> = (0..14).map(|d| (d * 86_400_000, counts.clone())).collect();
        let svg = super::days(Lang::En, "c", &days).into_string();
        assert_eq!(svg.matches("<rect").count(), 14 * 3);
        assert!(svg.contains("<title id=\"c-title\">Last 14 days"), "{svg}");
        assert!(!svg.contains("style="), "no inline styles (CSP)");
    }

    #[test]
    fn outcome_bars_scale_to_the_largest() {
        let mut counts = Counts {
            succeeded: 10,
            ..Counts::default()
        };
        counts.failed.insert("busy".to_owned(), 5);
        let svg = outcomes(Lang::En, "o", &counts).into_string();
        assert!(
            svg.contains("width=\"270\""),
            "the largest bar is full width: {svg}"
        );
        assert!(svg.contains("width=\"135\""), "half of it: {svg}");
        assert!(svg.contains("Failed: busy"));
    }
}
