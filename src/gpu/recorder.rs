//! The recorder: a whole training step goes into one command encoder and one compute pass and is
//! submitted once. Every dispatch takes the same five steps — pipeline, params, bind group, grid,
//! dispatch — so no op writes bind-group boilerplate of its own. Bind groups come from the pool's
//! cache (`gpu::bind_groups`): a warmed-up step creates none. A profiling recorder
//! (`Recorder::profiled`) also times each dispatch (see `gpu::profile`); an ordinary one pays nothing.
//! A planning recorder (`Recorder::planning`) only lists the kernels a recording dispatches.

use crate::error::Result;
use crate::gpu::bind_groups;
use crate::gpu::pipelines::Kernel;
use crate::gpu::prebuild::Planned;
use crate::gpu::profile::{OpFamily, Profiler, TimingMethod};
use crate::gpu::tensor::{BufferPool, Dtype, Tensor};
use crate::gpu::Gpu;

/// Uniform slots per arena; a recording that needs more is submitted in parts.
const ARENA_SLOTS: u64 = 1024;
/// Bytes reserved per params struct (a multiple of every adapter's uniform offset alignment).
const SLOT: u64 = 256;

pub struct Recorder<'g> {
    pub gpu: &'g Gpu,
    pub pool: &'g BufferPool,
    encoder: Option<wgpu::CommandEncoder>,
    pass: Option<wgpu::ComputePass<'static>>,
    /// Params of this recording's dispatches, uploaded into `arena` just before submit.
    params: Vec<u8>,
    arena: wgpu::Buffer,
    dispatches: usize,
    profile: Option<Profiler>,
    /// A planning recorder's kernels, in first-dispatch order (`Recorder::planning`).
    plan: Option<Vec<Planned>>,
}

impl<'g> Recorder<'g> {
    pub fn new(gpu: &'g Gpu, pool: &'g BufferPool) -> Self {
        let arena = pool.take(
            &gpu.device,
            ARENA_SLOTS * SLOT,
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        );
        Recorder {
            gpu,
            pool,
            encoder: None,
            pass: None,
            params: Vec::new(),
            arena,
            dispatches: 0,
            profile: None,
            plan: None,
        }
    }

    /// A recorder that runs nothing: each dispatch only notes its kernel (after the subgroup
    /// variant is chosen), copies and clears are dropped with the encoder, and nothing is
    /// submitted. A step recorded through it lists the pipelines that step needs (`into_plan`),
    /// for `gpu::prebuild`. Uploads that ops write through the queue themselves still happen.
    pub(crate) fn planning(gpu: &'g Gpu, pool: &'g BufferPool) -> Self {
        let mut rec = Self::new(gpu, pool);
        rec.plan = Some(Vec::new());
        rec
    }

    /// The kernels a planning recorder was asked to dispatch, each once.
    pub(crate) fn into_plan(mut self) -> Vec<Planned> {
        // `plan` stays `Some` (empty) for the drop, which then neither submits nor ends a recording.
        std::mem::take(self.plan.as_mut().expect("a planning recorder"))
    }

    /// A recorder that times every dispatch (GPU timestamps, else each dispatch alone natively);
    /// read the times with `gpu::profile::finish` after the last dispatch.
    pub fn profiled(gpu: &'g Gpu, pool: &'g BufferPool) -> Result<Self> {
        let mut rec = Self::new(gpu, pool);
        rec.profile = Some(Profiler::new(gpu, None)?);
        Ok(rec)
    }

