//! What the trainer reports and keeps: its state (with the weights, all a bit-exact resume
//! needs), a step's report, an epoch's record (one line of metrics.jsonl), an evaluation and the
//! running sums of the current epoch.

use crate::metrics::Metrics;
use serde::{Deserialize, Serialize};

/// Where training stands; with the weights, everything a bit-exact resume needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainState {
    /// Finished epochs.
    pub epoch: usize,
    /// Finished steps of the current epoch.
    pub step_in_epoch: usize,
    /// Sampler stream at the start of the current epoch (its batches are drawn again from it).
    pub epoch_rng: u64,
    /// Augmentation stream now.
    pub aug_rng: u64,
    pub steps_done: u64,
    /// Batches the batch-norm layers had counted before this run (weights given with `--init`):
    /// checkpoints report `num_batches_tracked` as this plus this run's training forwards.
    #[serde(default)]
    pub bn_batches_before: u64,
    /// Mixing stream now (its own stream, so other methods' draws never move).
    #[serde(default)]
    pub mix_rng: u64,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    pub epoch: usize,
    pub step: usize,
    pub loss: f32,
    pub ce: f32,
    pub kl: f32,
    pub lr: f32,
    pub images_per_sec: f64,
    /// This step finished an epoch.
    pub epoch_done: bool,
}

/// One line of metrics.jsonl.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EpochRecord {
    pub epoch: usize,
    pub lr: f32,
    pub train_loss: f64,
    pub train_ce: f64,
    pub train_kl: f64,
    pub seconds: f64,
    pub images_per_sec: f64,
    pub test: Option<Metrics>,
}

/// Test-set predictions: probabilities and logits (N, K), penultimate features (N, D) and the
/// metrics.
pub struct Evaluation {
    pub metrics: Metrics,
    pub probs: Vec<f32>,
    pub logits: Vec<f32>,
    pub features: Vec<f32>,
    pub feature_dim: usize,
}

/// Running sums of the current epoch (saved in checkpoints, so a mid-epoch resume reports the
/// same epoch loss as an uninterrupted run).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EpochSums {
    pub(super) loss: f64,
    pub(super) ce: f64,
    pub(super) kl: f64,
    pub(super) steps: usize,
    pub(super) images: usize,
    pub(super) seconds: f64,
}
