//! The soft-target loss (mixup/CutMix, PS-KD, KD, each alone and with CS-KD's class-wise term)
//! against its f64 reference, the reference gradient against finite differences, and the PS-KD
//! buffer update.
use crate::common::{reference as r, *};
use cskd::gpu::Recorder;
use cskd::ops::soft_loss::{soft_loss, SoftLossConfig};
use cskd::rng::Rng;

struct Case<'a> {
    za: &'a [f32],
    zp: Option<&'a [f32]>,
    zt: Option<&'a [f32]>,
    info: &'a [u32],
    prev: Option<&'a [f32]>,
}

fn to_ref(c: SoftLossConfig) -> r::Soft {
    r::Soft {
        t: c.temperature as f64,
        lambda: c.lambda as f64,
        eps: c.smoothing as f64,
        t_kd: c.kd_temperature as f64,
        lambda_kd: c.kd_lambda as f64,
        mix: c.mix as f64,
        alpha: c.alpha as f64,
    }
}

fn check(case: &Case, k: usize, cfg: SoftLossConfig, tol: f64) {
    let (gpu, pool) = (gpu(), pool());
    let b = case.info.len() / 3;
    let mut rec = Recorder::new(gpu, &pool);
    let up = |z: &[f32]| upload(&[b, k], z);
    let (za, zp, zt) = (up(case.za), case.zp.map(up), case.zt.map(up));
    let info = upload_u32(&[b, 3], case.info);
    let prev = case.prev.map(|p| upload(&[p.len() / k, k], p));
    let out = soft_loss(
        &mut rec,
        &za,
        zp.as_ref(),
        zt.as_ref(),
        &info,
        prev.as_ref(),
        cfg,
    );
    let (loss, grad) = (read(&mut rec, &out.loss), read(&mut rec, &out.dza));
    let c = to_ref(cfg);
    let prev64 = case.prev.map(to64);
    let targets = r::soft_targets(case.info, prev64.as_deref(), k, c);
    let (za64, zp64, zt64) = (to64(case.za), case.zp.map(to64), case.zt.map(to64));
    let (l, ce, reg) = r::soft_loss(&za64, zp64.as_deref(), zt64.as_deref(), &targets, k, c);
    let what = format!(
        "soft b{b} k{k} {cfg:?} partner={} teacher={} prev={}",
        zp.is_some(),
        zt.is_some(),
        prev.is_some()
    );
    assert_close(
        &format!("{what} L/CE/reg"),
        &loss[..3],
        &[l, ce, reg],
        tol,
        tol,
    );
    let want = r::soft_grad(&za64, zp64.as_deref(), zt64.as_deref(), &targets, k, c);
    assert_close(&format!("{what} grad"), &grad, &want, tol, tol);
    if let (Some(prev), Some(before)) = (prev, case.prev) {
        // The batch's rows now hold softmax(za); every other row is untouched.
        let after = read(&mut rec, &prev);
        let sm = r::softmax_rows(&za64, k);
        let mut want = to64(before);
        for row in 0..b {
            let idx = case.info[3 * row + 2] as usize;
            want[idx * k..(idx + 1) * k].copy_from_slice(&sm[row * k..(row + 1) * k]);
        }
        assert_close(&format!("{what} prev"), &after, &want, tol, tol);
    }
}

/// (y, y_b, index) rows: labels and mixing partners drawn, indices distinct in 0..n.
fn info(rng: &mut Rng, b: usize, k: usize, n: usize) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..n as u32).collect();
    rng.shuffle(&mut idx);
    (0..b)
        .flat_map(|r| [rng.below(k) as u32, rng.below(k) as u32, idx[r]])
        .collect()
}

/// A random (n, K) buffer of probability rows.
fn probs(rng: &mut Rng, n: usize, k: usize) -> Vec<f32> {
    let z = to64(&randn(rng, n * k, 2.0));
    r::softmax_rows(&z, k).iter().map(|&v| v as f32).collect()
}

