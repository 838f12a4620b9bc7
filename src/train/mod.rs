//! Training: the GPU step, and (host side) configuration, schedules, the epoch loop, checkpoints.

pub mod step;

pub use step::record_step;
