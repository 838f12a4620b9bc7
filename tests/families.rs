//! Kernel families agree end to end: the same SmallCNN (same seed, same batch) takes two CS-KD
//! training steps (forward, loss, backward, SGD) on each family, and every family reports the loss
//! of the tiled family (the second step's loss also checks the first step's update).

mod common;

use common::*;
use cskd::gpu::{readback, Gpu, KernelFamily, Recorder, Tensor};
use cskd::model::{Model, ModelConfig, ModelName};
use cskd::ops::loss::LossConfig;
use cskd::ops::sgd::SgdConfig;
use cskd::rng::Rng;
use cskd::train::record_step;

/// The losses of two CS-KD steps of a small SmallCNN on a fixed random batch.
fn two_step_losses(gpu: &Gpu) -> [f32; 2] {
    let config = ModelConfig {
        name: ModelName::Smallcnn,
        width: 8,
        classes: 10,
    };
    let model = Model::new(gpu, &config, 3).unwrap();
    let mut rng = Rng::new(9);
    let n = 6;
    let shape = [n, 3, 32, 32];
    let anchors = upload_to(gpu, &shape, &randn(&mut rng, n * 3 * 32 * 32, 1.0));
    let partners = upload_to(gpu, &shape, &randn(&mut rng, n * 3 * 32 * 32, 1.0));
    let labels = Tensor::from_slice(&gpu.device, &gpu.queue, &[n], &[0u32, 1, 2, 0, 1, 2]);
    let sgd = SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        weight_decay: 5e-4,
    };
    let pool = pool();
    let mut losses = [0.0; 2];
    for loss in &mut losses {
        let mut rec = Recorder::new(gpu, &pool);
        let out = record_step(
            &mut rec,
            &model,
            &anchors,
            Some(&partners),
            &labels,
            LossConfig::cskd(4.0, 1.0),
            sgd,
        );
        *loss = pollster::block_on(readback::read(&mut rec, &out)).unwrap()[0];
    }
    losses
}

fn matches_tiled(family: KernelFamily) {
    let want = two_step_losses(family_gpu(KernelFamily::Tiled));
    let got = two_step_losses(family_gpu(family));
    assert!(
        want.iter().all(|l| l.is_finite()) && want[0] != want[1],
        "the tiled steps should give two different finite losses: {want:?}"
    );
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-4 * (1.0 + w.abs()),
            "{family} step {i}: loss {g}, tiled {w}"
        );
    }
}

#[test]
fn shared_family_step_matches_tiled() {
    matches_tiled(KernelFamily::Shared);
}

#[test]
fn compact_family_step_matches_tiled() {
    matches_tiled(KernelFamily::Compact);
}
