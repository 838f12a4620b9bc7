use crate::common::{reference as r, *};
use cskd::gpu::{Gpu, Recorder};
use cskd::ops::linear;
use cskd::rng::Rng;

const CASES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (3, 7, 5),
    (17, 33, 10),
    (64, 128, 100),
    (5, 70, 67),
];

crate::family_tests!(
    linear_forward_and_backward_match_reference,
    matmul_matches_reference_on_odd_sizes
);

fn linear_forward_and_backward_match_reference(gpu: &Gpu) {
    let family = gpu.family();
    let pool = pool();
    let mut rng = Rng::new(3);
    for &(n, i, o) in CASES {
        let (x, w, b, dy) = (
            randn(&mut rng, n * i, 1.0),
            randn(&mut rng, o * i, 0.3),
            randn(&mut rng, o, 1.0),
            randn(&mut rng, n * o, 1.0),
        );
        let (xg, wg, bg, dyg) = (
            upload_to(gpu, &[n, i], &x),
            upload_to(gpu, &[o, i], &w),
            upload_to(gpu, &[o], &b),
            upload_to(gpu, &[n, o], &dy),
        );
        let mut rec = Recorder::new(gpu, &pool);
        let y = linear::forward(&mut rec, &xg, &wg, Some(&bg));
        let dx = linear::backward_input(&mut rec, &dyg, &wg);
        let dw = linear::backward_weight(&mut rec, &dyg, &xg, None);
        let db = linear::backward_bias(&mut rec, &dyg, None);
        let (x64, w64, dy64) = (to64(&x), to64(&w), to64(&dy));
        let case = format!("{family} linear {n}x{i}->{o}");
        assert_close(
            &format!("{case} y"),
            &read(&mut rec, &y),
            &r::linear(&x64, n, i, &w64, o, &to64(&b)),
            1e-4,
            1e-4,
        );
        let (rdx, rdw, rdb) = r::linear_backward(&x64, n, i, &w64, o, &dy64);
        assert_close(
            &format!("{case} dx"),
            &read(&mut rec, &dx),
            &rdx,
            1e-4,
            1e-4,
        );
        assert_close(
            &format!("{case} dw"),
            &read(&mut rec, &dw),
            &rdw,
            1e-4,
            1e-4,
        );
        assert_close(
            &format!("{case} db"),
            &read(&mut rec, &db),
            &rdb,
            1e-4,
            1e-4,
        );
    }
}

fn matmul_matches_reference_on_odd_sizes(gpu: &Gpu) {
    let family = gpu.family();
    let pool = pool();
    let mut rng = Rng::new(4);
    for &(m, k, n) in &[
        (1, 1, 1),
        (5, 3, 9),
        (33, 65, 17),
        (70, 20, 66),
        (64, 32, 48),
        (130, 37, 70),
    ] {
        let (a, b) = (randn(&mut rng, m * k, 1.0), randn(&mut rng, k * n, 1.0));
        let mut rec = Recorder::new(gpu, &pool);
        let c = linear::matmul(
            &mut rec,
            &upload_to(gpu, &[m, k], &a),
            &upload_to(gpu, &[k, n], &b),
        );
        let want: Vec<f64> = (0..m * n)
            .map(|e| {
                (0..k)
                    .map(|t| a[(e / n) * k + t] as f64 * b[t * n + e % n] as f64)
                    .sum()
            })
            .collect();
        assert_close(
            &format!("{family} matmul {m}x{k}x{n}"),
            &read(&mut rec, &c),
            &want,
            1e-4,
            1e-4,
        );
    }
}

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
