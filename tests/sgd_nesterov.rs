//! The SGD kernel's Nesterov path (PS-KD's official recipe) against torch.optim.SGD's formula in
//! f64, on every device the kernel tests use; the plain path is in tests/kernels.

mod common;

use common::*;
use cskd::gpu::Recorder;
use cskd::ops::sgd::{self, SgdConfig};
use cskd::rng::Rng;

#[test]
fn nesterov_sgd_matches_torch_formula() {
    for (name, gpu) in devices() {
        let pool = pool();
        let mut rng = Rng::new(21);
        let n = 257;
        let (w0, g, v0) = (
            randn(&mut rng, n, 1.0),
            randn(&mut rng, n, 1.0),
            randn(&mut rng, n, 1.0),
        );
        let (lr, mu, wd) = (0.1f64, 0.9f64, 5e-4f64);
        let cfg = SgdConfig {
            lr: lr as f32,
            momentum: mu as f32,
            weight_decay: wd as f32,
            nesterov: true,
        };
        let (w, v) = (upload_to(gpu, &[n], &w0), upload_to(gpu, &[n], &v0));
        let zeros = vec![0.0; n];
        let (kw, kv) = (upload_to(gpu, &[n], &zeros), upload_to(gpu, &[n], &zeros));
        let mut rec = Recorder::new(gpu, &pool);
        sgd::step(
            &mut rec,
            &w,
            &upload_to(gpu, &[n], &g),
            &v,
            &upload_to(gpu, &[4], &[1.5, 0.0, 0.0, 0.0]),
            (&kw, &kv),
            cfg,
        );
        // torch: d = g + wd·w; buf = μ·buf + d; w -= lr·(d + μ·buf).
        let d: Vec<f64> = (0..n).map(|i| g[i] as f64 + wd * w0[i] as f64).collect();
        let want_v: Vec<f64> = (0..n).map(|i| mu * v0[i] as f64 + d[i]).collect();
        let want_w: Vec<f64> = (0..n)
            .map(|i| w0[i] as f64 - lr * (d[i] + mu * want_v[i]))
            .collect();
        assert_close(
            &format!("{name} velocity"),
            &read(&mut rec, &v),
            &want_v,
            1e-6,
            1e-6,
        );
        assert_close(
            &format!("{name} weights"),
            &read(&mut rec, &w),
            &want_w,
            1e-6,
            1e-6,
        );
        // Not the plain update: the test tells the two paths apart.
        let plain: Vec<f64> = (0..n).map(|i| w0[i] as f64 - lr * want_v[i]).collect();
        let got = read(&mut rec, &w);
        assert!((0..n).any(|i| (got[i] as f64 - plain[i]).abs() > 1e-3));
    }
}
