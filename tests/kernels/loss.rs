use crate::common::{reference as r, *};
use cskd::gpu::Recorder;
use cskd::ops::loss::{cskd_loss, LossConfig};
use cskd::rng::Rng;

fn check(za: &[f32], zp: Option<&[f32]>, labels: &[u32], k: usize, cfg: LossConfig, tol: f64) {
    let (gpu, pool) = (gpu(), pool());
    let b = labels.len();
    let mut rec = Recorder::new(gpu, &pool);
    let zag = upload(&[b, k], za);
    let zpg = zp.map(|z| upload(&[b, k], z));
    let out = cskd_loss(&mut rec, &zag, zpg.as_ref(), &upload_u32(&[b], labels), cfg);
    let (loss, grad) = (read(&mut rec, &out.loss), read(&mut rec, &out.dza));
    let (t, l, e) = (
        cfg.temperature as f64,
        cfg.lambda as f64,
        cfg.smoothing as f64,
    );
    let (za64, zp64) = (to64(za), zp.map(to64));
    let (want_l, want_ce, want_kl) = r::cskd_loss(&za64, zp64.as_deref(), labels, k, t, l, e);
    let what = format!("loss b{b} k{k} {cfg:?} partner={}", zp.is_some());
    assert_close(
        &format!("{what} L/CE/KL"),
        &loss[..3],
        &[want_l, want_ce, want_kl],
        tol,
        tol,
    );
    assert_close(
        &format!("{what} grad"),
        &grad,
        &r::cskd_grad(&za64, zp64.as_deref(), labels, k, t, l, e),
        tol,
        tol,
    );
}

#[test]
fn fused_loss_matches_plain_formula() {
    let mut rng = Rng::new(10);
    for &(b, k) in &[(1, 2), (5, 10), (3, 100), (7, 67)] {
        let za = randn(&mut rng, b * k, 3.0);
        let zp = randn(&mut rng, b * k, 3.0);
        let labels: Vec<u32> = (0..b).map(|_| rng.below(k) as u32).collect();
        for cfg in [
            LossConfig::cskd(1.0, 1.0),
            LossConfig::cskd(4.0, 1.0),
            LossConfig::cskd(4.0, 0.0),
            LossConfig::cskd(4.0, 3.0),
        ] {
            check(&za, Some(&zp), &labels, k, cfg, 1e-5);
        }
        check(&za, None, &labels, k, LossConfig::ce(), 1e-5);
        check(
            &za,
            None,
            &labels,
            k,
            LossConfig::label_smoothing(0.1),
            1e-5,
        );
    }
}

#[test]
fn fused_loss_is_finite_for_extreme_logits() {
    let k = 10;
    let za: Vec<f32> = (0..2 * k)
        .map(|i| if i % 3 == 0 { 100.0 } else { -100.0 })
        .collect();
    let zp: Vec<f32> = (0..2 * k)
        .map(|i| if i % 4 == 1 { 100.0 } else { -100.0 })
        .collect();
    // Label 1 sits at −100 in row 0: CE ≈ 200, KL large; everything must stay finite and exact.
    for cfg in [LossConfig::cskd(1.0, 1.0), LossConfig::cskd(4.0, 1.0)] {
        check(&za, Some(&zp), &[1, 0], k, cfg, 1e-4);
    }
    check(
        &za,
        None,
        &[1, 0],
        k,
        LossConfig::label_smoothing(0.2),
        1e-4,
    );
}

#[test]
fn loss_gradient_formula_matches_finite_differences() {
    let mut rng = Rng::new(11);
    let (b, k) = (3, 5);
    let za = to64(&randn(&mut rng, b * k, 2.0));
    let zp = to64(&randn(&mut rng, b * k, 2.0));
    let labels = [0u32, 4, 2];
    for (t, l, e, partner) in [
        (1.0, 1.0, 0.0, true),
        (4.0, 1.0, 0.0, true),
        (4.0, 0.0, 0.0, true),
        (1.0, 0.0, 0.1, false),
    ] {
        let zp = partner.then_some(zp.as_slice());
        let g = r::cskd_grad(&za, zp, &labels, k, t, l, e);
        assert_fd(
            "dL/dza",
            |v| r::cskd_loss(v, zp, &labels, k, t, l, e).0,
            &za,
            &g,
            1e-6,
            1e-6,
        );
    }
}
