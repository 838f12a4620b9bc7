//! Pooling: 2×2 max pooling (stride 2) and non-overlapping average pooling (global when the
//! window is the whole plane). Shapes: x (N, C, H, W) → y (N, C, H/win, W/win).

use super::dispatch_1d;
use crate::gpu::{Kernel, Recorder, Tensor};
use crate::tape::{Tape, Var};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    c: u32,
    h: u32,
    w: u32,
    oh: u32,
    ow: u32,
    win: u32,
    _pad: u32,
}

fn params(x: &[usize], win: usize) -> Params {
    assert_eq!(x.len(), 4, "pooling input must be NCHW");
    let (oh, ow) = (x[2] / win, x[3] / win);
    assert!(
        oh > 0 && ow > 0,
        "pooling window {win} larger than the {}×{} input",
        x[2],
        x[3]
    );
    Params {
        n: x[0] as u32,
        c: x[1] as u32,
        h: x[2] as u32,
        w: x[3] as u32,
        oh: oh as u32,
        ow: ow as u32,
        win: win as u32,
        _pad: 0,
    }
}

fn out_shape(x: &[usize], win: usize) -> [usize; 4] {
    [x[0], x[1], x[2] / win, x[3] / win]
}

pub fn max_forward(rec: &mut Recorder<'_>, x: &Tensor) -> Tensor {
    let y = rec.alloc_as(&out_shape(x.shape(), 2), x.dtype());
    dispatch_1d(
        rec,
        Kernel::new("pool", "max_forward"),
        &params(x.shape(), 2),
        &[x, &y],
        y.numel(),
    );
    y
}

/// dx: dy to the first maximum of each window, 0 elsewhere (overwrites).
pub fn max_backward(rec: &mut Recorder<'_>, x: &Tensor, dy: &Tensor) -> Tensor {
    let dx = rec.alloc(x.shape());
    dispatch_1d(
        rec,
        Kernel::new("pool", "max_backward"),
        &params(x.shape(), 2),
        &[x, dy, &dx],
        x.numel(),
    );
    dx
}

/// Always f32: global average pooling ends mixed precision (the features feed the f32 linear layer).
pub fn avg_forward(rec: &mut Recorder<'_>, x: &Tensor, win: usize) -> Tensor {
    let y = rec.alloc(&out_shape(x.shape(), win));
    dispatch_1d(
        rec,
        Kernel::new("pool", "avg_forward"),
        &params(x.shape(), win),
        &[x, &y],
        y.numel(),
    );
    y
}

pub fn avg_backward(rec: &mut Recorder<'_>, x_shape: &[usize], dy: &Tensor, win: usize) -> Tensor {
    let dx = rec.alloc(x_shape);
    dispatch_1d(
        rec,
        Kernel::new("pool", "avg_backward"),
        &params(x_shape, win),
        &[dy, &dx],
        dx.numel(),
    );
    dx
}

pub fn max_pool2(rec: &mut Recorder<'_>, tape: &mut Tape, x: &Var) -> Var {
    let y = max_forward(rec, &x.value);
    let xv = x.value.clone();
    tape.record(
        &[x],
        y,
        Box::new(move |rec, dy, _| vec![Some(max_backward(rec, &xv, dy))]),
    )
}

/// Global average pooling: (N, C, H, W) → (N, C).
pub fn global_avg_pool(rec: &mut Recorder<'_>, tape: &mut Tape, x: &Var) -> Var {
    let s = x.shape().to_vec();
    assert_eq!(s[2], s[3], "global average pooling expects square planes");
    let y = avg_forward(rec, &x.value, s[2]).reshape(&[s[0], s[1]]);
    tape.record(
        &[x],
        y,
        Box::new(move |rec, dy, _| {
            let dy = dy.reshape(&[s[0], s[1], 1, 1]);
            vec![Some(avg_backward(rec, &s, &dy, s[2]))]
        }),
    )
}

/// The uniform's layout, checked against the WGSL `Params` (tests/params_layout.rs).
#[doc(hidden)]
pub fn params_layout() -> super::layout::ParamsLayout {
    super::layout::params_layout!(Params, ["pool"], [n, c, h, w, oh, ow, win])
}
