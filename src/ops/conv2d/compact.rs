//! The compact family's 3×3 stride-1 convolutions (shaders/conv2d_compact3.wgsl, written by
//! scripts/gen-conv2d-compact3.py): fully unrolled, 16 or 8 output columns × 4 channels per thread,
//! several times faster than the generic kernels on SwiftShader and quick to compile. They serve
//! the 3×3 stride-1 shapes (pad ≤ 2, so that the input gradient is one too) of the compact family.

use super::generic::weight_grad_split;
use super::ConvShape;
use crate::gpu::{grid_1d, groups, Kernel, Recorder, Tensor};

/// Output columns per thread of conv2d_compact3's entry points `forward<N>`, narrowest first
/// (scripts/gen-conv2d-compact3.py's FORWARD_COLS).
const COLS: [usize; 2] = [8, 16];

/// y = conv(x, w) with the widest tile that fits the row (few columns go to waste).
pub(super) fn forward(rec: &mut Recorder<'_>, s: &ConvShape, x: &Tensor, w: &Tensor) -> Tensor {
    let y = rec.alloc_as(&s.out_shape(), x.dtype());
    let (entry, cols) = if s.ow() >= COLS[1] {
        ("forward16", COLS[1])
    } else {
        ("forward8", COLS[0])
    };
    let grid = [
        groups(s.ow().div_ceil(cols) * s.oh(), 16),
        groups(s.k, 16),
        s.n as u32,
    ];
    rec.dispatch(
        Kernel::new("conv2d_compact3", entry),
        &s.params(0, 0),
        &[x, w, &y],
        grid,
    );
    y
}

/// The input gradient as the forward convolution of dy with flipped, transposed weights: it
/// reuses the forward's pipelines (SwiftShader compiles each of them for a few hundred ms, which
/// the first step waits for).
pub(super) fn backward_input(
    rec: &mut Recorder<'_>,
    s: &ConvShape,
    dy: &Tensor,
    w: &Tensor,
) -> Tensor {
    let flipped = rec.alloc(&[s.c, s.k, 3, 3]);
    rec.dispatch(
        Kernel::new("conv2d_compact3", "flip_weights"),
        &s.params(0, 0),
        &[w, &flipped],
        grid_1d(flipped.numel(), 64),
    );
    forward(rec, &s.transposed(), dy, &flipped)
}

pub(super) fn backward_weight(
    rec: &mut Recorder<'_>,
    s: &ConvShape,
    dy: &Tensor,
    x: &Tensor,
    out: Option<&Tensor>,
) -> Tensor {
    // Each thread owns 4 output channels × 1 input channel.
    let partial = Kernel::new("conv2d_compact3", "backward_weight_partial");
    weight_grad_split(rec, s, dy, x, out, partial, s.k.div_ceil(4) * s.c)
}
