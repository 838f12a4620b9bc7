use crate::common::*;
use cskd::gpu::Recorder;
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
