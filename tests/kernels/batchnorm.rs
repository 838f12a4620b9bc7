use crate::common::*;
use cskd::gpu::{Recorder, Tensor};
use cskd::ops::batchnorm::{self, EPS};
use cskd::reference as r;
use cskd::rng::Rng;

// The same BN kernels serve every family, with the family's threads and chunks; with subgroup
// reductions and without (the shared family's; the others reduce one thread per chunk).
crate::family_tests!(
    subgroups: fused_batch_norm_relu_gradient_matches_finite_differences_of_the_kernel,
    in_place_backward_gives_the_out_of_place_bits
);

/// The kernels named after a profiled training forward + backward of batch norm and a CS-KD loss.
fn kernels_run(gpu: &cskd::gpu::Gpu) -> Vec<String> {
    let pool = pool();
    let mut rec = Recorder::profiled(gpu, &pool).expect("profiling recorder");
    let xs = [2, 3, 4, 4];
    let x = upload_to(gpu, &xs, &[1.5; 96]);
    let (ones, zeros) = (
        upload_to(gpu, &[3], &[1.0; 3]),
        upload_to(gpu, &[3], &[0.0; 3]),
    );
    let (rm, rv) = (
        upload_to(gpu, &[3], &[0.0; 3]),
        upload_to(gpu, &[3], &[1.0; 3]),
    );
    let health = Tensor::zeros(&gpu.device, &[1]);
    let (_, saved) =
        batchnorm::forward_train(&mut rec, &x, &ones, &zeros, (&rm, &rv), &health, true);
    batchnorm::backward(&mut rec, &x, &x, &ones, &saved, (None, None));
    let za = upload_to(gpu, &[2, 10], &[0.5; 20]);
    let labels = Tensor::from_slice(&gpu.device, &gpu.queue, &[2], &[1u32, 2]);
    let cfg = cskd::ops::loss::LossConfig {
        temperature: 4.0,
        lambda: 1.0,
        smoothing: 0.0,
    };
    cskd::ops::loss::cskd_loss(&mut rec, &za, Some(&za), &labels, cfg);
    let (_, records) = pollster::block_on(cskd::gpu::profile::finish(&mut rec)).expect("profile");
    records.into_iter().map(|r| r.kernel).collect()
}

#[test]
fn the_subgroup_variants_run_exactly_when_subgroups_are_on() {
    let base = family_gpu(cskd::gpu::KernelFamily::Shared);
    assert!(
        base.features.contains(wgpu::Features::SUBGROUP),
        "the test adapter has no SUBGROUP feature (lavapipe has): the subgroup kernels go untested"
    );
    let on = kernels_run(&base.with_subgroups(true));
    let off = kernels_run(&base.with_subgroups(false));
    for k in [
        "stats_partial",
        "grad_partial",
        "cskd_forward_backward",
        "reduce_rows",
    ] {
        let named = |ks: &[String], shader: &str| ks.iter().any(|n| *n == format!("{shader}::{k}"));
        let shader = if k.contains("partial") {
            "batchnorm"
        } else {
            "loss"
        };
        assert!(named(&on, &format!("{shader}_subgroups")), "{k} on: {on:?}");
        assert!(named(&off, shader), "{k} off: {off:?}");
    }
    assert!(off.iter().all(|k| !k.contains("subgroups")), "{off:?}");
    // The CPU adapters' families reduce one thread per reduction: no subgroup path to take.
    for family in [
        cskd::gpu::KernelFamily::Tiled,
        cskd::gpu::KernelFamily::Compact,
    ] {
        let gpu = family_gpu(family).with_subgroups(true);
        assert!(!gpu.subgroups(), "{family}");
        let ks = kernels_run(&gpu);
        assert!(
            ks.iter().all(|k| !k.contains("subgroups")),
            "{family}: {ks:?}"
        );
        assert!(
            ks.iter().any(|k| k == "batchnorm::stats_partial_serial"),
            "{family}: {ks:?}"
        );
    }
}

#[test]
fn batch_norm_reference_backward_matches_finite_differences_with_and_without_relu() {
    let mut rng = Rng::new(7);
    let xs = [3, 2, 2, 3];
    let x = to64(&randn(&mut rng, 36, 1.0));
    let (g, b, dy) = (
        to64(&randn(&mut rng, 2, 1.0)),
        to64(&randn(&mut rng, 2, 1.0)),
        to64(&randn(&mut rng, 36, 1.0)),
    );
    let eps = EPS as f64;
    for relu in [false, true] {
        let (dx, dg, db) = r::batch_norm_relu_backward(&x, xs, &g, &b, eps, &dy, relu);
        let f =
            |x: &[f64], g: &[f64], b: &[f64]| dot(&r::batch_norm_relu(x, xs, g, b, eps, relu), &dy);
        let what = |p: &str| format!("bn{} {p}", if relu { "+relu" } else { "" });
        assert_fd(&what("dx"), |v| f(v, &g, &b), &x, &dx, 1e-5, 1e-5);
        assert_fd(&what("dgamma"), |v| f(&x, v, &b), &g, &dg, 1e-5, 1e-6);
        assert_fd(&what("dbeta"), |v| f(&x, &g, v), &b, &db, 1e-5, 1e-6);
    }
}

