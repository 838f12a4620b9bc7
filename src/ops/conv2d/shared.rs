//! The shared-memory family's convolution (shaders/conv2d_shared.wgsl): implicit GEMM with
//! 64×64 (or 128×32 / 32×128 for narrow GEMMs) workgroup tiles staged in workgroup memory, for
//! every KS (1, 3), stride (1, 2) and pad.
//! The weight gradient is split along its reduction (N·OH·OW) so that small K·C·KS² still fills
//! the device, then reduced by the generic `backward_weight_reduce`.

use super::ConvShape;
use crate::gpu::{grid_1d, groups, Gpu, Kernel, KernelFamily, Recorder, Tensor, WG_1D};
use crate::ops::linear::shared_tile;

/// Reduction indices staged per step (a split is a multiple of it).
const BK: usize = 16;
/// Workgroups the weight gradient aims for (fills a large GPU; more splits only cost memory).
const TARGET_GROUPS: usize = 512;

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
    let (bm, bn) = shared_tile(m, n);
    let consts = [
        ("MODE", mode as f64),
        ("KS", s.ks as f64),
        ("STRIDE", s.stride as f64),
        ("BN", bn as f64),
    ];
    rec.dispatch(
        Kernel::with("conv2d_shared", "gemm", &consts),
        p,
        tensors,
        [groups(n, bn), groups(m, bm), splits as u32],
    );
}

pub(super) fn forward(rec: &mut Recorder<'_>, s: &ConvShape, x: &Tensor, w: &Tensor) -> Tensor {
    let y = rec.alloc(&s.out_shape());
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
    let (bm, bn) = shared_tile(rows, cols);
    let tiles = rows.div_ceil(bm) * cols.div_ceil(bn);
    let max = rec.gpu.limits.max_compute_workgroups_per_dimension as usize;
    let splits = TARGET_GROUPS
        .div_ceil(tiles)
        .min(s.max_splits())
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
    rec.dispatch(
        s.generic("backward_weight_reduce"),
        &p,
        &[&partial, &dw],
        grid_1d(dw.numel(), WG_1D),
    );
    dw
}
