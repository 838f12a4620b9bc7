use crate::common::*;
use cskd::reference as r;
use cskd::rng::Rng;

#[test]
fn linear_reference_backward_matches_finite_differences() {
    let mut rng = Rng::new(5);
    let (n, i, o) = (3, 4, 5);
    let (x, w, b, dy) = (
        to64(&randn(&mut rng, n * i, 1.0)),
        to64(&randn(&mut rng, o * i, 1.0)),
        to64(&randn(&mut rng, o, 1.0)),
        to64(&randn(&mut rng, n * o, 1.0)),
    );
    let (dx, dw, db) = r::linear_backward(&x, n, i, &w, o, &dy);
    assert_fd(
        "linear dx",
        |v| dot(&r::linear(v, n, i, &w, o, &b), &dy),
        &x,
        &dx,
        1e-5,
        1e-7,
    );
    assert_fd(
        "linear dw",
        |v| dot(&r::linear(&x, n, i, v, o, &b), &dy),
        &w,
        &dw,
        1e-5,
        1e-7,
    );
    assert_fd(
        "linear db",
        |v| dot(&r::linear(&x, n, i, &w, o, v), &dy),
        &b,
        &db,
        1e-5,
        1e-7,
    );
}
