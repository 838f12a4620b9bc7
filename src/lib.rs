//! cskd: class-wise self-knowledge distillation (CS-KD, CVPR 2020) on WebGPU, natively and in the browser.

pub mod error;
pub mod gpu;
pub mod rng;
pub mod shaders;

pub use error::{Error, Result};
pub mod bench;
#[cfg(all(feature = "cli", not(target_arch = "wasm32")))]
pub mod cli;
pub mod data;
#[cfg(not(target_arch = "wasm32"))]
pub mod files;
pub mod metrics;
pub mod model;
pub mod ops;
pub mod reference;
pub mod tape;
pub mod train;
#[cfg(target_arch = "wasm32")]
pub mod web;
