//! `cskd bench --model GPU`: a performance model of one W1 training step (CS-KD, 64 anchors + 64
//! partners) on a named GPU class we do not have, from the dispatches the step actually records.
//!
//! ## Inputs
//! The step is recorded once with the `shared` kernel family (the one for real GPUs) under a
//! profiling recorder (`bench::w1::W1Setup::record`, `gpu::profile`), which gives, per dispatch: the
//! kernel, its op family, the FLOPs its op declared, the bytes of the tensors bound to it and its
//! workgroup grid and override constants. Each pipeline is reflected from its WGSL after those
//! constants (`bench::reflect`): threads per workgroup, workgroup memory, registers per thread (an
//! estimate) and the register tile (outputs per thread). No tile shape is written here.
//!
//! ## Per dispatch
//! * **Occupancy**: workgroups resident per SM = the least of threads (`threads_per_sm` / threads
//!   per workgroup, rounded up to whole SIMD groups), registers (`registers_per_sm` / (registers per
//!   thread rounded up to `register_granularity`, × threads)), workgroup memory
//!   (`workgroup_memory_per_sm` / (bytes + `workgroup_memory_reserved`)) and `max_groups_per_sm`.
//! * **Waves**: ⌈workgroups / (SMs × resident)⌉. The busiest SM runs ⌈workgroups / SMs⌉ in rounds
//!   of `resident` and a last round of the rest; a round shares the SM's slice of the roofline and
//!   is slowed when its threads are too few to hide latency (`estimate`): wave quantization, a grid
//!   smaller than the GPU leaving SMs idle, and occupancy all cost time. The utilisation printed is
//!   the time on a full, saturated GPU over the modelled time.
//! * **Roofline**: compute = FLOPs / (peak × compute efficiency), memory = bytes / (bandwidth ×
//!   `MEMORY_EFFICIENCY`), each on the rounds above; the kernel takes the larger (its bound). The
//!   compute efficiency follows from the register tile: a thread with a TM × TN
//!   tile reads TM + TN operands from workgroup memory (or cache) per TM·TN FMAs, and an SM issues
//!   `fma_per_shared_word` FMAs per 32-bit word its shared memory delivers, so efficiency =
//!   `COMPUTE_EFFICIENCY_MAX` × min(1, (TM·TN / (TM + TN)) / `fma_per_shared_word`): a 1×1 thread
//!   reaches 1/8 of the cap, 4×4 one half, 8×8 all of it.
//! * **Launch**: a fixed overhead per dispatch, ~5 µs natively (wgpu + Vulkan/Metal/D3D12
//!   submission and the GPU's idle gap between dependent passes) and ~10 µs in a browser (WebGPU's
//!   extra validation and IPC to the GPU process). The step's time is the sum of every dispatch's
//!   kernel time and launch overhead: dispatches of one step depend on each other, so nothing
//!   overlaps.
//!
//! ## PyTorch CUDA eager on the same class (`PytorchModel`)
//! The same step in PyTorch is modelled from the same op list: consecutive dispatches of one op
//! family are one PyTorch kernel (cuDNN runs a conv's weight gradient, ATen a batch norm's statistics
//! and normalisation, as one op each). Each costs its roofline time — convs and matmuls at
//! `CUDNN_EFFICIENCY` of the fp32 peak, the others at `MEMORY_EFFICIENCY` of the bandwidth over the
//! largest byte count among the op's dispatches (ATen touches each tensor once) — plus
//! `PYTORCH_GAP_US` between kernels on the stream, while the CPU spends `PYTORCH_CPU_US` per op
//! (Python, the dispatcher and autograd) asynchronously; the step is the larger of the two sums plus
//! `PYTORCH_STEP_US` (optimizer call, `zero_grad`, the loss's `.item()` sync). The measurement
//! (W1 B=64 on an RTX 3060-class GPU: ≈ 23 000 img/s) is printed beside it as the check.

