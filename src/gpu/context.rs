//! The GPU context: one adapter + device + queue, opened natively (Vulkan/Metal/DX12) or on the
//! web (WebGPU), with the adapter's real limits (the defaults are far below what CNNs need).

use crate::error::{Error, Result};
use crate::gpu::family::KernelFamily;
use crate::gpu::pipelines::PipelineCache;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
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
}

pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    pub features: wgpu::Features,
    pub(crate) pipelines: PipelineCache,
    /// Which kernel family the ops dispatch (index into `KernelFamily::ALL`).
    family: AtomicU8,
    /// The first validation/out-of-memory error or device loss, reported at the next readback
    /// (instead of wgpu's default of panicking, or the browser's of logging and carrying on).
    error: Arc<Mutex<Option<String>>>,
    /// Set by the device-lost callback: the web API drops a lost device and opens a new one.
    lost: Arc<AtomicBool>,
}

impl Gpu {
    /// Opens the best adapter of any backend (on the web: WebGPU). `WGPU_BACKEND` is honoured natively.
    pub async fn new() -> Result<Gpu> {
        check_backend_env()?;
        Self::open(wgpu::InstanceDescriptor::new_without_display_handle_from_env()).await
    }

    /// Opens an adapter of exactly these backends (tests ask for Vulkan so they never drift to GL).
    pub async fn with_backends(backends: wgpu::Backends) -> Result<Gpu> {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = backends;
        Self::open(desc).await
    }

    async fn open(desc: wgpu::InstanceDescriptor) -> Result<Gpu> {
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
        let features = adapter.features() & wgpu::Features::TIMESTAMP_QUERY;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("cskd"),
                required_features: features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Device(e.to_string()))?;
        let family = match std::env::var("CSKD_KERNELS") {
            Ok(name) if !cfg!(target_arch = "wasm32") => name
                .parse()
                .map_err(|e: String| Error::Config(format!("CSKD_KERNELS: {e}")))?,
            _ => KernelFamily::for_adapter(&info),
        };
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
            pipelines: PipelineCache::new(device.clone(), error.clone()),
            device,
            queue,
            info,
            limits,
            features,
            family: AtomicU8::new(family_index(family)),
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
        KernelFamily::ALL[self.family.load(Ordering::Relaxed) as usize]
    }

    /// Overrides the adapter's choice of kernel family (tests check every family on one adapter).
    pub fn set_family(&self, family: KernelFamily) {
        self.family.store(family_index(family), Ordering::Relaxed)
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
        }
    }

    /// Blocks (natively) until all submitted work is done; a no-op on the web, where the browser drives the queue.
    pub fn wait(&self) -> Result<()> {
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(e.to_string()))?;
        Ok(())
    }
}

fn family_index(f: KernelFamily) -> u8 {
    KernelFamily::ALL.iter().position(|&g| g == f).unwrap_or(0) as u8
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
