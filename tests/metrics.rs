//! Hand-computed checks for `cskd::metrics`.

use cskd::metrics::{
    argmax, bin_index, evaluate, format_table, nearest_neighbours, recall_at_1, softmax_rows,
    Metrics, MetricsError, NUM_BINS,
};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

macro_rules! assert_close {
    ($a:expr, $b:expr) => {
        assert_close!($a, $b, 1e-6)
    };
    ($a:expr, $b:expr, $tol:expr) => {{
        let (a, b) = ($a as f64, $b as f64);
        assert!(
            close(a, b, $tol),
            "{} = {a} but expected {b}",
            stringify!($a)
        );
    }};
}

/// Row-major probabilities from a list of rows.
fn flat(rows: &[&[f32]]) -> Vec<f32> {
    rows.iter().flat_map(|r| r.iter().copied()).collect()
}

/// A K-class row with `hi` at `p` and the rest spread evenly.
fn peaked(k: usize, p: usize, hi: f32) -> Vec<f32> {
    let lo = (1.0 - hi) / (k - 1) as f32;
    (0..k).map(|j| if j == p { hi } else { lo }).collect()
}

// ---------------------------------------------------------------------------------------------
// top-1 / top-5 / NLL
// ---------------------------------------------------------------------------------------------

#[test]
fn top1_top5_nll_three_samples_six_classes() {
    // s0: label 0, row [0.5 0.2 0.1 0.1 0.05 0.05] -> argmax 0, correct. Label in top-5.
    //     -ln 0.5 = 0.693147
    // s1: label 1, row [0.3 0.25 0.2 0.1 0.1 0.05] -> argmax 0, wrong. Label rank 1 -> top-5 hit.
    //     -ln 0.25 = 1.386294
    // s2: label 5, row [0.05 0.3 0.25 0.2 0.15 0.05] -> argmax 1, wrong. p_5 = 0.05: four classes
    //     (1..=4) are larger and class 0 ties at 0.05 with a lower index, so class 5 ranks 6th ->
    //     top-5 MISS (tie rule: lower index first). -ln 0.05 = 2.995732
    // top-1 error = 2/3, top-5 error = 1/3,
    // NLL = -ln(0.5 · 0.25 · 0.05) / 3 = -ln(0.00625) / 3 = 5.0751738 / 3 = 1.6917246
    let probs = flat(&[
        &[0.5, 0.2, 0.1, 0.1, 0.05, 0.05],
        &[0.3, 0.25, 0.2, 0.1, 0.1, 0.05],
        &[0.05, 0.3, 0.25, 0.2, 0.15, 0.05],
    ]);
    let m = evaluate(&probs, 6, &[0, 1, 5], None, None).unwrap();
    assert_eq!(m.count, 3);
    assert_close!(m.top1_error, 2.0 / 3.0, 1e-12);
    assert_close!(m.top5_error, 1.0 / 3.0, 1e-12);
    assert_close!(m.nll, 1.6917246);
    assert_eq!(m.recall_at_1, None);
    assert_eq!(m.superclass_share, None);
}

#[test]
fn top5_with_fewer_than_five_classes_is_top_k() {
    // K = 3: "top-5" is top-3, which always contains the label -> top-5 error 0.
    // Rows: [0.2 0.3 0.5] label 0 (wrong, argmax 2); [0.4 0.4 0.2] label 1: tie between 0 and 1 ->
    // argmax is the lowest index 0 -> wrong. top-1 error = 2/2.
    let probs = flat(&[&[0.2, 0.3, 0.5], &[0.4, 0.4, 0.2]]);
    let m = evaluate(&probs, 3, &[0, 1], None, None).unwrap();
    assert_close!(m.top1_error, 1.0, 0.0);
    assert_close!(m.top5_error, 0.0, 0.0);
}

#[test]
fn nll_clamps_zero_probability_at_1e_minus_12() {
    // p_true = 0 -> -ln(1e-12) = 27.631021; p_true = 1 -> 0. Mean = 13.815511.
    let probs = flat(&[&[1.0, 0.0], &[1.0, 0.0]]);
    let m = evaluate(&probs, 2, &[1, 0], None, None).unwrap();
    assert_close!(m.nll, 27.631021115928547 / 2.0, 1e-9);
    assert!(m.nll.is_finite());
}

