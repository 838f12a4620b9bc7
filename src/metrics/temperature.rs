//! Post-hoc temperature scaling (Guo et al., "On Calibration of Modern Neural Networks", 2017):
//! one scalar T > 0 divides every logit; T is fitted to minimise the NLL on a held-out set and
//! leaves the argmax (so every error rate) unchanged.
//!
//! The NLL is a convex function of β = 1/T (a log-sum-exp of terms linear in β minus a linear
//! term), so it is unimodal in log T as well: a golden-section search over log T in
//! `[T_MIN, T_MAX]` finds the minimum without derivatives and cannot diverge.

use super::calibration::{reliability_and_ece, Reliability};
use super::classification::{argmax, nll_term};
use super::MetricsError;
use serde::{Deserialize, Serialize};

/// Search interval of the fit. A set the model already separates perfectly drives T → 0 and
/// ends at `T_MIN`; a constant-logit model ends at whatever is flat (any T is optimal).
pub const T_MIN: f64 = 0.01;
pub const T_MAX: f64 = 100.0;
/// Golden-section steps: the interval in log T shrinks by 0.618 per step, 80 steps reach ~1e-16.
const STEPS: usize = 80;

/// Test metrics after dividing the logits by the fitted temperature. ECE, NLL and the
/// reliability diagram follow the same conventions as [`super::Metrics`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemperatureScaled {
    pub temperature: f64,
    pub ece: f64,
    pub nll: f64,
    pub reliability: Reliability,
}

fn check(logits: &[f32], k: usize, labels: &[u32]) -> Result<(), MetricsError> {
    if k == 0 {
        return Err(MetricsError::ZeroClasses);
    }
    let expected = labels.len().checked_mul(k);
    if expected != Some(logits.len()) {
        return Err(MetricsError::ProbsLength {
            len: logits.len(),
            samples: labels.len(),
            num_classes: k,
            expected: expected.unwrap_or(usize::MAX),
        });
    }
    match labels.iter().enumerate().find(|(_, &y)| y as usize >= k) {
        Some((index, &label)) => Err(MetricsError::LabelOutOfRange {
            index,
            label,
            num_classes: k,
        }),
        None => Ok(()),
    }
}

/// Mean NLL of `softmax(logits / t)` in f64 (exact log-sum-exp, no probability floor: the fit
/// needs a smooth objective).
pub fn scaled_nll(logits: &[f32], k: usize, labels: &[u32], t: f64) -> f64 {
    if labels.is_empty() {
        return 0.0;
    }
    let mut sum = 0.0;
    for (row, &y) in logits.chunks_exact(k).zip(labels) {
        let max = row.iter().fold(f64::NEG_INFINITY, |m, &z| m.max(z as f64)) / t;
        let lse = max
            + row
                .iter()
                .map(|&z| (z as f64 / t - max).exp())
                .sum::<f64>()
                .ln();
        sum += lse - row[y as usize] as f64 / t;
    }
    sum / labels.len() as f64
}

/// The temperature in `[T_MIN, T_MAX]` minimising [`scaled_nll`] on these held-out logits.
/// `None` when there are no samples (nothing to fit) or a logit is not finite.
pub fn fit_temperature(
    logits: &[f32],
    k: usize,
    labels: &[u32],
) -> Result<Option<f64>, MetricsError> {
    check(logits, k, labels)?;
    if labels.is_empty() || logits.iter().any(|z| !z.is_finite()) {
        return Ok(None);
    }
    let f = |log_t: f64| scaled_nll(logits, k, labels, log_t.exp());
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut a, mut b) = (T_MIN.ln(), T_MAX.ln());
    let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..STEPS {
        if fc <= fd {
            (b, d, fd) = (d, c, fc);
            c = b - g * (b - a);
            fc = f(c);
        } else {
            (a, c, fc) = (c, d, fd);
            d = a + g * (b - a);
            fd = f(d);
        }
    }
    Ok(Some(((a + b) / 2.0).exp()))
}

/// ECE (15 bins), NLL and reliability diagram of `softmax(logits / t)`, with the same
/// conventions as [`super::evaluate`] (NLL floor 1e-12, f32 confidences for binning).
pub fn scaled_metrics(
    logits: &[f32],
    k: usize,
    labels: &[u32],
    t: f64,
) -> Result<TemperatureScaled, MetricsError> {
    check(logits, k, labels)?;
    let n = labels.len();
    let mut confidences = Vec::with_capacity(n);
    let mut correct = Vec::with_capacity(n);
    let mut nll_sum = 0.0;
    let mut p = vec![0f32; k];
    for (row, &y) in logits.chunks_exact(k).zip(labels) {
        let max = row.iter().fold(f64::NEG_INFINITY, |m, &z| m.max(z as f64)) / t;
        let e: Vec<f64> = row.iter().map(|&z| (z as f64 / t - max).exp()).collect();
        let s: f64 = e.iter().sum();
        for (pi, ei) in p.iter_mut().zip(&e) {
            *pi = (ei / s) as f32;
        }
        let pred = argmax(&p);
        confidences.push(p[pred]);
        correct.push(pred == y as usize);
        nll_sum += nll_term(p[y as usize]);
    }
    let (reliability, ece) = reliability_and_ece(&confidences, &correct);
    Ok(TemperatureScaled {
        temperature: t,
        ece,
        nll: if n == 0 { 0.0 } else { nll_sum / n as f64 },
        reliability,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_temperature_matches_plain_softmax_nll() {
        let logits = [2.0f32, 0.0, -1.0, 0.5, 0.5, 3.0];
        let labels = [0u32, 2];
        let m = scaled_metrics(&logits, 3, &labels, 1.0).unwrap();
        assert!((m.nll - scaled_nll(&logits, 3, &labels, 1.0)).abs() < 1e-6);
        assert_eq!(m.temperature, 1.0);
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(fit_temperature(&[1.0, 2.0, 3.0], 2, &[0]).is_err());
        assert!(fit_temperature(&[1.0, 2.0], 2, &[2]).is_err());
        assert!(scaled_metrics(&[1.0], 0, &[], 1.0).is_err());
        assert_eq!(fit_temperature(&[], 3, &[]).unwrap(), None);
        assert_eq!(fit_temperature(&[f32::NAN, 0.0], 2, &[0]).unwrap(), None);
    }
}
