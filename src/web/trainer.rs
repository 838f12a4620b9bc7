//! The `Trainer` class: a training run on the GPU (create, step, evaluate, checkpoints, resume).

use super::config::{parse_config, parse_data};
use super::device::gpu;
use super::image;
use super::{js_err, set, shown, to_js, JsResult};
use crate::ops::augment::{augment_reference, Crop};
use crate::train::{self, checkpoint};
use js_sys::{Float32Array, Object, Uint32Array};
use wasm_bindgen::prelude::*;

/// Most steps one `steps(n)` call runs (its reports are held until it resolves).
const MAX_STEPS: usize = 65536;

/// A training run: model, data, sampler and optimiser state on the GPU.
#[wasm_bindgen]
pub struct Trainer {
    inner: train::Trainer,
}

#[wasm_bindgen]
impl Trainer {
    /// Creates a trainer from a config object and CIFAR bytes (.tar.gz archive or .bin file).
    /// `teacherBytes`: a cskd checkpoint (any model or width with the same classes) to distil
    /// from when `kdLambda` > 0; it runs in eval mode.
    pub async fn create(
        #[wasm_bindgen(unchecked_param_type = "TrainConfig | undefined")] config: JsValue,
        data: Vec<u8>,
        file_name: String,
        #[wasm_bindgen(js_name = teacherBytes)] teacher_bytes: Option<Vec<u8>>,
    ) -> JsResult<Trainer> {
        let config = parse_config(&config)?;
        let cifar = parse_data(&file_name, &data)?;
        let mut inner = train::Trainer::new(gpu().await?, config, cifar).map_err(js_err)?;
        if let Some(bytes) = teacher_bytes {
            inner.set_teacher(&bytes).map_err(js_err)?;
        }
        Ok(Trainer { inner })
    }

    /// The resolved configuration (defaults filled in).
    #[wasm_bindgen(unchecked_return_type = "TrainConfig")]
    pub fn config(&self) -> JsResult<JsValue> {
        let mut c = self.inner.config.clone();
        c.width = self.inner.model.config.width;
        to_js(&c)
    }

    pub fn classes(&self) -> Vec<String> {
        self.inner.data.classes.clone()
    }

    #[wasm_bindgen(js_name = stepsPerEpoch)]
    pub fn steps_per_epoch(&self) -> usize {
        self.inner.steps_per_epoch()
    }

    /// Finished epochs.
    pub fn epoch(&self) -> usize {
        self.inner.state.epoch
    }

    #[wasm_bindgen(js_name = stepInEpoch)]
    pub fn step_in_epoch(&self) -> usize {
        self.inner.state.step_in_epoch
    }

    #[wasm_bindgen(js_name = totalSteps)]
    pub fn total_steps(&self) -> usize {
        self.inner.config.epochs * self.inner.steps_per_epoch()
    }

    #[wasm_bindgen(js_name = numTest)]
    pub fn num_test(&self) -> usize {
        self.inner.data.test.len()
    }

    #[wasm_bindgen(js_name = numParameters)]
    pub fn num_parameters(&self) -> usize {
        self.inner.model.store.num_parameters()
    }

    /// One training step: {epoch, step, loss, ce, kl, lr, imagesPerSec, epochDone}.
    #[wasm_bindgen(unchecked_return_type = "StepResult")]
    pub async fn step(&mut self) -> JsResult<JsValue> {
        if self.inner.finished() {
            return Err(js_err("training is finished: all epochs have run"));
        }
        to_js(&self.inner.step().await.map_err(js_err)?)
    }

    /// Up to `n` training steps, pipelined: each step's successor is submitted before its loss is
    /// read, so the GPU never waits for the host. Resolves to their reports in order (bit-identical
    /// to `n` calls of `step()`), fewer when one finishes an epoch (the last report then has
    /// `epochDone`), with no step left in flight: every other call sees all of them done. Rejects
    /// at the first failing step; the steps before it count, as separate `step()` calls would.
    #[wasm_bindgen(unchecked_return_type = "StepResult[]")]
    pub async fn steps(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
    ) -> JsResult<JsValue> {
        let n = n
            .as_f64()
            .filter(|v| v.fract() == 0.0 && (1.0..=MAX_STEPS as f64).contains(v))
            .ok_or_else(|| {
                js_err(format!(
                    "steps(n): n must be an integer from 1 to {MAX_STEPS}, not {}",
                    shown(&n)
                ))
            })? as usize;
        if self.inner.finished() {
            return Err(js_err("training is finished: all epochs have run"));
        }
        let mut reports = Vec::new();
        for i in 0..n {
            // The last step reads its own loss: nothing stays in flight.
            let r = if i + 1 < n {
                self.inner.step_ahead().await
            } else {
                self.inner.step().await
            };
            let r = match r {
                Ok(r) => r,
                Err(e) => {
                    self.inner.settle().await;
                    return Err(js_err(e));
                }
            };
            reports.push(r);
            // No step is submitted past an epoch's end, so the trainer is settled here too.
            if reports.last().is_some_and(|r| r.epoch_done) {
                break;
            }
        }
        to_js(&reports)
    }

    /// Metrics on the test subset.
    #[wasm_bindgen(unchecked_return_type = "Metrics")]
    pub async fn evaluate(&mut self) -> JsResult<JsValue> {
        to_js(&self.inner.evaluate().await.map_err(js_err)?.metrics)
    }

