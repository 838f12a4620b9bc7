//! The references of ReLU and pooling against finite differences (their kernels are checked
//! against the references by the registry), and tensor views as kernels bind them.
use crate::common::*;
use cskd::gpu::{Recorder, Tensor};
use cskd::ops::elementwise;
use cskd::reference as r;
use cskd::rng::Rng;

#[test]
fn relu_reference_gradient_matches_finite_differences() {
    let mut rng = Rng::new(8);
    for n in [1usize, 255, 257, 1000] {
        // Keep values away from the kink at 0 so central differences are exact.
        let x: Vec<f64> = to64(&randn(&mut rng, n, 1.0))
            .iter()
            .map(|v| if v.abs() < 0.01 { 0.5 } else { *v })
            .collect();
        let dy = to64(&randn(&mut rng, n, 1.0));
        let dx = r::relu_backward(&x, &dy);
        assert_fd("relu dx", |v| dot(&r::relu(v), &dy), &x, &dx, 1e-6, 1e-6);
    }
}

#[test]
fn views_bind_copy_write_and_read_at_their_offsets() {
    let (gpu, pool) = (gpu(), pool());
    let align = gpu.limits.min_storage_buffer_offset_alignment as u64;
    // Three 5-element views of one buffer, each at an aligned offset with padding after it.
    let stride = 24u64.div_ceil(align) * align;
    let whole = Tensor::zeros(&gpu.device, &[(3 * stride / 4) as usize]);
    let views: Vec<Tensor> = (0..3).map(|k| whole.view(k * stride, &[5])).collect();
    let data: Vec<Vec<f32>> = (0..3)
        .map(|k| (0..5).map(|i| (10 * k + i) as f32 - 12.0).collect())
        .collect();
    for (v, d) in views.iter().zip(&data) {
        v.write(gpu, d);
    }
    assert!(views[0].same_view(&views[0].reshape(&[5])));
    assert!(
        !views[0].same_view(&views[1]),
        "different ranges of one buffer"
    );
    assert!(!views[0].same_view(&whole));
    let mut rec = Recorder::new(gpu, &pool);
    for (v, d) in views.iter().zip(&data) {
        assert_eq!(&read(&mut rec, v), d, "read at the offset");
    }
    // A kernel reads two views and writes a third (binding ranges), and a copy honours offsets.
    let y = elementwise::relu_forward(&mut rec, &views[0]);
    let s = elementwise::add(&mut rec, &views[1], &views[2]);
    rec.copy(&s, &views[0]);
    let want_relu: Vec<f32> = data[0].iter().map(|v| v.max(0.0)).collect();
    assert_eq!(read(&mut rec, &y), want_relu);
    let want_sum: Vec<f32> = (0..5).map(|i| data[1][i] + data[2][i]).collect();
    assert_eq!(read(&mut rec, &views[0]), want_sum);
    // Nothing outside the views was touched.
    let all = read(&mut rec, &whole);
    for (k, chunk) in all.chunks((stride / 4) as usize).enumerate() {
        assert!(
            chunk[5..].iter().all(|&v| v == 0.0),
            "padding after view {k}"
        );
    }
}

#[test]
fn pooling_reference_gradients_match_finite_differences() {
    let mut rng = Rng::new(9);
    for xs in [[2, 3, 4, 4], [1, 2, 5, 7], [3, 5, 8, 8]] {
        let n: usize = xs.iter().product();
        let x = to64(&randn(&mut rng, n, 1.0));
        let dy = to64(&randn(&mut rng, r::max_pool2(&x, xs).len(), 1.0));
        let dx = r::max_pool2_backward(&x, xs, &dy);
        let f = |v: &[f64]| dot(&r::max_pool2(v, xs), &dy);
        assert_fd("maxpool dx", f, &x, &dx, 1e-6, 1e-6);
        for win in [2, xs[2].min(xs[3])] {
            let dy = to64(&randn(&mut rng, r::avg_pool(&x, xs, win).len(), 1.0));
            let dx = r::avg_pool_backward(xs, win, &dy);
            let f = |v: &[f64]| dot(&r::avg_pool(v, xs, win), &dy);
            assert_fd("avgpool dx", f, &x, &dx, 1e-6, 1e-6);
        }
    }
}
