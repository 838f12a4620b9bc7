//! Ops: each file pairs with `shaders/<op>.wgsl` and holds the forward and backward dispatches side
//! by side, plus the tape-aware wrapper that models call. Dispatches overwrite their outputs
//! (gradients are accumulated by the tape, never by kernels).
//! Mixed precision: a forward op's activation output takes its input's dtype (`Tensor::dtype`;
//! f16 from the augmented images on, `Gpu::activations`, until global average pooling, which
//! writes f32 features); gradients, parameters, statistics and logits are always f32.

pub mod augment;
pub mod batchnorm;
pub mod conv2d;
pub mod elementwise;
#[doc(hidden)]
pub mod layout;
pub mod linear;
pub mod loss;
pub mod mix;
pub mod pool;
pub mod sgd;
pub mod soft_loss;
pub mod softmax;

use crate::gpu::{grid_1d, Kernel, Recorder, Tensor, WG_1D};

/// Params of the many kernels that only need an element count.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct Count {
    pub n: u32,
    pub _pad: [u32; 3],
}

/// Dispatches a 1-D kernel (workgroup size `WG_1D`) over `n` elements.
pub(crate) fn dispatch_1d<P: bytemuck::Pod>(
    rec: &mut Recorder<'_>,
    kernel: Kernel,
    params: &P,
    tensors: &[&Tensor],
    n: usize,
) {
    rec.dispatch(kernel, params, tensors, grid_1d(n, WG_1D));
}
