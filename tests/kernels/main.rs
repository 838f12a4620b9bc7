//! Every kernel of the registry (`cskd::bench::kernels`, the cases `cskd bench kernels` runs too)
//! against its CPU reference at every shape, once per kernel family (`registry`); every reference
//! backward against finite differences; and what the kernels do beyond one output (non-finite
//! steps, views, the health flag, the host draws), on the Vulkan test device (lavapipe on CI).

#[path = "../common/mod.rs"]
mod common;

mod barriers;
mod batchnorm;
mod conv2d;
mod elementwise_pool;
mod linear;
mod loss;
mod mix;
mod registry;
mod sgd_augment;
mod soft_loss;