use super::reflect::{self, PipelineShape};
use super::w1::W1Setup;
use crate::error::{Error, Result};
use crate::gpu::profile::{self, DispatchTime, OpFamily};
use crate::gpu::{BufferPool, Gpu, KernelFamily, Recorder};
use serde::Serialize;

/// A GPU class: what the model needs to know of it. Figures are vendor specifications (boost
/// clocks) or, where a vendor publishes none, community microbenchmarks; each is sourced below.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuClass {
    /// What `--model` takes.
    pub key: &'static str,
    pub name: &'static str,
    /// Streaming multiprocessors (NVIDIA), GPU cores (Apple), subslices (Intel).
    pub sms: u32,
    /// Peak fp32 TFLOP/s (FMA = 2 FLOPs).
    pub fp32_tflops: f64,
    /// Peak DRAM bandwidth, GB/s.
    pub bandwidth_gbs: f64,
    /// 32-bit registers per SM.
    pub registers_per_sm: u32,
    /// Registers per thread are allocated in multiples of this.
    pub register_granularity: u32,
    /// Most registers one thread may hold (more spill).
    pub max_registers_per_thread: u32,
    /// Workgroup (shared) memory per SM, bytes.
    pub workgroup_memory_per_sm: u64,
    /// Bytes the driver reserves per resident workgroup (CUDA: 1 KiB on Ampere).
    pub workgroup_memory_reserved: u64,
    /// Resident threads per SM.
    pub threads_per_sm: u32,
    /// Resident workgroups per SM.
    pub max_groups_per_sm: u32,
    /// SIMD width (warp, SIMD-group): workgroups occupy whole ones.
    pub simd: u32,
    /// FP32 FMAs an SM issues per 32-bit word its shared memory delivers (per clock).
    pub fma_per_shared_word: f64,
    /// Where the figures come from.
    pub source: &'static str,
}

/// The GPU classes `--model` knows.
pub const GPUS: &[GpuClass] = &[
    GpuClass {
        key: "rtx3060",
        name: "NVIDIA RTX 3060 (GA106, Ampere)",
        sms: 28,
        fp32_tflops: 12.7,
        bandwidth_gbs: 360.0,
        registers_per_sm: 65_536,
        register_granularity: 8,
        max_registers_per_thread: 255,
        workgroup_memory_per_sm: 100 * 1024,
        workgroup_memory_reserved: 1024,
        threads_per_sm: 1536,
        max_groups_per_sm: 16,
        simd: 32,
        // 128 FP32 lanes per SM, shared memory 32 banks × 4 B per clock.
        fma_per_shared_word: 4.0,
        source: "NVIDIA RTX 3060 spec (3584 cores, 1.78 GHz boost, 192-bit 15 Gbps GDDR6); \
                 CUDA C Programming Guide, compute capability 8.6 limits",
    },
    GpuClass {
        key: "rtx3080-laptop",
        name: "NVIDIA RTX 3080 Laptop (GA104, Ampere)",
        sms: 48,
        // 6144 cores × 2 × ~1.55 GHz (boost 1.25–1.71 GHz by the laptop's power limit).
        fp32_tflops: 19.0,
        bandwidth_gbs: 448.0,
        registers_per_sm: 65_536,
        register_granularity: 8,
        max_registers_per_thread: 255,
        workgroup_memory_per_sm: 100 * 1024,
        workgroup_memory_reserved: 1024,
        threads_per_sm: 1536,
        max_groups_per_sm: 16,
        simd: 32,
        fma_per_shared_word: 4.0,
        source: "NVIDIA RTX 3080 Laptop GPU spec (6144 cores, 256-bit 14 Gbps GDDR6); \
                 compute capability 8.6 limits; clock assumed mid-range",
    },
    GpuClass {
        key: "m2",
        name: "Apple M2 (10-core GPU)",
        sms: 10,
        fp32_tflops: 3.6,
        bandwidth_gbs: 100.0,
        // ~208 KiB of registers per core, up to 3072 resident threads (community microbenchmarks,
        // e.g. philipturner/metal-benchmarks); Metal's 32 KiB threadgroup limit, ~64 KiB per core.
        registers_per_sm: 53_248,
        register_granularity: 8,
        max_registers_per_thread: 128,
        workgroup_memory_per_sm: 64 * 1024,
        workgroup_memory_reserved: 0,
        threads_per_sm: 3072,
        max_groups_per_sm: 24,
        simd: 32,
        fma_per_shared_word: 4.0,
        source: "Apple M2 spec (3.6 TFLOP/s, 100 GB/s LPDDR5); per-core limits assumed from \
                 public microbenchmarks (Apple publishes none)",
    },
    GpuClass {
        key: "iris-xe",
        name: "Intel Iris Xe (Tiger Lake, 96 EU)",
        // 6 subslices of 16 EUs; each EU runs 7 threads of 128 × 32-byte registers.
        sms: 6,
        // 96 EU × 16 FLOP/clock × ~1.3 GHz.
        fp32_tflops: 2.0,
        bandwidth_gbs: 68.0,
        // 16 EU × 7 threads × 4 KiB = 448 KiB per subslice; at SIMD16 a lane holds 64 words.
        registers_per_sm: 114_688,
        register_granularity: 8,
        max_registers_per_thread: 64,
        workgroup_memory_per_sm: 64 * 1024,
        workgroup_memory_reserved: 0,
        threads_per_sm: 1792,
        max_groups_per_sm: 16,
        simd: 16,
        // 128 FP32 lanes per subslice, SLM 64 B per clock.
        fma_per_shared_word: 8.0,
        source: "Intel Xe-LP (Gen12) architecture docs; LPDDR4x-4266 on 128 bits",
    },
];

