//! The GPU context: one adapter + device + queue, opened natively (Vulkan/Metal/DX12) or on the
//! web (WebGPU), with the adapter's real limits (the defaults are far below what CNNs need).

use crate::error::{Error, Result};
use crate::gpu::counters::{CounterSnapshot, Counters};
use crate::gpu::family::KernelFamily;
use crate::gpu::pipelines::PipelineCache;
use crate::gpu::tensor::Dtype;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// What the adapter is, for `cskd info`, the page header and benchmark reports.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub driver: String,
    pub device_type: String,
    pub features: Vec<String>,
    pub max_buffer_size: u64,
    pub max_storage_buffer_binding_size: u64,
    pub max_compute_invocations_per_workgroup: u32,
    pub max_compute_workgroup_storage_size: u32,
    pub max_compute_workgroups_per_dimension: u32,
    /// The kernel family in use (see `gpu::KernelFamily`).
    pub kernels: KernelFamily,
    /// Whether the subgroup kernels run (`Gpu::subgroups`).
    pub subgroups: bool,
}

pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    pub features: wgpu::Features,
    /// Whether kernels with subgroup reductions run (the adapter has `SUBGROUP` and it is not
    /// switched off: `GpuOptions::subgroups`, `CSKD_SUBGROUPS=0`).
    subgroups: bool,
    pub(crate) pipelines: Arc<PipelineCache>,
    pub(crate) counters: Arc<Counters>,
    /// Which kernel family the ops dispatch: chosen once, when the `Gpu` is made.
    family: KernelFamily,
    /// How the input images, and the activations computed from them, are stored: f32, or f16
    /// under mixed precision (`with_activations`).
    activations: Dtype,
    /// The first validation/out-of-memory error or device loss, reported at the next readback
    /// (instead of wgpu's default of panicking, or the browser's of logging and carrying on).
    error: Arc<Mutex<Option<String>>>,
    /// Set by the device-lost callback: the web API drops a lost device and opens a new one.
    lost: Arc<AtomicBool>,
}

/// How to open a `Gpu`; the default opens the best adapter with the kernel family it should run.
#[derive(Clone, Copy, Debug, Default)]
pub struct GpuOptions {
    /// Exactly these backends; `None`: any (natively, `WGPU_BACKEND` picks).
    pub backends: Option<wgpu::Backends>,
    /// The kernel family (`--kernels`, JS `setKernels`); `None`: `CSKD_KERNELS` natively, else
    /// `KernelFamily::for_adapter`.
    pub kernels: Option<KernelFamily>,
    /// `Some(false)` keeps the subgroup kernels off where the adapter has them (tests of both
    /// paths); `None`: on where the adapter has `SUBGROUP`, unless `CSKD_SUBGROUPS=0` natively.
    pub subgroups: Option<bool>,
}

/// The optional features cskd uses where the adapter has them: GPU timestamps (profiling),
/// subgroup operations (reductions) and f16 arithmetic and storage (mixed precision).
pub const WANTED_FEATURES: wgpu::Features = wgpu::Features::TIMESTAMP_QUERY
    .union(wgpu::Features::SUBGROUP)
    .union(wgpu::Features::SHADER_F16);

impl Gpu {
    /// Opens the best adapter of any backend (on the web: WebGPU). `WGPU_BACKEND` is honoured natively.
    pub async fn new() -> Result<Gpu> {
        Self::open(GpuOptions::default()).await
    }

    /// Opens an adapter of exactly these backends (tests ask for Vulkan so they never drift to GL).
    pub async fn with_backends(backends: wgpu::Backends) -> Result<Gpu> {
        Self::open(GpuOptions {
            backends: Some(backends),
            ..GpuOptions::default()
        })
        .await
    }