#[test]
fn argmax_ties_take_lowest_index() {
    assert_eq!(argmax(&[0.1, 0.4, 0.4, 0.1]), 1);
    assert_eq!(argmax(&[0.3, 0.3, 0.3]), 0);
    assert_eq!(argmax(&[f32::NAN, 0.2, 0.7]), 2); // NaN is never chosen
    assert_eq!(argmax(&[]), 0);
}

#[test]
fn softmax_rows_is_stable_and_correct() {
    // softmax([1 2 3]) = [e^-2, e^-1, 1] / (e^-2 + e^-1 + 1) = [0.0900306, 0.2447285, 0.6652410]
    // softmax([1000 1000]) = [0.5 0.5] (no overflow thanks to the max shift)
    let s = softmax_rows(&[1.0, 2.0, 3.0, 1000.0, 1000.0, -1000.0], 3);
    assert_eq!(s.len(), 6);
    assert_close!(s[0], 0.09003057);
    assert_close!(s[1], 0.24472847);
    assert_close!(s[2], 0.66524096);
    // second row [1000, 1000, -1000] -> [0.5, 0.5, 0]
    assert_close!(s[3], 0.5);
    assert_close!(s[4], 0.5);
    assert_close!(s[5], 0.0);
    assert!(s.iter().all(|v| v.is_finite()));
    assert!(softmax_rows(&[1.0, 2.0], 0).is_empty());
    // trailing partial row is softmaxed on its own: [0 0 0 | 5] -> [1/3 1/3 1/3 | 1]
    let p = softmax_rows(&[0.0, 0.0, 0.0, 5.0], 3);
    assert_eq!(p.len(), 4);
    assert_close!(p[3], 1.0);
    // all -inf row -> uniform
    let u = softmax_rows(&[f32::NEG_INFINITY; 4], 4);
    assert!(u.iter().all(|&v| v == 0.25));
}

// ---------------------------------------------------------------------------------------------
// ECE / reliability
// ---------------------------------------------------------------------------------------------

#[test]
fn bin_index_edges_go_to_the_lower_bin() {
    // Bin b holds (b/15, (b+1)/15]: 0.6 = 9/15 is the upper edge of bin 8 (NOT bin 9 as
    // floor(0.6·15) would say).
    assert_eq!(bin_index(0.6), 8);
    assert_eq!(bin_index(0.600_001), 9);
    assert_eq!(bin_index(0.55), 8); // 8.25 -> ceil 9 - 1
    assert_eq!(bin_index(1.0), 14);
    assert_eq!(bin_index(0.0), 0); // clamped
    assert_eq!(bin_index(1e-9), 0);
    for k in 1..=15usize {
        let edge = k as f32 / 15.0;
        assert_eq!(bin_index(edge), k - 1, "edge {k}/15");
        assert_eq!(
            bin_index(f32::from_bits(edge.to_bits() + 1)).min(14),
            k.min(14)
        );
    }
}

