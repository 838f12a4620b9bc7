//! Batch normalisation 2-D as torch.nn.BatchNorm2d (eps 1e-5, momentum 0.1).
//! Shapes: x, y (N, C, H, W); gamma, beta, running_mean, running_var (C).

use crate::gpu::{grid_1d, Kernel, Recorder, Tensor};
use crate::tape::{Tape, Var};

const FORWARD_TRAIN: Kernel = Kernel::new("batchnorm", "forward_train");
const FORWARD_EVAL: Kernel = Kernel::new("batchnorm", "forward_eval");
const BACKWARD: Kernel = Kernel::new("batchnorm", "backward");
const CHECK_HEALTH: Kernel = Kernel::new("batchnorm", "check_health");

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
    _pad: [u32; 3],
}

fn params(x: &Tensor) -> Params {
    let s = x.shape();
    assert_eq!(s.len(), 4, "batch norm input must be NCHW");
    Params {
        n: s[0] as u32,
        c: s[1] as u32,
        hw: (s[2] * s[3]) as u32,
        momentum: MOMENTUM,
        eps: EPS,
        _pad: [0; 3],
    }
}

/// The batch statistics a training forward keeps for its backward.
#[derive(Clone)]
pub struct Saved {
    pub mean: Tensor,
    pub rstd: Tensor,
}

/// Training mode: normalises with the batch statistics and updates the running ones in place;
/// sets `health[0]` to 1 when a running statistic becomes non-finite.
pub fn forward_train(
    rec: &mut Recorder<'_>,
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running: (&Tensor, &Tensor),
    health: &Tensor,
) -> (Tensor, Saved) {
    let (running_mean, running_var) = running;
    let c = x.shape()[1];
    let (y, mean, rstd) = (rec.alloc(x.shape()), rec.alloc(&[c]), rec.alloc(&[c]));
    rec.dispatch(
        FORWARD_TRAIN,
        &params(x),
        &[
            x,
            gamma,
            beta,
            running_mean,
            running_var,
            &mean,
            &rstd,
            &y,
            health,
        ],
        [c as u32, 1, 1],
    );
    (y, Saved { mean, rstd })
}

/// Evaluation mode: normalises with the running statistics.
pub fn forward_eval(
    rec: &mut Recorder<'_>,
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
) -> Tensor {
    let y = rec.alloc(x.shape());
    rec.dispatch(
        FORWARD_EVAL,
        &params(x),
        &[x, gamma, beta, running_mean, running_var, &y],
        grid_1d(x.numel(), 256),
    );
    y
}

/// Training-mode backward: (dx, dgamma, dbeta), all overwritten.
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
    rec.dispatch(
        BACKWARD,
        &params(x),
        &[x, dy, gamma, &saved.mean, &saved.rstd, &dx, &dgamma, &dbeta],
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
        _pad: [0; 3],
    };
    rec.dispatch(CHECK_HEALTH, &p, &[health, loss], [1, 1, 1]);
}

/// Tape-aware batch norm. `train` selects batch statistics (and updates the running ones,
/// flagging non-finite ones in `health`).
#[allow(clippy::too_many_arguments)]
pub fn batch_norm(
    rec: &mut Recorder<'_>,
    tape: &mut Tape,
    x: &Var,
    gamma: &Var,
    beta: &Var,
    running_mean: &Tensor,
    running_var: &Tensor,
    health: &Tensor,
    train: bool,
) -> Var {
    if !train {
        let y = forward_eval(
            rec,
            &x.value,
            &gamma.value,
            &beta.value,
            running_mean,
            running_var,
        );
        return Var::constant(y);
    }
    let (y, saved) = forward_train(
        rec,
        &x.value,
        &gamma.value,
        &beta.value,
        (running_mean, running_var),
        health,
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