    /// Opens an adapter as `options` say; its kernel family is fixed from then on.
    pub async fn open(options: GpuOptions) -> Result<Gpu> {
        let desc = match options.backends {
            Some(backends) => {
                let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
                desc.backends = backends;
                desc
            }
            None => {
                check_backend_env()?;
                wgpu::InstanceDescriptor::new_without_display_handle_from_env()
            }
        };
        let instance = wgpu::Instance::new(desc);
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::NoAdapter(no_adapter_hint(&e.to_string())))?;
        let info = adapter.get_info();
        let limits = adapter.limits();
        let features = adapter.features() & WANTED_FEATURES;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("cskd"),
                required_features: features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Device(e.to_string()))?;
        let family = match (options.kernels, std::env::var("CSKD_KERNELS")) {
            (Some(family), _) => family,
            (None, Ok(name)) if !cfg!(target_arch = "wasm32") => name
                .parse()
                .map_err(|e: String| Error::Config(format!("CSKD_KERNELS: {e}")))?,
            _ => KernelFamily::for_adapter(&info),
        };
        let subgroups_env = match std::env::var("CSKD_SUBGROUPS") {
            Ok(v) if !cfg!(target_arch = "wasm32") => match v.trim() {
                "0" | "off" => false,
                "1" | "on" => true,
                _ => {
                    return Err(Error::Config(format!(
                        "CSKD_SUBGROUPS={v}: use 0 or 1, or leave it unset"
                    )))
                }
            },
            _ => true,
        };
        let subgroups = features.contains(wgpu::Features::SUBGROUP)
            && options.subgroups.unwrap_or(subgroups_env);
        let error: Arc<Mutex<Option<String>>> = Arc::default();
        let sink = error.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            sink.lock().unwrap().get_or_insert_with(|| e.to_string());
        }));
        let sink = error.clone();
        let lost = Arc::new(AtomicBool::new(false));
        let lost_flag = lost.clone();
        device.set_device_lost_callback(move |reason, msg| {
            lost_flag.store(true, Ordering::SeqCst);
            sink.lock()
                .unwrap()
                .get_or_insert_with(|| format!("the GPU device was lost ({reason:?}): {msg}"));
        });
        Ok(Gpu {
            pipelines: Arc::new(PipelineCache::new(device.clone(), error.clone())),
            counters: Arc::default(),
            device,
            queue,
            info,
            limits,
            features,
            subgroups,
            family,
            activations: Dtype::F32,
            error,
            lost,
        })
    }

    /// Fails with the first GPU error seen so far, if any.
    pub fn check(&self) -> Result<()> {
        match self.error.lock().unwrap().as_ref() {
            Some(e) => Err(Error::Gpu(e.clone())),
            None => Ok(()),
        }
    }

    /// Whether the device was lost (destroyed, driver reset, GPU removed); it never comes back.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// The kernel family the ops dispatch.
    pub fn family(&self) -> KernelFamily {
        self.family
    }

    /// Whether kernels with subgroup operations run on this `Gpu`: subgroups are on and its
    /// family reduces across workgroups (the CPU adapters' families reduce one thread per
    /// reduction, `KernelFamily::serial_reductions`, so they have no subgroup path).
    pub fn subgroups(&self) -> bool {
        self.subgroups && !self.family.serial_reductions()
    }

    /// The same device with the subgroup kernels on (where the adapter has them) or off: the
    /// tests run both paths on one adapter.
    pub fn with_subgroups(&self, on: bool) -> Gpu {
        let mut gpu = self.with_family(self.family);
        gpu.subgroups = on && self.features.contains(wgpu::Features::SUBGROUP);
        gpu
    }

    /// The same device (queue, pipelines, error and loss reports) running another kernel family:
    /// `bench kernels --family all`, the tests of every family on one adapter, the page's
    /// `setKernels`. Tensors and trainers of either may be used with the other.
    pub fn with_family(&self, family: KernelFamily) -> Gpu {
        Gpu {
            device: self.device.clone(),
            queue: self.queue.clone(),
            info: self.info.clone(),
            limits: self.limits.clone(),
            features: self.features,
            subgroups: self.subgroups,
            pipelines: self.pipelines.clone(),
            counters: self.counters.clone(),
            family,
            activations: self.activations,
            error: self.error.clone(),
            lost: self.lost.clone(),
        }
    }

    /// How activations are stored on this `Gpu` (the augmentation's output dtype, which every
    /// forward op after it keeps).
    pub fn activations(&self) -> Dtype {
        self.activations
    }

    /// The same device storing activations as `dtype`: mixed precision is `Dtype::F16`, which
    /// needs the adapter's `SHADER_F16` (f16 arithmetic and 16-bit storage).
    pub fn with_activations(&self, dtype: Dtype) -> Result<Gpu> {
        if dtype == Dtype::F16 && !self.features.contains(wgpu::Features::SHADER_F16) {
            return Err(Error::Config(format!(
                "mixed precision needs f16 shaders (SHADER_F16), which {} does not offer: train with precision f32",
                self.summary().name
            )));
        }
        let mut gpu = self.with_family(self.family);
        gpu.activations = dtype;
        Ok(gpu)
    }

    pub fn summary(&self) -> AdapterSummary {
        AdapterSummary {
            // Browsers may hide the adapter's name.
            name: match (self.info.name.is_empty(), self.info.device_type) {
                (false, _) => self.info.name.clone(),
                (true, wgpu::DeviceType::Cpu) => "software (CPU) WebGPU adapter".into(),
                (true, _) => "WebGPU adapter".into(),
            },
            backend: format!("{:?}", self.info.backend),
            driver: format!("{} {}", self.info.driver, self.info.driver_info)
                .trim()
                .to_string(),
            device_type: format!("{:?}", self.info.device_type),
            features: self
                .features
                .iter_names()
                .map(|(n, _)| n.to_string())
                .collect(),
            max_buffer_size: self.limits.max_buffer_size,
            max_storage_buffer_binding_size: self.limits.max_storage_buffer_binding_size as u64,
            max_compute_invocations_per_workgroup: self
                .limits
                .max_compute_invocations_per_workgroup,
            max_compute_workgroup_storage_size: self.limits.max_compute_workgroup_storage_size,
            max_compute_workgroups_per_dimension: self.limits.max_compute_workgroups_per_dimension,
            kernels: self.family(),
            subgroups: self.subgroups(),
        }
    }

    /// Blocks (natively) until all submitted work is done; a no-op on the web, where the browser
    /// drives the queue (the awaited map that follows is the wait there). Counted as a host wait.
    pub fn wait(&self) -> Result<()> {
        self.counters.wait(false);
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(e.to_string()))?;
        Ok(())
    }

    /// Blocks (natively) until one earlier submission is done, while later ones may keep the GPU
    /// busy: the pipelined step's read of the previous step's loss. On the web a no-op, as `wait`.
    pub(crate) fn wait_for(&self, submission: Option<wgpu::SubmissionIndex>) -> Result<()> {
        self.counters.wait(true);
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: submission,
                timeout: None,
            })
            .map_err(|e| Error::Gpu(e.to_string()))?;
        #[cfg(target_arch = "wasm32")]
        let _ = submission;
        Ok(())
    }

    /// What this device has been asked to do so far (see `gpu::counters`).
    pub fn counters(&self) -> CounterSnapshot {
        self.counters.snapshot()
    }

    /// Compute pipelines built on this device so far (each is built once: `gpu::pipelines`).
    pub fn pipelines_built(&self) -> u64 {
        self.pipelines.built()
    }
}

