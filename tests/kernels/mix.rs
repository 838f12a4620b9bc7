//! The host draws of mixup and CutMix (the registry checks the kernel).
use cskd::ops::mix::{beta, MixDraw};
use cskd::rng::Rng;

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
