//! Batch normalisation 2-D as torch.nn.BatchNorm2d (eps 1e-5, momentum 0.1), optionally fused with
//! the ReLU that follows it (one dispatch forward, one backward). The same kernels serve every
//! family; only the training kernels' threads per channel differ (`per_channel`). Shapes: x, y (N, C, H, W); gamma, beta, running_mean, running_var (C).

use crate::gpu::{grid_1d, Kernel, KernelFamily, Recorder, Tensor, WG_1D};
use crate::tape::{Tape, Var};

const FORWARD_EVAL: Kernel = Kernel::new("batchnorm", "forward_eval");
const CHECK_HEALTH: Kernel = Kernel::new("batchnorm", "check_health");

/// A training kernel (one workgroup per channel) with this family's threads per channel: 32 on
/// browsers' software adapters, whose wide tree reductions cost more than they save (measured in
/// Chromium: 2–20× faster per kernel), 256 elsewhere.
fn per_channel(rec: &Recorder<'_>, entry: &'static str) -> Kernel<'static> {
    let consts: &'static [(&'static str, f64)] = match rec.gpu.family() {
        KernelFamily::Compact => &[("BN_WG", 32.0)],
        _ => &[("BN_WG", 256.0)],
    };
    Kernel::with("batchnorm", entry, consts)
}

pub const EPS: f32 = 1e-5;
pub const MOMENTUM: f32 = 0.1;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    c: u32,
    hw: u32,
    momentum: f32,
    eps: f32,
    relu: u32,
    _pad: [u32; 2],
}

fn params(x: &Tensor, relu: bool) -> Params {
    let s = x.shape();
    assert_eq!(s.len(), 4, "batch norm input must be NCHW");
    Params {
        n: s[0] as u32,
        c: s[1] as u32,
        hw: (s[2] * s[3]) as u32,
        momentum: MOMENTUM,
        eps: EPS,
        relu: relu as u32,
        _pad: [0; 2],
    }
}

/// What a training forward keeps for its backward: the batch statistics (2C: mean, then rstd,
/// in one tensor so that no kernel binds more than 8 storage buffers, WebGPU's default limit)
/// and, when ReLU was fused, the output (its sign is ReLU's mask).
#[derive(Clone)]
pub struct Saved {
    pub stats: Tensor,
    pub relu_output: Option<Tensor>,
}

/// Training mode: normalises with the batch statistics and updates the running ones in place,
/// then ReLU in the same dispatch when `relu`; sets `health[0]` to 1 when a running statistic
/// becomes non-finite.
pub fn forward_train(
    rec: &mut Recorder<'_>,
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running: (&Tensor, &Tensor),
    health: &Tensor,
    relu: bool,
) -> (Tensor, Saved) {
    let (running_mean, running_var) = running;
    let c = x.shape()[1];
    let (y, stats) = (rec.alloc(x.shape()), rec.alloc(&[2 * c]));
    rec.dispatch(
        per_channel(rec, "forward_train"),
        &params(x, relu),
        &[
            x,
            gamma,
            beta,
            running_mean,
            running_var,
            &stats,
            &y,
            health,
        ],
        [c as u32, 1, 1],
    );
    let relu_output = relu.then(|| y.clone());
    (y, Saved { stats, relu_output })
}

/// Evaluation mode: normalises with the running statistics, then ReLU when `relu`.
pub fn forward_eval(
    rec: &mut Recorder<'_>,
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running: (&Tensor, &Tensor),
    relu: bool,
) -> Tensor {
    let y = rec.alloc(x.shape());
    rec.dispatch(
        FORWARD_EVAL,
        &params(x, relu),
        &[x, gamma, beta, running.0, running.1, &y],
        grid_1d(x.numel(), WG_1D),
    );
    y
}

/// Training-mode backward (of BN, or of BN + ReLU when the forward fused it): (dx, dgamma,
/// dbeta), all overwritten; dgamma and dbeta land in `out` where given.
pub fn backward(
    rec: &mut Recorder<'_>,
    x: &Tensor,
    dy: &Tensor,
    gamma: &Tensor,
    saved: &Saved,
    out: (Option<&Tensor>, Option<&Tensor>),
) -> (Tensor, Tensor, Tensor) {
    let c = x.shape()[1];
    let (dx, dgamma, dbeta) = (
        rec.alloc(x.shape()),
        rec.alloc_or(out.0, &[c]),
        rec.alloc_or(out.1, &[c]),
    );
    // Without ReLU the mask input is not read: x stands in so the bindings stay the same.
    let y = saved.relu_output.as_ref().unwrap_or(x);
    rec.dispatch(
        per_channel(rec, "backward"),
        &params(x, saved.relu_output.is_some()),
        &[x, y, dy, gamma, &saved.stats, &dx, &dgamma, &dbeta],
        [c as u32, 1, 1],
    );
    (dx, dgamma, dbeta)
}

/// After a step's loss: a NaN loss (and loss[3] = 1) if any batch norm flagged non-finite
/// running statistics in `health`, which is cleared. SGD then skips the step.
pub fn check_health(rec: &mut Recorder<'_>, health: &Tensor, loss: &Tensor) {
    let p = Params {
        n: 0,
        c: health.numel() as u32,
        hw: 0,
        momentum: 0.0,
        eps: 0.0,
        relu: 0,
        _pad: [0; 2],
    };
    rec.dispatch(CHECK_HEALTH, &p, &[health, loss], [1, 1, 1]);
}

/// Running statistics, the health flag and the mode of a tape-aware batch norm.
pub struct Bn<'a> {
    pub running_mean: &'a Tensor,
    pub running_var: &'a Tensor,
    pub health: &'a Tensor,
    /// Batch statistics (and running ones updated, non-finite ones flagged in `health`).
    pub train: bool,
    /// ReLU fused after the normalisation.
    pub relu: bool,
}

/// Tape-aware batch norm (optionally + ReLU): one dispatch forward, one backward.
pub fn batch_norm(
    rec: &mut Recorder<'_>,
    tape: &mut Tape,
    x: &Var,
    gamma: &Var,
    beta: &Var,
    bn: Bn<'_>,
) -> Var {
    let running = (bn.running_mean, bn.running_var);
    if !bn.train {
        let y = forward_eval(rec, &x.value, &gamma.value, &beta.value, running, bn.relu);
        return Var::constant(y);
    }
    let (y, saved) = forward_train(
        rec,
        &x.value,
        &gamma.value,
        &beta.value,
        running,
        bn.health,
        bn.relu,
    );
    let (xv, gv) = (x.value.clone(), gamma.value.clone());
    tape.record(
        &[x, gamma, beta],
        y,
        Box::new(move |rec, dy, wants| {
            let out = (wants[1].target(), wants[2].target());
            let (dx, dg, db) = backward(rec, &xv, dy, &gv, &saved, out);
            vec![
                wants[0].any().then_some(dx),
                wants[1].any().then_some(dg),
                wants[2].any().then_some(db),
            ]
        }),
    )
}

/// The uniform's layout, checked against the WGSL `Params` (tests/params_layout.rs).
#[doc(hidden)]
pub fn params_layout() -> super::layout::ParamsLayout {
    super::layout::params_layout!(Params, ["batchnorm"], [n, c, hw, momentum, eps, relu])
}
