//! Classification metrics over row-major `N × K` probability matrices:
//! argmax / softmax helpers, top-k hits, NLL, confusion matrix, per-class accuracy and the
//! CIFAR-100 "superclass share" of wrong predictions.
//!
//! All functions here assume their inputs were validated by [`super::evaluate`] (lengths agree,
//! labels `< K`); they never index out of bounds for validated input.

/// Probabilities below this are clamped before taking the logarithm in the NLL, so a sample whose
/// true class got probability 0 contributes `-ln(1e-12) ≈ 27.63` instead of `+inf`.
pub const NLL_PROB_FLOOR: f64 = 1e-12;

/// Index of the largest value of `row`; ties go to the **lowest** index.
///
/// NaN entries are ignored (never selected) unless every entry is NaN, in which case 0 is
/// returned. An empty row also returns 0.
pub fn argmax(row: &[f32]) -> usize {
    let mut best: Option<(usize, f32)> = None;
    for (i, &v) in row.iter().enumerate() {
        if v.is_nan() {
            continue;
        }
        match best {
            Some((_, b)) if v <= b => {}
            _ => best = Some((i, v)),
        }
    }
    best.map_or(0, |(i, _)| i)
}

/// Numerically stable softmax of each row of a row-major `rows × k` logit matrix.
///
/// Each row is shifted by its maximum before exponentiation (so large logits do not overflow) and
/// the normaliser is summed in `f64`. Edge cases, all without panicking:
/// - `k == 0` returns an empty vector;
/// - if `logits.len()` is not a multiple of `k`, the trailing partial row is softmaxed on its own
///   (the output always has the same length as the input);
/// - a row whose maximum is `+inf` splits the mass equally among its `+inf` entries;
/// - a row that is entirely `-inf` becomes uniform;
/// - a NaN logit makes its whole row NaN.
pub fn softmax_rows(logits: &[f32], k: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(logits.len());
    if k == 0 {
        return out;
    }
    for row in logits.chunks(k) {
        softmax_row_into(row, &mut out);
    }
    out
}

fn softmax_row_into(row: &[f32], out: &mut Vec<f32>) {
    if row.iter().any(|v| v.is_nan()) {
        out.extend(row.iter().map(|_| f32::NAN));
        return;
    }
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::INFINITY {
        let n_inf = row.iter().filter(|&&v| v == f32::INFINITY).count() as f32;
        out.extend(
            row.iter()
                .map(|&v| if v == f32::INFINITY { 1.0 / n_inf } else { 0.0 }),
        );
        return;
    }
    if max == f32::NEG_INFINITY {
        let u = 1.0 / row.len() as f32;
        out.extend(row.iter().map(|_| u));
        return;
    }
    let start = out.len();
    let mut sum = 0.0f64;
    for &v in row {
        let e = (v - max).exp();
        sum += e as f64;
        out.push(e);
    }
    // sum >= 1 because the maximum contributes exp(0) = 1.
    let inv = (1.0 / sum) as f32;
    for e in &mut out[start..] {
        *e *= inv;
    }
}

/// Whether `label` is among the `k` highest entries of `row`, with the same tie rule as
/// [`argmax`] (among equal values the lower index ranks first). `k` is clamped to `row.len()`,
/// so top-5 with fewer than 5 classes is top-K (always a hit).
///
/// Computed as a rank (number of entries ranked before the label) in `O(K)`, no sorting.
/// NaN entries never rank before anything; a NaN true-class probability ranks last.
pub fn in_top_k(row: &[f32], label: usize, k: usize) -> bool {
    let k = k.min(row.len());
    if k == 0 || label >= row.len() {
        return false;
    }
    let p = row[label];
    let rank = if p.is_nan() {
        row.iter().filter(|v| !v.is_nan()).count()
            + row[..label].iter().filter(|v| v.is_nan()).count()
    } else {
        row.iter()
            .enumerate()
            .filter(|&(j, &v)| v > p || (v == p && j < label))
            .count()
    };
    rank < k
}

/// `-ln(max(p, 1e-12))` in `f64` (see [`NLL_PROB_FLOOR`]); a NaN probability gives NaN.
pub fn nll_term(p_true: f32) -> f64 {
    let p = p_true as f64;
    if p.is_nan() {
        return f64::NAN;
    }
    -p.max(NLL_PROB_FLOOR).ln()
}

/// `K × K` confusion matrix: `m[true][predicted]` counts.
pub fn confusion_matrix(preds: &[usize], labels: &[u32], num_classes: usize) -> Vec<Vec<u32>> {
    let mut m = vec![vec![0u32; num_classes]; num_classes];
    for (&p, &y) in preds.iter().zip(labels) {
        m[y as usize][p] += 1;
    }
    m
}

/// Per-class accuracy (recall) from a confusion matrix: `m[c][c] / Σ_j m[c][j]`.
/// A class with no samples reports 0.0 (its confusion row sums to 0, which tells it apart).
pub fn per_class_accuracy(confusion: &[Vec<u32>]) -> Vec<f64> {
    confusion
        .iter()
        .enumerate()
        .map(|(c, row)| {
            let n: u64 = row.iter().map(|&v| v as u64).sum();
            if n == 0 {
                0.0
            } else {
                row[c] as f64 / n as f64
            }
        })
        .collect()
}

/// Share of wrong predictions whose predicted class lies in the true class's superclass
/// (`superclass_of[pred] == superclass_of[label]`). `None` when there are no wrong predictions.
pub fn superclass_share(preds: &[usize], labels: &[u32], superclass_of: &[u32]) -> Option<f64> {
    let mut wrong = 0u64;
    let mut same = 0u64;
    for (&p, &y) in preds.iter().zip(labels) {
        let y = y as usize;
        if p != y {
            wrong += 1;
            if superclass_of[p] == superclass_of[y] {
                same += 1;
            }
        }
    }
    (wrong > 0).then(|| same as f64 / wrong as f64)
}