/// The GPU class named `key` (case-insensitive; dashes optional).
pub fn gpu_class(key: &str) -> Result<&'static GpuClass> {
    let norm = |s: &str| s.to_ascii_lowercase().replace(['-', '_', ' '], "");
    GPUS.iter()
        .find(|g| norm(g.key) == norm(key))
        .ok_or_else(|| {
            Error::Config(format!(
                "--model {key:?}: unknown GPU class; known: {}",
                GPUS.iter().map(|g| g.key).collect::<Vec<_>>().join(", ")
            ))
        })
}

/// Fraction of DRAM bandwidth a coalesced streaming kernel reaches (STREAM-like kernels on Ampere
/// reach 80–90 %; gathers such as im2col staging and strided reductions less).
pub const MEMORY_EFFICIENCY: f64 = 0.75;
/// Fraction of fp32 peak a register-tiled GEMM with enough reuse reaches (the best hand-written
/// WGSL/CUDA fp32 GEMMs without tensor cores: 70–85 %).
pub const COMPUTE_EFFICIENCY_MAX: f64 = 0.8;
/// Launch overhead per dispatch, µs: native wgpu, and in a browser.
pub const LAUNCH_US_NATIVE: f64 = 5.0;
pub const LAUNCH_US_BROWSER: f64 = 10.0;

/// cuDNN / cuBLAS on W1's small convs (3–128 channels, 8–32 px): fraction of the fp32 peak.
/// Calibrated, not a cuDNN figure: with the other PyTorch constants below, 0.35 models ≈ 27 000
/// img/s on an RTX 3060-class GPU, within 20 % of the measured ≈ 23 000 (0.6, a typical
/// large-conv figure, would give ≈ 38 000). PyTorch's default `allow_tf32` for cuDNN lets Ampere use TF32 tensor cores, but
/// channels this narrow (the 3-channel stem, 32-channel layers), the NCHW layout and the batch-norm
/// and pooling kernels between the convs leave little of it.
pub const CUDNN_EFFICIENCY: f64 = 0.35;
/// PyTorch eager: host time per op (Python, dispatcher, autograd record / engine), µs.
pub const PYTORCH_CPU_US: f64 = 12.0;
/// GPU-side gap between back-to-back kernels on one CUDA stream, µs.
pub const PYTORCH_GAP_US: f64 = 2.0;
/// Per step: optimizer call, `zero_grad`, the loss's `.item()` sync, µs.
pub const PYTORCH_STEP_US: f64 = 150.0;
/// The measurement: W1 (CS-KD, B = 64) in PyTorch CUDA eager on an RTX 3060-class GPU.
pub const PYTORCH_RTX3060_MEASURED_IMG_S: f64 = 23_000.0;

