//! W1: one whole training step of SmallCNN (width 32, 100 classes) on random data. Both steps move
//! the same images: CS-KD takes `anchors` anchors + as many partners, CE takes 2 × `anchors` anchors.

use super::{at_least_one, median};
use crate::error::{Error, Result};
use crate::gpu::{readback, BufferPool, Gpu, Recorder, Tensor};
use crate::model::{Model, ModelConfig, ModelName};
use crate::ops::loss::LossConfig;
use crate::ops::sgd::SgdConfig;
use crate::rng::Rng;
use crate::train::record_step;
use serde::Serialize;
use web_time::Instant;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct W1Result {
    pub method: String,
    /// Images per step (CS-KD: anchors + partners; CE: anchors).
    pub images_per_step: usize,
    pub steps: usize,
    pub median_step_ms: f64,
    /// Images per second from the median step time.
    pub images_per_sec: f64,
    pub dispatches_per_step: usize,
}

/// W1's model, data and optimiser, ready to record steps.
pub struct W1Setup {
    pub cskd: bool,
    model: Model,
    anchors: Tensor,
    partners: Option<Tensor>,
    labels: Tensor,
}

impl W1Setup {
    /// `anchors`: CS-KD anchors per step (CE gets twice as many, so both steps move the same images).
    pub fn new(gpu: &Gpu, cskd: bool, anchors: usize) -> Result<W1Setup> {
        at_least_one(&[("anchors per step (--batch)", anchors)])?;
        let config = ModelConfig {
            name: ModelName::Smallcnn,
            width: 32,
            classes: 100,
        };
        let n = if cskd { anchors } else { 2 * anchors };
        crate::model::limits::check_fits(&config, n, gpu.limits.max_storage_buffer_binding_size)?;
        let model = Model::new(gpu, &config, 0)?;
        let mut rng = Rng::new(1);
        let mut images = |n: usize| {
            let data: Vec<f32> = (0..n * 3072).map(|_| rng.normal()).collect();
            // Stored as the device stores activations (f16 under mixed precision).
            Tensor::from_f32s(
                &gpu.device,
                &gpu.queue,
                &[n, 3, 32, 32],
                &data,
                gpu.activations(),
            )
        };
        let xa = images(n);
        let partners = cskd.then(|| images(n));
        let labels: Vec<u32> = (0..n).map(|_| rng.below(100) as u32).collect();
        Ok(W1Setup {
            cskd,
            model,
            anchors: xa,
            partners,
            labels: Tensor::from_slice(&gpu.device, &gpu.queue, &[n], &labels),
        })
    }

    pub fn method(&self) -> &'static str {
        if self.cskd {
            "cskd"
        } else {
            "ce"
        }
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Anchors per step (the images that go through the taped forward).
    pub fn anchors(&self) -> usize {
        self.anchors.shape()[0]
    }

    /// Bytes of the step's inputs: images (anchors, partners) and labels.
    pub fn batch_bytes(&self) -> u64 {
        self.anchors.bytes() + self.partners.as_ref().map_or(0, |p| p.bytes()) + self.labels.bytes()
    }

    pub fn images_per_step(&self) -> usize {
        self.anchors.shape()[0] * if self.cskd { 2 } else { 1 }
    }

    /// Records one step; returns its loss tensor.
    pub fn record(&self, rec: &mut Recorder<'_>) -> Tensor {
        let loss_cfg = if self.cskd {
            LossConfig::cskd(4.0, 1.0)
        } else {
            LossConfig::ce()
        };
        let sgd = SgdConfig {
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 5e-4,
            nesterov: false,
        };
        record_step(
            rec,
            &self.model,
            &self.anchors,
            self.partners.as_ref(),
            &self.labels,
            loss_cfg,
            sgd,
        )
    }

    /// Records, submits and waits for one step; fails on a non-finite loss. Returns the loss.
    pub async fn step(&self, rec: &mut Recorder<'_>) -> Result<f32> {
        let loss = self.record(rec);
        let l = readback::read(rec, &loss).await?[0];
        if !l.is_finite() {
            return Err(Error::Diverged(format!("W1 loss {l}")));
        }
        Ok(l)
    }
}

/// W1: `steps` timed steps after 3 warm-up ones (see the module doc for `anchors`), pipelined as
/// the trainer runs them: step i+1 is submitted before step i's loss is read, and a step's time is
/// the time between two loss reads.
pub async fn w1(gpu: &Gpu, cskd: bool, anchors: usize, steps: usize) -> Result<W1Result> {
    at_least_one(&[("timed steps (--steps)", steps)])?;
    let setup = W1Setup::new(gpu, cskd, anchors)?;
    let pool = BufferPool::new();
    let mut times = Vec::new();
    let mut dispatches = 0;
    let total = steps + 3;
    let mut pending: Option<readback::PendingRead> = None;
    let mut last = Instant::now();
    for i in 0..=total {
        let next = (i < total).then(|| {
            let mut rec = Recorder::new(gpu, &pool);
            let loss = setup.record(&mut rec);
            let read = readback::start_read(&mut rec, &loss);
            dispatches = rec.dispatches();
            read
        });
        if let Some(read) = pending.take() {
            let l = read.finish(gpu, &pool, next.is_some()).await?[0];
            if !l.is_finite() {
                return Err(Error::Diverged(format!("W1 loss {l}")));
            }
            if i > 3 {
                times.push(last.elapsed().as_secs_f64());
            }
            last = Instant::now();
        }
        pending = next;
    }
    let median = median(&mut times);
    let images = setup.images_per_step();
    Ok(W1Result {
        method: setup.method().into(),
        images_per_step: images,
        steps,
        median_step_ms: median * 1e3,
        images_per_sec: images as f64 / median,
        dispatches_per_step: dispatches,
    })
}
