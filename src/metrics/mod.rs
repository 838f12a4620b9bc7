//! Evaluation metrics the trainer reports (see `docs/ALGORITHM.md`, "Metrics the trainer reports"):
//! top-1 / top-5 error, NLL, ECE (15 bins) with its reliability diagram, Recall@1 on penultimate
//! features, confusion matrix, per-class accuracy and, for CIFAR-100, the share of wrong answers
//! that stay inside the true class's superclass.
//!
//! Everything runs on the CPU over plain slices: the GPU code reads back the `N × K` softmax
//! probabilities (use [`softmax_rows`] if it read back logits) and optionally the `N × D`
//! penultimate features, then calls [`evaluate`].
//!
//! Conventions (all documented where they are implemented):
//! - errors, accuracies, ECE and shares are fractions in `[0, 1]`, not percent;
//! - the prediction is [`argmax`] of the probability row, ties → lowest class index; top-5 uses the
//!   same tie rule and becomes top-K when K < 5;
//! - NLL = mean of `−ln(max(p_true, 1e-12))` (see [`classification::NLL_PROB_FLOOR`]);
//! - ECE bin `b` holds confidences in `(b/15, (b+1)/15]` (Guo et al. / official CS-KD code), so an
//!   edge value such as 0.6 falls in the lower bin (bin 8); see [`calibration`];
//! - Recall@1: cosine, nearest *other* row, zero vectors have similarity 0, ties → lowest index;
//!   see [`retrieval`];
//! - temperature scaling: T fitted by NLL on held-out logits, see [`temperature`].

pub mod calibration;
pub mod classification;
pub mod retrieval;
mod table;
pub mod temperature;

use serde::{Deserialize, Serialize};

pub use calibration::{bin_index, reliability_and_ece, Reliability, NUM_BINS};
pub use classification::{argmax, in_top_k, softmax_rows, NLL_PROB_FLOOR};
pub use retrieval::{nearest_neighbours, recall_at_1};
pub use table::format_table;
pub use temperature::{fit_temperature, scaled_metrics, TemperatureScaled};

/// Everything [`evaluate`] reports for one pass over a test set.
///
/// Serialised with camelCase keys (`top1Error`, `recallAt1`, `perClassAccuracy`, …).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    /// Fraction of samples whose argmax is not the label.
    pub top1_error: f64,
    /// Fraction of samples whose label is not among the top min(5, K) classes.
    pub top5_error: f64,
    /// Mean −ln(max(p_true, 1e-12)).
    pub nll: f64,
    /// Expected calibration error, 15 equal-width bins.
    pub ece: f64,
    /// Recall@1 on features; `None` when no features were given or N < 2.
    pub recall_at_1: Option<f64>,
    /// Per true class: correct / samples of that class (0.0 for a class with no samples).
    pub per_class_accuracy: Vec<f64>,
    /// `confusion[true][predicted]`, K × K.
    pub confusion: Vec<Vec<u32>>,
    /// Reliability diagram behind the ECE (15 bins).
    pub reliability: Reliability,
    /// Share of wrong predictions whose predicted class is in the true class's superclass;
    /// `None` without a superclass map or when there are no wrong predictions.
    pub superclass_share: Option<f64>,
    /// Number of samples N.
    pub count: usize,
    /// ECE, NLL and reliability after temperature scaling with T fitted on the held-out
    /// calibration split; `None` without one (absent in metrics written before it existed).
    #[serde(default)]
    pub temperature_scaled: Option<TemperatureScaled>,
}

/// Why [`evaluate`] (or [`recall_at_1`]) refused its input. Never a panic.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MetricsError {
    #[error("metrics: num_classes must be at least 1")]
    ZeroClasses,
    #[error(
        "metrics: probs has {len} values but {samples} labels × {num_classes} classes needs {expected}"
    )]
    ProbsLength {
        len: usize,
        samples: usize,
        num_classes: usize,
        expected: usize,
    },
    #[error("metrics: label {label} of sample {index} is out of range for {num_classes} classes")]
    LabelOutOfRange {
        index: usize,
        label: u32,
        num_classes: usize,
    },
    #[error("metrics: feature dimension must be at least 1")]
    ZeroFeatureDim,
    #[error(
        "metrics: features has {len} values but {samples} samples × dim {dim} needs {expected}"
    )]
    FeaturesLength {
        len: usize,
        samples: usize,
        dim: usize,
        expected: usize,
    },
    #[error("metrics: superclass map has {len} entries but there are {num_classes} classes")]
    SuperclassLength { len: usize, num_classes: usize },
}