/// What limits a kernel's resident workgroups per SM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Limiter {
    Threads,
    Registers,
    WorkgroupMemory,
    Groups,
}

impl Limiter {
    fn short(self) -> &'static str {
        match self {
            Limiter::Threads => "thr",
            Limiter::Registers => "reg",
            Limiter::WorkgroupMemory => "smem",
            Limiter::Groups => "grp",
        }
    }
}

/// Whether the roofline puts a kernel on its compute or its memory side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Bound {
    Compute,
    Memory,
}

/// Workgroups of `shape` resident on one SM of `gpu`, and what limits them (at least 1: a
/// workgroup over a limit still runs, spilling).
pub fn occupancy(shape: &PipelineShape, gpu: &GpuClass) -> (u32, Limiter) {
    let threads = shape.threads().max(1).div_ceil(gpu.simd) * gpu.simd;
    let regs = registers_allocated(shape.registers, gpu);
    let mut best = (gpu.max_groups_per_sm, Limiter::Groups);
    let mut limit = |n: u64, why: Limiter| {
        let n = n.min(u32::MAX as u64) as u32;
        if n < best.0 {
            best = (n, why);
        }
    };
    limit((gpu.threads_per_sm / threads) as u64, Limiter::Threads);
    limit(
        gpu.registers_per_sm as u64 / (regs as u64 * threads as u64),
        Limiter::Registers,
    );
    if shape.workgroup_bytes > 0 {
        limit(
            gpu.workgroup_memory_per_sm / (shape.workgroup_bytes + gpu.workgroup_memory_reserved),
            Limiter::WorkgroupMemory,
        );
    }
    (best.0.max(1), best.1)
}

/// Registers per thread as allocated: rounded up to the granularity, capped at the most a thread
/// may hold.
pub fn registers_allocated(registers: u32, gpu: &GpuClass) -> u32 {
    registers
        .div_ceil(gpu.register_granularity)
        .saturating_mul(gpu.register_granularity)
        .min(gpu.max_registers_per_thread)
}

/// The compute efficiency of a thread with a `tile` of outputs (see the module doc).
pub fn compute_efficiency(tile: (u32, u32), gpu: &GpuClass) -> f64 {
    let (m, n) = (tile.0.max(1) as f64, tile.1.max(1) as f64);
    let reuse = m * n / (m + n);
    COMPUTE_EFFICIENCY_MAX * (reuse / gpu.fma_per_shared_word).min(1.0)
}

/// One dispatch as modelled.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KernelEstimate {
    pub kernel: String,
    pub family: Option<OpFamily>,
    pub flops: f64,
    pub bytes: f64,
    /// FLOP per byte.
    pub intensity: f64,
    pub groups: [u32; 3],
    pub workgroups: u64,
    pub workgroup_size: [u32; 3],
    pub workgroup_bytes: u64,
    /// Estimated registers per thread (reflected), before rounding to the allocation granularity.
    pub registers: u32,
    /// Outputs per thread (rows, columns) and whether the shader declared them.
    pub tile: (u32, u32),
    pub tile_declared: bool,
    pub resident_per_sm: u32,
    pub limiter: Limiter,
    pub waves: u64,
    /// The kernel's time on a full, latency-hidden GPU over its modelled time (what wave
    /// quantization, an underfilled grid and low occupancy leave).
    pub utilization: f64,
    pub compute_efficiency: f64,
    pub bound: Bound,
    /// Roofline time of the kernel alone, µs.
    pub kernel_us: f64,
    /// Launch overhead, µs.
    pub launch_us: f64,
}

impl KernelEstimate {
    pub fn total_us(&self) -> f64 {
        self.kernel_us + self.launch_us
    }
}

