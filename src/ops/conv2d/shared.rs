//! The shared-memory family's convolution (shaders/conv2d_shared.wgsl): implicit GEMM with
//! register-tiled, double-buffered workgroup tiles (`shared_tile` picks 128×64 … 32×32), for
//! every KS (1, 3), stride (1, 2) and pad.
//! The weight gradient is split along its reduction (N·OH·OW) so that small K·C·KS² still fills
//! the device, then the splits are summed by the shader's parallel `reduce`.

use super::ConvShape;
use crate::gpu::{grid_1d, groups, Gpu, Kernel, KernelFamily, Recorder, Tensor};
use crate::ops::linear::shared_tile;

/// Reduction indices staged per step (a split is a multiple of it).
const BK: usize = 8;
/// Workgroups the weight gradient aims for (fills a large GPU; more splits only cost memory).
const TARGET_GROUPS: usize = 1024;
/// The shortest split: 4 steps, so that a workgroup's setup and epilogue are not all it does
/// (short enough that the small checked shapes still split, so `reduce` is checked there too).
const MIN_SPLIT: usize = 4 * BK;

/// This family's own kernels run every shape, as long as the GEMM rows fit the grid (and the
/// workgroup fits the device).
pub(super) fn fits(gpu: &Gpu, s: &ConvShape) -> bool {
    let max = gpu.limits.max_compute_workgroups_per_dimension as usize;
    KernelFamily::shared_fits(&gpu.limits)
        && (s.n * s.oh() * s.ow()).div_ceil(32) <= max
        && (s.n * s.h * s.w).div_ceil(32) <= max
}

/// Runs the GEMM view `mode` (0 forward, 1 input gradient, 2 weight-gradient partials) of an
/// M×N output with `splits` reduction splits.
fn gemm(
    rec: &mut Recorder<'_>,
    s: &ConvShape,
    mode: u32,
    (m, n, splits): (usize, usize, usize),
    p: &super::Params,
    tensors: &[&Tensor],
) {
    let tile = shared_tile(m, n, mode == 2);
    let [c0, c1, c2, c3, c4] = tile.consts();
    let consts = [
        ("MODE", mode as f64),
        ("KS", s.ks as f64),
        ("STRIDE", s.stride as f64),
        c0,
        c1,
        c2,
        c3,
        c4,
    ];
    rec.dispatch(
        Kernel::with("conv2d_shared", "gemm", &consts),
        p,
        tensors,
        [groups(n, tile.bn), groups(m, tile.bm), splits as u32],
    );
}

pub(super) fn forward(rec: &mut Recorder<'_>, s: &ConvShape, x: &Tensor, w: &Tensor) -> Tensor {
    let y = rec.alloc_as(&s.out_shape(), x.dtype());
    let m = s.n * s.oh() * s.ow();
    gemm(rec, s, 0, (m, s.k, 1), &s.params(0, 0), &[x, w, &y]);
    y
}

pub(super) fn backward_input(
    rec: &mut Recorder<'_>,
    s: &ConvShape,
    dy: &Tensor,
    w: &Tensor,
) -> Tensor {
    let dx = rec.alloc(&[s.n, s.c, s.h, s.w]);
    let m = s.n * s.h * s.w;
    gemm(rec, s, 1, (m, s.c, 1), &s.params(0, 0), &[dy, w, &dx]);
    dx
}

pub(super) fn backward_weight(
    rec: &mut Recorder<'_>,
    s: &ConvShape,
    dy: &Tensor,
    x: &Tensor,
    out: Option<&Tensor>,
) -> Tensor {
    let (rows, cols, red) = (s.k, s.c * s.ks * s.ks, s.n * s.oh() * s.ow());
    let tiles = shared_tile(rows, cols, true).groups(rows, cols);
    let max = rec.gpu.limits.max_compute_workgroups_per_dimension as usize;
    let splits = TARGET_GROUPS
        .div_ceil(tiles)
        .min(s.max_splits())
        .min(red / MIN_SPLIT)
        .clamp(1, red.div_ceil(BK).min(max));
    let per = red.div_ceil(splits).div_ceil(BK) * BK;
    let splits = red.div_ceil(per);
    let p = s.params(per, splits);
    let dw = rec.alloc_or(out, &[s.k, s.c, s.ks, s.ks]);
    if splits == 1 {
        // One split: the GEMM writes the gradient itself.
        gemm(rec, s, 2, (rows, cols, 1), &p, &[dy, x, &dw]);
        return dw;
    }
    let partial = rec.alloc(&[splits, s.k, s.c, s.ks, s.ks]);
    gemm(rec, s, 2, (rows, cols, splits), &p, &[dy, x, &partial]);
    // 32 outputs per workgroup (binding 2, unused, takes x: every entry binds three tensors).
    rec.dispatch(
        Kernel::with("conv2d_shared", "reduce", s.consts()),
        &p,
        &[&partial, x, &dw],
        grid_1d(dw.numel(), 32),
    );
    dw
}
