use crate::common::*;
use cskd::bench::CONV_EDGES;
use cskd::reference as r;
use cskd::rng::Rng;

#[test]
fn conv2d_reference_backward_matches_finite_differences() {
    let mut rng = Rng::new(2);
    for s in &CONV_EDGES[..6] {
        let (xs, k, ks) = ([s.n, s.c, s.h, s.w], s.k, s.ks);
        let (stride, pad) = (s.stride, s.pad);
        let x = to64(&randn(&mut rng, xs.iter().product(), 1.0));
        let wt = to64(&randn(&mut rng, k * s.c * ks * ks, 0.5));
        let y = r::conv2d(&x, xs, &wt, k, ks, stride, pad);
        let dy = to64(&randn(&mut rng, y.len(), 1.0));
        let (dx, dw) = r::conv2d_backward(&x, xs, &wt, k, ks, stride, pad, &dy);
        assert_fd(
            "conv dx",
            |xv| dot(&r::conv2d(xv, xs, &wt, k, ks, stride, pad), &dy),
            &x,
            &dx,
            1e-5,
            1e-6,
        );
        assert_fd(
            "conv dw",
            |wv| dot(&r::conv2d(&x, xs, wv, k, ks, stride, pad), &dy),
            &wt,
            &dw,
            1e-5,
            1e-6,
        );
    }
}