#[test]
fn ece_hand_example_with_edge_confidence() {
    // K = 4, five samples:
    //  s0 conf 0.60 (edge 9/15 -> bin 8), label 0, pred 0 -> correct
    //  s1 conf 0.55 (8.25 -> bin 8),       label 0, pred 1 -> wrong
    //  s2 conf 0.90 (13.5 -> bin 13),      label 0, pred 0 -> correct
    //  s3 conf 1.00 (-> bin 14),           label 2, pred 2 -> correct
    //  s4 conf 0.30 (4.5 -> bin 4), tie 0.3/0.3 -> pred 0, label 1 -> wrong
    // bin 8:  n 2, conf (0.6+0.55)/2 = 0.575, acc 0.5 -> 2/5 · 0.075 = 0.03
    // bin 13: n 1, conf 0.9, acc 1               -> 1/5 · 0.1   = 0.02
    // bin 14: n 1, conf 1.0, acc 1               -> 0
    // bin 4:  n 1, conf 0.3, acc 0               -> 1/5 · 0.3   = 0.06
    // ECE = 0.11
    let probs = flat(&[
        &[0.6, 0.2, 0.1, 0.1],
        &[0.1, 0.55, 0.2, 0.15],
        &[0.9, 0.05, 0.03, 0.02],
        &[0.0, 0.0, 1.0, 0.0],
        &[0.3, 0.3, 0.2, 0.2],
    ]);
    let m = evaluate(&probs, 4, &[0, 0, 0, 2, 1], None, None).unwrap();
    assert_close!(m.ece, 0.11);
    let r = &m.reliability;
    assert_eq!(r.bin_count.len(), NUM_BINS);
    assert_eq!(r.bin_confidence.len(), NUM_BINS);
    assert_eq!(r.bin_accuracy.len(), NUM_BINS);
    let mut expected_count = [0u32; 15];
    expected_count[4] = 1;
    expected_count[8] = 2;
    expected_count[13] = 1;
    expected_count[14] = 1;
    assert_eq!(r.bin_count, expected_count.to_vec());
    assert_eq!(r.bin_count[9], 0, "0.6 must not land in bin 9");
    assert_close!(r.bin_confidence[8], 0.575);
    assert_close!(r.bin_accuracy[8], 0.5, 0.0);
    assert_close!(r.bin_confidence[4], 0.3);
    assert_close!(r.bin_accuracy[4], 0.0, 0.0);
    assert_close!(r.bin_confidence[14], 1.0, 0.0);
    // empty bins report 0 / 0
    assert_eq!(r.bin_confidence[0], 0.0);
    assert_eq!(r.bin_accuracy[0], 0.0);
    assert_eq!(r.bin_count.iter().sum::<u32>() as usize, m.count);
}

#[test]
fn ece_is_zero_for_perfectly_calibrated_construction() {
    // bin 11 (conf 0.75): 4 samples, 3 correct -> acc 0.75
    // bin 7  (conf 0.5):  2 samples, 1 correct -> acc 0.5
    // bin 14 (conf 1.0):  2 samples, 2 correct -> acc 1.0
    // every bin has |acc - conf| = 0 -> ECE = 0 (all values exact in binary).
    let r75 = [0.75, 0.125, 0.125, 0.0];
    let r50 = [0.5, 0.5, 0.0, 0.0];
    let r100 = [1.0, 0.0, 0.0, 0.0];
    let probs = flat(&[&r75, &r75, &r75, &r75, &r50, &r50, &r100, &r100]);
    let labels = [0, 0, 0, 1, 0, 1, 0, 0];
    let m = evaluate(&probs, 4, &labels, None, None).unwrap();
    assert_eq!(m.ece, 0.0);
    assert_eq!(m.reliability.bin_count[11], 4);
    assert_eq!(m.reliability.bin_count[7], 2);
    assert_eq!(m.reliability.bin_count[14], 2);
    assert_eq!(m.reliability.bin_count.iter().sum::<u32>(), 8);
}

#[test]
fn reliability_counts_sum_to_n_on_pseudo_random_data() {
    // Deterministic LCG logits -> softmax; every sample lands in exactly one bin and the ECE is a
    // weighted mean of |acc - conf| so it lies in [0, 1].
    let (n, k) = (1000usize, 10usize);
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f32) / (1u64 << 31) as f32
    };
    let logits: Vec<f32> = (0..n * k).map(|_| 6.0 * next() - 3.0).collect();
    let labels: Vec<u32> = (0..n)
        .map(|_| (next() * k as f32) as u32 % k as u32)
        .collect();
    let probs = softmax_rows(&logits, k);
    let m = evaluate(&probs, k, &labels, None, None).unwrap();
    assert_eq!(m.reliability.bin_count.iter().sum::<u32>() as usize, n);
    assert!((0.0..=1.0).contains(&m.ece));
    let correct: u32 = (0..k).map(|c| m.confusion[c][c]).sum();
    assert_close!(m.top1_error, 1.0 - correct as f64 / n as f64, 1e-12);
}

// ---------------------------------------------------------------------------------------------
// Recall@1
// ---------------------------------------------------------------------------------------------

