//! One training step: the batch's images on the GPU, the recorded step (plain or soft-target),
//! the one readback of its loss, and the roll-back when that loss is not finite.
//!
//! Steps can be pipelined: `step_ahead` records and submits the next step of the epoch before it
//! reads the loss of the step it reports, so the GPU runs step i+1 while the host waits for, checks and
//! reports step i. Reports stay exact and in order, one step late on the GPU. A non-finite loss
//! sets the SGD kernel's halt flag, so the step already queued behind it changes no weight; its
//! batch-norm statistics are undone from the diverged step's own snapshot slot (the slots
//! alternate). No step is recorded past the end of an epoch (the evaluation comes between), and
//! every other use of the trainer first settles the step in flight (`settle`).
//!
//! `prebuild_pipelines` records a step with a planning recorder (nothing runs) and builds the
//! pipelines it lists before the step itself, several at a time natively (`gpu::prebuild`).

use super::records::{EpochSums, StepReport, TrainState};
use super::Trainer;
use crate::error::{Error, Result};
use crate::gpu::readback::{self, PendingRead};
use crate::gpu::{Recorder, Tensor};
use crate::model::store::SNAPSHOT_SLOTS;
use crate::ops::mix::{mix, MixDraw};
use crate::ops::sgd::SgdConfig;
use crate::ops::soft_loss::SoftLossConfig;
use crate::rng::Rng;
use crate::train::config::{Method, Mix};
use crate::train::record_step;
use crate::train::step::{record_soft_step, SoftInputs};
use web_time::Instant;

/// A step recorded and submitted whose loss the host has not read yet.
pub(super) struct InFlight {
    loss: PendingRead,
    step: Step,
    recorded: Instant,
}

/// What a recorded step is, beside its loss.
struct Step {
    /// The host state once this step is accepted.
    after: TrainState,
    lr: f32,
    images: usize,
    /// Its running-statistics snapshot slot (`Store::snapshot_buffers`).
    slot: usize,
}

impl Trainer {
    /// One training step's report. A non-finite loss is an error; the weights keep their last
    /// good values (the SGD kernel skips a step whose loss is not finite, and every step after it).
    pub async fn step(&mut self) -> Result<StepReport> {
        self.step_with(false).await
    }

    /// `step`, leaving the epoch's next step submitted behind it, so that the GPU runs it while
    /// the host reads, checks and reports this one: for loops that only step (`train_epoch`, the
    /// benchmarks). Another method called between two of them settles the step in flight, which
    /// then counts as done (a checkpoint holds it; the next `step` returns its report).
    pub async fn step_ahead(&mut self) -> Result<StepReport> {
        self.step_with(true).await
    }

    async fn step_with(&mut self, ahead: bool) -> Result<StepReport> {
        if let Some(report) = self.ready.take() {
            return report;
        }
        self.check_teacher()?;
        if self.in_flight.is_empty() {
            let from = self.state.clone();
            let s = self.record(&from)?;
            self.in_flight.push_back(s);
        }
        // Keep the GPU busy while the host reads: the epoch's next step goes in first.
        let last = &self.in_flight.back().expect("a step in flight").step;
        if ahead && self.in_flight.len() == 1 && last.after.step_in_epoch < self.batches.len() {
            let from = last.after.clone();
            let s = self.record(&from)?;
            self.in_flight.push_back(s);
        }
        self.finish_oldest().await
    }

    /// Reads the step in flight, if any, so that the trainer's state and its weights agree; its
    /// report (or error) is what the next `step` returns. Everything but `step` calls it first.
    pub async fn settle(&mut self) {
        while self.ready.is_none() && !self.in_flight.is_empty() {
            let report = self.finish_oldest().await;
            self.ready = Some(report);
        }
    }

    /// Refuses when a step is in flight (the synchronous methods, which cannot settle it).
    pub(super) fn settled(&self) -> Result<()> {
        match self.in_flight.is_empty() {
            true => Ok(()),
            false => Err(Error::Config(
                "a training step is still in flight: await settle() (or any async method) first"
                    .into(),
            )),
        }
    }