/// wgpu ignores names it does not know in `WGPU_BACKEND` (and then finds no adapter): name them.
fn check_backend_env() -> Result<()> {
    const KNOWN: [&str; 9] = [
        "vulkan", "vk", "dx12", "d3d12", "metal", "mtl", "opengl", "gles", "gl",
    ];
    match std::env::var("WGPU_BACKEND") {
        Ok(v) if cfg!(not(target_arch = "wasm32")) => {
            let names: Vec<String> = v.split(',').map(|n| n.trim().to_lowercase()).collect();
            match names.iter().find(|n| !KNOWN.contains(&n.as_str())) {
                Some(bad) => Err(Error::Config(format!(
                    "WGPU_BACKEND={v}: {bad:?} is not a backend; use vulkan, metal, dx12 or gl (comma-separated), or leave it unset"
                ))),
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

fn no_adapter_hint(err: &str) -> String {
    if cfg!(target_arch = "wasm32") {
        format!("{err}. WebGPU is unavailable in this browser: use Chrome/Edge 113+ (on Linux enable chrome://flags/#enable-unsafe-webgpu), Safari 26 or Firefox 141+")
    } else {
        format!("{err}. Install a Vulkan driver (on Debian: apt-get install mesa-vulkan-drivers for the CPU driver lavapipe)")
    }
}
