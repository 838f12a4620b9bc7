//! One training step: the batch's images on the GPU, the recorded step (plain or soft-target),
//! the one readback of its loss, and the roll-back when that loss is not finite.

use super::records::{EpochSums, StepReport};
use super::Trainer;
use crate::error::{Error, Result};
use crate::gpu::{readback, Recorder, Tensor};
use crate::ops::mix::{mix, MixDraw};
use crate::ops::sgd::SgdConfig;
use crate::ops::soft_loss::SoftLossConfig;
use crate::rng::Rng;
use crate::train::config::{Method, Mix};
use crate::train::record_step;
use crate::train::step::{record_soft_step, SoftInputs};
use web_time::Instant;

impl Trainer {
    /// One training step. A non-finite loss is an error; the weights keep their last good values
    /// (the SGD kernel skips a step whose loss is not finite).
    pub async fn step(&mut self) -> Result<StepReport> {
        if self.batches.is_empty() {
            let mut rng = Rng::new(self.state.epoch_rng);
            self.batches = self.sampler.epoch(&mut rng, self.config.batch)?;
            self.next_epoch_rng = rng.state();
        }
        if self.config.kd_lambda > 0.0 && self.teacher.is_none() {
            return Err(Error::Config(
                "kdLambda > 0 needs a teacher checkpoint (CLI --teacher, JS teacherBytes)".into(),
            ));
        }
        let start = Instant::now();
        let lr = self.lr();
        let batch = &self.batches[self.state.step_in_epoch];
        let cskd = self.config.method == Method::Cskd;
        let sgd = SgdConfig {
            lr,
            momentum: self.config.momentum,
            weight_decay: self.config.weight_decay,
            nesterov: self.config.nesterov,
        };
        let mut aug = Rng::new(self.state.aug_rng);
        let mut mix_rng = Rng::new(self.state.mix_rng);
        let mut rec = Recorder::new(&self.gpu, &self.pool);
        // Both forwards update the running statistics before the loss is known: keep them.
        self.model.store.snapshot_buffers(&mut rec);
        let augment = self.config.augment;
        let (xa, labels) = self.anchors.load(
            &mut rec,
            &self.data.train,
            &batch.anchors,
            augment.then_some(&mut aug),
        );
        let xp = cskd.then(|| {
            self.partners
                .load(
                    &mut rec,
                    &self.data.train,
                    &batch.partners,
                    augment.then_some(&mut aug),
                )
                .0
        });
        let loss = if self.config.uses_soft_loss() {
            self.record_soft(&mut rec, &batch.anchors, xa, xp, &mut mix_rng, sgd)
        } else {
            record_step(
                &mut rec,
                &self.model,
                &xa,
                xp.as_ref(),
                &labels,
                self.config.loss(),
                sgd,
            )
        };
        let l = readback::read(&mut rec, &loss).await?;
        drop(rec);
        if !l[0].is_finite() {
            self.roll_back();
            let what = if l[3] == 1.0 {
                "batch-norm running statistics became non-finite".to_string()
            } else {
                format!("loss became {}", l[0])
            };
            return Err(Error::Diverged(format!(
                "{what} at epoch {} step {} (lr {lr}); training stopped, the weights and statistics are those of the last good step",
                self.state.epoch + 1,
                self.state.step_in_epoch + 1
            )));
        }
        self.verified = Some((self.state.clone(), self.history.len()));
        let images =
            self.batches[self.state.step_in_epoch].anchors.len() * if cskd { 2 } else { 1 };
        let seconds = start.elapsed().as_secs_f64();
        self.state.aug_rng = aug.state();
        self.state.mix_rng = mix_rng.state();
        self.state.step_in_epoch += 1;
        self.state.steps_done += 1;
        let s = &mut self.sums;
        (s.loss, s.ce, s.kl, s.steps, s.images, s.seconds) = (
            s.loss + l[0] as f64,
            s.ce + l[1] as f64,
            s.kl + l[2] as f64,
            s.steps + 1,
            s.images + images,
            s.seconds + seconds,
        );
        let report = StepReport {
            epoch: self.state.epoch,
            step: self.state.step_in_epoch,
            loss: l[0],
            ce: l[1],
            kl: l[2],
            lr,
            images_per_sec: images as f64 / seconds.max(1e-9),
            epoch_done: self.state.step_in_epoch == self.batches.len(),
        };
        if report.epoch_done {
            self.finish_epoch(lr);
        }
        Ok(report)
    }

    /// The soft-target step (docs/METHODS.md): mixing draws and uploads, then the step.
    fn record_soft(
        &self,
        rec: &mut Recorder<'_>,
        indices: &[u32],
        xa: Tensor,
        xp: Option<Tensor>,
        mix_rng: &mut Rng,
        sgd: SgdConfig,
    ) -> Tensor {
        let c = &self.config;
        let uploads = self
            .soft
            .as_ref()
            .expect("made when the soft loss is configured");
        let draw = (c.mix != Mix::None)
            .then(|| MixDraw::draw(mix_rng, indices.len(), c.mix_alpha, c.mix == Mix::Cutmix));
        let perm = draw.as_ref().map(|d| d.perm.as_slice());
        let (info, perm) = uploads.write(rec, &self.data.train, indices, perm);
        // Anchors and their partners are mixed alike: same pairs, same weight, same box.
        let (xa, xp) = match &draw {
            Some(d) => (mix(rec, &xa, &perm, d), xp.map(|x| mix(rec, &x, &perm, d))),
            None => (xa, xp),
        };
        let cfg = SoftLossConfig {
            temperature: c.temperature,
            lambda: c.lambda,
            smoothing: if c.method == Method::Ls {
                c.smoothing
            } else {
                0.0
            },
            kd_temperature: c.kd_temperature,
            kd_lambda: c.kd_lambda,
            mix: draw.as_ref().map_or(1.0, |d| d.m),
            alpha: c.pskd_alpha_at(self.state.epoch),
        };
        let inputs = SoftInputs {
            info: &info,
            prev: self.pskd_prev.as_ref(),
            teacher: self.teacher.as_ref().map(|t| &t.model),
        };
        record_soft_step(rec, &self.model, &xa, xp.as_ref(), inputs, cfg, sgd)
    }

    /// After a diverged step (SGD skipped it): back to the state before the last step whose loss
    /// was finite, since the weights that step produced are what made this loss non-finite. The
    /// batch-norm running statistics go back to their values before the diverged step.
    fn roll_back(&mut self) {
        let mut rec = Recorder::new(&self.gpu, &self.pool);
        self.model.store.restore_buffers(&mut rec);
        if let Some((state, history_len)) = self.verified.take() {
            self.model.store.roll_back_params(&mut rec);
            self.state = state;
            self.history.truncate(history_len);
            self.batches.clear();
            self.sums = EpochSums::default();
        }
    }
}