fn fused_batch_norm_relu_gradient_matches_finite_differences_of_the_kernel(
    gpu: &'static cskd::gpu::Gpu,
) {
    let family = gpu.family().name();
    // The GPU's own forward, differentiated numerically in f32 (coarse step, loose tolerance):
    // the fused backward must be the gradient of the fused forward actually computed.
    {
        let pool = pool();
        let mut rng = Rng::new(8);
        let xs = [2, 2, 2, 3];
        let x = randn(&mut rng, 24, 1.0);
        let (g, b, dy) = (
            randn(&mut rng, 2, 1.0),
            randn(&mut rng, 2, 0.5),
            randn(&mut rng, 24, 1.0),
        );
        let up = |shape: &[usize], d: &[f32]| upload_to(gpu, shape, d);
        let (gg, bg, dyg) = (up(&[2], &g), up(&[2], &b), up(&xs, &dy));
        let health = Tensor::zeros(&gpu.device, &[1]);
        let loss_at = |xv: &[f32]| -> f64 {
            let (rm, rv) = (up(&[2], &[0.0; 2]), up(&[2], &[1.0; 2]));
            let mut rec = Recorder::new(gpu, &pool);
            let (y, _) = batchnorm::forward_train(
                &mut rec,
                &up(&xs, xv),
                &gg,
                &bg,
                (&rm, &rv),
                &health,
                true,
            );
            dot(&to64(&read(&mut rec, &y)), &to64(&dy))
        };
        let (rm, rv) = (up(&[2], &[0.0; 2]), up(&[2], &[1.0; 2]));
        let mut rec = Recorder::new(gpu, &pool);
        let xg = up(&xs, &x);
        let (_, saved) =
            batchnorm::forward_train(&mut rec, &xg, &gg, &bg, (&rm, &rv), &health, true);
        let (dx, _, _) = batchnorm::backward(&mut rec, &xg, &dyg, &gg, &saved, (None, None));
        let dx = read(&mut rec, &dx);
        let h = 1e-2f32;
        for i in [0, 5, 11, 17, 23] {
            let (mut up_x, mut down_x) = (x.clone(), x.clone());
            up_x[i] += h;
            down_x[i] -= h;
            let fd = (loss_at(&up_x) - loss_at(&down_x)) / (2.0 * h as f64);
            assert!(
                (fd - dx[i] as f64).abs() <= 2e-2 + 2e-2 * fd.abs(),
                "{family} dx[{i}]: kernel {} vs finite difference {fd}",
                dx[i]
            );
        }
    }
}

#[test]
fn non_finite_running_statistics_poison_the_loss_and_clear_the_flag() {
    let (gpu, pool) = (gpu(), pool());
    let xs = [2, 2, 2, 2];
    // Values near f32::MAX: the variance overflows to +inf.
    let huge: Vec<f32> = (0..16)
        .map(|i| if i % 2 == 0 { 3e38 } else { -3e38 })
        .collect();
    let ones = upload(&[2], &[1.0, 1.0]);
    let zeros = upload(&[2], &[0.0, 0.0]);
    let (rm, rv) = (upload(&[2], &[0.0, 0.0]), upload(&[2], &[1.0, 1.0]));
    let health = Tensor::zeros(&gpu.device, &[1]);
    let loss = upload(&[4], &[0.5, 0.5, 0.0, 0.0]);
    let mut rec = Recorder::new(gpu, &pool);
    // A finite batch leaves the flag clear and the loss alone.
    let fine = upload(&xs, &[1.0; 16]);
    batchnorm::forward_train(&mut rec, &fine, &ones, &zeros, (&rm, &rv), &health, false);
    batchnorm::check_health(&mut rec, &health, &loss);
    assert_eq!(read(&mut rec, &loss), vec![0.5, 0.5, 0.0, 0.0]);
    let x = upload(&xs, &huge);
    batchnorm::forward_train(&mut rec, &x, &ones, &zeros, (&rm, &rv), &health, false);
    assert_ne!(read(&mut rec, &health)[0].to_bits(), 0, "flag set");
    batchnorm::check_health(&mut rec, &health, &loss);
    let l = read(&mut rec, &loss);
    assert!(l[0].is_nan() && l[3] == 1.0, "{l:?}");
    assert_eq!(read(&mut rec, &health)[0].to_bits(), 0, "flag cleared");
}

