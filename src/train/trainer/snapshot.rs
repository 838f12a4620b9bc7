//! The trainer to and from a snapshot: `snapshot` reads its state off the GPU as plain data,
//! `restore` takes a decoded checkpoint file, checks every tensor it needs (names, shapes,
//! finite values: `state_dict::read`) and the run's identity (model, data, teacher), and only
//! then writes anything, so a bad file changes nothing.

use super::Trainer;
use crate::error::{Error, Result};
use crate::gpu::{readback, BufferPool, Recorder, Tensor};
use crate::train::checkpoint::{self, CheckpointFile};
use crate::train::snapshot::{NamedTensor, Snapshot};
use crate::train::state_dict::{self, Want};
use crate::train::Method;

impl Trainer {
    /// The trainer as checkpoint bytes (`checkpoint::encode` of its snapshot).
    pub async fn save_checkpoint(&mut self) -> Result<Vec<u8>> {
        checkpoint::encode(&self.snapshot().await?)
    }

    /// [`Trainer::restore`] from checkpoint bytes.
    pub fn load_checkpoint(&mut self, bytes: &[u8], resume: bool) -> Result<()> {
        self.restore(&CheckpointFile::parse(bytes)?, resume)
    }

    /// [`Trainer::restore_momentum`] from checkpoint bytes.
    pub fn load_momentum(&mut self, bytes: &[u8]) -> Result<usize> {
        self.restore_momentum(&CheckpointFile::parse(bytes)?)
    }

    /// Weights, momentum, running statistics, PS-KD's predictions, state and history.
    pub async fn snapshot(&mut self) -> Result<Snapshot> {
        self.settle().await;
        let store = &self.model.store;
        let mut named: Vec<(&str, &Tensor)> = Vec::new();
        for p in &store.params {
            named.push((&p.name, &p.value));
        }
        for b in &store.buffers {
            named.push((&b.name, &b.value));
        }
        let momentum: Vec<(&str, &Tensor)> = store
            .params
            .iter()
            .map(|p| (p.name.as_str(), &p.velocity))
            .collect();
        let pskd = self.pskd_prev.as_ref();
        let all: Vec<&Tensor> = named
            .iter()
            .chain(&momentum)
            .map(|(_, t)| *t)
            .chain(pskd)
            .collect();
        let pool = BufferPool::new();
        let mut rec = Recorder::new(&self.gpu, &pool);
        let mut values = readback::read_many(&mut rec, &all).await?.into_iter();
        let mut take = |(name, t): &(&str, &Tensor)| NamedTensor {
            name: name.to_string(),
            shape: t.shape().to_vec(),
            values: values.next().expect("one value per tensor"),
        };
        let weights = named.iter().map(&mut take).collect();
        let momentum = momentum.iter().map(&mut take).collect();
        let pskd_predictions = pskd.map(|t| take(&("", t)));
        // PyTorch counts one batch per training-mode forward: anchors, and partners for CS-KD.
        let per_step = if self.config.method == Method::Cskd {
            2
        } else {
            1
        };
        Ok(Snapshot {
            model: self.model.config.clone(),
            config: self.config.clone(),
            state: self.state.clone(),
            history: self.history.clone(),
            classes: self.data.classes.clone(),
            data: self.data_identity.clone(),
            sums: self.sums.clone(),
            teacher: self.teacher_fingerprint().map(str::to_string),
            weights,
            momentum,
            pskd_predictions,
            bn_batches: self.state.bn_batches_before + self.state.steps_done * per_step,
        })
    }