/// Compute all metrics for `N = labels.len()` samples.
///
/// - `probs`: row-major `N × num_classes` softmax probabilities;
/// - `labels`: true class per sample, each `< num_classes`;
/// - `features`: optional row-major `N × dim` penultimate features for Recall@1;
/// - `superclass_of`: optional fine-class → coarse-class map of length `num_classes` (CIFAR-100).
///
/// **N = 0** is not an error: it returns zero errors/NLL/ECE, an all-zero K × K confusion matrix,
/// per-class accuracy all 0.0, an all-zero reliability diagram, `recall_at_1 = None`,
/// `superclass_share = None` and `count = 0`.
///
/// **Errors** (instead of panicking): `num_classes == 0`, `probs.len() != N · K`, a label `≥ K`,
/// feature `dim == 0`, `features.len() != N · dim`, `superclass_of.len() != K`.
///
/// Probabilities are expected to be finite; a NaN row is predicted as its first non-NaN maximum
/// (class 0 if all NaN) and NaN then propagates into NLL / ECE rather than being hidden.
pub fn evaluate(
    probs: &[f32],
    num_classes: usize,
    labels: &[u32],
    features: Option<(&[f32], usize)>,
    superclass_of: Option<&[u32]>,
) -> Result<Metrics, MetricsError> {
    let k = num_classes;
    let n = labels.len();
    if k == 0 {
        return Err(MetricsError::ZeroClasses);
    }
    let expected = n.checked_mul(k);
    if expected != Some(probs.len()) {
        return Err(MetricsError::ProbsLength {
            len: probs.len(),
            samples: n,
            num_classes: k,
            expected: expected.unwrap_or(usize::MAX),
        });
    }
    if let Some((index, &label)) = labels.iter().enumerate().find(|(_, &y)| y as usize >= k) {
        return Err(MetricsError::LabelOutOfRange {
            index,
            label,
            num_classes: k,
        });
    }
    if let Some(map) = superclass_of {
        if map.len() != k {
            return Err(MetricsError::SuperclassLength {
                len: map.len(),
                num_classes: k,
            });
        }
    }
    // Validates the features even when N < 2 (then it is Ok(None)).
    let recall = match features {
        Some((f, dim)) => retrieval::recall_at_1(f, dim, labels)?,
        None => None,
    };

    let mut preds = Vec::with_capacity(n);
    let mut confidences = Vec::with_capacity(n);
    let mut correct = Vec::with_capacity(n);
    let mut top1_wrong = 0usize;
    let mut top5_wrong = 0usize;
    let mut nll_sum = 0.0f64;
    for (row, &y) in probs.chunks_exact(k).zip(labels) {
        let y = y as usize;
        let p = argmax(row);
        preds.push(p);
        confidences.push(row[p]);
        correct.push(p == y);
        top1_wrong += (p != y) as usize;
        top5_wrong += !in_top_k(row, y, 5) as usize;
        nll_sum += classification::nll_term(row[y]);
    }

    let (reliability, ece) = reliability_and_ece(&confidences, &correct);
    let confusion = classification::confusion_matrix(&preds, labels, k);
    let per_class_accuracy = classification::per_class_accuracy(&confusion);
    let superclass_share =
        superclass_of.and_then(|map| classification::superclass_share(&preds, labels, map));
    let frac = |x: usize| if n == 0 { 0.0 } else { x as f64 / n as f64 };

    Ok(Metrics {
        top1_error: frac(top1_wrong),
        top5_error: frac(top5_wrong),
        nll: if n == 0 { 0.0 } else { nll_sum / n as f64 },
        ece,
        recall_at_1: recall,
        per_class_accuracy,
        confusion,
        reliability,
        superclass_share,
        count: n,
        temperature_scaled: None,
    })
}
