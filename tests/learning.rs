//! A tiny CNN trained with the CS-KD loss and SGD on a synthetic, learnable image task must halve
//! its loss and clearly beat chance; a warmed-up step allocates no new buffers.

mod common;

use common::*;
use cskd::gpu::{readback, Recorder, Tensor};
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
    let (gpu, pool) = (gpu(), pool());
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
        let (xa, xp) = (batch(&mut rng, &labels), batch(&mut rng, &labels)); // partners: same class
        let (xa, xp) = (upload(&[b, 3, 32, 32], &xa), upload(&[b, 3, 32, 32], &xp));
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
    let x = Tensor::from_slice(
        &gpu.device,
        &gpu.queue,
        &[64, 3, 32, 32],
        &batch(&mut rng, &labels),
    );
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
}
