//! Shared test support: one Vulkan device for the whole test binary (opening one per test is
//! ~5× slower on lavapipe), uploads, readbacks and tolerance checks.
#![allow(dead_code)]

use cskd::data::{self, Cifar};

use cskd::gpu::{readback, BufferPool, Gpu, KernelFamily, Recorder, Tensor};
use cskd::rng::Rng;
use std::sync::{Arc, OnceLock};

/// The test device: Vulkan (lavapipe on CI). A missing adapter fails the test — never a skip.
/// `CSKD_TEST_BACKEND=any` lets a developer run the suite on Metal/DX12.
pub fn gpu() -> &'static Gpu {
    gpu_arc()
}

/// The same device as an `Arc`, for trainers (which own a handle to their device).
pub fn gpu_arc() -> &'static Arc<Gpu> {
    static GPU: OnceLock<Arc<Gpu>> = OnceLock::new();
    GPU.get_or_init(|| {
        let backends = match std::env::var("CSKD_TEST_BACKEND").as_deref() {
            Ok("any") => wgpu::Backends::all(),
            _ => wgpu::Backends::VULKAN,
        };
        let gpu = pollster::block_on(Gpu::with_backends(backends)).unwrap_or_else(|e| {
            panic!("tests need a Vulkan adapter (apt-get install mesa-vulkan-drivers): {e}")
        });
        if backends == wgpu::Backends::VULKAN {
            assert_eq!(
                gpu.info.backend,
                wgpu::Backend::Vulkan,
                "tests must run on Vulkan, got {:?}",
                gpu.info.backend
            );
        }
        Arc::new(gpu)
    })
}

/// The test device running one kernel family (the same device, see `Gpu::with_family`), so that
/// every family runs the same tests.
pub fn family_gpu(family: KernelFamily) -> &'static Gpu {
    family_gpu_arc(family)
}

/// `family_gpu` as an `Arc`, for trainers.
pub fn family_gpu_arc(family: KernelFamily) -> &'static Arc<Gpu> {
    static GPUS: [OnceLock<Arc<Gpu>>; 3] = [const { OnceLock::new() }; 3];
    if gpu().family() == family {
        return gpu_arc();
    }
    let i = KernelFamily::ALL.iter().position(|&f| f == family).unwrap();
    GPUS[i].get_or_init(|| Arc::new(gpu().with_family(family)))
}

/// `family_gpu` with the subgroup kernels off (the workgroup-memory reductions every adapter runs).
pub fn family_gpu_no_subgroups(family: KernelFamily) -> &'static Gpu {
    static GPUS: [OnceLock<Gpu>; 3] = [const { OnceLock::new() }; 3];
    let i = KernelFamily::ALL.iter().position(|&f| f == family).unwrap();
    GPUS[i].get_or_init(|| family_gpu(family).with_subgroups(false))
}

/// `family_gpu` storing activations as f16 (mixed precision; the test device, lavapipe, has
/// `SHADER_F16`: a device without it fails these tests rather than skipping them).
pub fn family_gpu_f16(family: KernelFamily) -> &'static Gpu {
    static GPUS: [OnceLock<Gpu>; 3] = [const { OnceLock::new() }; 3];
    let i = KernelFamily::ALL.iter().position(|&f| f == family).unwrap();
    GPUS[i].get_or_init(|| {
        family_gpu(family)
            .with_activations(cskd::gpu::Dtype::F16)
            .expect("the test device has SHADER_F16 (lavapipe does)")
    })
}

