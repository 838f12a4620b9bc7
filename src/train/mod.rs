//! Training: the GPU step, configuration and schedules, the trainer (epochs, evaluation) and
//! checkpoints.

pub mod calibration;
pub mod checkpoint;
#[cfg(not(target_arch = "wasm32"))]
pub mod checkpoint_file;
pub mod config;
pub mod grid;
pub mod identity;
mod inputs;
pub mod preset;
pub mod snapshot;
pub mod state_dict;
pub mod step;
pub mod teacher;
mod trainer;
mod twin;

pub use config::{Method, Mix, Precision, Schedule, TrainConfig};
pub use step::record_step;
pub use trainer::{
    select_splits, EpochRecord, EpochSums, Evaluation, StepReport, TrainState, Trainer,
};
