//! 2-D convolution (no bias), 3×3 or 1×1, stride 1 or 2, zero padding.
//! Shapes: x (N, C, H, W); w (K, C, KS, KS) as PyTorch; y (N, K, OH, OW), OH = (H + 2·pad − KS)/stride + 1.
//! The public functions run the implementation `kernels` picks for the device's family (one module
//! per family); the generic kernels serve every family for the shapes its own kernels do not cover.

mod compact;
mod generic;
mod shared;
mod tiled;

use crate::gpu::{Gpu, Kernel, KernelFamily, Recorder, Tensor};
use crate::tape::{Tape, Var};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(super) struct Params {
    n: u32,
    c: u32,
    h: u32,
    w: u32,
    k: u32,
    oh: u32,
    ow: u32,
    pad: u32,
    rows_per_split: u32,
    splits: u32,
    _pad: [u32; 2],
}

/// The geometry of one convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvShape {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub k: usize,
    pub ks: usize,
    pub stride: usize,
    pub pad: usize,
}

/// Most bytes the weight gradient's partial sums may take: more splits fill a bigger device, but
/// the partials are the largest scratch buffer of a step (docs/BENCHMARKS.md, memory floor).
const PARTIAL_BYTES_MAX: usize = 2 << 20;

impl ConvShape {
    pub fn new(x: &[usize], w: &[usize], stride: usize, pad: usize) -> ConvShape {
        assert_eq!(x.len(), 4, "conv2d input must be NCHW");
        assert_eq!(w.len(), 4, "conv2d weight must be KCRS");
        assert_eq!(
            x[1], w[1],
            "conv2d: input has {} channels, weight expects {}",
            x[1], w[1]
        );
        assert_eq!(w[2], w[3], "square kernels only");
        assert!(
            matches!(w[2], 1 | 3) && matches!(stride, 1 | 2),
            "conv2d supports 1×1/3×3, stride 1/2"
        );
        ConvShape {
            n: x[0],
            c: x[1],
            h: x[2],
            w: x[3],
            k: w[0],
            ks: w[2],
            stride,
            pad,
        }
    }
    pub fn oh(&self) -> usize {
        (self.h + 2 * self.pad - self.ks) / self.stride + 1
    }
    pub fn ow(&self) -> usize {
        (self.w + 2 * self.pad - self.ks) / self.stride + 1
    }
    pub fn out_shape(&self) -> [usize; 4] {
        [self.n, self.k, self.oh(), self.ow()]
    }
    /// The most reduction splits whose partial sums fit `PARTIAL_BYTES_MAX` (at least 1).
    pub(super) fn max_splits(&self) -> usize {
        (PARTIAL_BYTES_MAX / (4 * self.k * self.c * self.ks * self.ks)).max(1)
    }
    /// The 3×3 stride-1 convolution whose output is this one's input gradient: dy convolved with
    /// the flipped, transposed weights, padded by 2 − pad.
    pub(super) fn transposed(&self) -> ConvShape {
        debug_assert!(self.ks == 3 && self.stride == 1 && self.pad <= 2);
        let t = ConvShape {
            n: self.n,
            c: self.k,
            h: self.oh(),
            w: self.ow(),
            k: self.c,
            ks: 3,
            stride: 1,
            pad: 2 - self.pad,
        };
        debug_assert_eq!((t.oh(), t.ow()), (self.h, self.w));
        t
    }
    /// Multiply-adds of the forward (each backward costs the same).
    pub fn macs(&self) -> usize {
        self.n * self.k * self.oh() * self.ow() * self.c * self.ks * self.ks
    }
    pub(super) fn params(&self, rows_per_split: usize, splits: usize) -> Params {
        Params {
            n: self.n as u32,
            c: self.c as u32,
            h: self.h as u32,
            w: self.w as u32,
            k: self.k as u32,
            oh: self.oh() as u32,
            ow: self.ow() as u32,
            pad: self.pad as u32,
            rows_per_split: rows_per_split as u32,
            splits: splits as u32,
            _pad: [0; 2],
        }
    }
    /// A generic kernel with this shape's KS and STRIDE.
    pub(super) fn generic(&self, entry: &'static str) -> Kernel<'static> {
        Kernel::with("conv2d_generic", entry, self.consts())
    }
    fn consts(&self) -> &'static [(&'static str, f64)] {
        match (self.ks, self.stride) {
            (3, 1) => &[("KS", 3.0), ("STRIDE", 1.0)],
            (3, 2) => &[("KS", 3.0), ("STRIDE", 2.0)],
            (1, 1) => &[("KS", 1.0), ("STRIDE", 1.0)],
            _ => &[("KS", 1.0), ("STRIDE", 2.0)],
        }
    }
}