    /// Loads weights and running statistics from a checkpoint file; with `resume`, also the
    /// momentum, PS-KD's predictions, the training state and the history. A plain PyTorch
    /// `state_dict` (no cskd metadata) is accepted for this trainer's own model.
    pub fn restore(&mut self, file: &CheckpointFile, resume: bool) -> Result<()> {
        self.settled()?;
        if let Some(model) = file.model()? {
            if model != self.model.config {
                return Err(Error::Checkpoint(format!(
                    "the checkpoint holds a {model}, but this run's model is a {}",
                    self.model.config
                )));
            }
        }
        let saved = if resume {
            let info = file.info()?;
            let state = info
                .state
                .ok_or_else(|| Error::Checkpoint("no training state to resume from".into()))?;
            if let Some(theirs) = &info.data {
                if let Some(diff) = theirs.difference(&self.data_identity) {
                    return Err(Error::Checkpoint(format!(
                        "the run was trained on other data: checkpoint {diff} given now; resume with the same data and subset sizes"
                    )));
                }
            }
            if let (Some(theirs), Some(mine)) = (file.teacher(), self.teacher_fingerprint()) {
                if theirs != mine {
                    return Err(Error::Checkpoint(format!(
                        "the run was trained with another teacher (fingerprint {theirs}; the given --teacher is {mine}): resume with the run's own teacher"
                    )));
                }
            }
            Some((state, info.history, file.epoch_sums()))
        } else {
            None
        };
        let writes = self.checked_tensors(file, resume)?;
        let bn_batches = file.tracked_batches()?;
        for (t, data) in writes {
            t.write(&self.gpu, &data);
        }
        match saved {
            Some((state, history, sums)) => {
                self.state = state;
                self.history = history;
                self.batches.clear();
                self.sums = sums;
                self.verified = None;
            }
            None => {
                // Fine-tuning from given weights starts with fresh momentum.
                for p in &self.model.store.params {
                    p.velocity.write(&self.gpu, &vec![0f32; p.velocity.numel()]);
                }
                self.state.bn_batches_before = bn_batches.unwrap_or(0);
            }
        }
        Ok(())
    }

    /// Sets the SGD momentum from the file's momentum tensors where it has them (a continued
    /// step without the rest of a resume); returns how many it set. Checked before written.
    pub fn restore_momentum(&mut self, file: &CheckpointFile) -> Result<usize> {
        self.settled()?;
        let params = &self.model.store.params;
        let want: Vec<Want> = params
            .iter()
            .map(|p| Want {
                name: CheckpointFile::momentum_name(&p.name),
                shape: p.velocity.shape(),
                required: false,
            })
            .collect();
        let values = state_dict::read(file.tensors(), &want, &self.model.config, |_| true)?;
        let mut n = 0;
        for (p, v) in params.iter().zip(values) {
            if let Some(v) = v {
                p.velocity.write(&self.gpu, &v);
                n += 1;
            }
        }
        Ok(n)
    }

    /// Every tensor this trainer needs from the file, read and checked; all problems at once.
    fn checked_tensors<'t>(
        &'t self,
        file: &CheckpointFile,
        resume: bool,
    ) -> Result<Vec<(&'t Tensor, Vec<f32>)>> {
        let store = &self.model.store;
        let mut targets: Vec<(&Tensor, bool)> = Vec::new(); // tensor, training state
        let mut want: Vec<Want> = Vec::new();
        let mut put = |name: String, t: &'t Tensor, required: bool| {
            want.push(Want {
                name,
                shape: t.shape(),
                required,
            });
        };
        for p in &store.params {
            put(p.name.clone(), &p.value, true);
            targets.push((&p.value, false));
            put(CheckpointFile::momentum_name(&p.name), &p.velocity, resume);
            targets.push((&p.velocity, true));
        }
        for b in &store.buffers {
            put(b.name.clone(), &b.value, true);
            targets.push((&b.value, false));
        }
        if let Some(p) = &self.pskd_prev {
            // Older checkpoints lack it: the resumed epoch then learns from one-hot targets.
            put(CheckpointFile::PSKD_PREDICTIONS.to_string(), p, false);
            targets.push((p, true));
        }
        let is_known = |n: &str| {
            n == CheckpointFile::PSKD_PREDICTIONS
                || n.strip_suffix(".num_batches_tracked").is_some_and(|bn| {
                    store
                        .buffers
                        .iter()
                        .any(|b| b.name == format!("{bn}.running_mean"))
                })
        };
        let values = state_dict::read(file.tensors(), &want, &self.model.config, is_known)?;
        // Momentum and PS-KD's predictions are training state: only a resume uses them.
        Ok(targets
            .into_iter()
            .zip(values)
            .filter(|((_, state), _)| resume || !state)
            .filter_map(|((t, _), v)| v.map(|v| (t, v)))
            .collect())
    }
}
