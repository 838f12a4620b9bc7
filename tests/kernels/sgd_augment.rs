//! SGD beyond one update (the registry checks that): a non-finite loss skips the step and keeps
//! the last good state, and one dispatch updates a whole parameter arena; the augmentation
//! reference's plain normalisation.
use crate::common::*;
use cskd::gpu::{Recorder, Tensor};
use cskd::model::{Model, ModelConfig, ModelName};
use cskd::ops::augment::Crop;
use cskd::ops::sgd::{self, SgdConfig};
use cskd::reference as r;
use cskd::rng::Rng;

#[test]
fn sgd_skips_nonfinite_steps_and_keeps_the_last_good_state() {
    let (gpu, pool) = (gpu(), pool());
    let mut rng = Rng::new(12);
    let n = 300;
    let (w0, g, v0) = (
        randn(&mut rng, n, 1.0),
        randn(&mut rng, n, 1.0),
        randn(&mut rng, n, 1.0),
    );
    let cfg = SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        weight_decay: 5e-4,
        nesterov: false,
    };
    let (w, v) = (upload(&[n], &w0), upload(&[n], &v0));
    let (kw, kv) = (upload(&[n], &vec![0.0; n]), upload(&[n], &vec![0.0; n]));
    let halted = Tensor::zeros(&gpu.device, &[1]);
    let kept = sgd::Kept {
        values: &kw,
        velocity: &kv,
        halted: &halted,
    };
    let mut rec = Recorder::new(gpu, &pool);
    let step = |rec: &mut Recorder<'_>, loss: f32| {
        let loss = upload(&[4], &[loss, 0.0, 0.0, 0.0]);
        sgd::step(rec, &w, &upload(&[n], &g), &v, &loss, kept, cfg);
    };
    step(&mut rec, 1.5);
    let (want_w, _) = r::sgd(&to64(&w0), &to64(&g), &to64(&v0), 0.1, 0.9, 5e-4, false);
    let halt_flag = |rec: &mut Recorder<'_>| read(rec, &halted)[0].to_bits();
    assert_eq!(halt_flag(&mut rec), 0, "a finite loss does not halt");
    for bad in [f32::NAN, f32::INFINITY] {
        step(&mut rec, bad);
        assert_close("weights kept", &read(&mut rec, &w), &want_w, 1e-6, 1e-6);
        assert_eq!(read(&mut rec, &kw), w0, "a skipped step keeps nothing new");
        assert_eq!(read(&mut rec, &kv), v0, "nor momentum");
        assert_eq!(halt_flag(&mut rec), 1, "a non-finite loss halts");
    }
    // A step recorded before the host saw the bad loss changes nothing, finite loss or not...
    step(&mut rec, 0.5);
    assert_close(
        "halted: weights kept",
        &read(&mut rec, &w),
        &want_w,
        1e-6,
        1e-6,
    );
    assert_eq!(read(&mut rec, &kw), w0, "halted: nothing kept");
    // ...until the host clears the flag.
    rec.clear(&halted);
    step(&mut rec, 0.5);
    assert_eq!(halt_flag(&mut rec), 0);
    let kept_now = read(&mut rec, &kw);
    assert_close(
        "stepping again keeps its start",
        &kept_now,
        &want_w,
        1e-6,
        1e-6,
    );
}

