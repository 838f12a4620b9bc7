//! Pipelines built ahead of the first step (W3, `Trainer::prebuild_pipelines`): the pre-build
//! builds exactly the pipelines that step then uses — the step builds none after it, and the same
//! step on a fresh device without it builds as many — for every kernel family, the plain step, the
//! soft-target one and f16 activations; and planning runs nothing on the GPU. Its own binary, each case on fresh
//! devices, so that no other test's pipelines are in the counts.

mod common;

use cskd::gpu::{Gpu, GpuOptions, KernelFamily};
use cskd::model::ModelName;
use cskd::train::{Method, Mix, Precision, TrainConfig, Trainer};
use std::sync::Arc;

fn device(family: KernelFamily) -> Arc<Gpu> {
    Arc::new(
        pollster::block_on(Gpu::open(GpuOptions {
            backends: Some(wgpu::Backends::VULKAN),
            kernels: Some(family),
            ..GpuOptions::default()
        }))
        .unwrap(),
    )
}

fn config(method: Method, mix: Mix, precision: Precision) -> TrainConfig {
    TrainConfig {
        model: ModelName::Smallcnn,
        width: 4,
        method,
        mix,
        precision,
        batch: 10,
        epochs: 1,
        per_class: 8,
        test_per_class: 2,
        seed: 5,
        ..Default::default()
    }
}

#[test]
fn the_prebuild_builds_exactly_the_pipelines_of_the_first_step() {
    let data = common::cifar10();
    for family in KernelFamily::ALL {
        for (method, mix, precision) in [
            (Method::Cskd, Mix::None, Precision::F32),
            (Method::Ce, Mix::Mixup, Precision::F32),
            // The bindings typed f16 are part of a pipeline's identity.
            (Method::Cskd, Mix::None, Precision::Mixed),
        ] {
            let what = format!("{family} {method:?} {mix:?} {precision:?}");
            let config = || config(method, mix, precision);
            // Without the pre-build: the step builds each pipeline as it first dispatches it.
            let gpu = device(family);
            let mut t = Trainer::new(gpu.clone(), config(), data.clone()).unwrap();
            let before = gpu.pipelines_built();
            pollster::block_on(t.step()).unwrap();
            let used = gpu.pipelines_built() - before;
            assert!(used >= 10, "{what}: a step builds its pipelines: {used}");

            // With it: the same pipelines, built before the step; the step builds none.
            let gpu = device(family);
            let mut t = Trainer::new(gpu.clone(), config(), data.clone()).unwrap();
            let (before, counters) = (gpu.pipelines_built(), gpu.counters());
            let built = t.prebuild_pipelines().unwrap() as u64;
            assert_eq!(gpu.pipelines_built() - before, built, "{what}");
            assert_eq!(built, used, "{what}: the plan lists the step's kernels");
            let c = gpu.counters().since(&counters);
            assert_eq!(
                (c.submits, c.dispatches, c.bind_groups_created),
                (0, 0, 0),
                "{what}: planning runs nothing: {c:?}"
            );
            let first = pollster::block_on(t.step()).unwrap();
            assert!(first.loss.is_finite(), "{what}");
            assert_eq!(
                gpu.pipelines_built() - before,
                built,
                "{what}: the step built a pipeline the pre-build missed"
            );
            // The next step needs the same ones: nothing left to build, and planning while a step
            // is in flight (step_ahead) keeps its report.
            assert_eq!(t.prebuild_pipelines().unwrap(), 0, "{what}");
            let second = pollster::block_on(t.step_ahead()).unwrap();
            assert_eq!(t.prebuild_pipelines().unwrap(), 0, "{what}");
            let third = pollster::block_on(t.step_ahead()).unwrap();
            assert_eq!((second.step, third.step), (2, 3), "{what}");
            assert_eq!(gpu.pipelines_built() - before, built, "{what}");
        }
    }
}

/// A pre-built step trains exactly like one whose pipelines were built as it went.
#[test]
fn a_prebuilt_step_gives_the_same_loss() {
    let data = common::cifar10();
    let gpu = common::gpu_arc();
    let run = |prebuild: bool| {
        let mut t = Trainer::new(
            gpu.clone(),
            config(Method::Cskd, Mix::None, Precision::F32),
            data.clone(),
        )
        .unwrap();
        if prebuild {
            t.prebuild_pipelines().unwrap();
        }
        (0..3)
            .map(|_| pollster::block_on(t.step()).unwrap().loss)
            .collect::<Vec<_>>()
    };
    assert_eq!(run(true), run(false));
}
