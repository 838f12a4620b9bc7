//! Fused SGD update (momentum, weight decay) as torch.optim.SGD. Shapes: w, g, v, kept (n);
//! loss (≥1).

use super::dispatch_1d;
use crate::gpu::{Kernel, Recorder, Tensor};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    pub lr: f32,
    pub momentum: f32,
    pub weight_decay: f32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    _p: [u32; 3],
    lr: f32,
    momentum: f32,
    weight_decay: f32,
    _q: f32,
}

/// w and v are updated in place, unless loss[0] is not finite (the step is then skipped). A step
/// that runs first copies w and v into `kept` (the last weights a finite loss was computed with).
pub fn step(
    rec: &mut Recorder<'_>,
    w: &Tensor,
    g: &Tensor,
    v: &Tensor,
    loss: &Tensor,
    kept: (&Tensor, &Tensor),
    cfg: SgdConfig,
) {
    assert_eq!(w.numel(), g.numel(), "gradient size");
    assert_eq!(w.numel(), v.numel(), "velocity size");
    let p = Params {
        n: w.numel() as u32,
        _p: [0; 3],
        lr: cfg.lr,
        momentum: cfg.momentum,
        weight_decay: cfg.weight_decay,
        _q: 0.0,
    };
    dispatch_1d(
        rec,
        Kernel::new("sgd", "step"),
        &p,
        &[w, g, v, loss, kept.0, kept.1],
        w.numel(),
    );
}
