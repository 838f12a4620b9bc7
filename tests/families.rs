//! Kernel families agree end to end: the same SmallCNN (same seed, same batch) takes two CS-KD
//! training steps (forward, loss, backward, SGD) on each family, and every family reports the loss
//! of the tiled family (the second step's loss also checks the first step's update). And the CLI's
//! `--kernels` flag picks the family.

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
        nesterov: false,
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
    // Else its ops would quietly run the tiled kernels and this test would prove nothing.
    assert!(
        KernelFamily::shared_fits(&family_gpu(KernelFamily::Shared).limits),
        "the test adapter cannot run the shared family's workgroups"
    );
    matches_tiled(KernelFamily::Shared);
}

#[test]
fn compact_family_step_matches_tiled() {
    matches_tiled(KernelFamily::Compact);
}

/// `--kernels` overrides the adapter's family (and `CSKD_KERNELS`) for any subcommand; an unknown
/// name is refused with the list of families.
#[test]
fn cli_kernels_flag_picks_the_family() {
    let cskd = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_cskd"))
            .args(args)
            .env("CSKD_KERNELS", "compact")
            .output()
            .unwrap()
    };
    let out = cskd(&["info", "--kernels", "shared"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["kernels"], "shared");
    let out = cskd(&["--kernels", "fast", "info"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("use tiled, compact or shared"), "{err}");
}