/// Threads resident on an SM that hide a compute kernel's latency (FMA and shared-memory latency,
/// with a register tile's independent accumulators: two warps per scheduler on Ampere).
pub const COMPUTE_THREADS_TO_SATURATE: f64 = 256.0;
/// Threads resident on an SM that keep enough loads in flight to stream at the SM's share of the
/// bandwidth (Little's law: ~500 ns DRAM latency × 360 GB/s over 28 SMs ≈ 6 KiB per SM).
pub const MEMORY_THREADS_TO_SATURATE: f64 = 512.0;
/// A lone SM can pull more than its fair share (1/SMs) of the DRAM bandwidth, up to this many
/// shares (single-SM streaming on Ampere reaches ~40 GB/s of a 3060's 360).
pub const SM_BANDWIDTH_SHARES: f64 = 4.0;

/// Models one dispatch of `shape` on `gpu`, with `launch_us` of launch overhead.
///
/// Workgroups spread over the SMs; the busiest SM runs ⌈workgroups / SMs⌉ of them in rounds of at
/// most `resident` (the waves), the last round with the remainder. A round of `a` co-resident
/// workgroups shares the SM's throughput (its 1/SMs of the peak, × the compute efficiency; of the
/// bandwidth, × `MEMORY_EFFICIENCY`, or up to `SM_BANDWIDTH_SHARES` of it when few SMs are busy),
/// scaled down when its `a` × threads are too few to hide latency. The kernel's time is the sum of
/// the rounds on its compute side or its memory side, whichever is longer (its bound).
pub fn estimate(
    d: &DispatchTime,
    shape: &PipelineShape,
    gpu: &GpuClass,
    launch_us: f64,
) -> KernelEstimate {
    let (resident, limiter) = occupancy(shape, gpu);
    let workgroups = d.workgroups().max(1);
    let sms = gpu.sms as u64;
    let per_sm = workgroups.div_ceil(sms);
    let waves = per_sm.div_ceil(resident as u64);
    let busy_sms = workgroups.min(sms) as f64;
    let efficiency = compute_efficiency(shape.tile, gpu);
    let threads = shape.threads().max(1) as f64;
    // Per SM: FLOP/s and bytes/s.
    let sm_flops = gpu.fp32_tflops * 1e12 * efficiency / sms as f64;
    let sm_bytes = (gpu.bandwidth_gbs * 1e9 * MEMORY_EFFICIENCY / busy_sms)
        .min(gpu.bandwidth_gbs * 1e9 * MEMORY_EFFICIENCY * SM_BANDWIDTH_SHARES / sms as f64);
    let (wg_flops, wg_bytes) = (d.flops / workgroups as f64, d.bytes / workgroups as f64);
    let rounds = [
        (per_sm / resident as u64, resident as u64),
        (1, per_sm % resident as u64),
    ];
    let (mut compute, mut memory) = (0.0, 0.0);
    for (count, a) in rounds {
        if count == 0 || a == 0 {
            continue;
        }
        let live = a as f64 * threads;
        let hide_c = (live / COMPUTE_THREADS_TO_SATURATE).min(1.0);
        let hide_m = (live / MEMORY_THREADS_TO_SATURATE).min(1.0);
        compute += count as f64 * a as f64 * wg_flops / (sm_flops * hide_c);
        memory += count as f64 * a as f64 * wg_bytes / (sm_bytes * hide_m);
    }
    let (compute_us, memory_us) = (compute * 1e6, memory * 1e6);
    let kernel_us = compute_us.max(memory_us);
    // The share of the GPU's roofline the kernel reaches: its time on a full, saturated GPU over
    // its modelled time.
    let ideal_us = (d.flops / (gpu.fp32_tflops * 1e12 * efficiency))
        .max(d.bytes / (gpu.bandwidth_gbs * 1e9 * MEMORY_EFFICIENCY))
        * 1e6;
    KernelEstimate {
        kernel: d.kernel.clone(),
        family: d.family,
        flops: d.flops,
        bytes: d.bytes,
        intensity: if d.bytes > 0.0 {
            d.flops / d.bytes
        } else {
            0.0
        },
        groups: d.groups,
        workgroups: d.workgroups(),
        workgroup_size: shape.workgroup_size,
        workgroup_bytes: shape.workgroup_bytes,
        registers: shape.registers,
        tile: shape.tile,
        tile_declared: shape.tile_declared,
        resident_per_sm: resident,
        limiter,
        waves,
        utilization: if kernel_us > 0.0 {
            (ideal_us / kernel_us).min(1.0)
        } else {
            1.0
        },
        compute_efficiency: efficiency,
        bound: if compute_us > memory_us {
            Bound::Compute
        } else {
            Bound::Memory
        },
        kernel_us,
        launch_us,
    }
}

