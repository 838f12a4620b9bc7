//! The new methods end to end on real CIFAR-10 (from ../shared/data), tiny shapes: CS-KD + mixup
//! and + CutMix, KD from a teacher checkpoint (alone and with CS-KD), PS-KD. Each trains with a
//! finite, falling loss and no new GPU buffers after warm-up; the soft-target path agrees with
//! the fused one where both apply.

mod common;

use cskd::data::Cifar;
use cskd::error::Error;
use cskd::model::ModelName;
use cskd::train::{Method, Mix, TrainConfig, Trainer};
use std::sync::Arc;

fn cifar10() -> Cifar {
    common::cifar10()
}

fn gpu() -> Arc<cskd::gpu::Gpu> {
    common::gpu_arc().clone()
}

fn tiny(method: Method) -> TrainConfig {
    TrainConfig {
        model: ModelName::Smallcnn,
        width: 4,
        method,
        batch: 16,
        epochs: 6,
        lr: 0.1,
        per_class: 10,
        test_per_class: 2,
        calibration_fraction: 0.0,
        seed: 5,
        ..Default::default()
    }
}

/// Trains every epoch; returns the per-epoch training losses.
fn train(t: &mut Trainer) -> Vec<f64> {
    let mut created = Vec::new();
    while !t.finished() {
        pollster::block_on(t.train_epoch(|r| assert!(r.loss.is_finite(), "{r:?}"))).unwrap();
        created.push(t.pool().created());
    }
    // Epoch 1 warms the pool up (and epoch 2 the evaluation's chunk sizes): nothing new after.
    assert_eq!(
        created[1..].iter().min(),
        created[1..].iter().max(),
        "buffers created per epoch {created:?}"
    );
    t.history.iter().map(|r| r.train_loss).collect()
}

fn assert_learns(name: &str, losses: &[f64]) {
    eprintln!("{name}: {losses:?}");
    assert!(losses.iter().all(|l| l.is_finite()), "{name}: {losses:?}");
    assert!(
        losses.last().unwrap() < losses.first().unwrap(),
        "{name}: the training loss did not fall: {losses:?}"
    );
}

fn teacher_bytes() -> Vec<u8> {
    // Another width than the students: any cskd checkpoint with the same classes will do.
    let config = TrainConfig {
        width: 6,
        epochs: 2,
        method: Method::Ce,
        ..tiny(Method::Ce)
    };
    let mut t = Trainer::new(gpu(), config, cifar10()).unwrap();
    train(&mut t);
    pollster::block_on(t.save_checkpoint()).unwrap()
}

#[test]
fn cskd_with_mixup_and_cutmix_learns() {
    for (mix, method) in [
        (Mix::Mixup, Method::Cskd),
        (Mix::Cutmix, Method::Cskd),
        (Mix::Mixup, Method::Ce),
    ] {
        let config = TrainConfig {
            mix,
            ..tiny(method)
        };
        let mut t = Trainer::new(gpu(), config, cifar10()).unwrap();
        let losses = train(&mut t);
        assert_learns(&format!("{method:?} + {mix:?}"), &losses);
        assert!(
            t.history.iter().all(|r| r.train_kl > 0.0) == (method == Method::Cskd),
            "the class-wise term runs exactly with cskd: {:?}",
            t.history
        );
    }
}

#[test]
fn kd_from_a_teacher_learns_alone_and_with_cskd() {
    let teacher = teacher_bytes();
    for method in [Method::Ce, Method::Cskd] {
        let config = TrainConfig {
            kd_lambda: 0.9,
            kd_temperature: 4.0,
            ..tiny(method)
        };
        let mut t = Trainer::new(gpu(), config, cifar10()).unwrap();
        t.set_teacher(&teacher).unwrap();
        let losses = train(&mut t);
        assert_learns(&format!("{method:?} + KD"), &losses);
        assert!(
            t.history.iter().all(|r| r.train_kl > 0.0),
            "{:?}",
            t.history
        );
    }
}

#[test]
fn kd_without_a_teacher_or_with_a_bad_one_is_a_clear_error() {
    let config = TrainConfig {
        kd_lambda: 1.0,
        ..tiny(Method::Ce)
    };
    let mut t = Trainer::new(gpu(), config, cifar10()).unwrap();
    match pollster::block_on(t.step()) {
        Err(Error::Config(m)) => assert!(m.contains("kdLambda"), "{m}"),
        other => panic!("expected a config error, got {:?}", other.map(|r| r.loss)),
    }
    let e = t.set_teacher(b"not a checkpoint").unwrap_err().to_string();
    assert!(!e.is_empty());
}

#[test]
fn pskd_learns() {
    // A moderate α_T: the soft targets' own entropy (the loss floor) rises with α_t.
    let config = TrainConfig {
        pskd_alpha: 0.3,
        ..tiny(Method::Pskd)
    };
    let mut t = Trainer::new(gpu(), config, cifar10()).unwrap();
    let losses = train(&mut t);
    assert_learns("pskd", &losses);
}

