use crate::common::{reference as r, *};
use cskd::gpu::{Recorder, Tensor};
use cskd::ops::batchnorm::{self, EPS, MOMENTUM};
use cskd::rng::Rng;

const CASES: &[[usize; 4]] = &[[2, 3, 4, 4], [1, 5, 3, 7], [7, 2, 9, 9], [3, 1, 1, 1]];

/// BN, then ReLU when `relu`: the composition the fused kernels must match.
fn reference_forward(x: &[f64], xs: [usize; 4], g: &[f64], b: &[f64], relu: bool) -> Vec<f64> {
    let y = r::batch_norm(x, xs, g, b, EPS as f64).0;
    y.into_iter()
        .map(|v| if relu { v.max(0.0) } else { v })
        .collect()
}

/// Backward of `reference_forward`: ReLU's mask (y > 0) on dy, then BN's backward.
fn reference_backward(
    x: &[f64],
    xs: [usize; 4],
    g: &[f64],
    b: &[f64],
    dy: &[f64],
    relu: bool,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let y = reference_forward(x, xs, g, b, relu);
    let masked: Vec<f64> = dy
        .iter()
        .zip(&y)
        .map(|(&d, &v)| if relu && v <= 0.0 { 0.0 } else { d })
        .collect();
    r::batch_norm_backward(x, xs, g, EPS as f64, &masked)
}

// The same BN kernels serve every family, with the family's threads per channel.
crate::family_tests!(
    batch_norm_plain_and_fused_relu_match_reference,
    fused_batch_norm_relu_gradient_matches_finite_differences_of_the_kernel
);

fn batch_norm_plain_and_fused_relu_match_reference(gpu: &'static cskd::gpu::Gpu) {
    let family = gpu.family().name();
    let pool = pool();
    let mut rng = Rng::new(6);
    for &xs in CASES {
        for relu in [false, true] {
            check_case(family, gpu, &pool, &mut rng, xs, relu);
        }
    }
}