/// One kernel (`shader::entry`) summed over the step.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KernelTotal {
    pub kernel: String,
    pub dispatches: usize,
    /// Kernel plus launch time, µs.
    pub us: f64,
    /// Percent of the step.
    pub share: f64,
    pub flops: f64,
    pub bound: Bound,
}

/// The PyTorch CUDA eager step on the same GPU class (see the module doc).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PytorchModel {
    /// PyTorch kernels (ops) in the step.
    pub ops: usize,
    pub gpu_ms: f64,
    pub cpu_ms: f64,
    pub step_ms: f64,
    pub images_per_sec: f64,
    /// The measurement on this class, where there is one.
    pub measured_images_per_sec: Option<f64>,
}

/// The modelled step.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepModel {
    pub gpu: GpuClass,
    pub images_per_step: usize,
    pub dispatches: Vec<KernelEstimate>,
    /// Sum of the kernels' roofline times, ms.
    pub kernel_ms: f64,
    /// Sum of the launch overheads, ms (native).
    pub launch_ms: f64,
    /// Native step: kernels + launches, ms.
    pub step_ms: f64,
    pub images_per_sec: f64,
    /// The same kernels with the browser's launch overhead.
    pub browser_step_ms: f64,
    pub browser_images_per_sec: f64,
    pub flops: f64,
    pub bytes: f64,
    /// Kernels by time, largest first.
    pub top: Vec<KernelTotal>,
    pub pytorch: PytorchModel,
}

/// Models a recorded step's dispatches on `gpu` (`images`: images per step). Fails on a kernel
/// that cannot be reflected or a dispatch with no op family.
pub fn model_dispatches(
    records: &[DispatchTime],
    gpu: &GpuClass,
    images: usize,
) -> Result<StepModel> {
    if records.is_empty() {
        return Err(Error::Config("the step recorded no dispatch".into()));
    }
    let mut dispatches = Vec::with_capacity(records.len());
    for d in records {
        if d.family.is_none() {
            return Err(Error::Gpu(format!(
                "kernel {} has no op family (gpu::profile::OpFamily::of)",
                d.kernel
            )));
        }
        let (shader, entry) = d.shader_entry();
        let shape =
            reflect::reflect(shader, entry, &d.constants, d.f16_slots).map_err(Error::Gpu)?;
        dispatches.push(estimate(d, &shape, gpu, LAUNCH_US_NATIVE));
    }
    let kernel_ms = dispatches.iter().map(|k| k.kernel_us).sum::<f64>() / 1e3;
    let launch_ms = dispatches.iter().map(|k| k.launch_us).sum::<f64>() / 1e3;
    let step_ms = kernel_ms + launch_ms;
    let browser_step_ms = kernel_ms + dispatches.len() as f64 * LAUNCH_US_BROWSER / 1e3;
    let mut top: Vec<KernelTotal> = Vec::new();
    for k in &dispatches {
        match top.iter_mut().find(|t| t.kernel == k.kernel) {
            Some(t) => {
                t.dispatches += 1;
                t.us += k.total_us();
                t.flops += k.flops;
            }
            None => top.push(KernelTotal {
                kernel: k.kernel.clone(),
                dispatches: 1,
                us: k.total_us(),
                share: 0.0,
                flops: k.flops,
                bound: k.bound,
            }),
        }
    }
    for t in &mut top {
        t.share = 100.0 * t.us / (step_ms * 1e3);
        // The bound of the kernel's costliest dispatch.
        t.bound = dispatches
            .iter()
            .filter(|k| k.kernel == t.kernel)
            .max_by(|a, b| a.kernel_us.total_cmp(&b.kernel_us))
            .map_or(Bound::Memory, |k| k.bound);
    }
    top.sort_by(|a, b| b.us.total_cmp(&a.us));
    let pytorch = model_pytorch(records, gpu, images);
    Ok(StepModel {
        gpu: gpu.clone(),
        images_per_step: images,
        kernel_ms,
        launch_ms,
        step_ms,
        images_per_sec: images as f64 / step_ms * 1e3,
        browser_step_ms,
        browser_images_per_sec: images as f64 / browser_step_ms * 1e3,
        flops: records.iter().map(|d| d.flops).sum(),
        bytes: records.iter().map(|d| d.bytes).sum(),
        dispatches,
        top,
        pytorch,
    })
}

