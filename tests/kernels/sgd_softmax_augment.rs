use crate::common::*;
use cskd::gpu::Recorder;
use cskd::model::{Model, ModelConfig, ModelName};
use cskd::ops::augment::{augment, augment_reference, Crop};
use cskd::ops::sgd::{self, SgdConfig};
use cskd::ops::softmax::softmax;
use cskd::rng::Rng;

#[test]
fn sgd_matches_torch_formula_and_skips_nonfinite_steps() {
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
    let mut rec = Recorder::new(gpu, &pool);
    sgd::step(
        &mut rec,
        &w,
        &upload(&[n], &g),
        &v,
        &upload(&[4], &[1.5, 0.0, 0.0, 0.0]),
        (&kw, &kv),
        cfg,
    );
    let want_v: Vec<f64> = (0..n)
        .map(|i| 0.9 * v0[i] as f64 + g[i] as f64 + 5e-4 * w0[i] as f64)
        .collect();
    let want_w: Vec<f64> = (0..n).map(|i| w0[i] as f64 - 0.1 * want_v[i]).collect();
    assert_close("velocity", &read(&mut rec, &v), &want_v, 1e-6, 1e-6);
    assert_close("weights", &read(&mut rec, &w), &want_w, 1e-6, 1e-6);
    // The step with a finite loss kept the weights and momentum it started from.
    assert_eq!(read(&mut rec, &kw), w0);
    assert_eq!(read(&mut rec, &kv), v0);
    for bad in [f32::NAN, f32::INFINITY] {
        sgd::step(
            &mut rec,
            &w,
            &upload(&[n], &g),
            &v,
            &upload(&[4], &[bad, 0.0, 0.0, 0.0]),
            (&kw, &kv),
            cfg,
        );
        assert_close("weights kept", &read(&mut rec, &w), &want_w, 1e-6, 1e-6);
        assert_eq!(read(&mut rec, &kw), w0, "a skipped step keeps nothing new");
    }
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
        p.grad.write(&gpu.queue, &g);
        p.velocity.write(&gpu.queue, &v0);
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
    let kept = (&arena.kept_values, &arena.kept_velocity);
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
        let want_v: Vec<f64> = (0..w0.len())
            .map(|i| 0.9 * v0[i] as f64 + g[i] as f64 + 1e-3 * w0[i] as f64)
            .collect();
        let want_w: Vec<f64> = (0..w0.len())
            .map(|i| w0[i] as f64 - 0.05 * want_v[i])
            .collect();
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
fn softmax_matches_reference() {
    let (gpu, pool) = (gpu(), pool());
    let mut rng = Rng::new(13);
    let (b, k) = (70, 13);
    let mut z = randn(&mut rng, b * k, 5.0);
    z[0] = 100.0;
    z[1] = -100.0;
    let mut rec = Recorder::new(gpu, &pool);
    let p = softmax(&mut rec, &upload(&[b, k], &z));
    let want: Vec<f64> = (0..b * k)
        .map(|i| {
            let row = &z[(i / k) * k..(i / k + 1) * k];
            let m = row.iter().cloned().fold(f32::MIN, f32::max) as f64;
            (z[i] as f64 - m).exp() / row.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>()
        })
        .collect();
    assert_close("softmax", &read(&mut rec, &p), &want, 1e-6, 1e-5);
}

#[test]
fn augmentation_matches_cpu_reference() {
    let (gpu, pool) = (gpu(), pool());
    let mut rng = Rng::new(14);
    let n = 5;
    let bytes: Vec<u8> = (0..n * 3072).map(|_| rng.below(256) as u8).collect();
    let mut crops: Vec<Crop> = (0..n).map(|_| Crop::random(&mut rng)).collect();
    crops[0] = Crop::NONE;
    crops[1] = Crop {
        dy: -4,
        dx: 4,
        flip: true,
    };
    let words: Vec<u32> = bytemuck::cast_slice(&bytes).to_vec();
    let mut rec = Recorder::new(gpu, &pool);
    let out = augment(
        &mut rec,
        &upload_u32(&[words.len()], &words),
        &upload_u32(&[n * 3], bytemuck::cast_slice(&Crop::encode(&crops))),
        n,
    );
    let want = augment_reference(&bytes, &crops);
    assert_close("augment", &read(&mut rec, &out), &to64(&want), 1e-5, 1e-5);
    // Crop::NONE is pure normalisation of the original pixel.
    assert!(((want[0] * 0.2023 + 0.4914) * 255.0 - bytes[0] as f32).abs() < 1e-3);
}