    /// A profiling recorder that times each dispatch alone even where timestamps exist (natively;
    /// the fallback's own test, and a cross-check of the timestamps).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn profiled_isolated(gpu: &'g Gpu, pool: &'g BufferPool) -> Result<Self> {
        let mut rec = Self::new(gpu, pool);
        rec.profile = Some(Profiler::new(gpu, Some(TimingMethod::Isolated))?);
        Ok(rec)
    }

    /// Declares the op the next dispatches belong to and its floating-point operations (profiling
    /// only; see `OpFamily::of`). Costs nothing when not profiling.
    pub fn set_op(&mut self, family: OpFamily, flops: f64) {
        if let Some(p) = self.profile.as_mut() {
            p.set_op(family, flops);
        }
    }

    pub(crate) fn profiler(&mut self) -> Option<&mut Profiler> {
        self.profile.as_mut()
    }

    /// Resolves the profile's timestamps into a buffer, copied into `staging` at the next submit.
    pub(crate) fn resolve_profile(
        &mut self,
        staging: impl FnOnce(u64) -> wgpu::Buffer,
    ) -> Option<wgpu::Buffer> {
        self.pass = None;
        let device = &self.gpu.device;
        let encoder = self.encoder.get_or_insert_with(|| {
            device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("step"),
            })
        });
        let resolved = self.profile.as_ref()?.resolve(self.gpu, encoder)?;
        let out = staging(resolved.size());
        encoder.copy_buffer_to_buffer(&resolved, 0, &out, 0, resolved.size());
        Some(out)
    }

    /// A pooled f32 tensor of this shape (contents undefined until a kernel writes it).
    pub fn alloc(&self, shape: &[usize]) -> Tensor {
        Tensor::pooled(&self.gpu.device, self.pool, shape)
    }

    /// A pooled tensor of this shape and dtype: a forward op's activation output takes its
    /// input's dtype (f16 under mixed precision, from the images on: `Gpu::activations`).
    pub fn alloc_as(&self, shape: &[usize], dtype: Dtype) -> Tensor {
        Tensor::pooled_as(&self.gpu.device, self.pool, shape, dtype)
    }

    /// `target` if given (an op asked to write its result there), else a pooled tensor.
    pub fn alloc_or(&self, target: Option<&Tensor>, shape: &[usize]) -> Tensor {
        match target {
            Some(t) => {
                assert_eq!(
                    t.numel(),
                    shape.iter().product::<usize>(),
                    "output slot size"
                );
                t.reshape(shape)
            }
            None => self.alloc(shape),
        }
    }

    /// Number of dispatches recorded so far (benchmarks report it).
    pub fn dispatches(&self) -> usize {
        self.dispatches
    }

    /// Records one kernel launch. `params` lands at binding 0 (uniform), `tensors` at bindings 1..
    pub fn dispatch<P: bytemuck::Pod>(
        &mut self,
        kernel: Kernel,
        params: &P,
        tensors: &[&Tensor],
        groups: [u32; 3],
    ) {
        let bytes = bytemuck::bytes_of(params);
        assert!(
            bytes.len() as u64 <= SLOT,
            "params of {} exceed one slot",
            kernel.entry
        );
        if self
            .profile
            .as_ref()
            .is_some_and(|p| p.method == TimingMethod::Isolated)
        {
            // Earlier work first (before this dispatch's params join the arena), so that the
            // clock in `dispatch_profiled` sees this dispatch alone.
            self.submit();
            let _ = self.gpu.wait();
        }
        if self.params.len() as u64 == ARENA_SLOTS * SLOT {
            self.submit();
        }
        let offset = self.params.len() as u64;
        self.params.extend_from_slice(bytes);
        self.params.resize((offset + SLOT) as usize, 0);

        // A kernel file with subgroup reductions runs as its subgroup variant where they are on.
        let kernel = Kernel {
            shader: crate::shaders::variant(kernel.shader, self.gpu.subgroups()),
            ..kernel
        };
        let f16_slots = tensors
            .iter()
            .enumerate()
            .filter(|(_, t)| t.dtype() == Dtype::F16)
            .fold(0, |slots, (i, _)| slots | 1 << (i + 1));
        if let Some(plan) = self.plan.as_mut() {
            let planned = Planned::of(&kernel, f16_slots);
            if !plan.contains(&planned) {
                plan.push(planned);
            }
            return;
        }
        let compiled = self.gpu.pipelines.get(&kernel, f16_slots);
        let params_size = bytes.len().max(16).div_ceil(16) as u64 * 16;
        let key = bind_groups::Key::new(
            std::sync::Arc::as_ptr(&compiled) as usize,
            std::iter::once((&self.arena, offset, params_size))
                .chain(tensors.iter().map(|t| t.binding_key())),
        );
        let make = || {
            let mut entries = Vec::with_capacity(tensors.len() + 1);
            entries.push(wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &self.arena,
                    offset,
                    size: wgpu::BufferSize::new(params_size),
                }),
            });
            for (i, t) in tensors.iter().enumerate() {
                entries.push(wgpu::BindGroupEntry {
                    binding: i as u32 + 1,
                    resource: t.binding(),
                });
            }
            self.gpu
                .device
                .create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some(kernel.entry),
                    layout: &compiled.layout,
                    entries: &entries,
                })
        };
        let (bind_group, made) = self.pool.bind_groups.lock().unwrap().get(key, make);
        if made {
            self.gpu.counters.bind_group();
        }
        let max = self.gpu.limits.max_compute_workgroups_per_dimension;
        assert!(
            groups.iter().all(|&g| g <= max),
            "{}: grid {groups:?} exceeds {max}",
            kernel.entry
        );
        if groups.iter().any(|&g| g == 0) {
            return;
        }
        if self.profile.is_some() {
            let bytes = tensors.iter().map(|t| t.bytes()).sum();
            return self.dispatch_profiled(
                kernel,
                &compiled,
                &bind_group,
                groups,
                (bytes, f16_slots),
            );
        }
        let pass = self.pass();
        pass.set_pipeline(&compiled.pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        self.dispatches += 1;
        self.gpu.counters.dispatch();
    }

    /// A dispatch in a pass of its own: with timestamps at its ends, or submitted and waited for alone.
    fn dispatch_profiled(
        &mut self,
        kernel: Kernel,
        compiled: &crate::gpu::pipelines::Compiled,
        bind_group: &wgpu::BindGroup,
        groups: [u32; 3],
        (bytes, f16_slots): (u64, u16),
    ) {
        self.pass = None;
        let isolated = self.profile.as_ref().unwrap().method == TimingMethod::Isolated;
        let start = web_time::Instant::now();
        let device = &self.gpu.device;
        let encoder = self.encoder.get_or_insert_with(|| {
            device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("step"),
            })
        });
        let profile = self.profile.as_mut().unwrap();
        let timestamp_writes = profile.begin(self.gpu, &kernel, groups, bytes, f16_slots);
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(kernel.entry),
            timestamp_writes,
        });
        pass.set_pipeline(&compiled.pipeline);
        pass.set_bind_group(0, bind_group, &[]);
        pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        drop(pass);
        self.dispatches += 1;
        self.gpu.counters.dispatch();
        if isolated {
            self.submit();
            let _ = self.gpu.wait();
            let ms = start.elapsed().as_secs_f64() * 1e3;
            self.profile
                .as_mut()
                .unwrap()
                .records
                .last_mut()
                .unwrap()
                .ms = ms;
        }
    }

    /// Copies `src` into `dst` (whole of `src`), ordered with the dispatches around it.
    pub fn copy(&mut self, src: &Tensor, dst: &Tensor) {
        assert!(src.bytes() <= dst.capacity());
        self.pass = None;
        self.encoder().copy_buffer_to_buffer(
            src.buffer(),
            src.offset(),
            dst.buffer(),
            dst.offset(),
            src.bytes(),
        );
    }

    /// Zeroes a tensor, ordered with the dispatches around it.
    pub fn clear(&mut self, t: &Tensor) {
        self.pass = None;
        let (offset, bytes) = (t.offset(), t.bytes());
        self.encoder().clear_buffer(t.buffer(), offset, Some(bytes));
    }

    /// Copies a tensor into a mappable buffer, to be read after `submit` (see `gpu::readback`).
    pub(crate) fn copy_to_staging(&mut self, src: &Tensor, staging: &wgpu::Buffer) {
        self.pass = None;
        self.encoder()
            .copy_buffer_to_buffer(src.buffer(), src.offset(), staging, 0, src.bytes());
    }

    /// Submits everything recorded so far (params first, then the commands); the submission's
    /// index, when there was anything to submit.
    pub fn submit(&mut self) -> Option<wgpu::SubmissionIndex> {
        self.pass = None;
        if self.plan.is_some() {
            // A planning recorder's commands are never run.
            self.encoder = None;
            self.params.clear();
            return None;
        }
        let index = self.encoder.take().map(|encoder| {
            if !self.params.is_empty() {
                self.gpu.queue.write_buffer(&self.arena, 0, &self.params);
                self.gpu.counters.written(self.params.len() as u64);
            }
            self.gpu.counters.submit();
            self.gpu.queue.submit([encoder.finish()])
        });
        self.params.clear();
        index
    }

    pub(crate) fn encoder(&mut self) -> &mut wgpu::CommandEncoder {
        let device = &self.gpu.device;
        self.encoder.get_or_insert_with(|| {
            device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("step"),
            })
        })
    }

    fn pass(&mut self) -> &mut wgpu::ComputePass<'static> {
        if self.pass.is_none() {
            let pass = self
                .encoder()
                .begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("step"),
                    timestamp_writes: None,
                });
            self.pass = Some(pass.forget_lifetime());
        }
        self.pass.as_mut().unwrap()
    }
}

impl Drop for Recorder<'_> {
    fn drop(&mut self) {
        // Work recorded but never submitted would be silently lost; submitting keeps buffers consistent.
        self.submit();
        // A plan bound nothing: the bind groups of the recordings around it stay cached.
        if self.plan.is_none() {
            self.pool.bind_groups.lock().unwrap().end_recording();
        }
        // The next recording's params are written after this submit in queue order: safe to reuse.
        self.pool.give(self.arena.clone());
        self.pool.canonicalise();
    }
}
