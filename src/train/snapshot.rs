//! A trainer's whole state as plain data: what `Trainer::snapshot` reads off the GPU and what a
//! checkpoint file holds (`checkpoint::encode`). The trainer restores itself from a decoded file
//! (`Trainer::restore`); the checkpoint code knows the file, never the trainer's insides.

use super::identity::DataIdentity;
use super::trainer::{EpochRecord, EpochSums, TrainState};
use super::TrainConfig;
use crate::model::ModelConfig;

/// One tensor by its (PyTorch) name.
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

pub struct Snapshot {
    pub model: ModelConfig,
    pub config: TrainConfig,
    pub state: TrainState,
    pub history: Vec<EpochRecord>,
    pub classes: Vec<String>,
    pub data: DataIdentity,
    pub sums: EpochSums,
    /// The KD teacher's fingerprint, when the run has one.
    pub teacher: Option<String>,
    /// Parameters, then batch-norm running statistics.
    pub weights: Vec<NamedTensor>,
    /// SGD momentum, named by its parameter.
    pub momentum: Vec<NamedTensor>,
    /// PS-KD's predictions of the previous epoch (N, K).
    pub pskd_predictions: Option<NamedTensor>,
    /// Training-mode forwards the batch norms have counted (PyTorch's `num_batches_tracked`).
    pub bn_batches: u64,
}