/// PyTorch CUDA eager for the same op list (see the module doc).
pub fn model_pytorch(records: &[DispatchTime], gpu: &GpuClass, images: usize) -> PytorchModel {
    // Runs of one family are one op: (flops, largest bytes).
    let mut ops: Vec<(Option<OpFamily>, f64, f64)> = Vec::new();
    for d in records {
        match ops.last_mut() {
            Some((f, flops, bytes)) if *f == d.family => {
                *flops += d.flops;
                *bytes = bytes.max(d.bytes);
            }
            _ => ops.push((d.family, d.flops, d.bytes)),
        }
    }
    let gpu_us: f64 = ops
        .iter()
        .map(|&(_, flops, bytes)| {
            let compute = flops / (gpu.fp32_tflops * 1e12 * CUDNN_EFFICIENCY) * 1e6;
            let memory = bytes / (gpu.bandwidth_gbs * 1e9 * MEMORY_EFFICIENCY) * 1e6;
            compute.max(memory) + PYTORCH_GAP_US
        })
        .sum();
    let cpu_us = ops.len() as f64 * PYTORCH_CPU_US;
    let step_ms = (gpu_us.max(cpu_us) + PYTORCH_STEP_US) / 1e3;
    PytorchModel {
        ops: ops.len(),
        gpu_ms: gpu_us / 1e3,
        cpu_ms: cpu_us / 1e3,
        step_ms,
        images_per_sec: images as f64 / step_ms * 1e3,
        measured_images_per_sec: (gpu.key == "rtx3060").then_some(PYTORCH_RTX3060_MEASURED_IMG_S),
    }
}

/// Records one W1 step (`cskd`, `anchors` per step) with the shared kernel family under a
/// profiling recorder and returns its dispatches and images per step.
pub async fn record_w1(
    gpu: &Gpu,
    cskd: bool,
    anchors: usize,
) -> Result<(Vec<DispatchTime>, usize)> {
    let gpu = gpu.with_family(KernelFamily::Shared);
    let setup = W1Setup::new(&gpu, cskd, anchors)?;
    let pool = BufferPool::new();
    let mut rec = Recorder::profiled(&gpu, &pool)?;
    drop(setup.record(&mut rec));
    let (_, records) = profile::finish(&mut rec).await?;
    Ok((records, setup.images_per_step()))
}

/// `cskd bench --model`: W1 CS-KD (`anchors` anchors + as many partners) modelled on `class`.
pub async fn model_w1(gpu: &Gpu, class: &GpuClass, anchors: usize) -> Result<StepModel> {
    let (records, images) = record_w1(gpu, true, anchors).await?;
    model_dispatches(&records, class, images)
}

fn si(v: f64) -> String {
    match v {
        v if v >= 1e9 => format!("{:.2}G", v / 1e9),
        v if v >= 1e6 => format!("{:.2}M", v / 1e6),
        v if v >= 1e3 => format!("{:.1}k", v / 1e3),
        v => format!("{v:.0}"),
    }
}

