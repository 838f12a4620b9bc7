//! Plain-text rendering of [`Metrics`] for the CLI's `eval` command.

use std::fmt::Write as _;

use super::Metrics;

fn pct(x: f64) -> String {
    format!("{:.2} %", 100.0 * x)
}

fn opt_pct(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_string(), pct)
}

/// Render `m` as a readable table: summary metrics (top-1 error, top-5 error, NLL, ECE, Recall@1,
/// superclass share, sample count), NLL and ECE before / after temperature scaling when there
/// was a calibration split, then per-class accuracy with each class's sample count.
///
/// Fractions are shown as percentages here (the [`Metrics`] fields themselves are fractions).
/// `class_names[c]` names class `c`; missing names fall back to `class <c>`, extra names are
/// ignored. `n/a` marks an absent Recall@1 / superclass share.
pub fn format_table(m: &Metrics, class_names: &[String]) -> String {
    let mut s = String::new();
    let summary: [(&str, String); 7] = [
        ("top-1 error", pct(m.top1_error)),
        ("top-5 error", pct(m.top5_error)),
        ("NLL", format!("{:.4}", m.nll)),
        ("ECE (15 bins)", pct(m.ece)),
        ("Recall@1", opt_pct(m.recall_at_1)),
        ("superclass share", opt_pct(m.superclass_share)),
        ("samples", m.count.to_string()),
    ];
    let _ = writeln!(s, "{:<18} {:>10}", "metric", "value");
    let _ = writeln!(s, "{}", "-".repeat(29));
    for (name, value) in &summary {
        let _ = writeln!(s, "{name:<18} {value:>10}");
    }
    if let Some(t) = &m.temperature_scaled {
        let _ = writeln!(s);
        let _ = writeln!(s, "temperature scaling (T = {:.3})", t.temperature);
        let _ = writeln!(s, "{:<18} {:>10} {:>10}", "metric", "before", "after");
        let _ = writeln!(s, "{}", "-".repeat(40));
        let _ = writeln!(
            s,
            "{:<18} {:>10} {:>10}",
            "NLL",
            format!("{:.4}", m.nll),
            format!("{:.4}", t.nll)
        );
        let _ = writeln!(
            s,
            "{:<18} {:>10} {:>10}",
            "ECE (15 bins)",
            pct(m.ece),
            pct(t.ece)
        );
    }

    let names: Vec<String> = (0..m.per_class_accuracy.len())
        .map(|c| {
            class_names
                .get(c)
                .cloned()
                .unwrap_or_else(|| format!("class {c}"))
        })
        .collect();
    let width = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .max(5);
    let _ = writeln!(s);
    let _ = writeln!(s, "per-class accuracy");
    let _ = writeln!(s, "{:<width$} {:>10} {:>8}", "class", "accuracy", "samples");
    let _ = writeln!(s, "{}", "-".repeat(width + 20));
    for (c, (name, acc)) in names.iter().zip(&m.per_class_accuracy).enumerate() {
        let n: u64 = m
            .confusion
            .get(c)
            .map_or(0, |row| row.iter().map(|&v| v as u64).sum());
        let _ = writeln!(s, "{name:<width$} {:>10} {n:>8}", pct(*acc));
    }
    s
}
