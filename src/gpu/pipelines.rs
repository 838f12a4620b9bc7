//! One pipeline cache for every dispatch: a compute pipeline is built once per
//! (shader, entry point, override constants, bindings holding f16) and reused; its auto-derived
//! bind group layout with it.
//! Each build runs inside an error scope, so a shader that fails to compile or validate is reported
//! by name (`shader::entry`) rather than as an anonymous error at the next readback.
//! `gpu::prebuild` fills the cache ahead of a step (several pipelines at once natively).

use crate::shaders::{self, F16Slots};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Where the first GPU error goes (shared with `Gpu`).
pub(crate) type ErrorSink = Arc<Mutex<Option<String>>>;

/// Which kernel to run: a shader file from `shaders/`, an entry point and its override constants.
#[derive(Clone, Copy, Debug)]
pub struct Kernel<'a> {
    pub shader: &'static str,
    pub entry: &'static str,
    pub constants: &'a [(&'static str, f64)],
}

impl Kernel<'static> {
    pub const fn new(shader: &'static str, entry: &'static str) -> Self {
        Kernel {
            shader,
            entry,
            constants: &[],
        }
    }
}

impl<'a> Kernel<'a> {
    pub const fn with(
        shader: &'static str,
        entry: &'static str,
        constants: &'a [(&'static str, f64)],
    ) -> Self {
        Kernel {
            shader,
            entry,
            constants,
        }
    }
}

/// Override constants a kernel may set (the most any kernel sets today is 4).
const MAX_CONSTANTS: usize = 8;

/// A pipeline's identity, built per dispatch without allocating.
type Key = (
    &'static str,
    &'static str,
    [(&'static str, u64); MAX_CONSTANTS],
    F16Slots,
);

pub(crate) struct Compiled {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

pub(crate) struct PipelineCache {
    device: wgpu::Device,
    /// The device's first-error slot (see `Gpu::check`).
    errors: ErrorSink,
    modules: Mutex<HashMap<(&'static str, F16Slots), wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<Key, Arc<Compiled>>>,
    /// Pipelines built so far (`Gpu::pipelines_built`).
    built: AtomicU64,
}

impl PipelineCache {
    pub fn new(device: wgpu::Device, errors: ErrorSink) -> Self {
        Self {
            device,
            errors,
            modules: Mutex::default(),
            pipelines: Mutex::default(),
            built: AtomicU64::new(0),
        }
    }

    /// Pipelines built so far.
    pub fn built(&self) -> u64 {
        self.built.load(Ordering::Relaxed)
    }

    /// The pipeline of `k` with the bindings in `f16_slots` typed f16 (see `shaders::source`).
    pub fn get(&self, k: &Kernel, f16_slots: F16Slots) -> Arc<Compiled> {
        assert!(
            k.constants.len() <= MAX_CONSTANTS,
            "{}: more than {MAX_CONSTANTS} override constants",
            k.entry
        );
        let mut constants = [("", 0u64); MAX_CONSTANTS];
        for (slot, (n, v)) in constants.iter_mut().zip(k.constants) {
            *slot = (n, v.to_bits());
        }
        let key: Key = (k.shader, k.entry, constants, f16_slots);
        if let Some(c) = self.pipelines.lock().unwrap().get(&key) {
            return c.clone();
        }
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = self.module(k.shader, f16_slots);
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&format!("{}::{}", k.shader, k.entry)),
                layout: None,
                module: &module,
                entry_point: Some(k.entry),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: k.constants,
                    // Every kernel writes its workgroup memory before reading it.
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            });
        report_build_error(scope.pop(), self.errors.clone(), k.shader, k.entry);
        let layout = pipeline.get_bind_group_layout(0);
        let compiled = Arc::new(Compiled { pipeline, layout });
        self.pipelines.lock().unwrap().insert(key, compiled.clone());
        self.built.fetch_add(1, Ordering::Relaxed);
        compiled
    }

    /// The shader module of `name` (bindings `f16_slots` typed f16), made on first use (outside
    /// the lock, so that threads building pipelines of different shaders parse them at the same
    /// time: `gpu::prebuild`).
    fn module(&self, name: &'static str, f16_slots: F16Slots) -> wgpu::ShaderModule {
        if let Some(m) = self.modules.lock().unwrap().get(&(name, f16_slots)) {
            return m.clone();
        }
        let source = shaders::source(name, f16_slots).unwrap_or_else(|e| panic!("{e}"));
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(name),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        let mut modules = self.modules.lock().unwrap();
        modules.entry((name, f16_slots)).or_insert(module).clone()
    }
}

/// Records a pipeline build's validation error, naming the kernel. Natively the scope's result is
/// ready at once; on the web it arrives later (still before any readback could succeed).
fn report_build_error(
    popped: impl std::future::Future<Output = Option<wgpu::Error>> + 'static,
    sink: ErrorSink,
    shader: &'static str,
    entry: &'static str,
) {
    let record = move |e: Option<wgpu::Error>| {
        if let Some(e) = e {
            sink.lock()
                .unwrap()
                .get_or_insert_with(|| format!("kernel {shader}::{entry} failed to build: {e}"));
        }
    };
    #[cfg(not(target_arch = "wasm32"))]
    record(pollster::block_on(popped));
    #[cfg(target_arch = "wasm32")]
    wasm_bindgen_futures::spawn_local(async move { record(popped.await) });
}
