//! The soft-target loss's reference gradient (mixup/CutMix, PS-KD, KD, each alone and with CS-KD's
//! class-wise term) against finite differences; the registry checks the kernel against it.
use crate::common::*;
use cskd::reference as r;
use cskd::rng::Rng;

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