#[test]
fn soft_loss_matches_reference_for_every_combination() {
    let mut rng = Rng::new(21);
    for &(b, k) in &[(1, 2), (5, 10), (3, 100), (7, 67)] {
        let n = b + 4;
        let za = randn(&mut rng, b * k, 3.0);
        let zp = randn(&mut rng, b * k, 3.0);
        let zt = randn(&mut rng, b * k, 3.0);
        let info = info(&mut rng, b, k, n);
        let prev = probs(&mut rng, n, k);
        let cfg = |mix, alpha, lambda, kd_lambda, smoothing| SoftLossConfig {
            temperature: 4.0,
            lambda,
            smoothing,
            kd_temperature: 3.0,
            kd_lambda,
            mix,
            alpha,
        };
        let case = |zp, zt, prev| Case {
            za: &za,
            zp,
            zt,
            info: &info,
            prev,
        };
        // Mixup / CutMix targets, alone (ce) and with the class-wise term (cskd).
        check(
            &case(None, None, None),
            k,
            cfg(0.3, 0.0, 0.0, 0.0, 0.0),
            1e-5,
        );
        check(
            &case(Some(&zp), None, None),
            k,
            cfg(0.7, 0.0, 1.0, 0.0, 0.0),
            1e-5,
        );
        // KD alone, with CS-KD, with mixing and with label smoothing.
        check(
            &case(None, Some(&zt), None),
            k,
            cfg(1.0, 0.0, 0.0, 0.9, 0.0),
            1e-5,
        );
        check(
            &case(Some(&zp), Some(&zt), None),
            k,
            cfg(1.0, 0.0, 2.0, 0.5, 0.0),
            1e-5,
        );
        check(
            &case(Some(&zp), Some(&zt), None),
            k,
            cfg(0.4, 0.0, 1.0, 1.0, 0.0),
            1e-5,
        );
        check(
            &case(None, Some(&zt), None),
            k,
            cfg(1.0, 0.0, 0.0, 1.0, 0.1),
            1e-5,
        );
        // PS-KD, alone and with KD.
        check(
            &case(None, None, Some(&prev)),
            k,
            cfg(1.0, 0.6, 0.0, 0.0, 0.0),
            1e-5,
        );
        check(
            &case(None, Some(&zt), Some(&prev)),
            k,
            cfg(1.0, 0.3, 0.0, 0.7, 0.0),
            1e-5,
        );
    }
}

#[test]
fn soft_loss_is_finite_for_extreme_logits() {
    let k = 10;
    let za: Vec<f32> = (0..2 * k)
        .map(|i| if i % 3 == 0 { 100.0 } else { -100.0 })
        .collect();
    let zt: Vec<f32> = (0..2 * k)
        .map(|i| if i % 4 == 1 { 100.0 } else { -100.0 })
        .collect();
    let info = [1, 2, 0, 0, 5, 1];
    let prev: Vec<f32> = (0..2 * k).map(|i| (i % k == 3) as u8 as f32).collect();
    let case = Case {
        za: &za,
        zp: Some(&zt),
        zt: Some(&zt),
        info: &info,
        prev: Some(&prev),
    };
    let cfg = SoftLossConfig {
        temperature: 4.0,
        lambda: 1.0,
        smoothing: 0.0,
        kd_temperature: 4.0,
        kd_lambda: 1.0,
        mix: 0.5,
        alpha: 0.5,
    };
    check(&case, k, cfg, 1e-4);
}

#[test]
fn soft_gradient_formula_matches_finite_differences() {
    let mut rng = Rng::new(22);
    let (b, k, n) = (3, 5, 6);
    let za = to64(&randn(&mut rng, b * k, 2.0));
    let zp = to64(&randn(&mut rng, b * k, 2.0));
    let zt = to64(&randn(&mut rng, b * k, 2.0));
    let info = info(&mut rng, b, k, n);
    let prev = to64(&probs(&mut rng, n, k));
    for (partner, teacher, pskd, mix) in [
        (true, false, false, 0.3),
        (false, true, false, 1.0),
        (true, true, false, 0.6),
        (false, false, true, 1.0),
        (false, true, true, 1.0),
    ] {
        let c = r::Soft {
            t: 4.0,
            lambda: 1.5,
            eps: 0.05,
            t_kd: 2.0,
            lambda_kd: 0.8,
            mix,
            alpha: 0.4,
        };
        let (zp, zt) = (
            partner.then_some(zp.as_slice()),
            teacher.then_some(zt.as_slice()),
        );
        let targets = r::soft_targets(&info, pskd.then_some(prev.as_slice()), k, c);
        let g = r::soft_grad(&za, zp, zt, &targets, k, c);
        assert_fd(
            "soft dL/dza",
            |v| r::soft_loss(v, zp, zt, &targets, k, c).0,
            &za,
            &g,
            1e-6,
            1e-6,
        );
    }
}
