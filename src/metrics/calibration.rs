//! Expected calibration error (ECE) and the reliability diagram behind it.
//!
//! 15 equal-width confidence bins; bin `b` (0-based) holds confidences in the half-open interval
//! `(b/15, (b+1)/15]`, i.e. `b = ceil(conf · 15) − 1` clamped to `[0, 14]`. This is the convention
//! of Guo et al. ("On Calibration of Modern Neural Networks") and the official CS-KD code
//! (`conf > lower & conf <= upper`): a confidence lying exactly on an edge goes to the **lower**
//! bin, e.g. 0.6 = 9/15 lands in bin 8 = (8/15, 9/15], and 1.0 lands in bin 14.
//! (The alternative `floor(conf · 15)` would put 0.6 into bin 9; it is *not* used.)
//!
//! The comparison is made in `f32` against the `f32` edges `(b+1) as f32 / 15.0`, so that a
//! confidence equal to an edge *as an f32* (e.g. the literal `0.6f32`, which is slightly above the
//! real number 0.6) is still treated as lying on the edge. Confidences ≤ 0 go to bin 0; NaN
//! confidences go to the last bin.

use serde::{Deserialize, Serialize};

/// Number of equal-width confidence bins used for ECE and the reliability diagram.
pub const NUM_BINS: usize = 15;

/// Reliability diagram: per bin, mean confidence, accuracy and sample count.
/// Empty bins report 0 confidence and 0 accuracy (and count 0).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reliability {
    pub bin_confidence: Vec<f64>,
    pub bin_accuracy: Vec<f64>,
    pub bin_count: Vec<u32>,
}

impl Reliability {
    /// All-zero diagram with [`NUM_BINS`] bins (what an empty evaluation reports).
    pub fn empty() -> Self {
        Reliability {
            bin_confidence: vec![0.0; NUM_BINS],
            bin_accuracy: vec![0.0; NUM_BINS],
            bin_count: vec![0; NUM_BINS],
        }
    }
}

/// Upper edge of bin `b` as an `f32`: `(b + 1) / 15`.
fn upper_edge(b: usize) -> f32 {
    (b + 1) as f32 / NUM_BINS as f32
}

/// Bin of a confidence: `ceil(conf · 15) − 1` clamped to `[0, 14]`, computed against `f32` edges
/// (see the module docs for the edge convention).
pub fn bin_index(conf: f32) -> usize {
    if conf.is_nan() {
        return NUM_BINS - 1;
    }
    let guess = ((conf * NUM_BINS as f32).ceil() - 1.0).clamp(0.0, (NUM_BINS - 1) as f32) as usize;
    // Fix up any rounding in the product so the result agrees with `lower < conf <= upper`.
    let mut b = guess;
    while b > 0 && conf <= upper_edge(b - 1) {
        b -= 1;
    }
    while b < NUM_BINS - 1 && conf > upper_edge(b) {
        b += 1;
    }
    b
}

/// Reliability diagram and ECE from per-sample confidences (max probability) and correctness.
///
/// ECE = Σ_b (n_b / N) · |accuracy_b − mean confidence_b|. With no samples the diagram is all
/// zeros and ECE is 0. Only the first `min(confidences.len(), correct.len())` samples are used.
pub fn reliability_and_ece(confidences: &[f32], correct: &[bool]) -> (Reliability, f64) {
    let mut conf_sum = [0.0f64; NUM_BINS];
    let mut hits = [0u32; NUM_BINS];
    let mut count = [0u32; NUM_BINS];
    let mut n = 0usize;
    for (&c, &ok) in confidences.iter().zip(correct) {
        let b = bin_index(c);
        conf_sum[b] += c as f64;
        hits[b] += ok as u32;
        count[b] += 1;
        n += 1;
    }
    let mut rel = Reliability::empty();
    let mut ece = 0.0f64;
    for b in 0..NUM_BINS {
        rel.bin_count[b] = count[b];
        if count[b] == 0 {
            continue;
        }
        let nb = count[b] as f64;
        let conf = conf_sum[b] / nb;
        let acc = hits[b] as f64 / nb;
        rel.bin_confidence[b] = conf;
        rel.bin_accuracy[b] = acc;
        ece += (nb / n as f64) * (acc - conf).abs();
    }
    (rel, ece)
}
