//! The trainer: owns the model, the data, the sampler and the random streams, and runs steps,
//! epochs and evaluations. Host work per step is small (gather bytes, draw crops); everything
//! else is one recording on the GPU, and the loss is the one value read back.

use super::calibration::training_and_calibration;
use super::config::{Method, Mix, TrainConfig};
use super::identity::DataIdentity;
use super::inputs::{BatchInputs, SoftUploads};
use super::record_step;
use super::step::{record_soft_step, SoftInputs};
use super::teacher::{load_teacher, Teacher};
use crate::data::{Cifar, PairBatch, PairSampler, Split};
use crate::error::{Error, Result};
use crate::gpu::{readback, BufferPool, Gpu, Recorder, Tensor};
use crate::metrics::{self, Metrics};
use crate::model::{limits, Model};
use crate::ops::mix::{mix, MixDraw};
use crate::ops::sgd::SgdConfig;
use crate::ops::soft_loss::SoftLossConfig;
use crate::ops::softmax::softmax;
use crate::rng::Rng;
use crate::tape::{Tape, Var};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use web_time::Instant;

/// Images per evaluation chunk (fewer when a wide model's activations would not fit).
const EVAL_CHUNK: usize = 250;

/// Where training stands; with the weights, everything a bit-exact resume needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainState {
    /// Finished epochs.
    pub epoch: usize,
    /// Finished steps of the current epoch.
    pub step_in_epoch: usize,
    /// Sampler stream at the start of the current epoch (its batches are drawn again from it).
    pub epoch_rng: u64,
    /// Augmentation stream now.
    pub aug_rng: u64,
    pub steps_done: u64,
    /// Batches the batch-norm layers had counted before this run (weights given with `--init`):
    /// checkpoints report `num_batches_tracked` as this plus this run's training forwards.
    #[serde(default)]
    pub bn_batches_before: u64,
    /// Mixing stream now (its own stream, so other methods' draws never move).
    #[serde(default)]
    pub mix_rng: u64,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    pub epoch: usize,
    pub step: usize,
    pub loss: f32,
    pub ce: f32,
    pub kl: f32,
    pub lr: f32,
    pub images_per_sec: f64,
    /// This step finished an epoch.
    pub epoch_done: bool,
}

/// One line of metrics.jsonl.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EpochRecord {
    pub epoch: usize,
    pub lr: f32,
    pub train_loss: f64,
    pub train_ce: f64,
    pub train_kl: f64,
    pub seconds: f64,
    pub images_per_sec: f64,
    pub test: Option<Metrics>,
}

/// Test-set predictions: probabilities and logits (N, K), penultimate features (N, D) and the
/// metrics.
pub struct Evaluation {
    pub metrics: Metrics,
    pub probs: Vec<f32>,
    pub logits: Vec<f32>,
    pub features: Vec<f32>,
    pub feature_dim: usize,
}

/// Running sums of the current epoch (saved in checkpoints, so a mid-epoch resume reports the
/// same epoch loss as an uninterrupted run).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EpochSums {
    loss: f64,
    ce: f64,
    kl: f64,
    steps: usize,
    images: usize,
    seconds: f64,
}

pub struct Trainer {
    pub gpu: Arc<Gpu>,
    pub config: TrainConfig,
    pub model: Model,
    pub data: Cifar,
    /// Held-out training-pool images that fit the temperature (see `calibration`); may be empty.
    pub calibration: Split,
    /// Kind, sizes and fingerprint of the selected splits (checked on resume).
    pub data_identity: DataIdentity,
    pub state: TrainState,
    pub history: Vec<EpochRecord>,
    pool: BufferPool,
    sampler: PairSampler,
    batches: Vec<PairBatch>,
    /// Sampler stream after drawing the current epoch's batches: the next epoch starts there.
    next_epoch_rng: u64,
    anchors: BatchInputs,
    partners: BatchInputs,
    sums: EpochSums,
    eval_chunk: usize,
    /// Uploads of the soft-target step (mixing, KD, PS-KD), when the configuration uses it.
    soft: Option<SoftUploads>,
    /// PS-KD: every training image's last prediction (N, K), one-hot before its first step.
    pskd_prev: Option<Tensor>,
    /// KD: the teacher, run in eval mode (`set_teacher`).
    teacher: Option<Teacher>,
    /// State and history length before the last step whose loss was finite: where a divergence
    /// rolls back to (its weights are the ones that finite loss was computed with).
    verified: Option<(TrainState, usize)>,
}

/// The images a run with `config` uses: the class-balanced training subset, the calibration split
/// held out beside it, and the test subset (what `DataIdentity` fingerprints).
pub fn select_splits(config: &TrainConfig, mut data: Cifar) -> (Cifar, Split) {
    let k = data.num_classes();
    let calibration;
    (data.train, calibration) = training_and_calibration(
        std::mem::take(&mut data.train),
        config.per_class,
        k,
        config.seed,
        config.calibration_fraction,
    );
    if config.test_per_class > 0 {
        data.test = data
            .test
            .balanced_subset(config.test_per_class, k, config.seed ^ 0x7e57);
    }
    (data, calibration)
}

