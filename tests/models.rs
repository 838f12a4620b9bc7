//! Models: the paper's ResNet-18 has its size and PyTorch names, and the tape's gradient of a whole
//! pre-activation ResNet (residuals, 1×1 shortcuts, batch norm in training mode) matches central
//! finite differences of the GPU forward.

mod common;

use common::*;
use cskd::gpu::{readback, Recorder, Tensor};
use cskd::model::{Model, ModelConfig, ModelName};
use cskd::ops::loss::{cskd_loss, LossConfig};
use cskd::rng::Rng;
use cskd::tape::{Tape, Var};

fn cfg(name: ModelName, width: usize, classes: usize) -> ModelConfig {
    ModelConfig {
        name,
        width,
        classes,
    }
}

#[test]
fn resnet18_matches_the_paper_and_pytorch_names() {
    let m = Model::new(gpu(), &cfg(ModelName::Resnet18, 64, 100), 0).unwrap();
    let n = m.store.num_parameters();
    assert!(
        (11_100_000..11_300_000).contains(&n),
        "ResNet-18 should have about 11.2 M parameters, has {n}"
    );
    let names: Vec<&str> = m
        .store
        .params
        .iter()
        .map(|p| p.name.as_str())
        .chain(m.store.buffers.iter().map(|b| b.name.as_str()))
        .collect();
    for want in [
        "conv1.weight",
        "bn1.running_var",
        "layer1.0.bn1.weight",
        "layer2.0.shortcut.0.weight",
        "layer4.1.conv2.weight",
        "linear.bias",
    ] {
        assert!(names.contains(&want), "missing {want}");
    }
    assert!(
        !names.contains(&"layer1.0.shortcut.0.weight"),
        "identity shortcut in layer1 needs no conv"
    );
    let shape = |name: &str| {
        m.store
            .params
            .iter()
            .find(|p| p.name == name)
            .unwrap()
            .value
            .shape()
            .to_vec()
    };
    assert_eq!(shape("layer3.0.conv1.weight"), [256, 128, 3, 3]);
    assert_eq!(shape("linear.weight"), [100, 512]);
    let small = Model::new(gpu(), &cfg(ModelName::Smallcnn, 32, 100), 0).unwrap();
    assert_eq!(shape_of(&small, "features.14.weight"), [128, 64, 3, 3]);
    assert_eq!(shape_of(&small, "fc.weight"), [100, 128]);
}

fn shape_of(m: &Model, name: &str) -> Vec<usize> {
    m.store
        .params
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{name}"))
        .value
        .shape()
        .to_vec()
}

/// CE loss of the model on (x, labels) in training mode, without a tape.
fn loss(model: &Model, x: &Tensor, labels: &Tensor) -> f64 {
    let pool = pool();
    let mut rec = Recorder::new(gpu(), &pool);
    let z = model
        .forward(&mut rec, &mut Tape::off(), &Var::constant(x.clone()), true)
        .logits;
    let out = cskd_loss(&mut rec, &z.value, None, labels, LossConfig::ce());
    pollster::block_on(readback::read(&mut rec, &out.loss)).unwrap()[0] as f64
}

#[test]
fn parameters_and_buffers_are_aligned_disjoint_slots_of_one_arena_each() {
    let m = Model::new(gpu(), &cfg(ModelName::Resnet10, 3, 5), 1).unwrap();
    let align = gpu().limits.min_storage_buffer_offset_alignment as u64;
    let arena = m.store.arena();
    let check = |what: &str, views: Vec<(&str, &Tensor)>, whole: &Tensor| {
        let mut ranges: Vec<(u64, u64, &str)> = views
            .iter()
            .map(|(n, t)| {
                assert!(t.buffer() == whole.buffer(), "{what} {n} outside the arena");
                assert_eq!(t.offset() % align, 0, "{what} {n} misaligned");
                (t.offset(), t.offset() + t.bytes(), *n)
            })
            .collect();
        ranges.sort();
        for w in ranges.windows(2) {
            assert!(w[0].1 <= w[1].0, "{what}: {} overlaps {}", w[0].2, w[1].2);
        }
        assert!(
            ranges.last().unwrap().1 <= whole.bytes(),
            "{what}: past the end"
        );
    };
    let named = |f: fn(&cskd::model::store::Param) -> &Tensor| {
        m.store
            .params
            .iter()
            .map(move |p| (p.name.as_str(), f(p)))
            .collect::<Vec<_>>()
    };
    check("values", named(|p| &p.value), &arena.values);
    check("velocity", named(|p| &p.velocity), &arena.velocity);
    check("grads", named(|p| &p.grad), &arena.grads);
    check("kept values", named(|p| &p.kept_value), &arena.kept_values);
    check(
        "kept velocity",
        named(|p| &p.kept_velocity),
        &arena.kept_velocity,
    );
    // Running statistics share one buffer too (one copy snapshots them all).
    let first = &m.store.buffers[0].value;
    for b in &m.store.buffers {
        assert!(
            b.value.buffer() == first.buffer(),
            "{} in its own buffer",
            b.name
        );
    }
}

#[test]
fn resnet_tape_gradient_matches_finite_differences() {
    let model = Model::new(gpu(), &cfg(ModelName::Resnet10, 2, 3), 7).unwrap();
    let mut rng = Rng::new(8);
    let n = 4;
    let x = upload(&[n, 3, 8, 8], &randn(&mut rng, n * 3 * 64, 1.0));
    let labels = upload_u32(&[n], &[0, 1, 2, 1]);

    let pool = pool();
    let mut rec = Recorder::new(gpu(), &pool);
    let mut tape = Tape::new();
    let z = model
        .forward(&mut rec, &mut tape, &Var::constant(x.clone()), true)
        .logits;
    let out = cskd_loss(&mut rec, &z.value, None, &labels, LossConfig::ce());
    let grads = tape.backward(&mut rec, &z, out.dza);

    for name in [
        "conv1.weight",
        "layer2.0.shortcut.0.weight",
        "layer3.0.conv2.weight",
        "layer4.0.bn1.weight",
        "linear.weight",
        "linear.bias",
    ] {
        let p = model.store.params.iter().find(|p| p.name == name).unwrap();
        // The backward wrote the gradient straight into the parameter's gradient-arena slot.
        assert!(grads.of(&p.value).unwrap().same_view(&p.grad), "{name}");
        let g = pollster::block_on(readback::read(&mut rec, &p.grad)).unwrap();
        let w0 = pollster::block_on(readback::read(&mut rec, &p.value)).unwrap();
        // The two largest gradient entries: central differences in f32 resolve them well.
        let mut idx: Vec<usize> = (0..g.len()).collect();
        idx.sort_by(|&a, &b| g[b].abs().total_cmp(&g[a].abs()));
        for &i in &idx[..2] {
            let h = 1e-2f32;
            let mut w = w0.clone();
            w[i] = w0[i] + h;
            p.value.write(gpu(), &w);
            let up = loss(&model, &x, &labels);
            w[i] = w0[i] - h;
            p.value.write(gpu(), &w);
            let down = loss(&model, &x, &labels);
            p.value.write(gpu(), &w0);
            let fd = (up - down) / (2.0 * h as f64);
            let tol = 0.05 * (g[i].abs() as f64).max(0.02) + 2e-3;
            assert!(
                (fd - g[i] as f64).abs() <= tol,
                "{name}[{i}]: finite difference {fd} vs tape {}",
                g[i]
            );
        }
    }
}
