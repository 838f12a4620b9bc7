//! Evaluation: eval-mode forwards of a split in chunks, the metrics, and temperature scaling
//! fitted on the calibration split.

use super::records::Evaluation;
use super::Trainer;
use crate::data::Split;
use crate::error::Result;
use crate::gpu::{readback, Recorder};
use crate::metrics;
use crate::ops::softmax::softmax;
use crate::tape::{Tape, Var};

impl Trainer {
    /// Evaluates on the test split (eval-mode batch norm, no augmentation), with the temperature
    /// fitted on the calibration split when there is one; the metrics are also attached to the
    /// last finished epoch's record if it has none yet.
    pub async fn evaluate(&mut self) -> Result<Evaluation> {
        self.settle().await;
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
        self.settle().await;
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
    pub async fn predict_normalised(&mut self, images: &[f32]) -> Result<Vec<f32>> {
        self.settle().await;
        let n = images.len() / 3072;
        let x = crate::gpu::Tensor::from_f32s(
            &self.gpu.device,
            &self.gpu.queue,
            &[n, 3, 32, 32],
            images,
            self.gpu.activations(),
        );
        let mut rec = Recorder::new(&self.gpu, &self.pool);
        let out = self
            .model
            .forward(&mut rec, &mut Tape::off(), &Var::constant(x), false);
        let p = softmax(&mut rec, &out.logits.value);
        readback::read(&mut rec, &p).await
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
