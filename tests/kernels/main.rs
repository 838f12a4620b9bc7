//! Every kernel against its f64 CPU reference, and every backward against finite differences of
//! that reference, on the Vulkan test device (lavapipe on CI).

#[path = "../common/mod.rs"]
mod common;

mod batchnorm;
mod conv2d;
mod elementwise_pool;
mod linear;
mod loss;
mod mix;
mod sgd_softmax_augment;
mod soft_loss;
