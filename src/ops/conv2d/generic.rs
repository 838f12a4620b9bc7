//! The generic convolution kernels (shaders/conv2d_generic.wgsl): any KS (1, 3) and stride (1, 2),
//! 4 channels × 4 columns per thread. The compact family's convolutions and every family's path
//! for 1×1 and strided convolutions (the compact family's 3×3 stride-1 ones are in `compact`).

use super::ConvShape;
use crate::gpu::{grid_1d, groups, Kernel, Recorder, Tensor, WG_1D};

pub(super) fn forward(rec: &mut Recorder<'_>, s: &ConvShape, x: &Tensor, w: &Tensor) -> Tensor {
    let y = rec.alloc_as(&s.out_shape(), x.dtype());
    let grid = [
        groups(s.ow().div_ceil(4) * s.oh(), 16),
        groups(s.k, 16),
        s.n as u32,
    ];
    rec.dispatch(s.generic("forward"), &s.params(0, 0), &[x, w, &y], grid);
    y
}

pub(super) fn backward_input(
    rec: &mut Recorder<'_>,
    s: &ConvShape,
    dy: &Tensor,
    w: &Tensor,
) -> Tensor {
    let dx = rec.alloc(&[s.n, s.c, s.h, s.w]);
    let grid = [
        groups(s.w.div_ceil(4) * s.h, 16),
        groups(s.c, 16),
        s.n as u32,
    ];
    rec.dispatch(
        s.generic("backward_input"),
        &s.params(0, 0),
        &[dy, w, &dx],
        grid,
    );
    dx
}

pub(super) fn backward_weight(
    rec: &mut Recorder<'_>,
    s: &ConvShape,
    dy: &Tensor,
    x: &Tensor,
    out: Option<&Tensor>,
) -> Tensor {
    // Each thread owns 4 output channels × 1 input channel.
    let partial = s.generic("backward_weight_partial");
    weight_grad_split(rec, s, dy, x, out, partial, s.k.div_ceil(4) * s.c)
}

/// The weight gradient as partial sums over splits of the N·OH·OW rows, enough splits to fill the
/// device, then `backward_weight_reduce`. `outputs` is the number of threads per split.
pub(super) fn weight_grad_split(
    rec: &mut Recorder<'_>,
    s: &ConvShape,
    dy: &Tensor,
    x: &Tensor,
    out: Option<&Tensor>,
    partial_kernel: Kernel<'static>,
    outputs: usize,
) -> Tensor {
    let rows = s.n * s.oh();
    let splits = 16384usize
        .div_ceil(outputs)
        .min(s.max_splits())
        .clamp(1, rows);
    let rows_per_split = rows.div_ceil(splits);
    let splits = rows.div_ceil(rows_per_split);
    let p = s.params(rows_per_split, splits);
    let partial = rec.alloc(&[splits, s.k, s.c, s.ks, s.ks]);
    rec.dispatch(
        partial_kernel,
        &p,
        &[dy, x, &partial],
        [groups(outputs, 64), splits as u32, 1],
    );
    let dw = rec.alloc_or(out, &[s.k, s.c, s.ks, s.ks]);
    rec.dispatch(
        s.generic("backward_weight_reduce"),
        &p,
        &[&partial, &dw],
        grid_1d(dw.numel(), WG_1D),
    );
    dw
}
