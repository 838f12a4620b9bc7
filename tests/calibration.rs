//! Temperature scaling: the fit recovers a known temperature, never makes the held-out NLL worse,
//! the calibration split is class-balanced and disjoint from training, and holding it out of the
//! unused images (perClass > 0) leaves training bit-identical.

mod common;

use cskd::data::{default_class_names, Cifar, CifarKind, Split, IMAGE_BYTES};
use cskd::metrics::temperature::{fit_temperature, scaled_metrics, scaled_nll};
use cskd::rng::Rng;
use cskd::train::calibration::{balanced_indices, training_and_calibration};
use cskd::train::{Method, TrainConfig, Trainer};
use safetensors::SafeTensors;

const K: usize = 10;

/// `n` rows of base logits z ~ N(0, 2²) with labels drawn from softmax(z), returned as
/// logits `t0 · z` (a model whose logits are t0 times too large) and the labels.
fn synthetic(n: usize, t0: f32, seed: u64) -> (Vec<f32>, Vec<u32>) {
    let mut rng = Rng::new(seed);
    let (mut logits, mut labels) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let z: Vec<f32> = (0..K).map(|_| 2.0 * rng.normal()).collect();
        let max = z.iter().cloned().fold(f32::MIN, f32::max);
        let e: Vec<f32> = z.iter().map(|v| (v - max).exp()).collect();
        let mut u = rng.next_f32() * e.iter().sum::<f32>();
        let mut y = K - 1;
        for (c, &ec) in e.iter().enumerate() {
            if u < ec {
                y = c;
                break;
            }
            u -= ec;
        }
        labels.push(y as u32);
        logits.extend(z.iter().map(|v| t0 * v));
    }
    (logits, labels)
}

#[test]
fn fit_recovers_a_known_temperature() {
    for t0 in [0.5f32, 1.0, 2.5] {
        let (logits, labels) = synthetic(4000, t0, 7);
        let t = fit_temperature(&logits, K, &labels).unwrap().unwrap();
        assert!(
            (t / t0 as f64 - 1.0).abs() < 0.08,
            "logits scaled by {t0}: fitted T = {t}"
        );
    }
}

#[test]
fn scaling_never_worsens_held_out_nll_and_helps_an_overconfident_model() {
    let (cal, cal_y) = synthetic(1000, 3.0, 1);
    let (test, test_y) = synthetic(2000, 3.0, 2);
    let t = fit_temperature(&cal, K, &cal_y).unwrap().unwrap();
    assert!(scaled_nll(&cal, K, &cal_y, t) <= scaled_nll(&cal, K, &cal_y, 1.0));
    let before = scaled_metrics(&test, K, &test_y, 1.0).unwrap();
    let after = scaled_metrics(&test, K, &test_y, t).unwrap();
    assert!(after.nll < before.nll, "{} vs {}", after.nll, before.nll);
    assert!(after.ece < before.ece, "{} vs {}", after.ece, before.ece);
    assert_eq!(after.temperature, t);
    assert_eq!(after.reliability.bin_count.iter().sum::<u32>(), 2000);
}

/// `per_class` images of each class whose bytes encode their index (so images are unique).
fn pool(per_class: usize) -> Split {
    let n = per_class * K;
    let mut images = Vec::with_capacity(n * IMAGE_BYTES);
    for i in 0..n {
        let tag = (i as u32).to_le_bytes();
        images.extend((0..IMAGE_BYTES).map(|b| tag[b % 4]));
    }
    Split {
        images,
        labels: (0..n).map(|i| ((i * 7) % K) as u32).collect(),
        coarse: None,
    }
}

fn images(s: &Split) -> Vec<&[u8]> {
    (0..s.len()).map(|i| s.image(i)).collect()
}

fn disjoint(a: &Split, b: &Split) -> bool {
    let seen: std::collections::HashSet<&[u8]> = images(a).into_iter().collect();
    images(b).iter().all(|img| !seen.contains(img))
}

#[test]
fn split_from_unused_images_is_balanced_disjoint_and_leaves_training_alone() {
    let all = pool(30);
    assert_eq!(
        all.select(&balanced_indices(&all.labels, 12, K, 5)),
        all.balanced_subset(12, K, 5),
        "the calibration rule must see the same training subset as the trainer"
    );
    let (train, cal) = training_and_calibration(all.clone(), 12, K, 5, 0.1);
    assert_eq!(train, all.balanced_subset(12, K, 5));
    assert_eq!(cal.class_counts(K), vec![2; K], "⌈0.1 · 12⌉ per class");
    assert!(disjoint(&train, &cal));
    // A class with too few unused images gives what it has.
    let (train, cal) = training_and_calibration(all.clone(), 29, K, 5, 0.5);
    assert_eq!(cal.class_counts(K), vec![1; K]);
    assert!(disjoint(&train, &cal));
    let (_, none) = training_and_calibration(all, 12, K, 5, 0.0);
    assert!(none.is_empty());
}

