//! The JavaScript API (wasm-bindgen): the npm package's surface and what the demo page uses.
//! Every failure becomes a JS `Error` with a message; inputs are checked before they reach code
//! that could panic, so nothing traps with "unreachable".

mod image;

use crate::data::{self, Cifar};
use crate::error::Error;
use crate::gpu::Gpu;
use crate::ops::augment::{augment_reference, Crop};
use crate::train::{self, checkpoint, TrainConfig};
use js_sys::{Float32Array, Object, Reflect, Uint32Array};
use std::cell::RefCell;
use std::sync::Arc;
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
  method?: "ce" | "cskd" | "ls"; // ["cskd"]
  temperature?: number;    // T [4]
  lambda?: number;         // λ [1]
  smoothing?: number;      // ε for "ls" [0.1]
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
}
export interface EpochRecord {
  epoch: number; lr: number; trainLoss: number; trainCe: number; trainKl: number;
  seconds: number; imagesPerSec: number; test: Metrics | null;
}
export interface Embeddings { dim: number; data: Float32Array; labels: Uint32Array }
export interface Predictions { classes: number; probs: Float32Array; labels: Uint32Array }
export interface W1Result {
  method: string; imagesPerStep: number; steps: number; medianStepMs: number;
  imagesPerSec: number; dispatchesPerStep: number;
}
"#;

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

thread_local! {
    /// One device for every trainer of the page (or worker).
    static GPU: RefCell<Option<Arc<Gpu>>> = const { RefCell::new(None) };
}

async fn gpu() -> JsResult<Arc<Gpu>> {
    if let Some(g) = GPU.with(|g| g.borrow().clone()) {
        return Ok(g);
    }
    if !webgpu_available() {
        return Err(js_err(Error::NoAdapter(
            "navigator.gpu is missing: WebGPU is unavailable in this browser. Use Chrome/Edge 113+ (on Linux enable chrome://flags/#enable-unsafe-webgpu), Safari 26 or Firefox 141+".into(),
        )));
    }
    let g = Arc::new(Gpu::new().await.map_err(js_err)?);
    GPU.with(|cell| *cell.borrow_mut() = Some(g.clone()));
    Ok(g)
}

/// Whether `navigator.gpu` exists (on the page or in a worker).
#[wasm_bindgen(js_name = webgpuAvailable)]
pub fn webgpu_available() -> bool {
    let global = js_sys::global();
    Reflect::get(&global, &"navigator".into())
        .ok()
        .filter(|n| !n.is_undefined())
        .and_then(|n| Reflect::get(&n, &"gpu".into()).ok())
        .is_some_and(|g| !g.is_undefined() && !g.is_null())
}

/// The adapter: name, backend, limits. Rejects when there is no WebGPU adapter.
#[wasm_bindgen(js_name = adapterInfo, unchecked_return_type = "AdapterInfo")]
pub async fn adapter_info() -> JsResult<JsValue> {
    to_js(&gpu().await?.summary())
}

/// W1 of BENCH.md in this browser: `anchors` anchors (+ as many partners with `cskd`) per step,
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

/// A training run: model, data, sampler and optimiser state on the GPU.
#[wasm_bindgen]
pub struct Trainer {
    inner: train::Trainer,
}

#[wasm_bindgen]
impl Trainer {
    /// Creates a trainer from a config object and CIFAR bytes (.tar.gz archive or .bin file).
    pub async fn create(
        #[wasm_bindgen(unchecked_param_type = "TrainConfig | undefined")] config: JsValue,
        data: Vec<u8>,
        file_name: String,
    ) -> JsResult<Trainer> {
        let config: TrainConfig = if config.is_undefined() || config.is_null() {
            TrainConfig::default()
        } else {
            serde_wasm_bindgen::from_value(config)
                .map_err(|e| js_err(format!("invalid configuration: {e}")))?
        };
        config.validate().map_err(js_err)?;
        let cifar = parse_data(&file_name, &data)?;
        let inner = train::Trainer::new(gpu().await?, config, cifar).map_err(js_err)?;
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
        checkpoint::save(&self.inner).await.map_err(js_err)
    }

    /// Loads a checkpoint of the same model; a checkpoint with training state resumes it.
    #[wasm_bindgen(js_name = loadCheckpoint)]
    pub async fn load_checkpoint(&mut self, bytes: Vec<u8>) -> JsResult<()> {
        let info = checkpoint::info(&bytes).map_err(js_err)?;
        let resume = info.state.is_some() && info.config.as_ref() == Some(&self.inner.config);
        checkpoint::load(&mut self.inner, &bytes, resume).map_err(js_err)
    }
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
