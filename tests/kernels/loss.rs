use crate::common::*;
use cskd::reference as r;
use cskd::rng::Rng;

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