#[test]
fn split_carved_from_the_whole_pool_is_balanced_and_disjoint() {
    let all = pool(25);
    let (train, cal) = training_and_calibration(all.clone(), 0, K, 9, 0.1);
    assert_eq!(cal.class_counts(K), vec![2; K], "⌊0.1 · 25⌋ per class");
    assert_eq!(train.class_counts(K), vec![23; K]);
    assert!(disjoint(&train, &cal));
    // The same seed gives the same split (cskd eval rebuilds it from the checkpoint's config).
    assert_eq!(training_and_calibration(all.clone(), 0, K, 9, 0.1).1, cal);
    // Training keeps its original order.
    let order: Vec<&[u8]> = images(&all)
        .into_iter()
        .filter(|img| images(&train).contains(img))
        .collect();
    assert_eq!(order, images(&train));
}

fn tiny_cifar() -> Cifar {
    let mut rng = Rng::new(3);
    let mut split = |per_class: usize| {
        let n = per_class * K;
        let labels: Vec<u32> = (0..n).map(|i| (i % K) as u32).collect();
        let images = labels
            .iter()
            .flat_map(|&y| (0..IMAGE_BYTES).map(move |_| y))
            .map(|y| (y as usize * 20 + rng.below(60)) as u8)
            .collect();
        Split {
            images,
            labels,
            coarse: None,
        }
    };
    Cifar {
        kind: CifarKind::Cifar10,
        train: split(12),
        test: split(3),
        classes: default_class_names(CifarKind::Cifar10),
        coarse_classes: None,
    }
}

fn train_one_epoch(fraction: f32) -> (Trainer, Vec<(String, Vec<u8>)>) {
    let config = TrainConfig {
        width: 4,
        method: Method::Cskd,
        batch: 16,
        epochs: 1,
        per_class: 8,
        lr: 0.05,
        seed: 4,
        calibration_fraction: fraction,
        ..Default::default()
    };
    let mut t = Trainer::new(common::gpu_arc().clone(), config, tiny_cifar()).unwrap();
    pollster::block_on(t.train_epoch(|_| {})).unwrap();
    let bytes = pollster::block_on(t.save_checkpoint()).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: Vec<_> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.data().to_vec()))
        .collect();
    tensors.sort();
    (t, tensors)
}

#[test]
fn held_out_calibration_leaves_training_bit_identical() {
    let (plain, plain_weights) = train_one_epoch(0.0);
    let (calibrated, calibrated_weights) = train_one_epoch(0.1);
    assert_eq!(
        plain_weights, calibrated_weights,
        "weights, momentum and statistics"
    );
    assert!(plain.calibration.is_empty());
    assert_eq!(calibrated.calibration.class_counts(K), vec![1; K]);
    assert!(disjoint(&calibrated.data.train, &calibrated.calibration));
    let (a, b) = (&plain.history[0], &calibrated.history[0]);
    assert_eq!(a.train_loss.to_bits(), b.train_loss.to_bits());
    let (ma, mut mb) = (a.test.clone().unwrap(), b.test.clone().unwrap());
    assert!(ma.temperature_scaled.is_none());
    let scaled = mb
        .temperature_scaled
        .take()
        .expect("temperature-scaled metrics");
    assert_eq!(ma, mb, "the raw test metrics do not change");
    assert!(scaled.temperature > 0.0 && scaled.nll.is_finite() && scaled.ece.is_finite());
}

#[test]
fn calibration_fraction_is_validated_by_name() {
    for bad in [f32::NAN, -0.1, 0.7] {
        let c = TrainConfig {
            calibration_fraction: bad,
            ..Default::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("calibrationFraction"), "{e}");
    }
    let e = TrainConfig::from_json(r#"{"calibrationFraction": 2}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("calibrationFraction"), "{e}");
    let c = TrainConfig::from_json(r#"{"calibrationFraction": 0}"#).unwrap();
    assert_eq!(c.calibration_fraction, 0.0);
    assert_eq!(TrainConfig::default().calibration_fraction, 0.1);
}