fn check_case(
    family: &str,
    gpu: &'static cskd::gpu::Gpu,
    pool: &cskd::gpu::BufferPool,
    rng: &mut Rng,
    xs: [usize; 4],
    relu: bool,
) {
    let [n, c, h, w] = xs;
    let numel = n * c * h * w;
    // An offset mean checks that the variance is computed centred.
    let x: Vec<f32> = randn(rng, numel, 2.0).iter().map(|v| v + 30.0).collect();
    let (gamma, beta, dy) = (
        randn(rng, c, 1.0),
        randn(rng, c, 1.0),
        randn(rng, numel, 1.0),
    );
    // Running means near the data's mean, so eval-mode ReLU masks some elements too.
    let (rm0, rv0) = (
        randn(rng, c, 1.0)
            .iter()
            .map(|v| v + 30.0)
            .collect::<Vec<_>>(),
        randn(rng, c, 0.1)
            .iter()
            .map(|v| 1.0 + v.abs())
            .collect::<Vec<_>>(),
    );
    let up = |shape: &[usize], d: &[f32]| upload_to(gpu, shape, d);
    let (xg, gg, bg, dyg) = (up(&xs, &x), up(&[c], &gamma), up(&[c], &beta), up(&xs, &dy));
    let (rm, rv) = (up(&[c], &rm0), up(&[c], &rv0));

    let mut rec = Recorder::new(gpu, pool);
    let ye = batchnorm::forward_eval(&mut rec, &xg, &gg, &bg, (&rm, &rv), relu);
    let health = Tensor::zeros(&gpu.device, &[1]);
    let (y, saved) = batchnorm::forward_train(&mut rec, &xg, &gg, &bg, (&rm, &rv), &health, relu);
    let (dx, dg, db) = batchnorm::backward(&mut rec, &xg, &dyg, &gg, &saved, (None, None));
    let case = format!("{family} bn{} {xs:?}", if relu { "+relu" } else { "" });
    let (x64, g64, b64) = (to64(&x), to64(&gamma), to64(&beta));
    let (_, mean, var) = r::batch_norm(&x64, xs, &g64, &b64, EPS as f64);
    let ry = reference_forward(&x64, xs, &g64, &b64, relu);
    let tol = if h * w * n == 1 { 1e-2 } else { 1e-3 };
    assert_close(&format!("{case} y"), &read(&mut rec, &y), &ry, tol, 1e-3);
    // Running statistics: momentum 0.1 with the unbiased variance, as PyTorch (ReLU or not).
    let m = (n * h * w) as f64;
    let mom = MOMENTUM as f64;
    let want_rm: Vec<f64> = (0..c)
        .map(|i| (1.0 - mom) * rm0[i] as f64 + mom * mean[i])
        .collect();
    let want_rv: Vec<f64> = (0..c)
        .map(|i| (1.0 - mom) * rv0[i] as f64 + mom * var[i] * m / (m - 1.0).max(1.0))
        .collect();
    assert_close(
        &format!("{case} running_mean"),
        &read(&mut rec, &rm),
        &want_rm,
        1e-4,
        1e-4,
    );
    assert_close(
        &format!("{case} running_var"),
        &read(&mut rec, &rv),
        &want_rv,
        1e-4,
        1e-3,
    );
    // Eval mode used the running statistics from before this training forward.
    let want_eval: Vec<f64> = (0..numel)
        .map(|i| {
            let ch = (i / (h * w)) % c;
            let v = (x64[i] - rm0[ch] as f64) / (rv0[ch] as f64 + EPS as f64).sqrt() * g64[ch]
                + b64[ch];
            if relu {
                v.max(0.0)
            } else {
                v
            }
        })
        .collect();
    assert_close(
        &format!("{case} eval"),
        &read(&mut rec, &ye),
        &want_eval,
        1e-3,
        1e-4,
    );
    if relu && n * h * w > 1 {
        let mask = want_eval.iter().filter(|&&v| v == 0.0).count();
        assert!(
            mask > 0 && mask < numel,
            "{case}: eval ReLU masks {mask} of {numel}"
        );
    }
    if n * h * w > 1 {
        let (rdx, rdg, rdb) = reference_backward(&x64, xs, &g64, &b64, &to64(&dy), relu);
        assert_close(
            &format!("{case} dx"),
            &read(&mut rec, &dx),
            &rdx,
            2e-3,
            1e-3,
        );
        assert_close(
            &format!("{case} dgamma"),
            &read(&mut rec, &dg),
            &rdg,
            1e-3,
            1e-3,
        );
        assert_close(
            &format!("{case} dbeta"),
            &read(&mut rec, &db),
            &rdb,
            1e-4,
            1e-4,
        );
    }
}

#[test]
fn batch_norm_reference_backward_matches_finite_differences_with_and_without_relu() {
    let mut rng = Rng::new(7);
    let xs = [3, 2, 2, 3];
    let x = to64(&randn(&mut rng, 36, 1.0));
    let (g, b, dy) = (
        to64(&randn(&mut rng, 2, 1.0)),
        to64(&randn(&mut rng, 2, 1.0)),
        to64(&randn(&mut rng, 36, 1.0)),
    );
    for relu in [false, true] {
        let (dx, dg, db) = reference_backward(&x, xs, &g, &b, &dy, relu);
        let f = |x: &[f64], g: &[f64], b: &[f64]| dot(&reference_forward(x, xs, g, b, relu), &dy);
        let what = |p: &str| format!("bn{} {p}", if relu { "+relu" } else { "" });
        assert_fd(&what("dx"), |v| f(v, &g, &b), &x, &dx, 1e-5, 1e-5);
        assert_fd(&what("dgamma"), |v| f(&x, v, &b), &g, &dg, 1e-5, 1e-6);
        assert_fd(&what("dbeta"), |v| f(&x, &g, v), &b, &db, 1e-5, 1e-6);
    }
}

