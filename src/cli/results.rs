//! The results table of `cskd experiment`: per run, the numbers the paper compares (best-epoch
//! top-1 error) and the final epoch's calibration and retrieval; per method, mean ± sample
//! standard deviation over seeds, as Markdown and JSON.

use crate::error::{Error, Result};
use crate::train::{EpochRecord, TrainConfig};
use serde::Serialize;
use serde_json::{json, Value};
use std::fmt::Write as _;

/// One finished run. Fractions, not percent; `None` where the metric does not exist (no
/// calibration split, no superclasses).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunResult {
    pub method: String,
    pub seed: u64,
    pub epochs: usize,
    /// Lowest test top-1 error over the epochs (the paper's number).
    pub best_top1_error: f64,
    pub final_top1_error: f64,
    pub ece: f64,
    pub ece_scaled: Option<f64>,
    pub nll: f64,
    pub nll_scaled: Option<f64>,
    pub temperature: Option<f64>,
    pub recall_at_1: Option<f64>,
    pub superclass_share: Option<f64>,
}

impl RunResult {
    pub fn of(method: &str, seed: u64, history: &[EpochRecord]) -> Result<RunResult> {
        let tested: Vec<_> = history.iter().filter_map(|r| r.test.as_ref()).collect();
        let last = tested.last().ok_or_else(|| {
            Error::Config(format!(
                "{method} seed {seed}: no evaluated epoch in metrics.jsonl"
            ))
        })?;
        let ts = last.temperature_scaled.as_ref();
        Ok(RunResult {
            method: method.to_string(),
            seed,
            epochs: history.len(),
            best_top1_error: tested
                .iter()
                .map(|m| m.top1_error)
                .fold(f64::INFINITY, f64::min),
            final_top1_error: last.top1_error,
            ece: last.ece,
            ece_scaled: ts.map(|t| t.ece),
            nll: last.nll,
            nll_scaled: ts.map(|t| t.nll),
            temperature: ts.map(|t| t.temperature),
            recall_at_1: last.recall_at_1,
            superclass_share: last.superclass_share,
        })
    }
}

/// A table column: JSON key, Markdown header, value of a run, and whether it is shown in percent.
struct Column {
    key: &'static str,
    header: &'static str,
    get: fn(&RunResult) -> Option<f64>,
    percent: bool,
}

const COLUMNS: [Column; 9] = [
    Column {
        key: "bestTop1Error",
        header: "best top-1 err %",
        get: |r| Some(r.best_top1_error),
        percent: true,
    },
    Column {
        key: "finalTop1Error",
        header: "final top-1 err %",
        get: |r| Some(r.final_top1_error),
        percent: true,
    },
    Column {
        key: "ece",
        header: "ECE %",
        get: |r| Some(r.ece),
        percent: true,
    },
    Column {
        key: "eceScaled",
        header: "ECE % (T-scaled)",
        get: |r| r.ece_scaled,
        percent: true,
    },
    Column {
        key: "nll",
        header: "NLL",
        get: |r| Some(r.nll),
        percent: false,
    },
    Column {
        key: "nllScaled",
        header: "NLL (T-scaled)",
        get: |r| r.nll_scaled,
        percent: false,
    },
    Column {
        key: "temperature",
        header: "T",
        get: |r| r.temperature,
        percent: false,
    },
    Column {
        key: "recallAt1",
        header: "Recall@1 %",
        get: |r| r.recall_at_1,
        percent: true,
    },
    Column {
        key: "superclassShare",
        header: "superclass share %",
        get: |r| r.superclass_share,
        percent: true,
    },
];

/// Mean and sample standard deviation (0 for one value); `None` for no values.
pub fn mean_std(values: &[f64]) -> Option<(f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = if values.len() > 1 {
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    Some((mean, var.sqrt()))
}

/// Markdown table and JSON document for the runs, one row per method in the given order;
/// columns without a value in any run (e.g. superclass share on CIFAR-10) are left out.
pub fn summarise(methods: &[String], runs: &[RunResult], base: &TrainConfig) -> (String, Value) {
    let shown: Vec<&Column> = COLUMNS
        .iter()
        .filter(|c| runs.iter().any(|r| (c.get)(r).is_some()))
        .collect();
    let mut md = String::new();
    let _ = write!(md, "| method | seeds |");
    for c in &shown {
        let _ = write!(md, " {} |", c.header);
    }
    let _ = write!(md, "\n|---|---|");
    for _ in &shown {
        let _ = write!(md, "---|");
    }
    md.push('\n');
    let mut summary = Vec::new();
    for m in methods {
        let mine: Vec<&RunResult> = runs.iter().filter(|r| &r.method == m).collect();
        let _ = write!(md, "| {m} | {} |", mine.len());
        let mut stats = serde_json::Map::new();
        for c in &shown {
            let values: Vec<f64> = mine.iter().filter_map(|r| (c.get)(r)).collect();
            let cell = match mean_std(&values) {
                None => "–".to_string(),
                Some((mean, std)) => {
                    stats.insert(
                        c.key.into(),
                        json!({"mean": mean, "std": std, "n": values.len()}),
                    );
                    if c.percent {
                        format!("{:.2} ± {:.2}", 100.0 * mean, 100.0 * std)
                    } else {
                        format!("{mean:.3} ± {std:.3}")
                    }
                }
            };
            let _ = write!(md, " {cell} |");
        }
        md.push('\n');
        summary.push(json!({
            "method": m,
            "seeds": mine.iter().map(|r| r.seed).collect::<Vec<_>>(),
            "metrics": stats,
        }));
    }
    // The configuration the runs share (each run's method, mixing, KD weight and seed are its own).
    let doc = json!({ "config": base, "summary": summary, "runs": runs });
    (md, doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_std() {
        let (m, s) = mean_std(&[1.0, 2.0, 3.0]).unwrap();
        assert!((m - 2.0).abs() < 1e-12 && (s - 1.0).abs() < 1e-12);
        assert_eq!(mean_std(&[4.0]), Some((4.0, 0.0)));
        assert_eq!(mean_std(&[]), None);
    }
}
