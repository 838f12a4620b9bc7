use crate::common::{reference as r, *};
use cskd::gpu::{Gpu, Recorder};
use cskd::ops::conv2d::{self, ConvShape};
use cskd::rng::Rng;

type Case = (usize, usize, usize, usize, usize, usize, usize, usize);

/// (N, C, H, W, K, kernel, stride, pad): 3×3/1×1, stride 1/2, pad 0/1, sizes that are not
/// multiples of 4 or of the workgroup, odd spatial sizes; the last spans several 64-wide GEMM
/// tiles in every view (and several weight-gradient splits).
const CASES: &[Case] = &[
    (2, 3, 7, 9, 5, 3, 1, 1),
    (2, 3, 7, 9, 5, 3, 1, 0),
    (1, 5, 7, 9, 6, 3, 2, 1),
    (1, 3, 9, 7, 5, 3, 2, 0),
    (3, 4, 6, 5, 3, 1, 1, 0),
    (2, 6, 9, 7, 9, 1, 2, 0),
    (2, 8, 10, 10, 8, 3, 1, 1),
    (2, 9, 11, 13, 70, 3, 1, 1),
    // rows of 16 columns and more (the compact family's 16-column kernels), pad 1 and 0
    (1, 3, 5, 19, 6, 3, 1, 1),
    (2, 2, 4, 18, 5, 3, 1, 0),
];

crate::family_tests!(conv2d_forward_and_backward_match_reference);

fn conv2d_forward_and_backward_match_reference(gpu: &Gpu) {
    let family = gpu.family();
    let pool = pool();
    let mut rng = Rng::new(1);
    for &(n, c, h, w, k, s, stride, pad) in CASES {
        let case = format!("{family} conv n{n} c{c} {h}x{w} k{k} {s}x{s}/{stride} pad {pad}");
        let xs = [n, c, h, w];
        let x = randn(&mut rng, n * c * h * w, 1.0);
        let wt = randn(&mut rng, k * c * s * s, 0.5);
        let shape = ConvShape::new(&xs, &[k, c, s, s], stride, pad);
        let dy = randn(&mut rng, shape.out_shape().iter().product(), 1.0);
        let (xg, wg, dyg) = (
            upload_to(gpu, &xs, &x),
            upload_to(gpu, &[k, c, s, s], &wt),
            upload_to(gpu, &shape.out_shape(), &dy),
        );

        let mut rec = Recorder::new(gpu, &pool);
        let y = conv2d::forward(&mut rec, &xg, &wg, stride, pad);
        assert_eq!(y.shape(), &shape.out_shape());
        let dx = conv2d::backward_input(&mut rec, &shape, &dyg, &wg);
        let dw = conv2d::backward_weight(&mut rec, &shape, &dyg, &xg, None);
        let (y, dx, dw) = (read(&mut rec, &y), read(&mut rec, &dx), read(&mut rec, &dw));

        let (x64, w64, dy64) = (to64(&x), to64(&wt), to64(&dy));
        assert_close(
            &format!("{case} y"),
            &y,
            &r::conv2d(&x64, xs, &w64, k, s, stride, pad),
            1e-4,
            1e-4,
        );
        let (rdx, rdw) = r::conv2d_backward(&x64, xs, &w64, k, s, stride, pad, &dy64);
        assert_close(&format!("{case} dx"), &dx, &rdx, 1e-4, 1e-4);
        assert_close(&format!("{case} dw"), &dw, &rdw, 1e-3, 1e-4);
    }
}

#[test]
fn conv2d_reference_backward_matches_finite_differences() {
    let mut rng = Rng::new(2);
    for &(n, c, h, w, k, s, stride, pad) in &CASES[..6] {
        let xs = [n, c, h, w];
        let x = to64(&randn(&mut rng, n * c * h * w, 1.0));
        let wt = to64(&randn(&mut rng, k * c * s * s, 0.5));
        let y = r::conv2d(&x, xs, &wt, k, s, stride, pad);
        let dy = to64(&randn(&mut rng, y.len(), 1.0));
        let (dx, dw) = r::conv2d_backward(&x, xs, &wt, k, s, stride, pad, &dy);
        assert_fd(
            "conv dx",
            |xv| dot(&r::conv2d(xv, xs, &wt, k, s, stride, pad), &dy),
            &x,
            &dx,
            1e-5,
            1e-6,
        );
        assert_fd(
            "conv dw",
            |wv| dot(&r::conv2d(&x, xs, wv, k, s, stride, pad), &dy),
            &wt,
            &dw,
            1e-5,
            1e-6,
        );
    }
}
