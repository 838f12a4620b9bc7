//! Peak GPU memory of a W1 step against its floor (docs/BENCHMARKS.md): what the step really
//! allocates — the buffer pool's high-water mark after warm-up, the model's arenas, the batch — next
//! to what any trainer must hold: parameters, gradients and momentum, plus the activations the
//! backward reads.

use super::w1::W1Setup;
use crate::error::{Error, Result};
use crate::gpu::{BufferPool, Gpu, Recorder};
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryReport {
    pub method: String,
    /// Every pooled buffer the steps created (activations, gradients, scratch, params uniforms,
    /// staging): the steady step's high-water mark (see `w1_memory`).
    pub pool_bytes: u64,
    /// The model's own buffers: parameter arenas (values, momentum, gradients, kept copies for the
    /// divergence guard) and batch-norm statistics with their snapshots.
    pub model_bytes: u64,
    /// The step's input images and labels.
    pub batch_bytes: u64,
    pub total_bytes: u64,
    /// Parameters + gradients + momentum.
    pub floor_state_bytes: u64,
    /// The activations a backward must read (see `saved_floats`).
    pub floor_activation_bytes: u64,
    pub floor_bytes: u64,
    /// total / floor.
    pub ratio: f64,
}

/// Most steps `w1_memory` runs to reach a step that creates no buffer.
const MAX_STEPS: usize = 6;

/// Runs W1 steps until one creates no buffer and reports its memory against the floor. From that
/// step on every step starts from the same free buffers and draws the same ones, so the pool's
/// size is the steady step's high-water mark, not a guess at one.
pub async fn w1_memory(gpu: &Gpu, cskd: bool, anchors: usize) -> Result<MemoryReport> {
    let setup = W1Setup::new(gpu, cskd, anchors)?;
    let pool = BufferPool::new();
    let mut steady = false;
    for _ in 0..MAX_STEPS {
        let before = pool.created();
        let mut rec = Recorder::new(gpu, &pool);
        setup.step(&mut rec).await?;
        // The first step always creates: only a later one can show the pool settled.
        if before > 0 && pool.created() == before {
            steady = true;
            break;
        }
    }
    if !steady {
        return Err(Error::Gpu(format!(
            "the buffer pool still grew in step {MAX_STEPS} of W1 ({} buffers): no steady high-water mark",
            pool.created()
        )));
    }
    let store = &setup.model().store;
    let a = store.arena();
    let model_bytes = [
        &a.values,
        &a.velocity,
        &a.grads,
        &a.kept_values,
        &a.kept_velocity,
    ]
    .iter()
    .map(|t| t.bytes())
    .sum::<u64>()
        + store.buffer_bytes()
        + store.health.bytes()
        + a.halted.bytes();
    let batch_bytes = setup.batch_bytes();
    let pool_bytes = pool.created_bytes();
    let total_bytes = pool_bytes + model_bytes + batch_bytes;
    let floor_state_bytes = 3 * 4 * store.num_parameters() as u64;
    let config = &setup.model().config;
    // At the device's activation size: under mixed precision the floor's activations are f16 too.
    let floor_activation_bytes = gpu.activations().size()
        * setup.anchors() as u64
        * saved_floats(config.width, config.classes);
    let floor_bytes = floor_state_bytes + floor_activation_bytes;
    Ok(MemoryReport {
        method: setup.method().into(),
        pool_bytes,
        model_bytes,
        batch_bytes,
        total_bytes,
        floor_state_bytes,
        floor_activation_bytes,
        floor_bytes,
        ratio: total_bytes as f64 / floor_bytes as f64,
    })
}

/// Floats per anchor image that SmallCNN's backward must read (width w, 32×32 input): each conv's
/// input (for its weight gradient), each batch norm's input (for its statistics' gradient), the
/// BN+ReLU outputs that feed the max pools (for the pool's argmax), the last BN+ReLU output (its
/// ReLU mask), the pooled features (the linear layer's input) and the logits. A BN+ReLU output that
/// is the next conv's input is counted once.
pub fn saved_floats(w: usize, classes: usize) -> u64 {
    let (s32, s16, s8) = (32 * 32, 16 * 16, 8 * 8);
    let image = 3 * s32;
    let block1 = 4 * w * s32; // conv1 out, relu1 out (conv2 in), conv2 out, relu2 out (pool in)
    let pool1 = w * s16; // conv3 in
    let block2 = 4 * 2 * w * s16; // conv3 out, relu3 out, conv4 out, relu4 out
    let pool2 = 2 * w * s8; // conv5 in
    let block3 = 2 * 4 * w * s8; // conv5 out, relu5 out
    (image + block1 + pool1 + block2 + pool2 + block3 + 4 * w + classes) as u64
}

impl MemoryReport {
    pub fn line(&self) -> String {
        let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
        format!(
            "W1 {:<5} GPU memory {:>7.1} MiB (pool {:.1} + model {:.1} + batch {:.1}); floor {:.1} MiB (state {:.1} + activations {:.1}); {:.2}× the floor",
            self.method,
            mib(self.total_bytes),
            mib(self.pool_bytes),
            mib(self.model_bytes),
            mib(self.batch_bytes),
            mib(self.floor_bytes),
            mib(self.floor_state_bytes),
            mib(self.floor_activation_bytes),
            self.ratio
        )
    }
}
