//! Per-dispatch GPU timing for the recorder's profiling mode. With `TIMESTAMP_QUERY` every dispatch
//! gets its own compute pass whose beginning and end write a timestamp (read back after the step);
//! without it (natively only) every dispatch is submitted alone and timed on the host until the
//! device is idle. Each dispatch is attributed to an op family through one table, `OpFamily::of`.

use crate::error::{Error, Result};
use crate::gpu::{readback, Gpu, Kernel};
use serde::Serialize;

/// What a dispatch does, for the profile's breakdown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum OpFamily {
    ConvForward,
    ConvInputGrad,
    ConvWeightGrad,
    Matmul,
    BatchNorm,
    Relu,
    Pool,
    Loss,
    Sgd,
    Augment,
    Other,
}

impl OpFamily {
    pub const ALL: [OpFamily; 11] = [
        OpFamily::ConvForward,
        OpFamily::ConvInputGrad,
        OpFamily::ConvWeightGrad,
        OpFamily::Matmul,
        OpFamily::BatchNorm,
        OpFamily::Relu,
        OpFamily::Pool,
        OpFamily::Loss,
        OpFamily::Sgd,
        OpFamily::Augment,
        OpFamily::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            OpFamily::ConvForward => "conv forward",
            OpFamily::ConvInputGrad => "conv input-grad",
            OpFamily::ConvWeightGrad => "conv weight-grad",
            OpFamily::Matmul => "matmul/linear",
            OpFamily::BatchNorm => "batch norm",
            OpFamily::Relu => "relu",
            OpFamily::Pool => "pool",
            OpFamily::Loss => "loss",
            OpFamily::Sgd => "sgd",
            OpFamily::Augment => "augment/mix",
            OpFamily::Other => "copies/other",
        }
    }

    /// Arithmetic-bound families are reported in GFLOP/s, the rest in GB/s.
    pub fn counts_flops(self) -> bool {
        matches!(
            self,
            OpFamily::ConvForward
                | OpFamily::ConvInputGrad
                | OpFamily::ConvWeightGrad
                | OpFamily::Matmul
        )
    }

    fn is_conv(self) -> bool {
        matches!(
            self,
            OpFamily::ConvForward | OpFamily::ConvInputGrad | OpFamily::ConvWeightGrad
        )
    }

    /// The one table from a kernel (shader file, entry point) to its family; `None` = unknown.
    /// Shader files are matched by prefix so that each kernel family's file (conv2d_tiled,
    /// conv2d_shared, …) lands in the same row. A conv kernel reused in another role (the tiled
    /// input-grad runs the forward kernel on flipped weights) is refined by the op: `Recorder::set_op`.
    pub fn of(shader: &str, entry: &str) -> Option<OpFamily> {
        let family = match shader.split('_').next().unwrap_or(shader) {
            "conv2d" | "conv" => {
                if entry.contains("weight") && !entry.contains("repack") {
                    OpFamily::ConvWeightGrad
                } else if entry.contains("input") {
                    OpFamily::ConvInputGrad
                } else {
                    OpFamily::ConvForward
                }
            }
            "matmul" | "linear" => OpFamily::Matmul,
            "batchnorm" | "bn" => OpFamily::BatchNorm,
            "elementwise" if entry.starts_with("relu") => OpFamily::Relu,
            "elementwise" | "copy" => OpFamily::Other,
            "pool" => OpFamily::Pool,
            "loss" | "soft" | "softmax" => OpFamily::Loss,
            "sgd" => OpFamily::Sgd,
            "augment" | "mix" => OpFamily::Augment,
            _ => return None,
        };
        // A fused batch norm + ReLU kernel counts as batch norm (named after its shader).
        Some(family)
    }
}

/// How the dispatches were timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TimingMethod {
    /// GPU timestamps at the beginning and end of each dispatch's own compute pass.
    Timestamps,
    /// Each dispatch submitted alone and timed on the host until the device was idle.
    Isolated,
}

/// One timed dispatch.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DispatchTime {
    /// `shader::entry`.
    pub kernel: String,
    /// `None`: the kernel is missing from `OpFamily::of`'s table.
    pub family: Option<OpFamily>,
    /// Floating-point operations the op declared (0 when it declared none).
    pub flops: f64,
    /// Bytes of the tensors bound to the dispatch (what it can read or write at most once each).
    pub bytes: f64,
    pub ms: f64,
    /// The workgroup grid dispatched (x, y, z).
    pub groups: [u32; 3],
    /// The pipeline's override constants (name, value), so the kernel's workgroup size and
    /// workgroup memory can be reflected from its shader as it was built (`bench::reflect`).
    pub constants: Vec<(String, f64)>,
    /// The bindings that held f16 tensors (bit i = binding i; `shaders::source`).
    pub f16_slots: u16,
}

impl DispatchTime {
    /// Workgroups dispatched (the grid's product).
    pub fn workgroups(&self) -> u64 {
        self.groups.iter().map(|&g| g as u64).product()
    }

    /// The shader file and entry point of `kernel` (`shader::entry`).
    pub fn shader_entry(&self) -> (&str, &str) {
        self.kernel
            .split_once("::")
            .unwrap_or((self.kernel.as_str(), ""))
    }
}

/// Queries per query set (two per dispatch); a long recording takes several sets.
const QUERIES: u32 = 512;

