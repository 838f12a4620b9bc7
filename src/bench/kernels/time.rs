//! Timing a kernel and its report line: the median of `reps` launches at the timed shape, and the
//! rate it reaches (GFLOP/s for conv and matmul kernels, GB/s over their bytes for the others).

use super::cases::{Case, KernelCase};
use super::validate::Checked;
use crate::error::Result;
use crate::gpu::{BufferPool, Gpu, Recorder};
use serde::Serialize;

/// One kernel's check and timing.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KernelCheck {
    pub kernel: String,
    /// The small shapes checked: odd; aligned.
    pub checked_shape: String,
    /// Largest error relative to max(|reference|, 1) over every output element.
    pub max_err: f64,
    pub tolerance: f64,
    pub timed_shape: String,
    pub median_ms: f64,
    /// Conv and matmul kernels: achieved GFLOP/s.
    pub gflops: Option<f64>,
    /// The others: GB/s over the bytes of their inputs and outputs.
    pub gbs: Option<f64>,
    /// The kernels (`shader::entry`) the timed shape dispatches, all of them checked.
    pub dispatches: Vec<String>,
}

/// Times `timed` (median of `reps` launches) and reports it with what the checks found.
pub(super) async fn time(
    gpu: &Gpu,
    pool: &BufferPool,
    kernel: &KernelCase,
    checked: &Checked,
    timed: &Case,
    dispatches: Vec<String>,
    reps: usize,
) -> Result<KernelCheck> {
    let ms = crate::bench::time(gpu, pool, reps, &|rec: &mut Recorder<'_>| {
        drop((timed.run)(rec))
    })
    .await?;
    let rate = |amount: f64| amount / ms / 1e6;
    Ok(KernelCheck {
        kernel: kernel.name.into(),
        checked_shape: checked.shapes.join("; "),
        max_err: checked.max_err,
        tolerance: kernel.tolerance,
        timed_shape: timed.shape.clone(),
        median_ms: ms,
        gflops: (timed.flops > 0.0).then(|| rate(timed.flops)),
        gbs: (timed.flops == 0.0).then(|| rate(timed.bytes)),
        dispatches,
    })
}
