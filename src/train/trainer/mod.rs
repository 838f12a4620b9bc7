//! The trainer: owns the model, the data, the sampler and the random streams, and runs steps
//! (`step.rs`), epochs (here) and evaluations (`evaluate.rs`); what it reports and keeps is in
//! `records.rs`. Host work per step is small (gather bytes, draw crops); everything else is one
//! recording on the GPU, and the loss is the one value read back.

mod evaluate;
mod records;
mod snapshot;
mod step;

pub use records::{EpochRecord, EpochSums, Evaluation, StepReport, TrainState};

use super::calibration::training_and_calibration;
use super::config::{Method, TrainConfig};
use super::identity::DataIdentity;
use super::inputs::{BatchInputs, SoftUploads};
use super::teacher::{load_teacher, Teacher};
use crate::data::{Cifar, PairBatch, PairSampler, Split};
use crate::error::{Error, Result};
use crate::gpu::{BufferPool, Gpu, Tensor};
use crate::model::{limits, Model};
use crate::rng::Rng;
use std::sync::Arc;

/// Images per evaluation chunk (fewer when a wide model's activations would not fit).
const EVAL_CHUNK: usize = 250;

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
    /// Steps submitted whose loss is not read yet (at most two: see `step.rs`).
    in_flight: std::collections::VecDeque<step::InFlight>,
    /// The report of a step settled before `step` asked for it.
    ready: Option<Result<StepReport>>,
    /// When the last step was reported (its successor's time runs from there).
    last_report: Option<web_time::Instant>,
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
        let activations = config.precision.activations();
        let gpu = match gpu.activations() == activations {
            true => gpu,
            false => Arc::new(gpu.with_activations(activations)?),
        };
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
            in_flight: Default::default(),
            ready: None,
            last_report: None,
            soft,
            pskd_prev,
            teacher: None,
        })
    }

    pub fn steps_per_epoch(&self) -> usize {
        self.sampler.num_batches(self.config.batch)
    }

    /// Every epoch has run and been reported (a settled last step still waits for its `step`).
    pub fn finished(&self) -> bool {
        self.state.epoch >= self.config.epochs && self.ready.is_none()
    }

    pub fn lr(&self) -> f32 {
        self.config.lr_at(self.state.epoch)
    }

    /// The KD teacher's fingerprint (recorded in checkpoints, checked on resume).
    pub fn teacher_fingerprint(&self) -> Option<&str> {
        self.teacher.as_ref().map(|t| t.fingerprint.as_str())
    }

    /// Sets the KD teacher from a cskd checkpoint (any model or width with the same classes).
    pub fn set_teacher(&mut self, bytes: &[u8]) -> Result<()> {
        self.settled()?;
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
            let r = self.step_ahead().await?;
            on_step(&r);
            if r.epoch_done {
                break;
            }
        }
        self.evaluate().await?;
        Ok(self.history.last().cloned().expect("an epoch was recorded"))
    }

    /// Pool used by this trainer (benchmarks check it stops growing).
    pub fn pool(&self) -> &BufferPool {
        &self.pool
    }

    /// The running sums of the current epoch.
    pub fn epoch_sums(&self) -> &EpochSums {
        &self.sums
    }
}
