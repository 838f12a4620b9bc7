//! The JavaScript API (wasm-bindgen): the npm package's surface and what the demo page uses.
//! Every failure becomes a JS `Error` with a message; inputs are checked before they reach code
//! that could panic, so nothing traps with "unreachable".

mod device;
mod image;

pub use device::{destroy_device_for_testing, gpu_lost, reset_gpu, webgpu_available};

use crate::data::{self, Cifar};
use crate::ops::augment::{augment_reference, Crop};
use crate::train::{self, checkpoint, TrainConfig};
use device::gpu;
use js_sys::{Float32Array, Object, Reflect, Uint32Array};
use wasm_bindgen::prelude::*;

type JsResult<T> = Result<T, JsError>;

fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

fn to_js<T: serde::Serialize>(v: &T) -> JsResult<JsValue> {
    // Plain objects (not Maps), so the page can spread and JSON them.
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(js_err)
}

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** Training configuration; every field is optional (defaults in brackets). */
export interface TrainConfig {
  model?: "smallcnn" | "resnet10" | "resnet18"; // ["smallcnn"]
  width?: number;          // base width, 0 = the model's default (32, 16, 64) [0]
  method?: "ce" | "cskd" | "ls" | "pskd"; // ["cskd"]; "pskd": progressive self-KD (Kim et al., ICCV 2021)
  temperature?: number;    // T [4]
  lambda?: number;         // λ [1]
  smoothing?: number;      // ε for "ls" [0.1]
  mix?: "none" | "mixup" | "cutmix"; // input mixing, with "ce" and "cskd" ["none"]
  mixAlpha?: number;       // Beta(α, α) of the mixing weight [1]
  kdLambda?: number;       // weight of KD from the teacher given to Trainer.create, 0 = off [0]
  kdTemperature?: number;  // KD temperature [4]
  pskdAlpha?: number;      // PS-KD's final α_T (α_t = α_T · epoch / epochs) [0.8]
  nesterov?: boolean;      // Nesterov momentum (PS-KD's official recipe) [false]
  calibrationFraction?: number; // class-balanced share of the training pool held out to fit
                           // temperature scaling, 0 = off [0.1]
  lr?: number; momentum?: number; weightDecay?: number; // [0.1, 0.9, 1e-4]
  batch?: number; epochs?: number;                      // [128, 30]
  schedule?: "step" | "cosine";                         // ["step"]
  seed?: number; augment?: boolean;                     // [0, true]
  perClass?: number; testPerClass?: number;             // class-balanced subsets, 0 = all [0, 0]
}
export interface AdapterInfo {
  name: string; backend: string; driver: string; deviceType: string; features: string[];
  maxBufferSize: number; maxStorageBufferBindingSize: number; maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupStorageSize: number; maxComputeWorkgroupsPerDimension: number;
}
export interface StepResult {
  epoch: number; step: number; loss: number; ce: number; kl: number; lr: number;
  imagesPerSec: number; epochDone: boolean;
}
export interface Reliability { binConfidence: number[]; binAccuracy: number[]; binCount: number[] }
export interface Metrics {
  top1Error: number; top5Error: number; nll: number; ece: number; recallAt1: number | null;
  perClassAccuracy: number[]; confusion: number[][]; reliability: Reliability;
  superclassShare: number | null; count: number;
  /** The metrics after dividing the logits by the temperature fitted on the held-out set. */
  temperatureScaled: { temperature: number; ece: number; nll: number; reliability: Reliability } | null;
}
export interface EpochRecord {
  epoch: number; lr: number; trainLoss: number; trainCe: number; trainKl: number;
  seconds: number; imagesPerSec: number; test: Metrics | null;
}
export interface Embeddings { dim: number; data: Float32Array; labels: Uint32Array }
export interface Predictions { classes: number; probs: Float32Array; labels: Uint32Array }
/** One pass over the test subset: `Trainer.evaluateAll()`. */
export interface Evaluation { metrics: Metrics; embeddings: Embeddings; predictions: Predictions }
export interface W1Result {
  method: string; imagesPerStep: number; steps: number; medianStepMs: number;
  imagesPerSec: number; dispatchesPerStep: number;
}
"#;

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// The adapter: name, backend, limits. Rejects when there is no WebGPU adapter.
#[wasm_bindgen(js_name = adapterInfo, unchecked_return_type = "AdapterInfo")]
pub async fn adapter_info() -> JsResult<JsValue> {
    to_js(&gpu().await?.summary())
}

/// W1 of docs/BENCHMARKS.md in this browser: `anchors` anchors (+ as many partners with `cskd`) per step,
/// `steps` timed steps after 3 warm-up steps. Resolves to {method, imagesPerStep, medianStepMs, imagesPerSec, …}.
#[wasm_bindgen(js_name = benchW1, unchecked_return_type = "W1Result")]
pub async fn bench_w1(cskd: bool, anchors: usize, steps: usize) -> JsResult<JsValue> {
    if anchors == 0 || steps == 0 {
        return Err(js_err("benchW1 needs at least one anchor and one step"));
    }
    to_js(
        &crate::bench::w1(&*gpu().await?, cskd, anchors, steps)
            .await
            .map_err(js_err)?,
    )
}

