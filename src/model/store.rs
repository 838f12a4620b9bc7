//! Parameters and buffers of a model, in PyTorch's names and layouts so a checkpoint loads into
//! the equivalent torch module with `load_state_dict`.
//!
//! Storage is flat: the values of all parameters are ONE buffer (an arena) with one slot per
//! parameter, aligned to the adapter's storage-offset alignment; so are their momentum, their
//! gradients and the two kept copies. Each `Param` holds views of its slots, so everything that
//! reads or writes one tensor (checkpoints, eval, export, the teacher) works through the views,
//! while SGD updates the whole model in one dispatch and a roll-back is two whole-arena copies.
//! Batch-norm running statistics likewise share one arena, so a snapshot is one copy.
//! Padding between slots is zero in every arena and stays zero: no kernel writes it, and SGD maps
//! zero weight, gradient and momentum to zero.

use crate::gpu::{Gpu, Recorder, Tensor};
use crate::rng::Rng;

/// A trainable tensor with its SGD momentum buffer, its gradient slot (the backward writes it),
/// and value and momentum as they were before the last step whose loss was finite (written by
/// the SGD kernel; see `Store::roll_back_params`). All are views into the store's arenas.
pub struct Param {
    pub name: String,
    pub value: Tensor,
    pub velocity: Tensor,
    pub grad: Tensor,
    pub kept_value: Tensor,
    pub kept_velocity: Tensor,
}

/// A non-trainable tensor (batch-norm running statistics). The store keeps copies of all of them
/// from before each of the last two steps: a step whose loss is not finite puts its copy back, as
/// SGD skips such a step, even when the next step was already recorded (see `snapshot_buffers`).
pub struct Buffer {
    pub name: String,
    pub value: Tensor,
}

/// Snapshot slots of the running statistics: a step in flight beside the one being checked.
pub const SNAPSHOT_SLOTS: usize = 2;

/// Whole-arena tensors of the parameters: what the one SGD dispatch and roll-back work on.
pub struct ParamArena {
    pub values: Tensor,
    pub velocity: Tensor,
    pub grads: Tensor,
    pub kept_values: Tensor,
    pub kept_velocity: Tensor,
    /// One u32 set by SGD at a non-finite loss: every later step skips until it is cleared.
    pub halted: Tensor,
}

impl ParamArena {
    /// What the SGD kernel keeps and checks (`ops::sgd::Kept`).
    pub fn kept(&self) -> crate::ops::sgd::Kept<'_> {
        crate::ops::sgd::Kept {
            values: &self.kept_values,
            velocity: &self.kept_velocity,
            halted: &self.halted,
        }
    }
}

pub struct Store {
    pub params: Vec<Param>,
    pub buffers: Vec<Buffer>,
    /// One u32 flag: set by a training-mode batch norm whose running statistics became
    /// non-finite, turned into a NaN loss (and cleared) by `batchnorm::check_health`.
    pub health: Tensor,
    /// The parameter arenas (built by `finish`).
    arena: Option<ParamArena>,
    /// The running-statistics arena and its copies from before the last `SNAPSHOT_SLOTS` steps.
    buffer_arena: Option<(Tensor, [Tensor; SNAPSHOT_SLOTS])>,
    /// Names, shapes and initial values declared before `finish` lays the arenas out.
    pending_params: Vec<(String, Vec<usize>, Vec<f32>)>,
    pending_buffers: Vec<(String, Vec<usize>, f32)>,
}

/// Index of a parameter in its store.
#[derive(Clone, Copy, Debug)]
pub struct ParamId(pub usize);
#[derive(Clone, Copy, Debug)]
pub struct BufferId(pub usize);

/// How a new parameter is filled.
pub enum Init {
    /// Kaiming normal, fan-in, gain √2 (convolutions followed by ReLU).
    KaimingNormal {
        fan_in: usize,
    },
    /// U(−1/√fan_in, 1/√fan_in): PyTorch's default for linear layers (weight and bias).
    Uniform {
        fan_in: usize,
    },
    Const(f32),
}

/// Byte offsets of slots holding `shapes`, each aligned to `align`, and the arena's total bytes.
pub fn layout(shapes: &[&[usize]], align: u64) -> (Vec<u64>, u64) {
    let mut offsets = Vec::with_capacity(shapes.len());
    let mut end = 0u64;
    for s in shapes {
        offsets.push(end);
        let bytes = s.iter().product::<usize>() as u64 * 4;
        end += bytes.div_ceil(align).max(1) * align;
    }
    (offsets, end.max(16))
}

impl Store {
    pub fn new(gpu: &Gpu) -> Store {
        Store {
            params: Vec::new(),
            buffers: Vec::new(),
            health: Tensor::zeros(&gpu.device, &[1]),
            arena: None,
            buffer_arena: None,
            pending_params: Vec::new(),
            pending_buffers: Vec::new(),
        }
    }