/// One named test per kernel family, like candle's `test_device!`: `family_tests!(foo, bar)` turns
/// each `fn foo(gpu: &Gpu)` into `foo::tiled`, `foo::compact` and `foo::shared` (run one family
/// with e.g. `cargo test --test kernels ::shared`). Flags before the names stamp more paths:
/// `family_tests!(subgroups: foo)` also stamps `foo::tiled_no_subgroups` etc., for kernels with a
/// subgroup variant (the test device has subgroups, so the plain stamps run the variant and these
/// the fallback); `family_tests!(f16: foo)` also stamps `foo::tiled_f16` etc., with f16
/// activations (mixed precision). Flags combine: `family_tests!(subgroups: f16: foo)`.
#[macro_export]
macro_rules! family_tests {
    (@stamp $name:ident) => {
        #[test]
        fn tiled() {
            super::$name($crate::common::family_gpu(cskd::gpu::KernelFamily::Tiled))
        }
        #[test]
        fn compact() {
            super::$name($crate::common::family_gpu(cskd::gpu::KernelFamily::Compact))
        }
        #[test]
        fn shared() {
            super::$name($crate::common::family_gpu(cskd::gpu::KernelFamily::Shared))
        }
    };
    (@stamp subgroups $name:ident) => {
        #[test]
        fn tiled_no_subgroups() {
            super::$name($crate::common::family_gpu_no_subgroups(cskd::gpu::KernelFamily::Tiled))
        }
        #[test]
        fn compact_no_subgroups() {
            super::$name($crate::common::family_gpu_no_subgroups(cskd::gpu::KernelFamily::Compact))
        }
        #[test]
        fn shared_no_subgroups() {
            super::$name($crate::common::family_gpu_no_subgroups(cskd::gpu::KernelFamily::Shared))
        }
    };
    (@stamp f16 $name:ident) => {
        #[test]
        fn tiled_f16() {
            super::$name($crate::common::family_gpu_f16(cskd::gpu::KernelFamily::Tiled))
        }
        #[test]
        fn compact_f16() {
            super::$name($crate::common::family_gpu_f16(cskd::gpu::KernelFamily::Compact))
        }
        #[test]
        fn shared_f16() {
            super::$name($crate::common::family_gpu_f16(cskd::gpu::KernelFamily::Shared))
        }
    };
    (@mod $name:ident $($flag:ident)*) => {
        mod $name {
            $crate::family_tests!(@stamp $name);
            $($crate::family_tests!(@stamp $flag $name);)*
        }
    };
    (subgroups: f16: $($name:ident),+ $(,)?) => {$($crate::family_tests!(@mod $name subgroups f16);)+};
    (subgroups: $($name:ident),+ $(,)?) => {$($crate::family_tests!(@mod $name subgroups);)+};
    (f16: $($name:ident),+ $(,)?) => {$($crate::family_tests!(@mod $name f16);)+};
    ($($name:ident),+ $(,)?) => {$($crate::family_tests!(@mod $name);)+};
}

pub fn upload(shape: &[usize], data: &[f32]) -> Tensor {
    upload_to(gpu(), shape, data)
}

pub fn upload_to(g: &Gpu, shape: &[usize], data: &[f32]) -> Tensor {
    Tensor::from_slice(&g.device, &g.queue, shape, data)
}

pub fn upload_u32(shape: &[usize], data: &[u32]) -> Tensor {
    let g = gpu();
    Tensor::from_slice(&g.device, &g.queue, shape, data)
}

pub fn read(rec: &mut Recorder<'_>, t: &Tensor) -> Vec<f32> {
    pollster::block_on(readback::read(rec, t)).expect("readback")
}

/// A fresh pool (each test owns its pool: pool reuse is only safe within one user).
pub fn pool() -> BufferPool {
    BufferPool::new()
}

pub fn randn(rng: &mut Rng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| rng.normal() * scale).collect()
}

pub fn to64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

/// |got − want| ≤ atol + rtol·|want| everywhere, with the worst offender in the message.
pub fn assert_close(what: &str, got: &[f32], want: &[f64], atol: f64, rtol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut worst = (0usize, 0.0f64);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g as f64 - w).abs() - (atol + rtol * w.abs());
        assert!(g.is_finite(), "{what}[{i}] = {g} is not finite");
        if err > worst.1 {
            worst = (i, err);
        }
    }
    let i = worst.0;
    assert!(
        worst.1 <= 0.0,
        "{what}[{i}]: got {} want {} (atol {atol}, rtol {rtol})",
        got[i],
        want[i]
    );
}

/// Central finite differences of a scalar f64 function, checked against an analytic gradient.
pub fn assert_fd(
    what: &str,
    f: impl Fn(&[f64]) -> f64,
    x: &[f64],
    analytic: &[f64],
    h: f64,
    tol: f64,
) {
    let mut xp = x.to_vec();
    for i in 0..x.len() {
        xp[i] = x[i] + h;
        let up = f(&xp);
        xp[i] = x[i] - h;
        let down = f(&xp);
        xp[i] = x[i];
        let fd = (up - down) / (2.0 * h);
        assert!(
            (fd - analytic[i]).abs() <= tol * (1.0 + fd.abs()),
            "{what}[{i}]: finite difference {fd} vs analytic {}",
            analytic[i]
        );
    }
}

/// Σ y·r: the scalar whose gradient w.r.t. y is r (turns a backward into a vector-Jacobian test).
pub fn dot(y: &[f64], r: &[f64]) -> f64 {
    y.iter().zip(r).map(|(a, b)| a * b).sum()
}

/// The real CIFAR-10 archive where `cskd::data::locate` finds it, read once per test binary.
pub fn cifar10() -> Cifar {
    static DATA: OnceLock<Cifar> = OnceLock::new();
    DATA.get_or_init(|| {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let path = data::locate::find_beside_repo(repo, data::CifarKind::Cifar10)
            .unwrap_or_else(|e| panic!("the real-data tests need CIFAR-10: {e}"));
        data::load(&path)
            .unwrap_or_else(|e| panic!("the real-data tests need {}: {e}", path.display()))
    })
    .clone()
}