/// The profiling state a `Recorder` carries while it profiles.
pub(crate) struct Profiler {
    pub method: TimingMethod,
    sets: Vec<wgpu::QuerySet>,
    pub records: Vec<DispatchTime>,
    /// The op's family and FLOPs, set by `Recorder::set_op` for its next dispatches.
    op: Option<(OpFamily, f64)>,
}

impl Profiler {
    /// `method`: forced, else timestamps where the device has them.
    pub fn new(gpu: &Gpu, method: Option<TimingMethod>) -> Result<Profiler> {
        let method = if let Some(m) = method {
            m
        } else if gpu.features.contains(wgpu::Features::TIMESTAMP_QUERY) {
            TimingMethod::Timestamps
        } else if cfg!(target_arch = "wasm32") {
            return Err(Error::Gpu(
                "profiling needs the timestamp-query feature, which this browser's adapter does not offer".into(),
            ));
        } else {
            TimingMethod::Isolated
        };
        Ok(Profiler {
            method,
            sets: Vec::new(),
            records: Vec::new(),
            op: None,
        })
    }

    pub fn set_op(&mut self, family: OpFamily, flops: f64) {
        self.op = Some((family, flops));
    }

    /// Registers a dispatch; returns its timestamp writes (timestamp method).
    pub fn begin(
        &mut self,
        gpu: &Gpu,
        kernel: &Kernel,
        groups: [u32; 3],
        bytes: u64,
        f16_slots: u16,
    ) -> Option<wgpu::ComputePassTimestampWrites<'_>> {
        let (shader, entry) = (kernel.shader, kernel.entry);
        let mut family = OpFamily::of(shader, entry);
        let mut flops = 0.0;
        // The op's declared role refines a conv kernel (and carries the FLOPs to its first
        // dispatch); any dispatch of another family ends the op.
        match (self.op.as_mut(), family) {
            (Some((f, fl)), Some(k)) if k == *f || (k.is_conv() && f.is_conv()) => {
                family = Some(*f);
                flops = std::mem::take(fl);
            }
            _ => self.op = None,
        }
        let i = self.records.len() as u32;
        self.records.push(DispatchTime {
            kernel: format!("{shader}::{entry}"),
            family,
            flops,
            bytes: bytes as f64,
            ms: 0.0,
            groups,
            constants: kernel
                .constants
                .iter()
                .map(|&(n, v)| (n.to_string(), v))
                .collect(),
            f16_slots,
        });
        if self.method != TimingMethod::Timestamps {
            return None;
        }
        let set = (2 * i / QUERIES) as usize;
        if set == self.sets.len() {
            self.sets
                .push(gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
                    label: Some("profile"),
                    ty: wgpu::QueryType::Timestamp,
                    count: QUERIES,
                }));
        }
        let at = 2 * i % QUERIES;
        Some(wgpu::ComputePassTimestampWrites {
            query_set: &self.sets[set],
            beginning_of_pass_write_index: Some(at),
            end_of_pass_write_index: Some(at + 1),
        })
    }

    /// Resolves every query set into one buffer the caller copies out (timestamp method).
    pub fn resolve(&self, gpu: &Gpu, encoder: &mut wgpu::CommandEncoder) -> Option<wgpu::Buffer> {
        if self.sets.is_empty() {
            return None;
        }
        let size = self.sets.len() as u64 * QUERIES as u64 * 8;
        let buffer = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("profile resolve"),
            size,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let used = 2 * self.records.len() as u32;
        for (s, set) in self.sets.iter().enumerate() {
            let n = (used - s as u32 * QUERIES).min(QUERIES);
            encoder.resolve_query_set(set, 0..n, &buffer, s as u64 * QUERIES as u64 * 8);
        }
        Some(buffer)
    }

    /// Fills each record's time from the resolved ticks.
    pub fn set_ticks(&mut self, ticks: &[u64], period_ns: f32) {
        for (i, r) in self.records.iter_mut().enumerate() {
            let (a, b) = (ticks[2 * i], ticks[2 * i + 1]);
            r.ms = b.saturating_sub(a) as f64 * period_ns as f64 / 1e6;
        }
    }
}

/// Submits a profiling recording and returns how it was timed and every dispatch's time.
pub async fn finish(
    rec: &mut crate::gpu::Recorder<'_>,
) -> Result<(TimingMethod, Vec<DispatchTime>)> {
    let gpu = rec.gpu;
    let method = match rec.profiler() {
        Some(p) => p.method,
        None => return Err(Error::Gpu("finish: this recorder is not profiling".into())),
    };
    let staging = rec.resolve_profile(|size| {
        gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("profile staging"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    });
    rec.submit();
    if let Some(staging) = staging {
        let done = readback::start_map(&staging);
        gpu.wait()?;
        let bytes = readback::take_mapped(&staging, done, staging.size() as usize).await?;
        let ticks: Vec<u64> = bytemuck::pod_collect_to_vec(&bytes);
        let period = gpu.queue.get_timestamp_period();
        rec.profiler().unwrap().set_ticks(&ticks, period);
    } else {
        gpu.wait()?;
    }
    gpu.check()?;
    let records = std::mem::take(&mut rec.profiler().unwrap().records);
    Ok((method, records))
}
