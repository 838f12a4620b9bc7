//! `cskd bench --profile`: one W1 step timed dispatch by dispatch and summed per op family, next to
//! the wall time of an unprofiled step (a profiled step runs each dispatch in its own pass, so its
//! GPU total is the sum of the kernels alone, without the overlap or idle time of a real step).

use super::median;
use super::w1::W1Setup;
use crate::error::Result;
use crate::gpu::profile::{self, DispatchTime, OpFamily, TimingMethod};
use crate::gpu::{BufferPool, Gpu, Recorder};
use serde::Serialize;
use web_time::Instant;

/// One op family's share of the step.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FamilyRow {
    pub family: String,
    pub dispatches: usize,
    pub ms: f64,
    /// Percent of the step's GPU time.
    pub share: f64,
    /// Achieved GFLOP/s (conv and matmul families that declared their FLOPs).
    pub gflops: Option<f64>,
    /// Achieved GB/s over the bytes bound to the dispatches (the other families).
    pub gbs: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepProfile {
    pub method: String,
    pub images_per_step: usize,
    pub timing: TimingMethod,
    pub dispatches: usize,
    /// Sum of every dispatch's GPU time.
    pub gpu_ms: f64,
    /// Median wall time of an unprofiled step (3 after a warm-up).
    pub wall_ms: f64,
    /// Loss of the profiled step (the same as an unprofiled step's from the same weights).
    pub loss: f32,
    pub families: Vec<FamilyRow>,
    /// Kernels missing from the op-family table (`OpFamily::of`); empty when all are attributed.
    pub unknown: Vec<String>,
    pub kernels: Vec<DispatchTime>,
}

/// Profiles one W1 step (`anchors` as in `bench::w1`).
pub async fn profile_w1(gpu: &Gpu, cskd: bool, anchors: usize) -> Result<StepProfile> {
    let setup = W1Setup::new(gpu, cskd, anchors)?;
    let pool = BufferPool::new();
    let mut walls = Vec::new();
    for i in 0..4 {
        let start = Instant::now();
        setup.step(&mut Recorder::new(gpu, &pool)).await?;
        if i > 0 {
            walls.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    let mut rec = Recorder::profiled(gpu, &pool)?;
    let loss = setup.record(&mut rec);
    let (timing, kernels) = profile::finish(&mut rec).await?;
    let loss = crate::gpu::readback::read(&mut rec, &loss).await?[0];
    Ok(summarise(&setup, timing, kernels, median(&mut walls), loss))
}

fn summarise(
    setup: &W1Setup,
    timing: TimingMethod,
    kernels: Vec<DispatchTime>,
    wall_ms: f64,
    loss: f32,
) -> StepProfile {
    let gpu_ms: f64 = kernels.iter().map(|k| k.ms).sum();
    let families = OpFamily::ALL
        .iter()
        .filter_map(|&f| {
            let mine: Vec<&DispatchTime> = kernels.iter().filter(|k| k.family == Some(f)).collect();
            if mine.is_empty() {
                return None;
            }
            let ms: f64 = mine.iter().map(|k| k.ms).sum();
            let flops: f64 = mine.iter().map(|k| k.flops).sum();
            let bytes: f64 = mine.iter().map(|k| k.bytes).sum();
            let rate = |amount: f64| (ms > 0.0 && amount > 0.0).then(|| amount / ms / 1e6);
            Some(FamilyRow {
                family: f.name().into(),
                dispatches: mine.len(),
                ms,
                share: if gpu_ms > 0.0 {
                    100.0 * ms / gpu_ms
                } else {
                    0.0
                },
                gflops: if f.counts_flops() { rate(flops) } else { None },
                gbs: if f.counts_flops() { None } else { rate(bytes) },
            })
        })
        .collect();
    let mut unknown: Vec<String> = kernels
        .iter()
        .filter(|k| k.family.is_none())
        .map(|k| k.kernel.clone())
        .collect();
    unknown.dedup();
    StepProfile {
        method: setup.method().into(),
        images_per_step: setup.images_per_step(),
        timing,
        dispatches: kernels.len(),
        gpu_ms,
        wall_ms,
        loss,
        families,
        unknown,
        kernels,
    }
}

impl StepProfile {
    /// The breakdown as a text table.
    pub fn table(&self) -> String {
        let mut s = format!(
            "W1 {} ({} img/step), {} dispatches timed by {}\n{:<18} {:>5} {:>10} {:>7}  {}\n",
            self.method,
            self.images_per_step,
            self.dispatches,
            match self.timing {
                TimingMethod::Timestamps => "GPU timestamps",
                TimingMethod::Isolated => "isolated submits (no timestamp-query)",
            },
            "family",
            "disp",
            "ms",
            "share",
            "rate"
        );
        for r in &self.families {
            let rate = match (r.gflops, r.gbs) {
                (Some(g), _) => format!("{g:.2} GFLOP/s"),
                (_, Some(b)) => format!("{b:.2} GB/s"),
                _ => String::new(),
            };
            s += &format!(
                "{:<18} {:>5} {:>10.3} {:>6.1}%  {}\n",
                r.family, r.dispatches, r.ms, r.share, rate
            );
        }
        s += &format!(
            "GPU total {:.3} ms vs step wall time {:.3} ms (unprofiled median)\n",
            self.gpu_ms, self.wall_ms
        );
        if !self.unknown.is_empty() {
            s += &format!("unattributed kernels: {}\n", self.unknown.join(", "));
        }
        s
    }
}
