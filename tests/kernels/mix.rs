//! Mixup and CutMix kernels against the CPU reference, and the host draws they use.
use crate::common::*;
use cskd::gpu::Recorder;
use cskd::ops::mix::{beta, mix, MixDraw};
use cskd::reference::mix as mix_reference;
use cskd::rng::Rng;

#[test]
fn mixing_matches_cpu_reference() {
    let (gpu, pool) = (gpu(), pool());
    let mut rng = Rng::new(31);
    for &(n, cutmix, alpha) in &[
        (1, false, 1.0),
        (5, false, 0.4),
        (5, true, 1.0),
        (3, true, 0.2),
    ] {
        let x = randn(&mut rng, n * 3072, 1.0);
        let draw = MixDraw::draw(&mut rng, n, alpha, cutmix);
        let mut rec = Recorder::new(gpu, &pool);
        let xg = upload(&[n, 3, 32, 32], &x);
        let perm = upload_u32(&[n], &draw.perm);
        let out = mix(&mut rec, &xg, &perm, &draw);
        let want = mix_reference(&x, &draw);
        assert_close(
            &format!("mix {draw:?}"),
            &read(&mut rec, &out),
            &to64(&want),
            1e-6,
            1e-6,
        );
    }
}

#[test]
fn mixing_draws_are_valid_and_beta_has_the_right_moments() {
    let mut rng = Rng::new(32);
    for _ in 0..200 {
        let d = MixDraw::draw(&mut rng, 7, 1.0, true);
        let mut p = d.perm.clone();
        p.sort();
        assert_eq!(p, (0..7).collect::<Vec<u32>>(), "a permutation");
        let [y0, y1, x0, x1] = d.bbox;
        assert!(y0 <= y1 && y1 <= 32 && x0 <= x1 && x1 <= 32, "{d:?}");
        let area = ((y1 - y0) * (x1 - x0)) as f32 / 1024.0;
        assert!(
            (d.m - (1.0 - area)).abs() < 1e-6,
            "label weight = kept area: {d:?}"
        );
    }
    // Beta(α, α): mean 1/2, variance 1/(4(2α + 1)).
    for alpha in [0.2, 1.0, 2.0] {
        let v: Vec<f64> = (0..20000).map(|_| beta(&mut rng, alpha)).collect();
        assert!(v.iter().all(|x| (0.0..=1.0).contains(x)));
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        let want = 1.0 / (4.0 * (2.0 * alpha + 1.0));
        assert!((mean - 0.5).abs() < 0.01, "α {alpha}: mean {mean}");
        assert!(
            (var - want).abs() < 0.1 * want,
            "α {alpha}: variance {var} vs {want}"
        );
    }
}