fn fused_batch_norm_relu_gradient_matches_finite_differences_of_the_kernel(
    gpu: &'static cskd::gpu::Gpu,
) {
    let family = gpu.family().name();
    // The GPU's own forward, differentiated numerically in f32 (coarse step, loose tolerance):
    // the fused backward must be the gradient of the fused forward actually computed.
    {
        let pool = pool();
        let mut rng = Rng::new(8);
        let xs = [2, 2, 2, 3];
        let x = randn(&mut rng, 24, 1.0);
        let (g, b, dy) = (
            randn(&mut rng, 2, 1.0),
            randn(&mut rng, 2, 0.5),
            randn(&mut rng, 24, 1.0),
        );
        let up = |shape: &[usize], d: &[f32]| upload_to(gpu, shape, d);
        let (gg, bg, dyg) = (up(&[2], &g), up(&[2], &b), up(&xs, &dy));
        let health = Tensor::zeros(&gpu.device, &[1]);
        let loss_at = |xv: &[f32]| -> f64 {
            let (rm, rv) = (up(&[2], &[0.0; 2]), up(&[2], &[1.0; 2]));
            let mut rec = Recorder::new(gpu, &pool);
            let (y, _) = batchnorm::forward_train(
                &mut rec,
                &up(&xs, xv),
                &gg,
                &bg,
                (&rm, &rv),
                &health,
                true,
            );
            dot(&to64(&read(&mut rec, &y)), &to64(&dy))
        };
        let (rm, rv) = (up(&[2], &[0.0; 2]), up(&[2], &[1.0; 2]));
        let mut rec = Recorder::new(gpu, &pool);
        let xg = up(&xs, &x);
        let (_, saved) =
            batchnorm::forward_train(&mut rec, &xg, &gg, &bg, (&rm, &rv), &health, true);
        let (dx, _, _) = batchnorm::backward(&mut rec, &xg, &dyg, &gg, &saved, (None, None));
        let dx = read(&mut rec, &dx);
        let h = 1e-2f32;
        for i in [0, 5, 11, 17, 23] {
            let (mut up_x, mut down_x) = (x.clone(), x.clone());
            up_x[i] += h;
            down_x[i] -= h;
            let fd = (loss_at(&up_x) - loss_at(&down_x)) / (2.0 * h as f64);
            assert!(
                (fd - dx[i] as f64).abs() <= 2e-2 + 2e-2 * fd.abs(),
                "{family} dx[{i}]: kernel {} vs finite difference {fd}",
                dx[i]
            );
        }
    }
}

#[test]
fn non_finite_running_statistics_poison_the_loss_and_clear_the_flag() {
    let (gpu, pool) = (gpu(), pool());
    let xs = [2, 2, 2, 2];
    // Values near f32::MAX: the variance overflows to +inf.
    let huge: Vec<f32> = (0..16)
        .map(|i| if i % 2 == 0 { 3e38 } else { -3e38 })
        .collect();
    let ones = upload(&[2], &[1.0, 1.0]);
    let zeros = upload(&[2], &[0.0, 0.0]);
    let (rm, rv) = (upload(&[2], &[0.0, 0.0]), upload(&[2], &[1.0, 1.0]));
    let health = Tensor::zeros(&gpu.device, &[1]);
    let loss = upload(&[4], &[0.5, 0.5, 0.0, 0.0]);
    let mut rec = Recorder::new(gpu, &pool);
    // A finite batch leaves the flag clear and the loss alone.
    let fine = upload(&xs, &[1.0; 16]);
    batchnorm::forward_train(&mut rec, &fine, &ones, &zeros, (&rm, &rv), &health, false);
    batchnorm::check_health(&mut rec, &health, &loss);
    assert_eq!(read(&mut rec, &loss), vec![0.5, 0.5, 0.0, 0.0]);
    let x = upload(&xs, &huge);
    batchnorm::forward_train(&mut rec, &x, &ones, &zeros, (&rm, &rv), &health, false);
    assert_ne!(read(&mut rec, &health)[0].to_bits(), 0, "flag set");
    batchnorm::check_health(&mut rec, &health, &loss);
    let l = read(&mut rec, &loss);
    assert!(l[0].is_nan() && l[3] == 1.0, "{l:?}");
    assert_eq!(read(&mut rec, &health)[0].to_bits(), 0, "flag cleared");
}
