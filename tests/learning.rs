//! A tiny CNN trained with the CS-KD loss and SGD on a synthetic, learnable image task must halve
//! its loss and clearly beat chance, in f32 and with f16 activations (mixed precision); a
//! warmed-up step allocates no new buffers.

mod common;

use common::*;
use cskd::gpu::{readback, Dtype, Gpu, Recorder, Tensor};
use cskd::model::{Model, ModelConfig, ModelName};
use cskd::ops::loss::LossConfig;
use cskd::ops::sgd::SgdConfig;
use cskd::rng::Rng;
use cskd::tape::{Tape, Var};
use cskd::train::record_step;

const K: usize = 4;

/// Classes 0–2: a bright square in colour channel c; class 3: horizontal stripes in every channel.
/// Placed at random and on noise, so the net must learn translation-invariant features.
fn sample(rng: &mut Rng, label: usize) -> Vec<f32> {
    let mut img = randn(rng, 3 * 32 * 32, 0.5);
    let (oy, ox) = (rng.below(20), rng.below(20));
    for c in 0..3 {
        for y in 0..12 {
            for x in 0..12 {
                let on = if label == 3 { y % 4 < 2 } else { c == label };
                if on {
                    img[c * 1024 + (oy + y) * 32 + ox + x] += 2.0;
                }
            }
        }
    }
    img
}

fn batch(rng: &mut Rng, labels: &[u32]) -> Vec<f32> {
    labels
        .iter()
        .flat_map(|&l| sample(rng, l as usize))
        .collect()
}

#[test]
fn tiny_cnn_learns_with_cskd_loss() {
    learns(gpu());
}

#[test]
fn tiny_cnn_learns_with_f16_activations() {
    let gpu = gpu().with_activations(Dtype::F16).unwrap();
    let model = learns(&gpu);
    // The activations really were f16: every forward kernel (convolutions, batch norms, pools;
    // not the weights' repacking, not the f32 classifier) bound f16 tensors.
    let pool = pool();
    let mut rec = Recorder::profiled(&gpu, &pool).unwrap();
    let x = images(&gpu, &mut Rng::new(2), &[0, 1, 2, 3]);
    model.forward(&mut rec, &mut Tape::off(), &Var::constant(x), false);
    let (_, records) = pollster::block_on(cskd::gpu::profile::finish(&mut rec)).unwrap();
    let forward: Vec<_> = records
        .iter()
        .filter(|r| r.kernel.contains("forward"))
        .collect();
    assert!(
        forward.len() >= 12 && forward.iter().all(|r| r.f16_slots != 0),
        "{records:?}"
    );
}

/// Images of `labels` uploaded as `gpu` stores activations.
fn images(gpu: &Gpu, rng: &mut Rng, labels: &[u32]) -> Tensor {
    let shape = [labels.len(), 3, 32, 32];
    let data = batch(rng, labels);
    Tensor::from_f32s(&gpu.device, &gpu.queue, &shape, &data, gpu.activations())
}

/// Trains the tiny CNN on `gpu` and checks it learnt; returns it.
fn learns(gpu: &Gpu) -> Model {
    let pool = pool();
    let model = Model::new(
        gpu,
        &ModelConfig {
            name: ModelName::Smallcnn,
            width: 8,
            classes: K,
        },
        0,
    )
    .unwrap();
    let mut rng = Rng::new(1);
    let b = 16;
    let loss_cfg = LossConfig::cskd(4.0, 1.0);
    let sgd_cfg = SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        weight_decay: 5e-4,
        nesterov: false,
    };
    let mut losses = Vec::new();
    let mut created_after_warmup = 0;
    for step in 0..60 {
        let labels: Vec<u32> = (0..b).map(|_| rng.below(K) as u32).collect();
        // partners: same class
        let (xa, xp) = (
            images(gpu, &mut rng, &labels),
            images(gpu, &mut rng, &labels),
        );
        let mut rec = Recorder::new(gpu, &pool);
        let loss = record_step(
            &mut rec,
            &model,
            &xa,
            Some(&xp),
            &upload_u32(&[b], &labels),
            loss_cfg,
            sgd_cfg,
        );
        losses.push(read(&mut rec, &loss)[1]); // the CE part: comparable across steps
        if step == 2 {
            created_after_warmup = pool.created();
        }
    }
    assert_eq!(
        pool.created(),
        created_after_warmup,
        "steps after warm-up must not allocate"
    );
    let first: f32 = losses[..5].iter().sum::<f32>() / 5.0;
    let last: f32 = losses[losses.len() - 5..].iter().sum::<f32>() / 5.0;
    assert!(
        last <= 0.5 * first,
        "CE did not halve: first {first}, last {last} ({losses:?})"
    );

    // Evaluation mode on fresh data beats chance (25%) clearly.
    let labels: Vec<u32> = (0..64).map(|i| (i % K) as u32).collect();
    let x = images(gpu, &mut rng, &labels);
    let mut rec = Recorder::new(gpu, &pool);
    let logits = model
        .forward(&mut rec, &mut Tape::off(), &Var::constant(x), false)
        .logits
        .value;
    let logits = pollster::block_on(readback::read(&mut rec, &logits)).unwrap();
    let correct = labels
        .iter()
        .enumerate()
        .filter(|(i, &l)| cskd::metrics::argmax(&logits[i * K..(i + 1) * K]) == l as usize)
        .count();
    assert!(
        correct >= 48,
        "eval accuracy {correct}/64 not clearly above chance"
    );
    model
}