#[test]
fn sgd_updates_a_whole_parameter_arena_in_one_dispatch_and_keeps_padding_zero() {
    let (gpu, pool) = (gpu(), pool());
    let cfg = ModelConfig {
        name: ModelName::Smallcnn,
        width: 2,
        classes: 3,
    };
    let model = Model::new(gpu, &cfg, 3).unwrap();
    let store = &model.store;
    let arena = store.arena();
    let mut rng = Rng::new(14);
    // Per parameter: value (from the model's init), gradient and momentum written through the views.
    let mut want = Vec::new();
    let mut rec = Recorder::new(gpu, &pool);
    for p in &store.params {
        let n = p.value.numel();
        let (g, v0) = (randn(&mut rng, n, 1.0), randn(&mut rng, n, 1.0));
        p.grad.write(gpu, &g);
        p.velocity.write(gpu, &v0);
        let w0 = read(&mut rec, &p.value);
        want.push((w0, g, v0));
    }
    let sgd_cfg = SgdConfig {
        lr: 0.05,
        momentum: 0.9,
        weight_decay: 1e-3,
        nesterov: false,
    };
    let loss = upload(&[4], &[0.7, 0.0, 0.0, 0.0]);
    let kept = arena.kept();
    let before = rec.dispatches();
    sgd::step(
        &mut rec,
        &arena.values,
        &arena.grads,
        &arena.velocity,
        &loss,
        kept,
        sgd_cfg,
    );
    assert_eq!(
        rec.dispatches() - before,
        1,
        "one dispatch for the whole model"
    );
    for (p, (w0, g, v0)) in store.params.iter().zip(&want) {
        let (want_w, want_v) = r::sgd(&to64(w0), &to64(g), &to64(v0), 0.05, 0.9, 1e-3, false);
        assert_close(
            &format!("{} v", p.name),
            &read(&mut rec, &p.velocity),
            &want_v,
            1e-6,
            1e-6,
        );
        assert_close(
            &format!("{} w", p.name),
            &read(&mut rec, &p.value),
            &want_w,
            1e-6,
            1e-6,
        );
        assert_eq!(&read(&mut rec, &p.kept_value), w0, "{} kept value", p.name);
        assert_eq!(
            &read(&mut rec, &p.kept_velocity),
            v0,
            "{} kept velocity",
            p.name
        );
    }
    // Between slots every arena holds zeros, before and after the update.
    let mut covered = vec![false; arena.values.numel()];
    for p in &store.params {
        let start = (p.value.offset() / 4) as usize;
        covered[start..start + p.value.numel()].fill(true);
    }
    assert!(
        covered.iter().any(|c| !c),
        "the layout pads at least one slot"
    );
    for (what, t) in [
        ("values", &arena.values),
        ("velocity", &arena.velocity),
        ("grads", &arena.grads),
        ("kept values", &arena.kept_values),
        ("kept velocity", &arena.kept_velocity),
    ] {
        let all = read(&mut rec, t);
        let bad = all
            .iter()
            .zip(&covered)
            .filter(|(v, c)| !**c && **v != 0.0)
            .count();
        assert_eq!(bad, 0, "{what}: padding is not zero");
    }
    // A non-finite loss skips the whole arena, and the roll-back restores the kept state.
    let w1 = read(&mut rec, &arena.values);
    sgd::step(
        &mut rec,
        &arena.values,
        &arena.grads,
        &arena.velocity,
        &upload(&[4], &[f32::NAN, 0.0, 0.0, 0.0]),
        kept,
        sgd_cfg,
    );
    assert_eq!(
        read(&mut rec, &arena.values),
        w1,
        "a NaN loss skips the step"
    );
    store.roll_back_params(&mut rec);
    for (p, (w0, _, v0)) in store.params.iter().zip(&want) {
        assert_eq!(&read(&mut rec, &p.value), w0, "{} rolled back", p.name);
        assert_eq!(
            &read(&mut rec, &p.velocity),
            v0,
            "{} momentum rolled back",
            p.name
        );
    }
}

#[test]
fn augmentation_reference_without_crop_is_plain_normalisation() {
    let mut rng = Rng::new(14);
    let bytes: Vec<u8> = (0..2 * 3072).map(|_| rng.below(256) as u8).collect();
    let out = r::augment(&bytes, &[Crop::NONE, Crop::NONE]);
    for (i, (&o, &b)) in out.iter().zip(&bytes).enumerate() {
        let (mean, std) = ([0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010]);
        let c = (i / 1024) % 3;
        assert!(
            ((o * std[c] + mean[c]) * 255.0 - b as f32).abs() < 1e-3,
            "[{i}]"
        );
    }
}