impl StepModel {
    /// Every dispatch, the kernels by time, the step and the PyTorch comparison, as text.
    pub fn table(&self) -> String {
        let g = &self.gpu;
        let mut s = format!(
            "GPU model: {} — {} SMs, {:.1} TFLOP/s fp32, {:.0} GB/s; W1 cskd ({} img/step), shared kernel family, {} dispatches\n",
            g.name, g.sms, g.fp32_tflops, g.bandwidth_gbs, self.images_per_step, self.dispatches.len()
        );
        s += &format!(
            "{:<3} {:<36} {:>7} {:>8} {:>6} {:>14} {:>6} {:>6} {:>4} {:>4} {:>7} {:>5} {:>5} {:>4} {:>8} {:>8}\n",
            "#", "kernel", "FLOP", "bytes", "F/B", "grid", "wg", "wgmem", "regs", "tile", "res/SM", "waves", "util", "eff", "bound", "us"
        );
        for (i, k) in self.dispatches.iter().enumerate() {
            let grid = format!("{}x{}x{}", k.groups[0], k.groups[1], k.groups[2]);
            let wg: u32 = k.workgroup_size.iter().product();
            s += &format!(
                "{:<3} {:<36} {:>7} {:>8} {:>6.2} {:>14} {:>6} {:>6} {:>4} {:>4} {:>7} {:>5} {:>4.0}% {:>4.2} {:>8} {:>8.2}\n",
                i,
                k.kernel,
                si(k.flops),
                si(k.bytes),
                k.intensity,
                grid,
                wg,
                k.workgroup_bytes,
                k.registers,
                format!("{}x{}{}", k.tile.0, k.tile.1, if k.tile_declared { "" } else { "?" }),
                format!("{} {}", k.resident_per_sm, k.limiter.short()),
                k.waves,
                100.0 * k.utilization,
                k.compute_efficiency,
                match k.bound {
                    Bound::Compute => "compute",
                    Bound::Memory => "memory",
                },
                k.kernel_us,
            );
        }
        s += "\nkernels by modelled time (kernel + launch):\n";
        for t in &self.top {
            s += &format!(
                "  {:<36} {:>3}x {:>9.1} us {:>5.1}%  {:>8} FLOP  {}\n",
                t.kernel,
                t.dispatches,
                t.us,
                t.share,
                si(t.flops),
                match t.bound {
                    Bound::Compute => "compute-bound",
                    Bound::Memory => "memory-bound",
                }
            );
        }
        let p = &self.pytorch;
        s += &format!(
            "\nstep: {:.3} ms = kernels {:.3} ms + launches {:.3} ms ({} × {:.0} us)  →  {:.0} img/s native\n",
            self.step_ms,
            self.kernel_ms,
            self.launch_ms,
            self.dispatches.len(),
            LAUNCH_US_NATIVE,
            self.images_per_sec
        );
        s += &format!(
            "browser ({:.0} us per dispatch): {:.3} ms → {:.0} img/s;  step {} FLOP, {} bytes bound\n",
            LAUNCH_US_BROWSER,
            self.browser_step_ms,
            self.browser_images_per_sec,
            si(self.flops),
            si(self.bytes)
        );
        s += &format!(
            "PyTorch CUDA eager (model: {} ops, cuDNN at {:.0}% of peak, {:.0} us CPU per op): GPU {:.3} ms, CPU {:.3} ms → step {:.3} ms, {:.0} img/s",
            p.ops,
            100.0 * CUDNN_EFFICIENCY,
            PYTORCH_CPU_US,
            p.gpu_ms,
            p.cpu_ms,
            p.step_ms,
            p.images_per_sec
        );
        if let Some(m) = p.measured_images_per_sec {
            s += &format!(" (the issue measured ≈ {m:.0} img/s)");
        }
        let reference = p.measured_images_per_sec.unwrap_or(p.images_per_sec);
        s += &format!(
            "\ncskd / PyTorch: {:.2}× the images/s of PyTorch CUDA eager{}\n",
            self.images_per_sec / reference,
            if p.measured_images_per_sec.is_some() {
                " (measured)"
            } else {
                " (modelled)"
            }
        );
        s
    }
}
