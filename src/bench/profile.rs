//! `cskd bench --profile`: one W1 step timed dispatch by dispatch and summed per op family, next to
//! the wall time of an unprofiled step (a profiled step runs each dispatch in its own pass, so its
//! GPU total is the sum of the kernels alone, without the overlap or idle time of a real step).

use super::median;
use super::w1::W1Setup;
use crate::data::{Cifar, CifarKind, Split};
use crate::error::Result;
use crate::gpu::profile::{self, DispatchTime, OpFamily, TimingMethod};
use crate::gpu::{BufferPool, CounterSnapshot, Gpu, Recorder};
use crate::train::{Method, Precision, TrainConfig, Trainer};
use serde::Serialize;
use std::sync::Arc;
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
    /// What the host asked of the GPU over `counted_steps` steps of a trainer with W1's model and
    /// batch, after warm-up (`trainer_counters`).
    pub counters: CounterSnapshot,
    pub counted_steps: usize,
    pub kernels: Vec<DispatchTime>,
}

/// Trainer steps counted after warm-up.
const COUNTED_STEPS: usize = 6;

/// Counters of `COUNTED_STEPS` pipelined steps of a real `Trainer` (W1's SmallCNN width 32, the
/// method, `anchors` per batch, random CIFAR-shaped images with augmentation), after two warm-up steps.
pub async fn trainer_counters(gpu: &Gpu, cskd: bool, anchors: usize) -> Result<CounterSnapshot> {
    let batch = if cskd { anchors } else { 2 * anchors };
    // One epoch holds every counted step (none waits for an evaluation).
    let n = batch * (COUNTED_STEPS + 4);
    let mut rng = crate::rng::Rng::new(5);
    let split = |n: usize, rng: &mut crate::rng::Rng| Split {
        images: (0..n * 3072).map(|_| rng.below(256) as u8).collect(),
        labels: (0..n).map(|i| (i % 100) as u32).collect(),
        coarse: Some((0..n).map(|i| (i % 20) as u32).collect()),
    };
    let data = Cifar {
        kind: CifarKind::Cifar100,
        train: split(n, &mut rng),
        test: split(10, &mut rng),
        classes: (0..100).map(|i| format!("class{i}")).collect(),
        coarse_classes: Some((0..20).map(|i| format!("super{i}")).collect()),
    };
    let config = TrainConfig {
        method: if cskd { Method::Cskd } else { Method::Ce },
        width: 32,
        batch,
        per_class: 0,
        test_per_class: 0,
        calibration_fraction: 0.0,
        epochs: 1,
        precision: Precision::of(gpu.activations()),
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(Arc::new(gpu.with_family(gpu.family())), config, data)?;
    for _ in 0..2 {
        trainer.step_ahead().await?;
    }
    let before = gpu.counters();
    for _ in 0..COUNTED_STEPS {
        trainer.step_ahead().await?;
    }
    Ok(gpu.counters().since(&before))
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
    drop(rec);
    let counters = trainer_counters(gpu, cskd, anchors).await?;
    Ok(summarise(
        &setup,
        timing,
        kernels,
        median(&mut walls),
        loss,
        counters,
    ))
}

fn summarise(
    setup: &W1Setup,
    timing: TimingMethod,
    kernels: Vec<DispatchTime>,
    wall_ms: f64,
    loss: f32,
    counters: CounterSnapshot,
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
        counters,
        counted_steps: COUNTED_STEPS,
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
        s += &format!(
            "trainer step counters over {} steps after warm-up, {}\n",
            self.counted_steps,
            self.counters.per_step(self.counted_steps as u64)
        );
        if !self.unknown.is_empty() {
            s += &format!("unattributed kernels: {}\n", self.unknown.join(", "));
        }
        s
    }
}