impl Trainer {
    /// Takes class-balanced subsets as configured and builds the model from the seed.
    pub fn new(gpu: Arc<Gpu>, config: TrainConfig, mut data: Cifar) -> Result<Trainer> {
        config.validate()?;
        let k = data.num_classes();
        let calibration;
        (data, calibration) = select_splits(&config, data);
        if data.train.is_empty() || data.test.is_empty() {
            return Err(Error::Config(format!(
                "need training and test images, got {} and {}",
                data.train.len(),
                data.test.len()
            )));
        }
        let model_config = config.model_config(k);
        let max_binding = gpu.limits.max_storage_buffer_binding_size as u64;
        let eval_chunk = EVAL_CHUNK
            .min(limits::max_images(&model_config, max_binding))
            .max(1);
        limits::check_fits(
            &model_config,
            config.batch.min(data.train.len()).max(eval_chunk),
            max_binding,
        )?;
        let model = Model::new(&gpu, &model_config, config.seed)?;
        let sampler = PairSampler::new(&data.train.labels, k)?;
        let cap = config.batch.min(data.train.len());
        let (anchors, partners) = (
            BatchInputs::new(&gpu, cap.max(eval_chunk)),
            BatchInputs::new(&gpu, cap),
        );
        let state = TrainState {
            epoch: 0,
            step_in_epoch: 0,
            epoch_rng: Rng::new(config.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5A17).state(),
            aug_rng: Rng::new(config.seed ^ 0xA06).state(),
            steps_done: 0,
            bn_batches_before: 0,
            mix_rng: Rng::new(config.seed ^ 0x313C_5EED).state(),
        };
        let soft = config.uses_soft_loss().then(|| SoftUploads::new(&gpu, cap));
        let pskd_prev = (config.method == Method::Pskd).then(|| {
            let n = data.train.len();
            let mut one_hot = vec![0f32; n * k];
            for (i, &y) in data.train.labels.iter().enumerate() {
                one_hot[i * k + y as usize] = 1.0;
            }
            Tensor::from_slice(&gpu.device, &gpu.queue, &[n, k], &one_hot)
        });
        Ok(Trainer {
            gpu,
            config,
            model,
            data_identity: DataIdentity::of(&data),
            data,
            calibration,
            state,
            history: Vec::new(),
            pool: BufferPool::new(),
            sampler,
            batches: Vec::new(),
            next_epoch_rng: 0,
            anchors,
            partners,
            sums: EpochSums::default(),
            eval_chunk,
            verified: None,
            soft,
            pskd_prev,
            teacher: None,
        })
    }

    pub fn steps_per_epoch(&self) -> usize {
        self.sampler.num_batches(self.config.batch)
    }

    pub fn finished(&self) -> bool {
        self.state.epoch >= self.config.epochs
    }

    pub fn lr(&self) -> f32 {
        self.config.lr_at(self.state.epoch)
    }

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

    /// PS-KD's predictions of the previous epoch (N, K), when the method is PS-KD.
    pub(crate) fn pskd_predictions(&self) -> Option<&Tensor> {
        self.pskd_prev.as_ref()
    }

    /// The KD teacher's fingerprint (recorded in checkpoints, checked on resume).
    pub fn teacher_fingerprint(&self) -> Option<&str> {
        self.teacher.as_ref().map(|t| t.fingerprint.as_str())
    }

    /// Sets the KD teacher from a cskd checkpoint (any model or width with the same classes).
    pub fn set_teacher(&mut self, bytes: &[u8]) -> Result<()> {
        let teacher = load_teacher(&self.gpu, bytes, &self.data.classes)?;
        let max_binding = self.gpu.limits.max_storage_buffer_binding_size;
        let batch = self.config.batch.min(self.data.train.len());
        limits::check_fits(&teacher.model.config, batch, max_binding)?;
        self.teacher = Some(teacher);
        Ok(())
    }

    fn finish_epoch(&mut self, lr: f32) {
        let s = std::mem::take(&mut self.sums);
        let n = s.steps.max(1) as f64;
        self.history.push(EpochRecord {
            epoch: self.state.epoch + 1,
            lr,
            train_loss: s.loss / n,
            train_ce: s.ce / n,
            train_kl: s.kl / n,
            seconds: s.seconds,
            images_per_sec: s.images as f64 / s.seconds.max(1e-9),
            test: None,
        });
        // The next epoch's batches come from where this epoch's draws left the sampler stream.
        self.state.epoch_rng = self.next_epoch_rng;
        self.state.epoch += 1;
        self.state.step_in_epoch = 0;
        self.batches.clear();
    }

    /// Runs the rest of the current epoch, then evaluates; returns the epoch's record.
    pub async fn train_epoch(
        &mut self,
        mut on_step: impl FnMut(&StepReport),
    ) -> Result<EpochRecord> {
        loop {
            let r = self.step().await?;
            on_step(&r);
            if r.epoch_done {
                break;
            }
        }
        self.evaluate().await?;
        Ok(self.history.last().cloned().expect("an epoch was recorded"))
    }

