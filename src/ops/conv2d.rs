//! 2-D convolution (no bias), 3×3 or 1×1, stride 1 or 2, zero padding.
//! Shapes: x (N, C, H, W); w (K, C, KS, KS) as PyTorch; y (N, K, OH, OW), OH = (H + 2·pad − KS)/stride + 1.

use crate::gpu::{grid_1d, groups, Kernel, KernelFamily, Recorder, Tensor};
use crate::tape::{Tape, Var};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
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
    /// Multiply-adds of the forward (each backward costs the same).
    pub fn macs(&self) -> usize {
        self.n * self.k * self.oh() * self.ow() * self.c * self.ks * self.ks
    }
    fn params(&self, rows_per_split: usize, splits: usize) -> Params {
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
    fn kernel(
        &self,
        entry: &'static str,
        consts: &'static [(&'static str, f64)],
    ) -> Kernel<'static> {
        Kernel::with("conv2d", entry, consts)
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

/// The 3×3 stride-1 fast path applies (padding up to 2 so that the input gradient is one too).
fn fast3(rec: &Recorder<'_>, s: &ConvShape) -> bool {
    s.ks == 3 && s.stride == 1 && s.pad <= 2 && rec.gpu.family() != KernelFamily::Compact
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
        Kernel::with("conv2d", "repack_weight", consts),
        &s.params(0, 0),
        &[w, &packed],
        grid_1d(packed.numel(), 256),
    );
    packed
}

/// A 3×3 stride-1 convolution of `x` (N, C, H, W) with packed weights into (N, K, OH, OW).
fn forward3(rec: &mut Recorder<'_>, s: &ConvShape, x: &Tensor, packed: &Tensor) -> Tensor {
    let (oh, ow) = (s.oh(), s.ow());
    let y = rec.alloc(&s.out_shape());
    let grid = [
        groups(ow.div_ceil(4) * oh.div_ceil(4), 64),
        s.k.div_ceil(4) as u32,
        s.n as u32,
    ];
    rec.dispatch(
        Kernel::new("conv2d", "forward3"),
        &s.params(0, 0),
        &[x, packed, &y],
        grid,
    );
    y
}

pub fn forward(
    rec: &mut Recorder<'_>,
    x: &Tensor,
    w: &Tensor,
    stride: usize,
    pad: usize,
) -> Tensor {
    let s = ConvShape::new(x.shape(), w.shape(), stride, pad);
    if fast3(rec, &s) {
        let packed = repack(rec, &s, w, false);
        return forward3(rec, &s, x, &packed);
    }
    let y = rec.alloc(&s.out_shape());
    let grid = [
        groups(s.ow().div_ceil(4) * s.oh(), 16),
        groups(s.k, 16),
        s.n as u32,
    ];
    rec.dispatch(
        s.kernel("forward", s.consts()),
        &s.params(0, 0),
        &[x, w, &y],
        grid,
    );
    y
}

/// dx (N, C, H, W) from dy (N, K, OH, OW); overwrites.
pub fn backward_input(rec: &mut Recorder<'_>, s: &ConvShape, dy: &Tensor, w: &Tensor) -> Tensor {
    if fast3(rec, s) {
        // dx = the stride-1 convolution of dy with the flipped, transposed weights and padding 2 − pad.
        let packed = repack(rec, s, w, true);
        let t = ConvShape {
            n: s.n,
            c: s.k,
            h: s.oh(),
            w: s.ow(),
            k: s.c,
            ks: 3,
            stride: 1,
            pad: 2 - s.pad,
        };
        debug_assert_eq!((t.oh(), t.ow()), (s.h, s.w));
        return forward3(rec, &t, dy, &packed);
    }
    let dx = rec.alloc(&[s.n, s.c, s.h, s.w]);
    let grid = [
        groups(s.w.div_ceil(4) * s.h, 16),
        groups(s.c, 16),
        s.n as u32,
    ];
    rec.dispatch(
        s.kernel("backward_input", s.consts()),
        &s.params(0, 0),
        &[dy, w, &dx],
        grid,
    );
    dx
}

/// dw (K, C, KS, KS) from dy and x, written into `out` if given; overwrites. The sum over N·OH·OW is split across enough
/// threads to fill the device, then reduced by a second kernel.
pub fn backward_weight(
    rec: &mut Recorder<'_>,
    s: &ConvShape,
    dy: &Tensor,
    x: &Tensor,
    out: Option<&Tensor>,
) -> Tensor {
    // Each thread of the partial kernel owns 4 output channels × 2 (tiled 3×3) or 1 input channels.
    let (entry, outputs) = if fast3(rec, s) {
        ("backward_weight3", s.k.div_ceil(4) * s.c.div_ceil(2))
    } else {
        ("backward_weight_partial", s.k.div_ceil(4) * s.c)
    };
    let rows = s.n * s.oh();
    let splits = (16384usize.div_ceil(outputs)).clamp(1, rows);
    let rows_per_split = rows.div_ceil(splits);
    let splits = rows.div_ceil(rows_per_split);
    let p = s.params(rows_per_split, splits);
    let partial = rec.alloc(&[splits, s.k, s.c, s.ks, s.ks]);
    rec.dispatch(
        s.kernel(entry, s.consts()),
        &p,
        &[dy, x, &partial],
        [groups(outputs, 64), splits as u32, 1],
    );
    let dw = rec.alloc_or(out, &[s.k, s.c, s.ks, s.ks]);
    rec.dispatch(
        s.kernel("backward_weight_reduce", s.consts()),
        &p,
        &[&partial, &dw],
        grid_1d(dw.numel(), 256),
    );
    dw
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
