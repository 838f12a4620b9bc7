//! The trainer end to end on real CIFAR-10 (from ../shared/data): learning above chance,
//! checkpoints that round-trip bit for bit, and resume equal to an uninterrupted run.

mod common;

use cskd::data::Cifar;
use cskd::model::ModelName;
use cskd::train::{Method, Schedule, TrainConfig, Trainer};
use safetensors::SafeTensors;
use std::sync::Arc;

fn cifar10() -> Cifar {
    common::cifar10()
}

fn shared_gpu() -> Arc<cskd::gpu::Gpu> {
    common::gpu_arc().clone()
}

fn tiny(method: Method) -> TrainConfig {
    TrainConfig {
        model: ModelName::Smallcnn,
        width: 4,
        method,
        batch: 16,
        epochs: 2,
        per_class: 8,
        test_per_class: 2,
        seed: 3,
        ..Default::default()
    }
}

/// Tensors of a checkpoint as (name, bytes), sorted.
fn tensors(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let st = SafeTensors::deserialize(bytes).unwrap();
    let mut v: Vec<_> = st
        .tensors()
        .into_iter()
        .map(|(n, t)| (n, t.data().to_vec()))
        .collect();
    v.sort();
    v
}

#[test]
fn small_cnn_learns_real_cifar10_above_chance() {
    // ~6000 image-steps of a width-8 SmallCNN: about a minute on lavapipe, ~35–40% accuracy.
    let config = TrainConfig {
        width: 8,
        batch: 20,
        epochs: 3,
        per_class: 200,
        test_per_class: 50,
        lr: 0.05,
        schedule: Schedule::Cosine,
        augment: false,
        ..tiny(Method::Ce)
    };
    let mut t = Trainer::new(shared_gpu(), config, cifar10()).unwrap();
    let mut last = None;
    while !t.finished() {
        last = Some(pollster::block_on(t.train_epoch(|_| {})).unwrap());
    }
    let m = last.unwrap().test.unwrap();
    assert!(
        m.top1_error <= 0.70,
        "test accuracy {:.1}% is not clearly above chance (10%)",
        100.0 * (1.0 - m.top1_error)
    );
    assert!(m.ece.is_finite() && m.nll.is_finite());
    assert_eq!(m.count, 500);
}

#[test]
fn checkpoint_round_trip_is_bit_exact() {
    let mut a = Trainer::new(shared_gpu(), tiny(Method::Cskd), cifar10()).unwrap();
    pollster::block_on(a.train_epoch(|_| {})).unwrap();
    let saved = pollster::block_on(a.save_checkpoint()).unwrap();
    // A fresh trainer of the same run (same data subset: a resume checks it) takes it all.
    let mut b = Trainer::new(shared_gpu(), tiny(Method::Cskd), cifar10()).unwrap();
    b.load_checkpoint(&saved, true).unwrap();
    let again = pollster::block_on(b.save_checkpoint()).unwrap();
    assert_eq!(tensors(&saved), tensors(&again));
    assert_eq!(b.state, a.state);
    assert!(
        tensors(&saved)
            .iter()
            .any(|(n, _)| n == "features.1.running_mean"),
        "PyTorch names"
    );
    assert!(tensors(&saved)
        .iter()
        .any(|(n, _)| n == "features.1.num_batches_tracked"));
}

#[test]
fn resume_equals_uninterrupted_run() {
    for method in [Method::Cskd, Method::Ce] {
        let mut straight = Trainer::new(shared_gpu(), tiny(method), cifar10()).unwrap();
        while !straight.finished() {
            pollster::block_on(straight.step()).unwrap();
        }
        // Interrupt mid-epoch: one epoch and two steps, then a fresh trainer picks up the checkpoint.
        let mut first = Trainer::new(shared_gpu(), tiny(method), cifar10()).unwrap();
        let steps = first.steps_per_epoch() + 2;
        for _ in 0..steps {
            pollster::block_on(first.step()).unwrap();
        }
        let mid = pollster::block_on(first.save_checkpoint()).unwrap();
        let mut second = Trainer::new(shared_gpu(), tiny(method), cifar10()).unwrap();
        second.load_checkpoint(&mid, true).unwrap();
        while !second.finished() {
            pollster::block_on(second.step()).unwrap();
        }
        let (x, y) = (
            pollster::block_on(straight.save_checkpoint()).unwrap(),
            pollster::block_on(second.save_checkpoint()).unwrap(),
        );
        assert_eq!(
            tensors(&x),
            tensors(&y),
            "{method:?}: resumed weights differ from the uninterrupted run"
        );
        // The epoch interrupted mid-way reports the same loss (its running sums are saved too).
        let losses = |t: &Trainer| {
            t.history
                .iter()
                .map(|r| (r.train_loss, r.train_ce, r.train_kl))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            losses(&straight),
            losses(&second),
            "{method:?}: epoch losses"
        );
    }
}

