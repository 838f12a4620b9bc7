use crate::common::{reference as r, *};
use cskd::gpu::{Recorder, Tensor};
use cskd::ops::{elementwise, pool};
use cskd::rng::Rng;

/// Numerical vector-Jacobian product Σ_j dy_j ∂f_j/∂x_i of a reference, by central differences.
fn fd_vjp(f: impl Fn(&[f64]) -> Vec<f64>, x: &[f64], dy: &[f64]) -> Vec<f64> {
    let h = 1e-6;
    let mut xp = x.to_vec();
    (0..x.len())
        .map(|i| {
            xp[i] = x[i] + h;
            let up = dot(&f(&xp), dy);
            xp[i] = x[i] - h;
            let down = dot(&f(&xp), dy);
            xp[i] = x[i];
            (up - down) / (2.0 * h)
        })
        .collect()
}

#[test]
fn relu_and_add_match_reference_and_finite_differences() {
    let (gpu, pool) = (gpu(), pool());
    let mut rng = Rng::new(8);
    for n in [1usize, 255, 257, 1000] {
        // Keep values away from the kink at 0 so central differences are exact.
        let x: Vec<f32> = randn(&mut rng, n, 1.0)
            .iter()
            .map(|v| if v.abs() < 0.01 { 0.5 } else { *v })
            .collect();
        let (b, dy) = (randn(&mut rng, n, 1.0), randn(&mut rng, n, 1.0));
        let mut rec = Recorder::new(gpu, &pool);
        let (xg, bg, dyg) = (upload(&[n], &x), upload(&[n], &b), upload(&[n], &dy));
        let y = elementwise::relu_forward(&mut rec, &xg);
        let dx = elementwise::relu_backward(&mut rec, &xg, &dyg);
        let s = elementwise::add(&mut rec, &xg, &bg);
        let relu = |v: &[f64]| v.iter().map(|a| a.max(0.0)).collect::<Vec<_>>();
        let x64 = to64(&x);
        assert_close("relu", &read(&mut rec, &y), &relu(&x64), 0.0, 0.0);
        assert_close(
            "relu dx",
            &read(&mut rec, &dx),
            &fd_vjp(relu, &x64, &to64(&dy)),
            1e-6,
            1e-6,
        );
        let want: Vec<f64> = x64.iter().zip(&b).map(|(a, b)| a + *b as f64).collect();
        assert_close("add", &read(&mut rec, &s), &want, 1e-6, 1e-6);
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
        v.write(&gpu.queue, d);
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
fn pooling_matches_reference_and_finite_differences() {
    let (gpu, pool) = (gpu(), pool());
    let mut rng = Rng::new(9);
    for xs in [[2, 3, 4, 4], [1, 2, 5, 7], [3, 5, 8, 8]] {
        let n: usize = xs.iter().product();
        let x = randn(&mut rng, n, 1.0);
        let x64 = to64(&x);
        let mut rec = Recorder::new(gpu, &pool);
        let xg = upload(&xs, &x);

        let my = pool::max_forward(&mut rec, &xg);
        let dy = randn(&mut rng, my.numel(), 1.0);
        let mdx = pool::max_backward(&mut rec, &xg, &upload(my.shape(), &dy));
        assert_close(
            "maxpool",
            &read(&mut rec, &my),
            &r::max_pool2(&x64, xs),
            0.0,
            0.0,
        );
        let want = fd_vjp(|v| r::max_pool2(v, xs), &x64, &to64(&dy));
        assert_close("maxpool dx", &read(&mut rec, &mdx), &want, 1e-6, 1e-6);

        for win in [2, xs[2].min(xs[3])] {
            let ay = pool::avg_forward(&mut rec, &xg, win);
            let dy = randn(&mut rng, ay.numel(), 1.0);
            let adx = pool::avg_backward(&mut rec, &xs, &upload(ay.shape(), &dy), win);
            assert_close(
                "avgpool",
                &read(&mut rec, &ay),
                &r::avg_pool(&x64, xs, win),
                1e-6,
                1e-6,
            );
            let want = fd_vjp(|v| r::avg_pool(v, xs, win), &x64, &to64(&dy));
            assert_close("avgpool dx", &read(&mut rec, &adx), &want, 1e-6, 1e-5);
        }
    }
}
