//! Benchmarks (docs/BENCHMARKS.md): W1, a whole CS-KD or CE training step of SmallCNN on random data
//! (`w1`), and its per-op-family GPU profile (`profile`); W2, GFLOP/s of each conv kernel on the
//! SmallCNN shapes and of a square matmul (`w2`); and the per-kernel harness that validates every
//! op kernel against the CPU reference before timing it on W1's shapes (`kernels`). Each kernel is
//! validated through `crate::reference`, the f64 reference the tests use. Natively and on the web.

#[cfg(not(target_arch = "wasm32"))]
pub mod gpu_model;
pub mod kernels;
pub mod memory;
pub mod profile;
#[cfg(not(target_arch = "wasm32"))]
pub mod reflect;
pub mod w1;
pub mod w2;

pub use kernels::{
    check_kernel, kernel_names, kernels, kernels_named, KernelCheck, KernelSize, CONV_EDGES,
};
pub use memory::{w1_memory, MemoryReport};
pub use profile::{profile_w1, FamilyRow, StepProfile};
pub use w1::{w1, W1Result, W1Setup};
pub use w2::{w2, KernelResult, SMALLCNN_CONVS};

use crate::error::{Error, Result};
use crate::gpu::{readback, BufferPool, Gpu, Recorder, Tensor};
use web_time::Instant;

/// Every count must be at least 1 (a zero would leave nothing to time, or index an empty list).
fn at_least_one(counts: &[(&str, usize)]) -> Result<()> {
    for &(name, n) in counts {
        if n == 0 {
            return Err(Error::Config(format!("{name} must be at least 1")));
        }
    }
    Ok(())
}

/// Median milliseconds of one launch: `reps` trials, each one submit of the kernel(s) then a wait.
async fn time(
    gpu: &Gpu,
    pool: &BufferPool,
    reps: usize,
    f: &dyn Fn(&mut Recorder<'_>),
) -> Result<f64> {
    let probe = Tensor::zeros(&gpu.device, &[4]);
    let mut times = Vec::new();
    for i in 0..reps + 1 {
        let start = Instant::now();
        let mut rec = Recorder::new(gpu, pool);
        f(&mut rec);
        readback::read(&mut rec, &probe).await?; // submit + wait for completion
        if i > 0 {
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    Ok(median(&mut times))
}

/// Largest error of `got` against `want`, each relative to the value's magnitude with a floor of
/// 1 (near-zero sums would otherwise blow up); a length mismatch or a non-finite value is infinite.
fn max_rel_err(got: &[f32], want: &[f64]) -> f64 {
    worst_rel_err(got, want).1
}

/// `max_rel_err` and the index of the element it is found at (the first non-finite one, if any).
fn worst_rel_err(got: &[f32], want: &[f64]) -> (usize, f64) {
    if got.len() != want.len() {
        return (0, f64::INFINITY);
    }
    let mut worst = (0, 0.0f64);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let e = (g as f64 - w).abs() / w.abs().max(1.0);
        if e.is_nan() {
            return (i, f64::INFINITY);
        }
        if e > worst.1 {
            worst = (i, e);
        }
    }
    worst
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}
