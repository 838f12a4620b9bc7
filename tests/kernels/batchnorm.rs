use crate::common::{reference as r, *};
use cskd::gpu::{Recorder, Tensor};
use cskd::ops::batchnorm::{self, EPS, MOMENTUM};
use cskd::rng::Rng;

const CASES: &[[usize; 4]] = &[[2, 3, 4, 4], [1, 5, 3, 7], [7, 2, 9, 9], [3, 1, 1, 1]];

#[test]
fn batch_norm_train_eval_and_backward_match_reference() {
    let (gpu, pool) = (gpu(), pool());
    let mut rng = Rng::new(6);
    for &xs in CASES {
        let [n, c, h, w] = xs;
        let numel = n * c * h * w;
        // An offset mean checks that the variance is computed centred.
        let x: Vec<f32> = randn(&mut rng, numel, 2.0)
            .iter()
            .map(|v| v + 30.0)
            .collect();
        let (gamma, beta, dy) = (
            randn(&mut rng, c, 1.0),
            randn(&mut rng, c, 1.0),
            randn(&mut rng, numel, 1.0),
        );
        let (rm0, rv0) = (
            randn(&mut rng, c, 1.0),
            randn(&mut rng, c, 0.1)
                .iter()
                .map(|v| 1.0 + v.abs())
                .collect::<Vec<_>>(),
        );
        let (xg, gg, bg, dyg) = (
            upload(&xs, &x),
            upload(&[c], &gamma),
            upload(&[c], &beta),
            upload(&xs, &dy),
        );
        let (rm, rv) = (upload(&[c], &rm0), upload(&[c], &rv0));

        let mut rec = Recorder::new(gpu, &pool);
        let ye = batchnorm::forward_eval(&mut rec, &xg, &gg, &bg, &rm, &rv);
        let health = Tensor::zeros(&gpu.device, &[1]);
        let (y, saved) = batchnorm::forward_train(&mut rec, &xg, &gg, &bg, (&rm, &rv), &health);
        let (dx, dg, db) = batchnorm::backward(&mut rec, &xg, &dyg, &gg, &saved, (None, None));
        let case = format!("bn {xs:?}");
        let (x64, g64, b64) = (to64(&x), to64(&gamma), to64(&beta));
        let (ry, mean, var) = r::batch_norm(&x64, xs, &g64, &b64, EPS as f64);
        let tol = if h * w * n == 1 { 1e-2 } else { 1e-3 };
        assert_close(&format!("{case} y"), &read(&mut rec, &y), &ry, tol, 1e-3);
        // Running statistics: momentum 0.1 with the unbiased variance, as PyTorch.
        let m = (n * h * w) as f64;
        let want_rm: Vec<f64> = (0..c)
            .map(|i| (1.0 - MOMENTUM as f64) * rm0[i] as f64 + MOMENTUM as f64 * mean[i])
            .collect();
        let want_rv: Vec<f64> = (0..c)
            .map(|i| {
                (1.0 - MOMENTUM as f64) * rv0[i] as f64
                    + MOMENTUM as f64 * var[i] * m / (m - 1.0).max(1.0)
            })
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
                (x64[i] - rm0[ch] as f64) / (rv0[ch] as f64 + EPS as f64).sqrt() * g64[ch] + b64[ch]
            })
            .collect();
        assert_close(
            &format!("{case} eval"),
            &read(&mut rec, &ye),
            &want_eval,
            1e-3,
            1e-4,
        );
        if n * h * w > 1 {
            let (rdx, rdg, rdb) = r::batch_norm_backward(&x64, xs, &g64, EPS as f64, &to64(&dy));
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
}

#[test]
fn batch_norm_reference_backward_matches_finite_differences() {
    let mut rng = Rng::new(7);
    let xs = [3, 2, 2, 3];
    let x = to64(&randn(&mut rng, 36, 1.0));
    let (g, b, dy) = (
        to64(&randn(&mut rng, 2, 1.0)),
        to64(&randn(&mut rng, 2, 1.0)),
        to64(&randn(&mut rng, 36, 1.0)),
    );
    let (dx, dg, db) = r::batch_norm_backward(&x, xs, &g, 1e-5, &dy);
    assert_fd(
        "bn dx",
        |v| dot(&r::batch_norm(v, xs, &g, &b, 1e-5).0, &dy),
        &x,
        &dx,
        1e-5,
        1e-5,
    );
    assert_fd(
        "bn dgamma",
        |v| dot(&r::batch_norm(&x, xs, v, &b, 1e-5).0, &dy),
        &g,
        &dg,
        1e-5,
        1e-6,
    );
    assert_fd(
        "bn dbeta",
        |v| dot(&r::batch_norm(&x, xs, &g, v, 1e-5).0, &dy),
        &b,
        &db,
        1e-5,
        1e-6,
    );
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
    batchnorm::forward_train(&mut rec, &fine, &ones, &zeros, (&rm, &rv), &health);
    batchnorm::check_health(&mut rec, &health, &loss);
    assert_eq!(read(&mut rec, &loss), vec![0.5, 0.5, 0.0, 0.0]);
    let x = upload(&xs, &huge);
    batchnorm::forward_train(&mut rec, &x, &ones, &zeros, (&rm, &rv), &health);
    assert_ne!(read(&mut rec, &health)[0].to_bits(), 0, "flag set");
    batchnorm::check_health(&mut rec, &health, &loss);
    let l = read(&mut rec, &loss);
    assert!(l[0].is_nan() && l[3] == 1.0, "{l:?}");
    assert_eq!(read(&mut rec, &health)[0].to_bits(), 0, "flag cleared");
}
