//! The register-tiled family's 3×3 stride-1 convolution (shaders/conv2d_tiled.wgsl): weights
//! repacked so one vec4 load fetches a tap of 4 output channels, a 4×4×4 output tile per thread.
//! The input gradient is the same kernel on flipped, transposed weights. They serve the 3×3 stride-1
//! shapes (pad ≤ 2) of the tiled family, and of the shared one where its own kernels do not fit.

use super::generic::weight_grad_split;
use super::ConvShape;
use crate::gpu::{grid_1d, groups, Kernel, Recorder, Tensor, WG_1D};

pub(super) fn forward(rec: &mut Recorder<'_>, s: &ConvShape, x: &Tensor, w: &Tensor) -> Tensor {
    let packed = repack(rec, s, w, false);
    forward3(rec, s, x, &packed)
}

pub(super) fn backward_input(
    rec: &mut Recorder<'_>,
    s: &ConvShape,
    dy: &Tensor,
    w: &Tensor,
) -> Tensor {
    // dx = the stride-1 convolution of dy with the flipped, transposed weights and padding 2 − pad.
    let packed = repack(rec, s, w, true);
    forward3(rec, &s.transposed(), dy, &packed)
}

pub(super) fn backward_weight(
    rec: &mut Recorder<'_>,
    s: &ConvShape,
    dy: &Tensor,
    x: &Tensor,
    out: Option<&Tensor>,
) -> Tensor {
    // Each thread owns 4 output channels × 2 input channels.
    let partial = Kernel::new("conv2d_tiled", "backward_weight3");
    weight_grad_split(
        rec,
        s,
        dy,
        x,
        out,
        partial,
        s.k.div_ceil(4) * s.c.div_ceil(2),
    )
}

/// Weights repacked for `forward3`: (C, 3, 3, K4) with K4 = K rounded up to 4; `flip` gives the
/// transposed convolution's weights (K, 3, 3, C4) with the taps reversed.
fn repack(rec: &mut Recorder<'_>, s: &ConvShape, w: &Tensor, flip: bool) -> Tensor {
    let (cin, cout) = if flip { (s.k, s.c) } else { (s.c, s.k) };
    let packed = rec.alloc(&[cin, 9, cout.div_ceil(4) * 4]);
    let consts: &'static [(&'static str, f64)] = if flip {
        &[("KS", 3.0), ("FLIP", 1.0)]
    } else {
        &[("KS", 3.0), ("FLIP", 0.0)]
    };
    rec.dispatch(
        Kernel::with("conv2d_tiled", "repack_weight", consts),
        &s.params(0, 0),
        &[w, &packed],
        grid_1d(packed.numel(), WG_1D),
    );
    packed
}

/// A 3×3 stride-1 convolution of `x` (N, C, H, W) with packed weights into (N, K, OH, OW).
fn forward3(rec: &mut Recorder<'_>, s: &ConvShape, x: &Tensor, packed: &Tensor) -> Tensor {
    let (oh, ow) = (s.oh(), s.ow());
    let y = rec.alloc_as(&s.out_shape(), x.dtype());
    let grid = [
        groups(ow.div_ceil(4) * oh.div_ceil(4), 64),
        s.k.div_ceil(4) as u32,
        s.n as u32,
    ];
    rec.dispatch(
        Kernel::new("conv2d_tiled", "forward3"),
        &s.params(0, 0),
        &[x, packed, &y],
        grid,
    );
    y
}