#[test]
fn chunking_gives_w1_at_least_256_workgroups_and_never_an_empty_chunk() {
    use batchnorm::Chunking;
    use cskd::gpu::KernelFamily;
    // SmallCNN W1: (channels, N·H·W) of its three stages at batch 64.
    for (c, m) in [(32, 64 * 32 * 32), (64, 64 * 16 * 16), (128, 64 * 8 * 8)] {
        for family in [KernelFamily::Tiled, KernelFamily::Shared] {
            let ch = Chunking::for_family(family, c, m);
            assert!(
                c * ch.chunks as usize >= 256,
                "{family:?} C{c} M{m}: {ch:?}"
            );
        }
    }
    for family in KernelFamily::ALL {
        for c in [1, 3, 32, 128] {
            for m in [1, 2, 31, 255, 256, 257, 4092, 16920, 65536, 100_003] {
                let ch = Chunking::for_family(family, c, m);
                let (k, len) = (ch.chunks as usize, ch.len as usize);
                assert!(
                    k >= 1 && (k - 1) * len < m && k * len >= m,
                    "C{c} M{m}: {ch:?}"
                );
            }
        }
    }
}

/// dx written over dy (`backward_in_place`) is the out-of-place dx bit for bit, with ReLU fused and
/// without, and dgamma, dbeta too; dy's memory then holds dx.
fn in_place_backward_gives_the_out_of_place_bits(gpu: &'static cskd::gpu::Gpu) {
    let family = gpu.family().name();
    let pool = pool();
    let mut rng = Rng::new(9);
    let xs = [3, 4, 5, 7];
    let (x, dy) = (randn(&mut rng, 420, 1.0), randn(&mut rng, 420, 1.0));
    let (g, b) = (randn(&mut rng, 4, 1.0), randn(&mut rng, 4, 0.5));
    let up = |shape: &[usize], d: &[f32]| upload_to(gpu, shape, d);
    let (xg, gg, bg) = (up(&xs, &x), up(&[4], &g), up(&[4], &b));
    for relu in [false, true] {
        let mut rec = Recorder::new(gpu, &pool);
        let (rm, rv) = (up(&[4], &[0.0; 4]), up(&[4], &[1.0; 4]));
        let health = Tensor::zeros(&gpu.device, &[1]);
        let (_, saved) =
            batchnorm::forward_train(&mut rec, &xg, &gg, &bg, (&rm, &rv), &health, relu);
        let out = batchnorm::backward(&mut rec, &xg, &up(&xs, &dy), &gg, &saved, (None, None));
        let dyg = up(&xs, &dy);
        let own = batchnorm::backward_in_place(&mut rec, &xg, &dyg, &gg, &saved, (None, None));
        assert!(own.0.same_view(&dyg), "{family}: dx is not dy's memory");
        let mut bits =
            |t: &Tensor| -> Vec<u32> { read(&mut rec, t).iter().map(|v| v.to_bits()).collect() };
        let what = format!("{family} relu {relu}");
        assert_eq!(bits(&out.0), bits(&own.0), "{what}: dx");
        assert_eq!(bits(&out.1), bits(&own.1), "{what}: dgamma");
        assert_eq!(bits(&out.2), bits(&own.2), "{what}: dbeta");
        let dy_bits: Vec<u32> = dy.iter().map(|v| v.to_bits()).collect();
        assert_ne!(bits(&dyg), dy_bits, "{what}: dy was not overwritten");
    }
}

/// Through the tape, batch norm overwrites its output gradient only when nothing else holds it:
/// a dy the caller keeps a handle on comes back untouched, a dy handed over becomes dx.
#[test]
fn the_tape_lets_batch_norm_overwrite_only_an_unshared_gradient() {
    use cskd::tape::{Tape, Var};
    let (gpu, pool) = (gpu(), pool());
    let mut rng = Rng::new(10);
    let xs = [2, 3, 4, 4];
    let (x, dy) = (randn(&mut rng, 96, 1.0), randn(&mut rng, 96, 1.0));
    let (xg, ones, zeros) = (
        upload(&xs, &x),
        upload(&[3], &[1.0; 3]),
        upload(&[3], &[0.0; 3]),
    );
    for keep in [true, false] {
        let mut rec = Recorder::new(gpu, &pool);
        let (rm, rv) = (upload(&[3], &[0.0; 3]), upload(&[3], &[1.0; 3]));
        let health = Tensor::zeros(&gpu.device, &[1]);
        let mut tape = Tape::new();
        let xv = tape.leaf(&xg);
        let bn = batchnorm::Bn {
            running_mean: &rm,
            running_var: &rv,
            health: &health,
            train: true,
            relu: true,
        };
        let (g, b) = (Var::constant(ones.clone()), Var::constant(zeros.clone()));
        let y = batchnorm::batch_norm(&mut rec, &mut tape, &xv, &g, &b, bn);
        let droot = upload(&xs, &dy);
        let kept = keep.then(|| droot.clone());
        let buffer = droot.buffer().clone();
        let grads = tape.backward(&mut rec, &y, droot);
        let dx = grads.of(&xg).expect("dx");
        assert_eq!(
            *dx.buffer() == buffer,
            !keep,
            "keep {keep}: dx in dy's buffer"
        );
        if let Some(kept) = kept {
            assert_eq!(read(&mut rec, &kept), dy, "a kept dy was overwritten");
        }
    }
}