    /// Records and submits the step that starts from `from` (the reported state, or the state
    /// after the step in flight).
    fn record(&mut self, from: &TrainState) -> Result<InFlight> {
        let recorded = Instant::now();
        let (gpu, pool) = (self.gpu.clone(), self.pool.clone());
        let mut rec = Recorder::new(&gpu, &pool);
        let (loss, step) = self.record_into(&mut rec, from)?;
        let loss = readback::start_read(&mut rec, &loss);
        Ok(InFlight {
            loss,
            step,
            recorded,
        })
    }

    /// Builds the pipelines that the next step needs and that are not built yet, several at a
    /// time natively (`gpu::prebuild`), by recording that step with a planning recorder; returns
    /// how many it built. That step then builds none (the epoch's last, smaller batch may need
    /// more). Without it, each pipeline is built when a step first dispatches it, one at a time:
    /// `cskd train` calls it before its first step (W3). On the web it builds them one at a time
    /// too, so it gains nothing there.
    pub fn prebuild_pipelines(&mut self) -> Result<usize> {
        self.check_teacher()?;
        let from = match self.in_flight.back() {
            Some(s) if s.step.after.step_in_epoch < self.batches.len() => s.step.after.clone(),
            Some(_) => return Ok(0),
            None => self.state.clone(),
        };
        let (gpu, pool) = (self.gpu.clone(), self.pool.clone());
        let mut rec = Recorder::planning(&gpu, &pool);
        self.record_into(&mut rec, &from)?;
        let plan = rec.into_plan();
        Ok(gpu.pipelines.prebuild(&plan))
    }

    fn check_teacher(&self) -> Result<()> {
        match self.config.kd_lambda > 0.0 && self.teacher.is_none() {
            true => Err(Error::Config(
                "kdLambda > 0 needs a teacher checkpoint (CLI --teacher, JS teacherBytes)".into(),
            )),
            false => Ok(()),
        }
    }

    /// Records the step that starts from `from` into `rec`: its loss (not read yet) and what the
    /// step is, less its readback.
    fn record_into(&mut self, rec: &mut Recorder<'_>, from: &TrainState) -> Result<(Tensor, Step)> {
        if self.batches.is_empty() {
            let mut rng = Rng::new(from.epoch_rng);
            self.batches = self.sampler.epoch(&mut rng, self.config.batch)?;
            self.next_epoch_rng = rng.state();
        }
        let lr = self.config.lr_at(from.epoch);
        let batch = &self.batches[from.step_in_epoch];
        let cskd = self.config.method == Method::Cskd;
        let sgd = SgdConfig {
            lr,
            momentum: self.config.momentum,
            weight_decay: self.config.weight_decay,
            nesterov: self.config.nesterov,
        };
        let mut aug = Rng::new(from.aug_rng);
        let mut mix_rng = Rng::new(from.mix_rng);
        let slot = (from.steps_done % SNAPSHOT_SLOTS as u64) as usize;
        // Both forwards update the running statistics before the loss is known: keep them.
        self.model.store.snapshot_buffers(rec, slot);
        let augment = self.config.augment;
        let (xa, labels) = self.anchors.load(
            rec,
            &self.data.train,
            &batch.anchors,
            augment.then_some(&mut aug),
        );
        let xp = cskd.then(|| {
            self.partners
                .load(
                    rec,
                    &self.data.train,
                    &batch.partners,
                    augment.then_some(&mut aug),
                )
                .0
        });
        let images = batch.anchors.len() * if cskd { 2 } else { 1 };
        let anchors = batch.anchors.clone();
        let loss = if self.config.uses_soft_loss() {
            self.record_soft(rec, &anchors, xa, xp, &mut mix_rng, sgd, from)
        } else {
            record_step(
                rec,
                &self.model,
                &xa,
                xp.as_ref(),
                &labels,
                self.config.loss(),
                sgd,
            )
        };
        let mut after = from.clone();
        after.aug_rng = aug.state();
        after.mix_rng = mix_rng.state();
        after.step_in_epoch += 1;
        after.steps_done += 1;
        Ok((
            loss,
            Step {
                after,
                lr,
                images,
                slot,
            },
        ))
    }

