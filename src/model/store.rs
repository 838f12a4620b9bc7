//! Parameters and buffers of a model, in PyTorch's names and layouts so a checkpoint loads into
//! the equivalent torch module with `load_state_dict`.

use crate::gpu::{Gpu, Recorder, Tensor};
use crate::rng::Rng;

/// A trainable tensor with its SGD momentum buffer, and both as they were before the last step
/// whose loss was finite (written by the SGD kernel; see `Store::roll_back`).
pub struct Param {
    pub name: String,
    pub value: Tensor,
    pub velocity: Tensor,
    pub kept_value: Tensor,
    pub kept_velocity: Tensor,
}

/// A non-trainable tensor (batch-norm running statistics), with a copy of its value before the
/// current step: a step whose loss is not finite puts it back, as SGD skips such a step.
pub struct Buffer {
    pub name: String,
    pub value: Tensor,
    pub last_good: Tensor,
}

pub struct Store {
    pub params: Vec<Param>,
    pub buffers: Vec<Buffer>,
    /// One u32 flag: set by a training-mode batch norm whose running statistics became
    /// non-finite, turned into a NaN loss (and cleared) by `batchnorm::check_health`.
    pub health: Tensor,
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

impl Store {
    pub fn new(gpu: &Gpu) -> Store {
        Store {
            params: Vec::new(),
            buffers: Vec::new(),
            health: Tensor::zeros(&gpu.device, &[1]),
        }
    }

    pub fn param(
        &mut self,
        gpu: &Gpu,
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
        let value = Tensor::from_slice(&gpu.device, &gpu.queue, shape, &data);
        let velocity = Tensor::zeros(&gpu.device, shape);
        self.params.push(Param {
            name,
            value,
            velocity,
            kept_value: Tensor::zeros(&gpu.device, shape),
            kept_velocity: Tensor::zeros(&gpu.device, shape),
        });
        ParamId(self.params.len() - 1)
    }

    pub fn buffer(&mut self, gpu: &Gpu, name: String, shape: &[usize], fill: f32) -> BufferId {
        let n: usize = shape.iter().product();
        let value = Tensor::from_slice(&gpu.device, &gpu.queue, shape, &vec![fill; n]);
        let last_good = Tensor::zeros(&gpu.device, shape);
        self.buffers.push(Buffer {
            name,
            value,
            last_good,
        });
        BufferId(self.buffers.len() - 1)
    }

    /// Records a copy of every buffer into its `last_good` (at the start of a step).
    pub fn snapshot_buffers(&self, rec: &mut Recorder<'_>) {
        for b in &self.buffers {
            rec.copy(&b.value, &b.last_good);
        }
    }

    /// Records putting every buffer back to its value before the current step.
    pub fn restore_buffers(&self, rec: &mut Recorder<'_>) {
        for b in &self.buffers {
            rec.copy(&b.last_good, &b.value);
        }
    }

    /// Records putting weights and momentum back to what the SGD kernel kept: their values
    /// before the last step whose loss was finite.
    pub fn roll_back_params(&self, rec: &mut Recorder<'_>) {
        for p in &self.params {
            rec.copy(&p.kept_value, &p.value);
            rec.copy(&p.kept_velocity, &p.velocity);
        }
    }

    pub fn num_parameters(&self) -> usize {
        self.params.iter().map(|p| p.value.numel()).sum()
    }
}
