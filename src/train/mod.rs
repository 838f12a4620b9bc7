//! Training: the GPU step, configuration and schedules, the trainer (epochs, evaluation) and
//! checkpoints.

pub mod checkpoint;
pub mod config;
mod inputs;
pub mod step;
mod trainer;

pub use config::{Method, Schedule, TrainConfig};
pub use step::record_step;
pub use trainer::{EpochRecord, Evaluation, StepReport, TrainState, Trainer};