    /// Metrics, penultimate features and probabilities of the test subset from ONE pass over it
    /// (the page calls this once per epoch instead of `evaluate`, `embeddings` and
    /// `testPredictions`, which each run the whole test set). Like `evaluate`, it attaches the
    /// metrics to the last finished epoch's record.
    #[wasm_bindgen(js_name = evaluateAll, unchecked_return_type = "Evaluation")]
    pub async fn evaluate_all(&mut self) -> JsResult<JsValue> {
        let e = self.inner.evaluate().await.map_err(js_err)?;
        let labels = Uint32Array::from(&self.inner.data.test.labels[..]);
        let embeddings = Object::new();
        set(&embeddings, "dim", &JsValue::from(e.feature_dim as u32))?;
        set(&embeddings, "data", &Float32Array::from(&e.features[..]))?;
        set(&embeddings, "labels", &labels)?;
        let predictions = Object::new();
        let classes = self.inner.data.num_classes() as u32;
        set(&predictions, "classes", &JsValue::from(classes))?;
        set(&predictions, "probs", &Float32Array::from(&e.probs[..]))?;
        set(&predictions, "labels", &labels)?;
        let out = Object::new();
        set(&out, "metrics", &to_js(&e.metrics)?)?;
        set(&out, "embeddings", &embeddings)?;
        set(&out, "predictions", &predictions)?;
        Ok(out.into())
    }

    /// Per-epoch records so far (train loss, test metrics).
    #[wasm_bindgen(unchecked_return_type = "EpochRecord[]")]
    pub fn history(&self) -> JsResult<JsValue> {
        to_js(&self.inner.history)
    }

    /// Penultimate features of the test subset: {dim, data: Float32Array (N×dim), labels}.
    #[wasm_bindgen(unchecked_return_type = "Embeddings")]
    pub async fn embeddings(&mut self) -> JsResult<JsValue> {
        let e = self.inner.predict_split(true).await.map_err(js_err)?;
        let out = Object::new();
        set(&out, "dim", &JsValue::from(e.feature_dim as u32))?;
        set(&out, "data", &Float32Array::from(&e.features[..]))?;
        set(
            &out,
            "labels",
            &Uint32Array::from(&self.inner.data.test.labels[..]),
        )?;
        Ok(out.into())
    }

    /// Softmax probabilities of the test subset: {classes, probs: Float32Array (N×K), labels}.
    #[wasm_bindgen(js_name = testPredictions, unchecked_return_type = "Predictions")]
    pub async fn test_predictions(&mut self) -> JsResult<JsValue> {
        let e = self.inner.predict_split(true).await.map_err(js_err)?;
        let out = Object::new();
        set(
            &out,
            "classes",
            &JsValue::from(self.inner.data.num_classes() as u32),
        )?;
        set(&out, "probs", &Float32Array::from(&e.probs[..]))?;
        set(
            &out,
            "labels",
            &Uint32Array::from(&self.inner.data.test.labels[..]),
        )?;
        Ok(out.into())
    }

    /// Test image `index` as 32×32 RGBA bytes.
    #[wasm_bindgen(js_name = testImage)]
    pub fn test_image(&self, index: usize) -> JsResult<Vec<u8>> {
        let test = &self.inner.data.test;
        if index >= test.len() {
            return Err(js_err(format!(
                "test image {index} out of range (there are {})",
                test.len()
            )));
        }
        Ok(image::chw_to_rgba(test.image(index)))
    }

    /// Class probabilities for an RGBA image of any size (resized to 32×32).
    pub async fn predict(
        &mut self,
        rgba: Vec<u8>,
        width: usize,
        height: usize,
    ) -> JsResult<Vec<f32>> {
        let chw = image::rgba_to_chw32(&rgba, width, height).map_err(js_err)?;
        self.inner
            .predict_normalised(&augment_reference(&chw, &[Crop::NONE]))
            .await
            .map_err(js_err)
    }

    /// A safetensors checkpoint (the CLI's format).
    #[wasm_bindgen(js_name = saveCheckpoint)]
    pub async fn save_checkpoint(&mut self) -> JsResult<Vec<u8>> {
        self.inner.save_checkpoint().await.map_err(js_err)
    }

    /// Continues the run saved in `bytes` exactly where it stopped (weights, momentum, running
    /// statistics, epoch, step and random streams). Rejects, leaving the trainer as it was, when the
    /// checkpoint has no training state or was trained with another configuration.
    pub async fn resume(&mut self, bytes: Vec<u8>) -> JsResult<()> {
        self.inner.settle().await;
        let info = checkpoint::info(&bytes).map_err(js_err)?;
        if info.state.is_none() {
            return Err(js_err(
                "this checkpoint has no training state to resume (it holds weights only)",
            ));
        }
        let saved = info
            .config
            .ok_or_else(|| js_err("this checkpoint does not record its training configuration"))?;
        if saved != self.inner.config {
            return Err(js_err(format!(
                "the checkpoint was trained with another configuration (checkpoint → this trainer: {}); create the trainer with the checkpoint's",
                saved.diff(&self.inner.config).join(", ")
            )));
        }
        self.inner.load_checkpoint(&bytes, true).map_err(js_err)
    }

    /// Loads a checkpoint of the same model; a checkpoint with training state resumes it.
    #[wasm_bindgen(js_name = loadCheckpoint)]
    pub async fn load_checkpoint(&mut self, bytes: Vec<u8>) -> JsResult<()> {
        self.inner.settle().await;
        // A plain PyTorch state_dict has no cskd metadata: it loads as weights (load checks it).
        let resume = checkpoint::info(&bytes).is_ok_and(|info| {
            info.state.is_some() && info.config.as_ref() == Some(&self.inner.config)
        });
        self.inner.load_checkpoint(&bytes, resume).map_err(js_err)
    }
}
