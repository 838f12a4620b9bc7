//! The recorder: a whole training step goes into one command encoder and one compute pass and is
//! submitted once. Every dispatch takes the same five steps — pipeline, params, bind group, grid,
//! dispatch — so no op writes bind-group boilerplate of its own.

use crate::gpu::pipelines::Kernel;
use crate::gpu::tensor::{BufferPool, Tensor};
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
        }
    }

    /// A pooled tensor of this shape (contents undefined until a kernel writes it).
    pub fn alloc(&self, shape: &[usize]) -> Tensor {
        Tensor::pooled(&self.gpu.device, self.pool, shape)
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
        if self.params.len() as u64 == ARENA_SLOTS * SLOT {
            self.submit();
        }
        let offset = self.params.len() as u64;
        self.params.extend_from_slice(bytes);
        self.params.resize((offset + SLOT) as usize, 0);

        let compiled = self.gpu.pipelines.get(&kernel);
        let mut entries = Vec::with_capacity(tensors.len() + 1);
        entries.push(wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &self.arena,
                offset,
                size: wgpu::BufferSize::new(bytes.len().max(16).div_ceil(16) as u64 * 16),
            }),
        });
        for (i, t) in tensors.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: t.buffer().as_entire_binding(),
            });
        }
        let bind_group = self
            .gpu
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(kernel.entry),
                layout: &compiled.layout,
                entries: &entries,
            });
        let max = self.gpu.limits.max_compute_workgroups_per_dimension;
        assert!(
            groups.iter().all(|&g| g <= max),
            "{}: grid {groups:?} exceeds {max}",
            kernel.entry
        );
        if groups.iter().any(|&g| g == 0) {
            return;
        }
        let pass = self.pass();
        pass.set_pipeline(&compiled.pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        self.dispatches += 1;
    }

    /// Copies `src` into `dst` (whole of `src`), ordered with the dispatches around it.
    pub fn copy(&mut self, src: &Tensor, dst: &Tensor) {
        assert!(src.bytes() <= dst.buffer().size());
        self.pass = None;
        self.encoder()
            .copy_buffer_to_buffer(src.buffer(), 0, dst.buffer(), 0, src.bytes());
    }

    /// Copies a tensor into a mappable buffer, to be read after `submit` (see `gpu::readback`).
    pub(crate) fn copy_to_staging(&mut self, src: &Tensor, staging: &wgpu::Buffer) {
        self.pass = None;
        self.encoder()
            .copy_buffer_to_buffer(src.buffer(), 0, staging, 0, src.bytes());
    }

    /// Submits everything recorded so far (params first, then the commands).
    pub fn submit(&mut self) {
        self.pass = None;
        if let Some(encoder) = self.encoder.take() {
            if !self.params.is_empty() {
                self.gpu.queue.write_buffer(&self.arena, 0, &self.params);
            }
            self.gpu.queue.submit([encoder.finish()]);
        }
        self.params.clear();
    }

    fn encoder(&mut self) -> &mut wgpu::CommandEncoder {
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
        // The next recording's params are written after this submit in queue order: safe to reuse.
        self.pool.give(self.arena.clone());
    }
}
