//! One training step, recorded into one encoder: anchors forward (taped), partners forward (no
//! tape, training-mode batch norm), fused loss, backward, SGD on every parameter (one dispatch over the parameter arena). Nothing is read
//! back: the caller reads the returned loss tensor when it wants to.

use crate::gpu::{Recorder, Tensor};
use crate::model::Model;
use crate::ops::batchnorm;
use crate::ops::loss::{cskd_loss, LossConfig};
use crate::ops::sgd::{self, SgdConfig};
use crate::ops::soft_loss::{soft_loss, SoftLossConfig};
use crate::tape::{Tape, Var};

/// Records a step on normalised inputs. `partners = None` is the CE / label-smoothing step.
/// Returns the loss tensor (4): L, mean CE, mean T²·KL, and 1 when batch-norm running statistics
/// became non-finite (L is then NaN). Parameters are not updated when L is not finite (the SGD
/// kernel checks it), so the last good weights survive a divergence.
pub fn record_step(
    rec: &mut Recorder<'_>,
    model: &Model,
    anchors: &Tensor,
    partners: Option<&Tensor>,
    labels: &Tensor,
    loss_cfg: LossConfig,
    sgd_cfg: SgdConfig,
) -> Tensor {
    let mut tape = Tape::new();
    let za = model
        .forward(rec, &mut tape, &Var::constant(anchors.clone()), true)
        .logits;
    let zp = partners.map(|x| partner_logits(rec, model, x));
    let out = cskd_loss(rec, &za.value, zp.as_ref(), labels, loss_cfg);
    backward_and_update(rec, model, tape, &za, out.dza, &out.loss, sgd_cfg);
    out.loss
}

/// What the soft-target step needs besides the images: `info` (B, 3) u32 = (y, y_b, image index),
/// the PS-KD prediction buffer and the teacher.
pub struct SoftInputs<'a> {
    pub info: &'a Tensor,
    pub prev: Option<&'a Tensor>,
    pub teacher: Option<&'a Model>,
}

/// The step of mixup/CutMix, KD and PS-KD (docs/METHODS.md): like `record_step`, with the
/// soft-target loss, and the teacher's eval-mode forward on the same (mixed) anchors.
/// Returns the loss tensor (4): L, mean CE, L − mean CE, and the batch-norm health flag.
pub fn record_soft_step(
    rec: &mut Recorder<'_>,
    model: &Model,
    anchors: &Tensor,
    partners: Option<&Tensor>,
    inputs: SoftInputs<'_>,
    loss_cfg: SoftLossConfig,
    sgd_cfg: SgdConfig,
) -> Tensor {
    let mut tape = Tape::new();
    let za = model
        .forward(rec, &mut tape, &Var::constant(anchors.clone()), true)
        .logits;
    let zp = partners.map(|x| partner_logits(rec, model, x));
    let zt = inputs.teacher.map(|t| {
        t.forward(
            rec,
            &mut Tape::off(),
            &Var::constant(anchors.clone()),
            false,
        )
        .logits
        .value
    });
    let out = soft_loss(
        rec,
        &za.value,
        zp.as_ref(),
        zt.as_ref(),
        inputs.info,
        inputs.prev,
        loss_cfg,
    );
    backward_and_update(rec, model, tape, &za, out.dza, &out.loss, sgd_cfg);
    out.loss
}

/// The partner prediction is a fixed target: no tape, but batch statistics of its own half.
fn partner_logits(rec: &mut Recorder<'_>, model: &Model, x: &Tensor) -> Tensor {
    model
        .forward(rec, &mut Tape::off(), &Var::constant(x.clone()), true)
        .logits
        .value
}

fn backward_and_update(
    rec: &mut Recorder<'_>,
    model: &Model,
    tape: Tape,
    za: &Var,
    dza: Tensor,
    loss: &Tensor,
    sgd_cfg: SgdConfig,
) {
    // Non-finite running statistics count as divergence too: the step is skipped.
    batchnorm::check_health(rec, &model.store.health, loss);
    // Every gradient lands in its parameter's slot of the gradient arena (the tape sees to it).
    let grads = tape.backward(rec, za, dza);
    for p in &model.store.params {
        let g = grads
            .of(&p.value)
            .expect("every parameter takes part in the forward");
        assert!(
            g.same_view(&p.grad),
            "gradient of {} outside its slot",
            p.name
        );
    }
    let a = model.store.arena();
    sgd::step(
        rec,
        &a.values,
        &a.grads,
        &a.velocity,
        loss,
        a.kept(),
        sgd_cfg,
    );
}