    /// Evaluates on the test split (eval-mode batch norm, no augmentation), with the temperature
    /// fitted on the calibration split when there is one; the metrics are also attached to the
    /// last finished epoch's record if it has none yet.
    pub async fn evaluate(&mut self) -> Result<Evaluation> {
        let mut eval = self.predict_split(true).await?;
        eval.metrics.temperature_scaled = self.temperature_scaled(&eval.logits).await?;
        if let Some(last) = self.history.last_mut() {
            if last.test.is_none() {
                last.test = Some(eval.metrics.clone());
            }
        }
        Ok(eval)
    }

    /// Test metrics after temperature scaling, T fitted on the calibration split's eval-mode
    /// logits; `None` without a calibration split (or with non-finite logits).
    async fn temperature_scaled(
        &mut self,
        test_logits: &[f32],
    ) -> Result<Option<metrics::TemperatureScaled>> {
        if self.calibration.is_empty() {
            return Ok(None);
        }
        let k = self.data.num_classes();
        let (_, _, logits) = self.forward_split(SplitKind::Calibration).await?;
        let Some(t) = metrics::fit_temperature(&logits, k, &self.calibration.labels)? else {
            return Ok(None);
        };
        Ok(Some(metrics::scaled_metrics(
            test_logits,
            k,
            &self.data.test.labels,
            t,
        )?))
    }

    /// Eval-mode probabilities, features and logits of every image of a split.
    async fn forward_split(&mut self, which: SplitKind) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>)> {
        let split: &Split = match which {
            SplitKind::Test => &self.data.test,
            SplitKind::Train => &self.data.train,
            SplitKind::Calibration => &self.calibration,
        };
        let k = self.data.num_classes();
        let d = self.model.feature_dim();
        let (mut probs, mut features, mut logits) = (
            Vec::with_capacity(split.len() * k),
            Vec::with_capacity(split.len() * d),
            Vec::with_capacity(split.len() * k),
        );
        let indices: Vec<u32> = (0..split.len() as u32).collect();
        for chunk in indices.chunks(self.eval_chunk) {
            let mut rec = Recorder::new(&self.gpu, &self.pool);
            let (x, _) = self.anchors.load(&mut rec, split, chunk, None);
            let out = self
                .model
                .forward(&mut rec, &mut Tape::off(), &Var::constant(x), false);
            let p = softmax(&mut rec, &out.logits.value);
            let mut got =
                readback::read_many(&mut rec, &[&p, &out.features.value, &out.logits.value])
                    .await?;
            logits.extend_from_slice(&got.pop().unwrap());
            features.extend_from_slice(&got.pop().unwrap());
            probs.extend_from_slice(&got.pop().unwrap());
        }
        Ok((probs, features, logits))
    }

    /// Probabilities, logits and features of every test (or training) image, with the metrics.
    pub async fn predict_split(&mut self, test: bool) -> Result<Evaluation> {
        let which = if test {
            SplitKind::Test
        } else {
            SplitKind::Train
        };
        let (probs, features, logits) = self.forward_split(which).await?;
        let split = if test {
            &self.data.test
        } else {
            &self.data.train
        };
        let k = self.data.num_classes();
        let d = self.model.feature_dim();
        let superclass = superclass_map(&self.data.train, k);
        let metrics = metrics::evaluate(
            &probs,
            k,
            &split.labels,
            Some((&features, d)),
            superclass.as_deref(),
        )?;
        Ok(Evaluation {
            metrics,
            probs,
            logits,
            features,
            feature_dim: d,
        })
    }

    /// Probabilities for already-normalised images (n, 3, 32, 32) given as f32.
    pub async fn predict_normalised(&self, images: &[f32]) -> Result<Vec<f32>> {
        let n = images.len() / 3072;
        let x = crate::gpu::Tensor::from_slice(
            &self.gpu.device,
            &self.gpu.queue,
            &[n, 3, 32, 32],
            images,
        );
        let mut rec = Recorder::new(&self.gpu, &self.pool);
        let out = self
            .model
            .forward(&mut rec, &mut Tape::off(), &Var::constant(x), false);
        let p = softmax(&mut rec, &out.logits.value);
        readback::read(&mut rec, &p).await
    }

    /// Pool used by this trainer (benchmarks check it stops growing).
    pub fn pool(&self) -> &BufferPool {
        &self.pool
    }

    /// The running sums of the current epoch.
    pub fn epoch_sums(&self) -> &EpochSums {
        &self.sums
    }

    pub(crate) fn restore(
        &mut self,
        state: TrainState,
        history: Vec<EpochRecord>,
        sums: EpochSums,
    ) {
        self.state = state;
        self.history = history;
        self.batches.clear();
        self.sums = sums;
        self.verified = None;
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

#[derive(Clone, Copy)]
enum SplitKind {
    Test,
    Train,
    Calibration,
}

/// CIFAR-100: fine class → superclass, read off the training labels.
fn superclass_map(train: &Split, k: usize) -> Option<Vec<u32>> {
    let coarse = train.coarse.as_ref()?;
    let mut map = vec![0u32; k];
    for (&fine, &c) in train.labels.iter().zip(coarse) {
        map[fine as usize] = c;
    }
    Some(map)
}