#[wasm_bindgen(typescript_custom_section)]
const PROFILE_TS: &str = r#"
/** Options of `profileStep`: CS-KD (else CE) and its anchors per step (CE takes twice as many). */
export interface ProfileOptions { cskd?: boolean; anchors?: number } // [true, 16]
export interface FamilyRow {
  family: string; dispatches: number; ms: number; share: number;
  gflops: number | null; gbs: number | null;
}
export interface StepProfile {
  method: string; imagesPerStep: number; timing: "timestamps" | "isolated"; dispatches: number;
  gpuMs: number; wallMs: number; loss: number; families: FamilyRow[]; unknown: string[];
  kernels: { kernel: string; family: string | null; flops: number; bytes: number; ms: number }[];
}
"#;

/// One W1 step timed per dispatch with GPU timestamps and summed per op family (as `cskd bench
/// --profile`). Rejects when the adapter lacks the timestamp-query feature.
#[wasm_bindgen(js_name = profileStep, unchecked_return_type = "StepProfile")]
pub async fn profile_step(
    #[wasm_bindgen(unchecked_param_type = "ProfileOptions | undefined")] options: JsValue,
) -> JsResult<JsValue> {
    let (mut cskd, mut anchors) = (true, 16usize);
    if !(options.is_undefined() || options.is_null()) {
        if !options.is_object() {
            return Err(js_err("profileStep options must be an object"));
        }
        for entry in Object::entries(options.unchecked_ref()).iter() {
            let pair: js_sys::Array = entry.unchecked_into();
            let (key, value) = (pair.get(0).as_string().unwrap_or_default(), pair.get(1));
            match (key.as_str(), value.as_bool(), value.as_f64()) {
                ("cskd", Some(b), _) => cskd = b,
                ("anchors", _, Some(n)) if n.fract() == 0.0 && (1.0..=65536.0).contains(&n) => {
                    anchors = n as usize
                }
                _ => {
                    return Err(js_err(format!(
                        "profileStep options: {key} = {value:?} is not valid (cskd: boolean, anchors: 1..=65536)"
                    )))
                }
            }
        }
    }
    to_js(
        &crate::bench::profile_w1(&*gpu().await?, cskd, anchors)
            .await
            .map_err(js_err)?,
    )
}

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
    pub async fn predict(&self, rgba: Vec<u8>, width: usize, height: usize) -> JsResult<Vec<f32>> {
        let chw = image::rgba_to_chw32(&rgba, width, height).map_err(js_err)?;
        self.inner
            .predict_normalised(&augment_reference(&chw, &[Crop::NONE]))
            .await
            .map_err(js_err)
    }

    /// A safetensors checkpoint (the CLI's format).
    #[wasm_bindgen(js_name = saveCheckpoint)]
    pub async fn save_checkpoint(&self) -> JsResult<Vec<u8>> {
        self.inner.save_checkpoint().await.map_err(js_err)
    }

    /// Continues the run saved in `bytes` exactly where it stopped (weights, momentum, running
    /// statistics, epoch, step and random streams). Rejects, leaving the trainer as it was, when the
    /// checkpoint has no training state or was trained with another configuration.
    pub async fn resume(&mut self, bytes: Vec<u8>) -> JsResult<()> {
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
        // A plain PyTorch state_dict has no cskd metadata: it loads as weights (load checks it).
        let resume = checkpoint::info(&bytes).is_ok_and(|info| {
            info.state.is_some() && info.config.as_ref() == Some(&self.inner.config)
        });
        self.inner.load_checkpoint(&bytes, resume).map_err(js_err)
    }
}

/// The JS config object through JSON, so a misspelt or unknown field is an error naming it
/// (serde_wasm_bindgen only looks up the known keys and would ignore it).
fn parse_config(config: &JsValue) -> JsResult<TrainConfig> {
    if config.is_undefined() || config.is_null() {
        return Ok(TrainConfig::default());
    }
    // JSON.stringify turns NaN and ±Infinity into null: name the field before that happens.
    if config.is_object() {
        for entry in Object::entries(config.unchecked_ref()).iter() {
            let pair: js_sys::Array = entry.unchecked_into();
            let value = pair.get(1);
            if value.as_f64().is_some_and(|v| !v.is_finite()) {
                return Err(js_err(format!(
                    "invalid configuration: {} = {} is not a finite number",
                    pair.get(0).as_string().unwrap_or_default(),
                    value.as_f64().unwrap_or_default()
                )));
            }
        }
    }
    let text = js_sys::JSON::stringify(config)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| js_err("invalid configuration: not a JSON-compatible object"))?;
    TrainConfig::from_json(&text).map_err(js_err)
}

fn set(obj: &Object, key: &str, value: &JsValue) -> JsResult<()> {
    Reflect::set(obj, &key.into(), value)
        .map(|_| ())
        .map_err(|_| js_err(format!("could not set {key}")))
}

/// A .tar.gz archive (gzip magic) or a loose .bin file.
fn parse_data(name: &str, bytes: &[u8]) -> JsResult<Cifar> {
    let r = if bytes.starts_with(&[0x1f, 0x8b]) {
        data::from_archive_bytes(name, bytes)
    } else {
        data::from_bin_bytes(name, bytes, None)
    };
    r.map_err(js_err)
}