#[test]
fn bad_checkpoints_are_rejected_and_change_nothing() {
    let mut t = Trainer::new(shared_gpu(), tiny(Method::Ce), cifar10()).unwrap();
    let before = pollster::block_on(t.save_checkpoint()).unwrap();
    let mut other = Trainer::new(
        shared_gpu(),
        TrainConfig {
            width: 8,
            ..tiny(Method::Ce)
        },
        cifar10(),
    )
    .unwrap();
    let wrong = pollster::block_on(other.save_checkpoint()).unwrap();
    for (bad, what) in [
        (&b"not a checkpoint"[..], "checkpoint"),
        (&wrong[..], "width"),
        (&before[..before.len() / 2], "checkpoint"),
    ] {
        let e = t.load_checkpoint(bad, true).unwrap_err().to_string();
        assert!(e.contains(what) || e.contains("checkpoint"), "{e}");
    }
    assert_eq!(
        tensors(&before),
        tensors(&pollster::block_on(t.save_checkpoint()).unwrap())
    );
}

#[test]
fn nan_learning_rate_is_a_config_error() {
    let e = Trainer::new(
        shared_gpu(),
        TrainConfig {
            lr: f32::NAN,
            ..tiny(Method::Cskd)
        },
        cifar10(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("lr"), "{e}");
}

#[test]
fn divergence_stops_with_a_message_and_keeps_the_last_good_weights() {
    // A huge learning rate blows the loss up within a few steps.
    let mut t = Trainer::new(
        shared_gpu(),
        TrainConfig {
            lr: 1e30,
            weight_decay: 0.0,
            ..tiny(Method::Cskd)
        },
        cifar10(),
    )
    .unwrap();
    let mut snapshots = vec![pollster::block_on(t.save_checkpoint()).unwrap()];
    let mut err = None;
    for _ in 0..20 {
        match pollster::block_on(t.step()) {
            Ok(_) => snapshots.push(pollster::block_on(t.save_checkpoint()).unwrap()),
            Err(e) => {
                err = Some(e.to_string());
                break;
            }
        }
    }
    let err = err.expect("a learning rate of 1e30 must diverge");
    assert!(
        (err.contains("loss became") || err.contains("batch-norm running statistics"))
            && err.contains("last good"),
        "{err}"
    );
    let after = pollster::block_on(t.save_checkpoint()).unwrap();
    // The weights of the last finite step made this loss non-finite: the run goes back to the
    // weights, momentum and step count that finite loss was computed with (the state before the
    // last good step), and the running statistics to their values before the diverged step.
    let n = snapshots.len();
    let weights = &snapshots[n.saturating_sub(2)];
    let stats = &snapshots[n - 1];
    let part = |b: &[u8], running: bool| {
        tensors(b)
            .into_iter()
            .filter(|(n, _)| n.contains(".running_") == running)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        part(weights, false),
        part(&after, false),
        "weights, momentum, counts"
    );
    assert_eq!(part(stats, true), part(&after, true), "running statistics");
    // So the saved last-good state evaluates to finite metrics.
    let mut reloaded = Trainer::new(shared_gpu(), tiny(Method::Cskd), cifar10()).unwrap();
    reloaded.load_checkpoint(&after, false).unwrap();
    let m = pollster::block_on(reloaded.evaluate()).unwrap().metrics;
    assert!(
        m.nll.is_finite() && m.ece.is_finite(),
        "NLL {} ECE {}",
        m.nll,
        m.ece
    );
}