#[test]
fn recall_at_1_tiny_2d_with_zero_vector_and_tie() {
    // idx  vector    label
    //  0   ( 1, 0)     0
    //  1   ( 2, 0.1)   0     cos(0,1) = 2/sqrt(4.01) = 0.99875
    //  2   ( 0, 1)     1
    //  3   ( 0, 3)     1     cos(2,3) = 1
    //  4   (-1, 0)     0     cos with 0: -1, with 1: -0.99875, with 2, 3: 0, with 5 (zero): 0
    //  5   ( 0, 0)     0     zero vector: similarity 0 with everyone, no NaN
    // Nearest other rows:
    //  0 -> 1 (hit), 1 -> 0 (hit), 2 -> 3 (hit), 3 -> 2 (hit)
    //  4 -> TIE at similarity 0 among {2, 3, 5}: lowest index wins -> 2 (label 1) -> miss
    //       (had the tie gone to 5, label 0, it would be a hit)
    //  5 -> TIE at 0 among all others -> lowest index 0 (label 0) -> hit
    // Recall@1 = 5/6
    let feats = [1.0, 0.0, 2.0, 0.1, 0.0, 1.0, 0.0, 3.0, -1.0, 0.0, 0.0, 0.0];
    let labels = [0, 0, 1, 1, 0, 0];
    let nn = nearest_neighbours(&feats, 2);
    assert_eq!(
        nn,
        vec![Some(1), Some(0), Some(3), Some(2), Some(2), Some(0)]
    );
    let r = recall_at_1(&feats, 2, &labels).unwrap().unwrap();
    assert_close!(r, 5.0 / 6.0, 1e-12);

    // Same through evaluate (probabilities irrelevant here).
    let probs: Vec<f32> = labels
        .iter()
        .flat_map(|&y| peaked(2, y as usize, 0.9))
        .collect();
    let m = evaluate(&probs, 2, &labels, Some((&feats, 2)), None).unwrap();
    assert_eq!(m.recall_at_1, Some(r));
    assert_eq!(m.top1_error, 0.0);
}

#[test]
fn recall_at_1_scale_invariant_and_single_row_is_none() {
    // Cosine ignores length: (1,0) and (100,1) are nearer than (1,0) and (1,1).
    let feats = [1.0, 0.0, 100.0, 1.0, 1.0, 1.0];
    assert_eq!(nearest_neighbours(&feats, 2)[0], Some(1));
    // N = 1: nobody has a neighbour -> None.
    assert_eq!(recall_at_1(&[1.0, 2.0], 2, &[0]).unwrap(), None);
    assert_eq!(recall_at_1(&[], 2, &[]).unwrap(), None);
}

#[test]
fn recall_blocked_matches_brute_force_across_tiles() {
    // 300 rows (crosses the 64-row tiles), dim 13 (not a multiple of the 8 lanes).
    let (n, d) = (300usize, 13usize);
    let mut state = 99u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64) / (1u64 << 31) as f64 - 0.5
    };
    let feats: Vec<f32> = (0..n * d).map(|_| next() as f32).collect();
    let nn = nearest_neighbours(&feats, d);
    let cos = |i: usize, j: usize| {
        let (a, b) = (&feats[i * d..(i + 1) * d], &feats[j * d..(j + 1) * d]);
        let dot: f64 = a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum();
        let na: f64 = a.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
        let nb: f64 = b.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
        dot / (na * nb)
    };
    for (i, &found) in nn.iter().enumerate() {
        let best = (0..n)
            .filter(|&j| j != i)
            .map(|j| cos(i, j))
            .fold(f64::NEG_INFINITY, f64::max);
        let j = found.unwrap();
        assert_ne!(j, i);
        assert!(cos(i, j) >= best - 1e-5, "row {i}: got {j}");
    }
}

// ---------------------------------------------------------------------------------------------
// Superclass share, confusion, per-class accuracy
// ---------------------------------------------------------------------------------------------

