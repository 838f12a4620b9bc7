//! The shared-memory family's convolution (shaders/conv2d_shared.wgsl): implicit GEMM with
//! 64×64 workgroup tiles staged in workgroup memory, for every KS (1, 3), stride (1, 2) and pad.
//! The weight gradient is split along its reduction (N·OH·OW) so that small K·C·KS² still fills
//! the device, then reduced by the generic `backward_weight_reduce`.

use super::ConvShape;
use crate::gpu::{grid_1d, groups, Kernel, KernelFamily, Recorder, Tensor};

/// Output tile side of one workgroup (in GEMM rows and columns).
const TILE: usize = 64;
/// Reduction indices staged per step (a split is a multiple of it).
const BK: usize = 16;
/// Workgroups the weight gradient aims for (fills a large GPU; more splits only cost memory).
const TARGET_GROUPS: usize = 512;

/// This family's own kernels run every shape, as long as the GEMM rows fit the grid.
pub(super) fn applies(rec: &Recorder<'_>, s: &ConvShape) -> bool {
    let max = rec.gpu.limits.max_compute_workgroups_per_dimension as usize;
    rec.gpu.family() == KernelFamily::Shared
        && (s.n * s.oh() * s.ow()).div_ceil(TILE) <= max
        && (s.n * s.h * s.w).div_ceil(TILE) <= max
}

/// The GEMM kernel for one view: MODE 0 forward, 1 input gradient, 2 weight-gradient partials.
fn gemm(s: &ConvShape, mode: u32) -> [(&'static str, f64); 3] {
    [
        ("MODE", mode as f64),
        ("KS", s.ks as f64),
        ("STRIDE", s.stride as f64),
    ]
}

pub(super) fn forward(rec: &mut Recorder<'_>, s: &ConvShape, x: &Tensor, w: &Tensor) -> Tensor {
    let y = rec.alloc(&s.out_shape());
    let consts = gemm(s, 0);
    let m = s.n * s.oh() * s.ow();
    rec.dispatch(
        Kernel::with("conv2d_shared", "gemm", &consts),
        &s.params(0, 0),
        &[x, w, &y],
        [groups(s.k, TILE), groups(m, TILE), 1],
    );
    y
}

pub(super) fn backward_input(
    rec: &mut Recorder<'_>,
    s: &ConvShape,
    dy: &Tensor,
    w: &Tensor,
) -> Tensor {
    let dx = rec.alloc(&[s.n, s.c, s.h, s.w]);
    let consts = gemm(s, 1);
    let m = s.n * s.h * s.w;
    rec.dispatch(
        Kernel::with("conv2d_shared", "gemm", &consts),
        &s.params(0, 0),
        &[dy, w, &dx],
        [groups(s.c, TILE), groups(m, TILE), 1],
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
    let (rows, cols, red) = (s.k, s.c * s.ks * s.ks, s.n * s.oh() * s.ow());
    let tiles = rows.div_ceil(TILE) * cols.div_ceil(TILE);
    let max = rec.gpu.limits.max_compute_workgroups_per_dimension as usize;
    let splits = TARGET_GROUPS
        .div_ceil(tiles)
        .clamp(1, red.div_ceil(BK).min(max));
    let per = red.div_ceil(splits).div_ceil(BK) * BK;
    let splits = red.div_ceil(per);
    let p = s.params(per, splits);
    let consts = gemm(s, 2);
    let dw = rec.alloc_or(out, &[s.k, s.c, s.ks, s.ks]);
    if splits == 1 {
        // One split: the GEMM writes the gradient itself.
        rec.dispatch(
            Kernel::with("conv2d_shared", "gemm", &consts),
            &p,
            &[dy, x, &dw],
            [groups(cols, TILE), groups(rows, TILE), 1],
        );
        return dw;
    }
    let partial = rec.alloc(&[splits, s.k, s.c, s.ks, s.ks]);
    rec.dispatch(
        Kernel::with("conv2d_shared", "gemm", &consts),
        &p,
        &[dy, x, &partial],
        [groups(cols, TILE), groups(rows, TILE), splits as u32],
    );
    rec.dispatch(
        s.generic("backward_weight_reduce"),
        &p,
        &[&partial, &dw],
        grid_1d(dw.numel(), 256),
    );
    dw
}
