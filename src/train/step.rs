//! One training step, recorded into one encoder: anchors forward (taped), partners forward (no
//! tape, training-mode batch norm), fused loss, backward, SGD on every parameter. Nothing is read
//! back: the caller reads the returned loss tensor when it wants to.

use crate::gpu::{Recorder, Tensor};
use crate::model::Model;
use crate::ops::batchnorm;
use crate::ops::loss::{cskd_loss, LossConfig};
use crate::ops::sgd::{self, SgdConfig};
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
    // The partner prediction is a fixed target: no tape, but batch statistics of its own half.
    let zp = partners.map(|x| {
        model
            .forward(rec, &mut Tape::off(), &Var::constant(x.clone()), true)
            .logits
            .value
    });
    let out = cskd_loss(rec, &za.value, zp.as_ref(), labels, loss_cfg);
    // Non-finite running statistics count as divergence too: the step is skipped.
    batchnorm::check_health(rec, &model.store.health, &out.loss);
    let grads = tape.backward(rec, &za, out.dza);
    for p in &model.store.params {
        let g = grads
            .of(&p.value)
            .expect("every parameter takes part in the forward");
        let kept = (&p.kept_value, &p.kept_velocity);
        sgd::step(rec, &p.value, g, &p.velocity, &out.loss, kept, sgd_cfg);
    }
    out.loss
}
