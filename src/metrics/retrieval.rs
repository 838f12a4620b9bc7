//! Recall@1 on penultimate-layer features (cosine similarity, nearest *other* sample).
//!
//! Rows are L2-normalised once (in `f64`, stored as `f32`); a row whose norm is 0 or not finite
//! (zeros, NaN, inf) becomes the zero vector and so has cosine similarity exactly 0 with every row
//! — no NaN ever enters the comparison. Similarities are then all-pairs dot products computed in
//! cache-sized tiles, each unordered pair once (the matrix is symmetric), with 8 independent `f32`
//! accumulators so the compiler vectorises the inner loop. Single-threaded (it must also run in
//! wasm32); 10 000 × 128 takes well under a few seconds in release.
//!
//! **Ties:** among rows with equal highest similarity the lowest row index is the neighbour. In
//! particular a zero-vector query (similarity 0 with everything) gets the lowest-index other row
//! whose similarity is maximal — its "hit" is then an artefact, which is why the trainer should not
//! feed degenerate features.

use super::MetricsError;

/// Rows per tile. Two tiles of 64 rows × 128 dims × 4 bytes = 64 KiB stay in L2.
const TILE: usize = 64;
/// Accumulator lanes; rows are zero-padded to a multiple of this.
const LANES: usize = 8;

/// L2-normalise each `dim`-long row into a zero-padded buffer with row stride `stride`.
fn normalise_rows(features: &[f32], dim: usize, stride: usize) -> Vec<f32> {
    let n = features.len() / dim;
    let mut out = vec![0.0f32; n * stride];
    for (src, dst) in features.chunks_exact(dim).zip(out.chunks_exact_mut(stride)) {
        let norm = src
            .iter()
            .map(|&v| (v as f64) * (v as f64))
            .sum::<f64>()
            .sqrt();
        if norm > 0.0 && norm.is_finite() {
            let inv = 1.0 / norm;
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = (s as f64 * inv) as f32;
            }
        }
    }
    out
}

#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    for (ca, cb) in a.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
        for l in 0..LANES {
            acc[l] += ca[l] * cb[l];
        }
    }
    // Fixed pairwise reduction: deterministic and symmetric in (a, b).
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// Four dot products `a[p] · b` at once, each bit-identical to `dot(a[p], b)` (same lane
/// accumulation and reduction order), so results do not depend on which path computed them.
#[inline]
fn dot4(a: [&[f32]; 4], b: &[f32]) -> [f32; 4] {
    let mut acc = [[0.0f32; LANES]; 4];
    let chunks = b.len() / LANES;
    for c in 0..chunks {
        let o = c * LANES;
        let cb = &b[o..o + LANES];
        for p in 0..4 {
            let ca = &a[p][o..o + LANES];
            for l in 0..LANES {
                acc[p][l] += ca[l] * cb[l];
            }
        }
    }
    acc.map(|acc| ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])))
}

#[inline]
fn offer(best_sim: &mut [f32], best_idx: &mut [usize], i: usize, j: usize, s: f32) {
    if s > best_sim[i] || (s == best_sim[i] && j < best_idx[i]) {
        best_sim[i] = s;
        best_idx[i] = j;
    }
}

/// For each of the `features.len() / dim` rows, the index of its nearest *other* row by cosine
/// similarity (ties → lowest index); `None` only when there is no other row (N ≤ 1).
///
/// `dim` must be ≥ 1 and `features.len()` a multiple of it (trailing values are ignored
/// otherwise; [`recall_at_1`] checks this).
pub fn nearest_neighbours(features: &[f32], dim: usize) -> Vec<Option<usize>> {
    if dim == 0 {
        return Vec::new();
    }
    let n = features.len() / dim;
    if n < 2 {
        return vec![None; n];
    }
    let stride = dim.div_ceil(LANES) * LANES;
    let x = normalise_rows(features, dim, stride);
    let row = |i: usize| &x[i * stride..(i + 1) * stride];

    let mut best_sim = vec![f32::NEG_INFINITY; n];
    let mut best_idx = vec![usize::MAX; n];
    for i0 in (0..n).step_by(TILE) {
        let i1 = (i0 + TILE).min(n);
        for j0 in (i0..n).step_by(TILE) {
            let j1 = (j0 + TILE).min(n);
            let mut i = i0;
            // Four query rows at a time share each candidate row's loads.
            while i + 4 <= i1 {
                let a = [row(i), row(i + 1), row(i + 2), row(i + 3)];
                // Pairs inside the 4-row group itself (diagonal tile only).
                let jstart = if j0 == i0 {
                    for p in 0..4 {
                        for q in p + 1..4 {
                            let s = dot(a[p], a[q]);
                            offer(&mut best_sim, &mut best_idx, i + p, i + q, s);
                            offer(&mut best_sim, &mut best_idx, i + q, i + p, s);
                        }
                    }
                    i + 4
                } else {
                    j0
                };
                for j in jstart..j1 {
                    let s = dot4(a, row(j));
                    for (p, &sp) in s.iter().enumerate() {
                        offer(&mut best_sim, &mut best_idx, i + p, j, sp);
                        offer(&mut best_sim, &mut best_idx, j, i + p, sp);
                    }
                }
                i += 4;
            }
            for i in i..i1 {
                let a = row(i);
                let jstart = if j0 == i0 { i + 1 } else { j0 };
                for j in jstart..j1 {
                    let s = dot(a, row(j));
                    offer(&mut best_sim, &mut best_idx, i, j, s);
                    offer(&mut best_sim, &mut best_idx, j, i, s);
                }
            }
        }
    }
    best_idx
        .into_iter()
        .map(|j| (j != usize::MAX).then_some(j))
        .collect()
}

/// Recall@1: share of rows whose nearest other row (cosine) has the same label.
///
/// `features` is row-major `N × dim` with `N = labels.len()`. Returns `Ok(None)` when `N < 2`
/// (no row has a neighbour, so the metric is undefined). Errors when `dim == 0` or
/// `features.len() != N · dim`.
pub fn recall_at_1(
    features: &[f32],
    dim: usize,
    labels: &[u32],
) -> Result<Option<f64>, MetricsError> {
    if dim == 0 {
        return Err(MetricsError::ZeroFeatureDim);
    }
    let n = labels.len();
    let expected = n.checked_mul(dim);
    if expected != Some(features.len()) {
        return Err(MetricsError::FeaturesLength {
            len: features.len(),
            samples: n,
            dim,
            expected: expected.unwrap_or(usize::MAX),
        });
    }
    if n < 2 {
        return Ok(None);
    }
    let nn = nearest_neighbours(features, dim);
    let hits = nn
        .iter()
        .zip(labels)
        .filter(|(j, &y)| j.is_some_and(|j| labels[j] == y))
        .count();
    Ok(Some(hits as f64 / n as f64))
}