#[test]
fn superclass_share_hand_example() {
    // superclass_of = [0, 0, 1, 1] (classes 0,1 in super 0; 2,3 in super 1)
    // (label -> pred): 0->1 same super, wrong | 0->2 other super, wrong | 2->3 same, wrong
    //                  3->3 correct           | 1->0 same, wrong
    // wrong = 4, same superclass = 3 -> share 0.75
    let preds = [1usize, 2, 3, 3, 0];
    let labels = [0u32, 0, 2, 3, 1];
    let probs: Vec<f32> = preds.iter().flat_map(|&p| peaked(4, p, 0.7)).collect();
    let sup = [0u32, 0, 1, 1];
    let m = evaluate(&probs, 4, &labels, None, Some(&sup)).unwrap();
    assert_eq!(m.superclass_share, Some(0.75));
    assert_close!(m.top1_error, 0.8, 1e-12);

    // No superclass map -> None; no wrong predictions -> None.
    assert_eq!(
        evaluate(&probs, 4, &labels, None, None)
            .unwrap()
            .superclass_share,
        None
    );
    let right: Vec<f32> = labels
        .iter()
        .flat_map(|&y| peaked(4, y as usize, 0.7))
        .collect();
    let m = evaluate(&right, 4, &labels, None, Some(&sup)).unwrap();
    assert_eq!(m.superclass_share, None);
    assert_eq!(m.top1_error, 0.0);
}

#[test]
fn confusion_and_per_class_accuracy() {
    // K = 4, class 3 has no samples (but is predicted once).
    // labels [0 0 0 1 1 2 2], preds [0 0 1 1 2 2 3]
    // confusion (row = true, col = predicted):
    //   0: [2 1 0 0]   acc 2/3
    //   1: [0 1 1 0]   acc 1/2
    //   2: [0 0 1 1]   acc 1/2
    //   3: [0 0 0 0]   acc 0 (no samples)
    // top-1 error = 3/7
    let labels = [0u32, 0, 0, 1, 1, 2, 2];
    let preds = [0usize, 0, 1, 1, 2, 2, 3];
    let probs: Vec<f32> = preds.iter().flat_map(|&p| peaked(4, p, 0.7)).collect();
    let m = evaluate(&probs, 4, &labels, None, None).unwrap();
    assert_eq!(
        m.confusion,
        vec![
            vec![2, 1, 0, 0],
            vec![0, 1, 1, 0],
            vec![0, 0, 1, 1],
            vec![0, 0, 0, 0]
        ]
    );
    assert_close!(m.per_class_accuracy[0], 2.0 / 3.0, 1e-12);
    assert_close!(m.per_class_accuracy[1], 0.5, 0.0);
    assert_close!(m.per_class_accuracy[2], 0.5, 0.0);
    assert_eq!(m.per_class_accuracy[3], 0.0);
    assert_close!(m.top1_error, 3.0 / 7.0, 1e-12);
}

// ---------------------------------------------------------------------------------------------
// Errors and N = 0
// ---------------------------------------------------------------------------------------------

#[test]
fn mismatched_lengths_are_errors_not_panics() {
    // 3 labels × 2 classes needs 6 probabilities, got 5.
    let e = evaluate(&[0.5; 5], 2, &[0, 1, 0], None, None).unwrap_err();
    assert_eq!(
        e,
        MetricsError::ProbsLength {
            len: 5,
            samples: 3,
            num_classes: 2,
            expected: 6
        }
    );
    assert!(e.to_string().contains("needs 6"), "{e}");

    let e = evaluate(&[0.5; 4], 2, &[0, 2], None, None).unwrap_err();
    assert_eq!(
        e,
        MetricsError::LabelOutOfRange {
            index: 1,
            label: 2,
            num_classes: 2
        }
    );
    assert!(e.to_string().contains("label 2"));

    assert_eq!(
        evaluate(&[], 0, &[], None, None).unwrap_err(),
        MetricsError::ZeroClasses
    );

    let probs = [0.5; 4];
    let e = evaluate(&probs, 2, &[0, 1], Some((&[1.0; 5], 3)), None).unwrap_err();
    assert_eq!(
        e,
        MetricsError::FeaturesLength {
            len: 5,
            samples: 2,
            dim: 3,
            expected: 6
        }
    );
    assert!(e.to_string().contains("needs 6"));
    let e = evaluate(&probs, 2, &[0, 1], Some((&[], 0)), None).unwrap_err();
    assert_eq!(e, MetricsError::ZeroFeatureDim);

    let e = evaluate(&probs, 2, &[0, 1], None, Some(&[0, 0, 1])).unwrap_err();
    assert_eq!(
        e,
        MetricsError::SuperclassLength {
            len: 3,
            num_classes: 2
        }
    );

    assert!(recall_at_1(&[1.0; 3], 2, &[0, 1]).is_err());
}

