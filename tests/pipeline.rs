//! The pipelined training step, counted: after warm-up a step is one submit, its loss is read
//! while the next step runs (no wait with the GPU idle), and no bind group is created. One test
//! in its own binary, so that no other test's work lands in the device's counters.

mod common;

use cskd::gpu::{Gpu, GpuOptions};
use cskd::model::ModelName;
use cskd::train::{Method, TrainConfig, Trainer};
use std::sync::Arc;

#[test]
fn a_warm_step_submits_once_never_idles_the_gpu_and_creates_no_bind_group() {
    let gpu = Arc::new(
        pollster::block_on(Gpu::open(GpuOptions {
            backends: Some(wgpu::Backends::VULKAN),
            ..GpuOptions::default()
        }))
        .unwrap(),
    );
    for method in [Method::Cskd, Method::Ce] {
        let config = TrainConfig {
            model: ModelName::Smallcnn,
            width: 4,
            method,
            batch: 10,
            epochs: 1,
            per_class: 8,
            test_per_class: 2,
            seed: 3,
            ..Default::default()
        };
        let mut t = Trainer::new(gpu.clone(), config, common::cifar10()).unwrap();
        assert_eq!(t.steps_per_epoch(), 8);
        for _ in 0..2 {
            pollster::block_on(t.step_ahead()).unwrap();
        }
        let before = gpu.counters();
        let mut reported = Vec::new();
        for _ in 0..4 {
            reported.push(pollster::block_on(t.step_ahead()).unwrap().step);
        }
        let c = gpu.counters().since(&before);
        assert_eq!(
            reported,
            [3, 4, 5, 6],
            "{method:?}: reports in order, none lost"
        );
        assert_eq!(c.submits, 4, "{method:?}: one submit per step: {c:?}");
        assert_eq!(
            c.host_waits, 0,
            "{method:?}: no wait with the GPU idle: {c:?}"
        );
        assert_eq!(c.overlapped_waits, 4, "{method:?}: {c:?}");
        assert_eq!(
            c.bind_groups_created, 0,
            "{method:?}: bind groups reused: {c:?}"
        );
        assert!(c.dispatches >= 4 * 40, "{method:?}: {c:?}");
        assert!(
            c.bytes_written > 0,
            "{method:?}: images and params are uploaded: {c:?}"
        );
        // The epoch's last step is not overlapped with an evaluation: it waits with nothing behind.
        let before = gpu.counters();
        let last = pollster::block_on(t.step_ahead()).unwrap();
        let last = if last.epoch_done {
            last
        } else {
            pollster::block_on(t.step_ahead()).unwrap()
        };
        assert!(last.epoch_done && last.step == 8);
        assert!(gpu.counters().since(&before).host_waits >= 1);
        // Anything else settles the step in flight first: state and weights agree.
        pollster::block_on(t.evaluate()).unwrap();
        assert_eq!(t.history.len(), 1);
    }
}