#[test]
fn soft_path_agrees_with_the_fused_path_where_both_apply() {
    // PS-KD with α_T = 0 is plain CE through the soft-target kernel: same draws, same math,
    // so the step losses agree to rounding.
    let run = |method, pskd_alpha| {
        let config = TrainConfig {
            pskd_alpha,
            epochs: 2,
            ..tiny(method)
        };
        let mut t = Trainer::new(gpu(), config, cifar10()).unwrap();
        (0..8)
            .map(|_| pollster::block_on(t.step()).unwrap().loss)
            .collect::<Vec<f32>>()
    };
    let (fused, soft) = (run(Method::Ce, 0.8), run(Method::Pskd, 0.0));
    for (a, b) in fused.iter().zip(&soft) {
        assert!(
            (a - b).abs() < 1e-3 * a.abs().max(1.0),
            "{fused:?} vs {soft:?}"
        );
    }
}

/// Tensors of a checkpoint as (name, bytes), sorted.
fn tensors(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let st = safetensors::SafeTensors::deserialize(bytes).unwrap();
    let mut v: Vec<_> = st
        .tensors()
        .into_iter()
        .map(|(n, t)| (n, t.data().to_vec()))
        .collect();
    v.sort();
    v
}

#[test]
fn mixing_and_kd_resume_bit_exactly_mid_epoch() {
    let teacher = teacher_bytes();
    let config = TrainConfig {
        mix: Mix::Cutmix,
        kd_lambda: 0.5,
        epochs: 2,
        ..tiny(Method::Cskd)
    };
    let fresh = || {
        let mut t = Trainer::new(gpu(), config.clone(), cifar10()).unwrap();
        t.set_teacher(&teacher).unwrap();
        t
    };
    let mut straight = fresh();
    while !straight.finished() {
        pollster::block_on(straight.step()).unwrap();
    }
    let mut first = fresh();
    for _ in 0..first.steps_per_epoch() + 2 {
        pollster::block_on(first.step()).unwrap();
    }
    let mid = pollster::block_on(first.save_checkpoint()).unwrap();
    let mut second = fresh();
    second.load_checkpoint(&mid, true).unwrap();
    while !second.finished() {
        pollster::block_on(second.step()).unwrap();
    }
    let save = |t: &mut Trainer| pollster::block_on(t.save_checkpoint()).unwrap();
    assert!(
        tensors(&save(&mut straight)) == tensors(&save(&mut second)),
        "resumed weights differ from the uninterrupted run (the mixing stream must be saved)"
    );
}

#[test]
fn pskd_targets_use_last_epochs_predictions() {
    // Epoch 1 trains on one-hot targets (the buffer starts one-hot), exactly CE's steps; from
    // epoch 2 the targets hold the epoch-1 predictions and the runs part.
    let run = |method| {
        let config = TrainConfig {
            epochs: 2,
            ..tiny(method)
        };
        let mut t = Trainer::new(gpu(), config, cifar10()).unwrap();
        let mut losses = Vec::new();
        while !t.finished() {
            losses.push(pollster::block_on(t.step()).unwrap().loss);
        }
        (losses, t.steps_per_epoch())
    };
    let ((ce, n), (pskd, _)) = (run(Method::Ce), run(Method::Pskd));
    for (a, b) in ce[..n].iter().zip(&pskd[..n]) {
        assert!(
            (a - b).abs() < 1e-3 * a.abs().max(1.0),
            "epoch 1: {ce:?} vs {pskd:?}"
        );
    }
    let apart = ce[n..]
        .iter()
        .zip(&pskd[n..])
        .any(|(a, b)| (a - b).abs() > 0.01);
    assert!(apart, "epoch 2 should use soft targets: {ce:?} vs {pskd:?}");
}

#[test]
fn pskd_resumes_bit_exactly_mid_epoch_with_its_predictions() {
    // Interrupted in epoch 2, after its targets started to use epoch 1's predictions.
    let config = TrainConfig {
        epochs: 3,
        ..tiny(Method::Pskd)
    };
    let mut straight = Trainer::new(gpu(), config.clone(), cifar10()).unwrap();
    while !straight.finished() {
        pollster::block_on(straight.step()).unwrap();
    }
    let mut first = Trainer::new(gpu(), config.clone(), cifar10()).unwrap();
    for _ in 0..first.steps_per_epoch() + 2 {
        pollster::block_on(first.step()).unwrap();
    }
    let mid = pollster::block_on(first.save_checkpoint()).unwrap();
    assert!(tensors(&mid).iter().any(|(n, _)| n == "_pskd.predictions"));
    let mut second = Trainer::new(gpu(), config, cifar10()).unwrap();
    second.load_checkpoint(&mid, true).unwrap();
    while !second.finished() {
        pollster::block_on(second.step()).unwrap();
    }
    let save = |t: &mut Trainer| pollster::block_on(t.save_checkpoint()).unwrap();
    assert!(
        tensors(&save(&mut straight)) == tensors(&save(&mut second)),
        "a resumed PS-KD run differs from the uninterrupted one"
    );
    // Weights for fine-tuning leave PS-KD's state behind.
    let mut ce = Trainer::new(gpu(), tiny(Method::Ce), cifar10()).unwrap();
    ce.load_checkpoint(&mid, false).unwrap();
}
