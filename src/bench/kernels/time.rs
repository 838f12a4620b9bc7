//! Timing a kernel and its report line: the median of `reps` launches at the timed shape, what the
//! profiler recorded of that launch (FLOPs its ops declared, bytes of the tensors bound to each
//! dispatch, workgroups), the arithmetic intensity, and the rate it reaches (GFLOP/s for conv and
//! matmul kernels, GB/s over the bytes for the others).

use super::cases::{Case, KernelCase};
use super::validate::Checked;
use crate::error::Result;
use crate::gpu::profile::DispatchTime;
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
    /// FLOPs of the timed launch: what its ops declared to the profiler (`Recorder::set_op`), else
    /// the registry's count for the case.
    pub flops: f64,
    /// Bytes moved (read + written) by the timed launch, as the profiler counts them: the bytes of
    /// the tensors bound to each dispatch, summed over its dispatches (the registry's count of the
    /// case's inputs and outputs where the adapter cannot profile).
    pub bytes: f64,
    /// FLOP per byte.
    pub intensity: f64,
    /// Workgroups dispatched, summed over the launch's dispatches.
    pub workgroups: u64,
    /// Each dispatch's grid, in order.
    pub grids: Vec<[u32; 3]>,
}

/// Times `timed` (median of `reps` launches) and reports it with what the checks found.
pub(super) async fn time(
    gpu: &Gpu,
    pool: &BufferPool,
    kernel: &KernelCase,
    checked: &Checked,
    timed: &Case,
    records: &[DispatchTime],
    reps: usize,
) -> Result<KernelCheck> {
    let ms = crate::bench::time(gpu, pool, reps, &|rec: &mut Recorder<'_>| {
        drop((timed.run)(rec))
    })
    .await?;
    let rate = |amount: f64| amount / ms / 1e6;
    let declared: f64 = records.iter().map(|r| r.flops).sum();
    let flops = if declared > 0.0 {
        declared
    } else {
        timed.flops
    };
    let bound: f64 = records.iter().map(|r| r.bytes).sum();
    let bytes = if bound > 0.0 { bound } else { timed.bytes };
    Ok(KernelCheck {
        kernel: kernel.name.into(),
        checked_shape: checked.shapes.join("; "),
        max_err: checked.max_err,
        tolerance: kernel.tolerance,
        timed_shape: timed.shape.clone(),
        median_ms: ms,
        gflops: (flops > 0.0).then(|| rate(flops)),
        gbs: (flops == 0.0).then(|| rate(bytes)),
        dispatches: super::validate::kernels_of(records),
        flops,
        bytes,
        intensity: if bytes > 0.0 { flops / bytes } else { 0.0 },
        workgroups: records.iter().map(|r| r.workgroups()).sum(),
        grids: records.iter().map(|r| r.groups).collect(),
    })
}
