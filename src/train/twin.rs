//! What the PyTorch twin (`python/`) is checked against: one optimiser step on given training
//! indices without augmentation, and raw test logits.
//! Each uses its own buffer pool and uploads so the trainer's epoch state stays untouched.

use super::inputs::BatchInputs;
use super::{record_step, Method, Trainer};
use crate::data::Split;
use crate::error::{Error, Result};
use crate::gpu::{readback, BufferPool, Recorder};
use crate::ops::sgd::SgdConfig;
use crate::tape::{Tape, Var};

impl Trainer {
    /// Exactly one step of the configured method on training images `anchors` (and, for CS-KD,
    /// `partners`, one per anchor), no augmentation, at learning rate `lr`. Returns (L, CE, T²·KL).
    pub async fn twin_step(
        &mut self,
        anchors: &[u32],
        partners: &[u32],
        lr: f32,
    ) -> Result<[f32; 3]> {
        let cskd = self.config.method == Method::Cskd;
        let n = self.data.train.len();
        if anchors.is_empty() {
            return Err(Error::Config("no anchor indices given".into()));
        }
        if let Some(&bad) = anchors.iter().chain(partners).find(|&&i| i as usize >= n) {
            return Err(Error::Config(format!(
                "index {bad} out of range: the training split has {n} images"
            )));
        }
        if cskd && partners.len() != anchors.len() {
            return Err(Error::Config(format!(
                "CS-KD needs one partner per anchor: {} anchors, {} partners",
                anchors.len(),
                partners.len()
            )));
        }
        let labels = &self.data.train.labels;
        if let Some((a, p)) = anchors
            .iter()
            .zip(partners)
            .find(|(&a, &p)| labels[a as usize] != labels[p as usize])
        {
            return Err(Error::Config(format!(
                "partner {p} has another class than anchor {a}"
            )));
        }
        let pool = BufferPool::new();
        let (mut xa_in, mut xp_in) = (
            BatchInputs::new(&self.gpu, anchors.len()),
            BatchInputs::new(&self.gpu, partners.len().max(1)),
        );
        let mut rec = Recorder::new(&self.gpu, &pool);
        let (xa, y) = xa_in.load(&mut rec, &self.data.train, anchors, None);
        let xp = cskd.then(|| xp_in.load(&mut rec, &self.data.train, partners, None).0);
        let sgd = SgdConfig {
            lr,
            momentum: self.config.momentum,
            weight_decay: self.config.weight_decay,
            nesterov: self.config.nesterov,
        };
        let loss = record_step(
            &mut rec,
            &self.model,
            &xa,
            xp.as_ref(),
            &y,
            self.config.loss(),
            sgd,
        );
        let l = readback::read(&mut rec, &loss).await?;
        if !l[0].is_finite() {
            return Err(Error::Diverged(format!("the step's loss is {}", l[0])));
        }
        self.state.steps_done += 1;
        Ok([l[0], l[1], l[2]])
    }

    /// Eval-mode logits (N, K) of every image of `split` (normalisation only).
    pub async fn twin_logits(&self, split: &Split) -> Result<Vec<f32>> {
        const CHUNK: usize = 50;
        let pool = BufferPool::new();
        let mut inputs = BatchInputs::new(&self.gpu, CHUNK.min(split.len()).max(1));
        let mut logits = Vec::with_capacity(split.len() * self.data.num_classes());
        let indices: Vec<u32> = (0..split.len() as u32).collect();
        for chunk in indices.chunks(CHUNK) {
            let mut rec = Recorder::new(&self.gpu, &pool);
            let (x, _) = inputs.load(&mut rec, split, chunk, None);
            let out = self
                .model
                .forward(&mut rec, &mut Tape::off(), &Var::constant(x), false);
            logits.extend(readback::read(&mut rec, &out.logits.value).await?);
        }
        Ok(logits)
    }
}