#[test]
fn empty_input_returns_zeros() {
    // N = 0: errors/NLL/ECE 0, K×K zero confusion, per-class 0, 15 empty bins, None, count 0.
    let m = evaluate(&[], 3, &[], Some((&[], 8)), Some(&[0, 0, 1])).unwrap();
    assert_eq!(m.count, 0);
    assert_eq!(
        (m.top1_error, m.top5_error, m.nll, m.ece),
        (0.0, 0.0, 0.0, 0.0)
    );
    assert_eq!(m.recall_at_1, None);
    assert_eq!(m.superclass_share, None);
    assert_eq!(m.confusion, vec![vec![0; 3]; 3]);
    assert_eq!(m.per_class_accuracy, vec![0.0; 3]);
    assert_eq!(m.reliability.bin_count, vec![0; NUM_BINS]);
    assert_eq!(m.reliability.bin_confidence, vec![0.0; NUM_BINS]);
    assert_eq!(m.reliability.bin_accuracy, vec![0.0; NUM_BINS]);
    // and it renders
    let t = format_table(&m, &[]);
    assert!(t.contains("n/a"));
}

// ---------------------------------------------------------------------------------------------
// serde and table
// ---------------------------------------------------------------------------------------------

fn sample_metrics() -> Metrics {
    let feats = [1.0, 0.0, 2.0, 0.1, 0.0, 1.0, 0.0, 3.0, -1.0, 0.0, 0.0, 0.0];
    let labels = [0u32, 0, 1, 1, 2, 3];
    let probs = flat(&[
        &[0.6, 0.2, 0.1, 0.1],
        &[0.1, 0.55, 0.2, 0.15],
        &[0.9, 0.05, 0.03, 0.02],
        &[0.0, 0.0, 1.0, 0.0],
        &[0.3, 0.3, 0.2, 0.2],
        &[0.1, 0.1, 0.1, 0.7],
    ]);
    evaluate(&probs, 4, &labels, Some((&feats, 2)), Some(&[0, 0, 1, 1])).unwrap()
}

#[test]
fn serde_json_round_trip_keeps_everything() {
    let m = sample_metrics();
    assert!(m.recall_at_1.is_some() && m.superclass_share.is_some());
    let json = serde_json::to_string(&m).unwrap();
    for key in [
        "\"top1Error\"",
        "\"top5Error\"",
        "\"nll\"",
        "\"ece\"",
        "\"recallAt1\"",
        "\"perClassAccuracy\"",
        "\"confusion\"",
        "\"reliability\"",
        "\"binConfidence\"",
        "\"binAccuracy\"",
        "\"binCount\"",
        "\"superclassShare\"",
        "\"count\"",
    ] {
        assert!(json.contains(key), "missing {key} in {json}");
    }
    // Exact equality holds for these values. Caveat: serde_json's default float parser is not
    // always correctly rounded (about 1 in 10 arbitrary f64s come back 1 ulp off); enable
    // serde_json's `float_roundtrip` feature for a bit-exact round trip of arbitrary metrics.
    let back: Metrics = serde_json::from_str(&json).unwrap();
    assert_eq!(back, m);

    // None fields survive as null.
    let empty = evaluate(&[], 2, &[], None, None).unwrap();
    let json = serde_json::to_string_pretty(&empty).unwrap();
    assert!(json.contains("\"recallAt1\": null"));
    let back: Metrics = serde_json::from_str(&json).unwrap();
    assert_eq!(back, empty);
}

#[test]
fn format_table_lists_summary_and_classes() {
    let m = sample_metrics();
    let names: Vec<String> = ["apple", "aquarium_fish", "baby"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let t = format_table(&m, &names);
    for needle in [
        "top-1 error",
        "top-5 error",
        "NLL",
        "ECE",
        "Recall@1",
        "superclass share",
        "apple",
        "aquarium_fish",
        "baby",
        "class 3",
    ] {
        assert!(t.contains(needle), "missing {needle}:\n{t}");
    }
    // summary comes before the per-class section
    assert!(t.find("Recall@1").unwrap() < t.find("apple").unwrap());
}