    /// Reads the oldest step in flight and accepts it (or rolls back when its loss is not finite).
    async fn finish_oldest(&mut self) -> Result<StepReport> {
        let InFlight {
            loss,
            step: s,
            recorded,
        } = self.in_flight.pop_front().expect("a step in flight");
        let overlapped = !self.in_flight.is_empty();
        let l = match loss.finish(&self.gpu, &self.pool, overlapped).await {
            Ok(l) => l,
            Err(e) => {
                self.abandon_in_flight().await;
                return Err(e);
            }
        };
        if !l[0].is_finite() {
            // The step behind it ran halted: its loss means nothing, its statistics go back too.
            self.abandon_in_flight().await;
            self.roll_back(s.slot);
            let what = if l[3] == 1.0 {
                "batch-norm running statistics became non-finite".to_string()
            } else {
                format!("loss became {}", l[0])
            };
            return Err(Error::Diverged(format!(
                "{what} at epoch {} step {} (lr {}); training stopped, the weights and statistics are those of the last good step",
                self.state.epoch + 1,
                self.state.step_in_epoch + 1,
                s.lr
            )));
        }
        self.verified = Some((self.state.clone(), self.history.len()));
        self.state = s.after;
        // Wall time since the previous report (or since this step was recorded, after a pause).
        let now = Instant::now();
        let since = match self.last_report {
            Some(t) if t > recorded => t,
            _ => recorded,
        };
        self.last_report = Some(now);
        let seconds = now.duration_since(since).as_secs_f64();
        let sums = &mut self.sums;
        (
            sums.loss,
            sums.ce,
            sums.kl,
            sums.steps,
            sums.images,
            sums.seconds,
        ) = (
            sums.loss + l[0] as f64,
            sums.ce + l[1] as f64,
            sums.kl + l[2] as f64,
            sums.steps + 1,
            sums.images + s.images,
            sums.seconds + seconds,
        );
        let report = StepReport {
            epoch: self.state.epoch,
            step: self.state.step_in_epoch,
            loss: l[0],
            ce: l[1],
            kl: l[2],
            lr: s.lr,
            images_per_sec: s.images as f64 / seconds.max(1e-9),
            epoch_done: self.state.step_in_epoch == self.batches.len(),
        };
        if report.epoch_done {
            self.finish_epoch(s.lr);
            self.last_report = None;
        }
        Ok(report)
    }

    /// Waits for the steps still in flight and drops them (after a divergence or a failed read).
    async fn abandon_in_flight(&mut self) {
        while let Some(s) = self.in_flight.pop_front() {
            let _ = s.loss.finish(&self.gpu, &self.pool, false).await;
        }
    }

    /// The soft-target step (docs/METHODS.md): mixing draws and uploads, then the step.
    #[allow(clippy::too_many_arguments)]
    fn record_soft(
        &self,
        rec: &mut Recorder<'_>,
        indices: &[u32],
        xa: Tensor,
        xp: Option<Tensor>,
        mix_rng: &mut Rng,
        sgd: SgdConfig,
        from: &TrainState,
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
            alpha: c.pskd_alpha_at(from.epoch),
        };
        let inputs = SoftInputs {
            info: &info,
            prev: self.pskd_prev.as_ref(),
            teacher: self.teacher.as_ref().map(|t| &t.model),
        };
        record_soft_step(rec, &self.model, &xa, xp.as_ref(), inputs, cfg, sgd)
    }

    /// After a diverged step (SGD skipped it and halted): back to the state before the last step
    /// whose loss was finite, since the weights that step produced are what made this loss
    /// non-finite. The batch-norm running statistics go back to their values before the diverged
    /// step (its snapshot `slot`), and SGD's halt is cleared.
    fn roll_back(&mut self, slot: usize) {
        let mut rec = Recorder::new(&self.gpu, &self.pool);
        self.model.store.restore_buffers(&mut rec, slot);
        self.model.store.clear_halt(&mut rec);
        if let Some((state, history_len)) = self.verified.take() {
            self.model.store.roll_back_params(&mut rec);
            self.state = state;
            self.history.truncate(history_len);
            self.batches.clear();
            self.sums = EpochSums::default();
        }
    }
}