/// One implementation's three kernels (the functions of its module).
struct Kernels {
    forward: fn(&mut Recorder<'_>, &ConvShape, &Tensor, &Tensor) -> Tensor,
    backward_input: fn(&mut Recorder<'_>, &ConvShape, &Tensor, &Tensor) -> Tensor,
    backward_weight: fn(&mut Recorder<'_>, &ConvShape, &Tensor, &Tensor, Option<&Tensor>) -> Tensor,
}

macro_rules! kernels_of {
    ($module:ident) => {
        Kernels {
            forward: $module::forward,
            backward_input: $module::backward_input,
            backward_weight: $module::backward_weight,
        }
    };
}

const SHARED: Kernels = kernels_of!(shared);
const TILED: Kernels = kernels_of!(tiled);
const COMPACT: Kernels = kernels_of!(compact);
const GENERIC: Kernels = kernels_of!(generic);

/// Whose kernels run `s` on this device, the one place the fallback is decided: the family's own
/// where they cover the shape; the shared family falls back to the tiled kernels where its
/// workgroups or grid do not fit; every family to the generic kernels for the rest. The tiled and
/// compact kernels take 3×3 stride 1 with pad ≤ 2 (so that the input gradient is one too).
fn kernels(gpu: &Gpu, s: &ConvShape) -> &'static Kernels {
    let stride1_3x3 = s.ks == 3 && s.stride == 1 && s.pad <= 2;
    match gpu.family() {
        KernelFamily::Shared if shared::fits(gpu, s) => &SHARED,
        KernelFamily::Compact if stride1_3x3 => &COMPACT,
        KernelFamily::Tiled | KernelFamily::Shared if stride1_3x3 => &TILED,
        _ => &GENERIC,
    }
}

/// y = conv(x, w).
pub fn forward(
    rec: &mut Recorder<'_>,
    x: &Tensor,
    w: &Tensor,
    stride: usize,
    pad: usize,
) -> Tensor {
    let s = ConvShape::new(x.shape(), w.shape(), stride, pad);
    rec.set_op(
        crate::gpu::profile::OpFamily::ConvForward,
        2.0 * s.macs() as f64,
    );
    (kernels(rec.gpu, &s).forward)(rec, &s, x, w)
}

/// dx (N, C, H, W) from dy (N, K, OH, OW); overwrites.
pub fn backward_input(rec: &mut Recorder<'_>, s: &ConvShape, dy: &Tensor, w: &Tensor) -> Tensor {
    rec.set_op(
        crate::gpu::profile::OpFamily::ConvInputGrad,
        2.0 * s.macs() as f64,
    );
    (kernels(rec.gpu, s).backward_input)(rec, s, dy, w)
}

/// dw (K, C, KS, KS) from dy and x, written into `out` if given; overwrites.
pub fn backward_weight(
    rec: &mut Recorder<'_>,
    s: &ConvShape,
    dy: &Tensor,
    x: &Tensor,
    out: Option<&Tensor>,
) -> Tensor {
    rec.set_op(
        crate::gpu::profile::OpFamily::ConvWeightGrad,
        2.0 * s.macs() as f64,
    );
    (kernels(rec.gpu, s).backward_weight)(rec, s, dy, x, out)
}

pub fn conv2d(
    rec: &mut Recorder<'_>,
    tape: &mut Tape,
    x: &Var,
    w: &Var,
    stride: usize,
    pad: usize,
) -> Var {
    let y = forward(rec, &x.value, &w.value, stride, pad);
    let s = ConvShape::new(x.shape(), w.shape(), stride, pad);
    let (xv, wv) = (x.value.clone(), w.value.clone());
    tape.record(
        &[x, w],
        y,
        Box::new(move |rec, dy, wants| {
            let dx = wants[0].any().then(|| backward_input(rec, &s, dy, &wv));
            let dw = wants[1]
                .any()
                .then(|| backward_weight(rec, &s, dy, &xv, wants[1].target()));
            vec![dx, dw]
        }),
    )
}

/// The uniform's layout, checked against the WGSL `Params` (tests/params_layout.rs).
#[doc(hidden)]
pub fn params_layout() -> crate::ops::layout::ParamsLayout {
    crate::ops::layout::params_layout!(
        Params,
        [
            "conv2d_generic",
            "conv2d_tiled",
            "conv2d_shared",
            "conv2d_compact3"
        ],
        [n, c, h, w, k, oh, ow, pad, rows_per_split, splits]
    )
}