    /// Declares a parameter; its storage exists once `finish` has run.
    pub fn param(
        &mut self,
        _gpu: &Gpu,
        rng: &mut Rng,
        name: String,
        shape: &[usize],
        init: Init,
    ) -> ParamId {
        let n: usize = shape.iter().product();
        let data: Vec<f32> = match init {
            Init::KaimingNormal { fan_in } => {
                let std = (2.0 / fan_in as f32).sqrt();
                (0..n).map(|_| rng.normal() * std).collect()
            }
            Init::Uniform { fan_in } => {
                let bound = 1.0 / (fan_in as f32).sqrt();
                (0..n)
                    .map(|_| (rng.next_f32() * 2.0 - 1.0) * bound)
                    .collect()
            }
            Init::Const(v) => vec![v; n],
        };
        self.pending_params.push((name, shape.to_vec(), data));
        ParamId(self.pending_params.len() - 1)
    }

    /// Declares a buffer filled with `fill`; its storage exists once `finish` has run.
    pub fn buffer(&mut self, _gpu: &Gpu, name: String, shape: &[usize], fill: f32) -> BufferId {
        self.pending_buffers.push((name, shape.to_vec(), fill));
        BufferId(self.pending_buffers.len() - 1)
    }

    /// Lays out the arenas (zero-filled, so padding is zero), uploads the initial values and
    /// makes every parameter's and buffer's views. Called once, after the model declared all.
    pub fn finish(&mut self, gpu: &Gpu) {
        assert!(self.arena.is_none(), "store finished twice");
        let align = gpu.limits.min_storage_buffer_offset_alignment.max(4) as u64;
        let params = std::mem::take(&mut self.pending_params);
        let shapes: Vec<&[usize]> = params.iter().map(|(_, s, _)| s.as_slice()).collect();
        let (offsets, total) = layout(&shapes, align);
        let arena = || Tensor::zeros(&gpu.device, &[(total / 4) as usize]);
        let a = ParamArena {
            values: arena(),
            velocity: arena(),
            grads: arena(),
            kept_values: arena(),
            kept_velocity: arena(),
            halted: Tensor::zeros(&gpu.device, &[1]),
        };
        for ((name, shape, data), off) in params.into_iter().zip(offsets) {
            let value = a.values.view(off, &shape);
            value.write(gpu, &data);
            self.params.push(Param {
                name,
                value,
                velocity: a.velocity.view(off, &shape),
                grad: a.grads.view(off, &shape),
                kept_value: a.kept_values.view(off, &shape),
                kept_velocity: a.kept_velocity.view(off, &shape),
            });
        }
        self.arena = Some(a);

        let buffers = std::mem::take(&mut self.pending_buffers);
        let shapes: Vec<&[usize]> = buffers.iter().map(|(_, s, _)| s.as_slice()).collect();
        let (offsets, total) = layout(&shapes, align);
        let arena = || Tensor::zeros(&gpu.device, &[(total / 4) as usize]);
        let (values, snapshots) = (arena(), [arena(), arena()]);
        for ((name, shape, fill), off) in buffers.into_iter().zip(offsets) {
            let value = values.view(off, &shape);
            value.write(gpu, &vec![fill; value.numel()]);
            self.buffers.push(Buffer { name, value });
        }
        self.buffer_arena = Some((values, snapshots));
    }

    /// The parameter arenas.
    pub fn arena(&self) -> &ParamArena {
        self.arena.as_ref().expect("store not finished")
    }

    /// Records a copy of every buffer into snapshot `slot` (at the start of a step; the trainer
    /// alternates slots, so the copy of a step still in flight survives its successor's): one copy.
    pub fn snapshot_buffers(&self, rec: &mut Recorder<'_>, slot: usize) {
        if let Some((values, snapshots)) = &self.buffer_arena {
            rec.copy(values, &snapshots[slot]);
        }
    }

    /// Records putting every buffer back to snapshot `slot`: one copy.
    pub fn restore_buffers(&self, rec: &mut Recorder<'_>, slot: usize) {
        if let Some((values, snapshots)) = &self.buffer_arena {
            rec.copy(&snapshots[slot], values);
        }
    }

    /// Bytes of the running statistics and their snapshots.
    pub fn buffer_bytes(&self) -> u64 {
        self.buffer_arena.as_ref().map_or(0, |(v, s)| {
            v.bytes() + s.iter().map(Tensor::bytes).sum::<u64>()
        })
    }

    /// Records putting weights and momentum back to what the SGD kernel kept: their values
    /// before the last step whose loss was finite (two whole-arena copies).
    pub fn roll_back_params(&self, rec: &mut Recorder<'_>) {
        let a = self.arena();
        rec.copy(&a.kept_values, &a.values);
        rec.copy(&a.kept_velocity, &a.velocity);
    }

    /// Records clearing the SGD halt flag (after a divergence was handled).
    pub fn clear_halt(&self, rec: &mut Recorder<'_>) {
        rec.clear(&self.arena().halted);
    }

    pub fn num_parameters(&self) -> usize {
        self.params.iter().map(|p| p.value.numel()).sum()
    }
}
