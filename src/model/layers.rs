//! The layers models are made of. Each holds indices into the model's `Store` and applies itself
//! through the tape-aware ops, so a model's forward reads like its PyTorch twin.

use super::store::{BufferId, Init, ParamId, Store};
use crate::gpu::{Gpu, Recorder};
use crate::ops::{batchnorm, conv2d, linear};
use crate::rng::Rng;
use crate::tape::{Tape, Var};

/// Everything a forward needs: where to record, what to remember, which weights, which mode.
pub struct Ctx<'a, 'r, 'g> {
    pub rec: &'a mut Recorder<'r>,
    pub tape: &'a mut Tape,
    pub store: &'g Store,
    /// Training mode: batch statistics in batch norm (and running statistics updated).
    pub train: bool,
}

impl Ctx<'_, '_, '_> {
    /// A parameter whose gradient the backward writes straight into its arena slot.
    fn param(&mut self, id: ParamId) -> Var {
        let p = &self.store.params[id.0];
        self.tape.param(&p.value, &p.grad)
    }
}

pub struct Conv2d {
    weight: ParamId,
    stride: usize,
    pad: usize,
}

impl Conv2d {
    /// A bias-free k×k convolution with "same" padding (k / 2), named `{name}.weight`.
    pub fn new(
        gpu: &Gpu,
        rng: &mut Rng,
        store: &mut Store,
        name: &str,
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
    ) -> Conv2d {
        let weight = store.param(
            gpu,
            rng,
            format!("{name}.weight"),
            &[cout, cin, k, k],
            Init::KaimingNormal {
                fan_in: cin * k * k,
            },
        );
        Conv2d {
            weight,
            stride,
            pad: k / 2,
        }
    }

    pub fn apply(&self, ctx: &mut Ctx, x: &Var) -> Var {
        let w = ctx.param(self.weight);
        conv2d::conv2d(ctx.rec, ctx.tape, x, &w, self.stride, self.pad)
    }
}

pub struct BatchNorm2d {
    weight: ParamId,
    bias: ParamId,
    running_mean: BufferId,
    running_var: BufferId,
}

impl BatchNorm2d {
    pub fn new(gpu: &Gpu, rng: &mut Rng, store: &mut Store, name: &str, c: usize) -> BatchNorm2d {
        BatchNorm2d {
            weight: store.param(gpu, rng, format!("{name}.weight"), &[c], Init::Const(1.0)),
            bias: store.param(gpu, rng, format!("{name}.bias"), &[c], Init::Const(0.0)),
            running_mean: store.buffer(gpu, format!("{name}.running_mean"), &[c], 0.0),
            running_var: store.buffer(gpu, format!("{name}.running_var"), &[c], 1.0),
        }
    }

    pub fn apply(&self, ctx: &mut Ctx, x: &Var) -> Var {
        self.apply_act(ctx, x, false)
    }

    /// BN followed by ReLU (the pair every model here uses), fused into one kernel each way.
    pub fn apply_relu(&self, ctx: &mut Ctx, x: &Var) -> Var {
        self.apply_act(ctx, x, true)
    }

    fn apply_act(&self, ctx: &mut Ctx, x: &Var, relu: bool) -> Var {
        let (g, b) = (ctx.param(self.weight), ctx.param(self.bias));
        let bn = batchnorm::Bn {
            running_mean: &ctx.store.buffers[self.running_mean.0].value,
            running_var: &ctx.store.buffers[self.running_var.0].value,
            health: &ctx.store.health,
            train: ctx.train,
            relu,
        };
        batchnorm::batch_norm(ctx.rec, ctx.tape, x, &g, &b, bn)
    }
}

pub struct Linear {
    weight: ParamId,
    bias: ParamId,
}

impl Linear {
    pub fn new(
        gpu: &Gpu,
        rng: &mut Rng,
        store: &mut Store,
        name: &str,
        cin: usize,
        cout: usize,
    ) -> Linear {
        Linear {
            weight: store.param(
                gpu,
                rng,
                format!("{name}.weight"),
                &[cout, cin],
                Init::Uniform { fan_in: cin },
            ),
            bias: store.param(
                gpu,
                rng,
                format!("{name}.bias"),
                &[cout],
                Init::Uniform { fan_in: cin },
            ),
        }
    }

    pub fn apply(&self, ctx: &mut Ctx, x: &Var) -> Var {
        let (w, b) = (ctx.param(self.weight), ctx.param(self.bias));
        linear::linear(ctx.rec, ctx.tape, x, &w, &b)
    }
}
