//! Checkpoints in safetensors: parameters and batch-norm running statistics under their PyTorch
//! names (plus `num_batches_tracked`), SGD momentum buffers under `_momentum.<name>` (and PS-KD's
//! last-epoch predictions under `_pskd.predictions`), and as
//! metadata the configuration, the training state and the metrics history (JSON strings).
//! In PyTorch: `sd = safetensors.torch.load_file(p); model.load_state_dict({k: v for k, v in
//! sd.items() if not k.startswith("_")})`.
//!
//! This module knows the file: `encode` writes a [`Snapshot`], [`CheckpointFile`] reads one back
//! for `Trainer::restore`, `info` reads the metadata alone. It never touches a trainer.

use super::identity::DataIdentity;
use super::snapshot::Snapshot;
use super::state_dict;
use super::trainer::{EpochRecord, EpochSums, TrainState};
use super::TrainConfig;
use crate::error::{Error, Result};
use crate::model::ModelConfig;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::collections::HashMap;

const MOMENTUM: &str = "_momentum.";
/// PS-KD's predictions of the previous epoch (N, K): training state, like momentum.
const PSKD_PREDICTIONS: &str = "_pskd.predictions";
/// Metadata key: the KD teacher's fingerprint.
const TEACHER: &str = "teacher";

/// What the metadata of a checkpoint says.
pub struct CheckpointInfo {
    pub model: ModelConfig,
    pub config: Option<TrainConfig>,
    pub state: Option<TrainState>,
    pub history: Vec<EpochRecord>,
    pub classes: Vec<String>,
    /// What the run was trained on (absent in plain state_dicts and exports).
    pub data: Option<DataIdentity>,
}

/// A snapshot as checkpoint bytes.
pub fn encode(snap: &Snapshot) -> Result<Vec<u8>> {
    let mut owned: Vec<(String, Vec<usize>, &[f32])> = Vec::new();
    for t in &snap.weights {
        owned.push((t.name.clone(), t.shape.clone(), &t.values));
    }
    for t in &snap.momentum {
        owned.push((
            CheckpointFile::momentum_name(&t.name),
            t.shape.clone(),
            &t.values,
        ));
    }
    if let Some(t) = &snap.pskd_predictions {
        owned.push((PSKD_PREDICTIONS.to_string(), t.shape.clone(), &t.values));
    }
    let tracked = (snap.bn_batches as i64).to_le_bytes();
    let mut views: Vec<(String, TensorView)> = Vec::new();
    for (name, shape, values) in &owned {
        let bytes: &[u8] = bytemuck::cast_slice(values);
        views.push((
            name.clone(),
            TensorView::new(Dtype::F32, shape.clone(), bytes).map_err(ck)?,
        ));
    }
    for t in &snap.weights {
        if let Some(bn) = t.name.strip_suffix(".running_mean") {
            views.push((
                format!("{bn}.num_batches_tracked"),
                TensorView::new(Dtype::I64, vec![], &tracked).map_err(ck)?,
            ));
        }
    }
    let mut meta = HashMap::from([
        ("format".to_string(), "cskd-1".to_string()),
        ("model".to_string(), json(&snap.model)),
        ("config".to_string(), json(&snap.config)),
        ("state".to_string(), json(&snap.state)),
        ("history".to_string(), json(&snap.history)),
        ("classes".to_string(), json(&snap.classes)),
        ("data".to_string(), json(&snap.data)),
        ("epochSums".to_string(), json(&snap.sums)),
    ]);
    if let Some(f) = &snap.teacher {
        meta.insert(TEACHER.to_string(), f.clone());
    }
    safetensors::serialize(views, Some(meta)).map_err(ck)
}

/// Reads the metadata (which model, config, state) without touching any GPU.
pub fn info(bytes: &[u8]) -> Result<CheckpointInfo> {
    info_of(&metadata(bytes)?)
}

fn info_of(meta: &HashMap<String, String>) -> Result<CheckpointInfo> {
    let get = |k: &str| {
        meta.get(k).ok_or_else(|| {
            Error::Checkpoint(format!("not a cskd checkpoint: metadata {k:?} is missing"))
        })
    };
    let model: ModelConfig = serde_json::from_str(get("model")?)
        .map_err(|e| Error::Checkpoint(format!("model metadata: {e}")))?;
    let config = meta.get("config").and_then(|s| {
        let mut c: TrainConfig = serde_json::from_str(s).ok()?;
        // Runs saved before calibration existed held nothing out: resume them as they were.
        if !s.contains("\"calibrationFraction\"") {
            c.calibration_fraction = 0.0;
        }
        Some(c)
    });
    let state = meta.get("state").and_then(|s| serde_json::from_str(s).ok());
    let history = meta
        .get("history")
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    let classes = meta
        .get("classes")
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    let data = meta.get("data").and_then(|s| serde_json::from_str(s).ok());
    Ok(CheckpointInfo {
        model,
        config,
        state,
        history,
        classes,
        data,
    })
}

/// A checkpoint file (or plain state_dict) decoded for reading: its tensors and metadata.
pub struct CheckpointFile<'a> {
    st: SafeTensors<'a>,
    meta: HashMap<String, String>,
}

impl<'a> CheckpointFile<'a> {
    /// PS-KD's predictions of the previous epoch (N, K): training state, like momentum.
    pub const PSKD_PREDICTIONS: &'static str = PSKD_PREDICTIONS;

    pub fn parse(bytes: &'a [u8]) -> Result<CheckpointFile<'a>> {
        Ok(CheckpointFile {
            st: SafeTensors::deserialize(bytes).map_err(ck)?,
            meta: metadata(bytes)?,
        })
    }

    /// The name of a parameter's momentum buffer in the file.
    pub fn momentum_name(param: &str) -> String {
        format!("{MOMENTUM}{param}")
    }

    pub fn tensors(&self) -> &SafeTensors<'a> {
        &self.st
    }

    /// The model the metadata names (`None` for a plain state_dict).
    pub fn model(&self) -> Result<Option<ModelConfig>> {
        self.meta
            .get("model")
            .map(|m| {
                serde_json::from_str(m)
                    .map_err(|e| Error::Checkpoint(format!("model metadata: {e}")))
            })
            .transpose()
    }

    pub fn info(&self) -> Result<CheckpointInfo> {
        info_of(&self.meta)
    }

    /// The KD teacher's fingerprint the run recorded.
    pub fn teacher(&self) -> Option<&str> {
        self.meta.get(TEACHER).map(String::as_str)
    }

    /// The running sums of the epoch the run stopped in (older checkpoints have none: the epoch's
    /// loss then averages the steps after the resume).
    pub fn epoch_sums(&self) -> EpochSums {
        self.meta
            .get("epochSums")
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default()
    }

    /// The largest `num_batches_tracked` in the file (PyTorch keeps one per BN layer, all equal).
    pub fn tracked_batches(&self) -> Result<Option<u64>> {
        let mut most: Option<u64> = None;
        for (name, v) in self.st.tensors() {
            if !name.ends_with(".num_batches_tracked") {
                continue;
            }
            let n = match (v.dtype(), v.data().len()) {
                (Dtype::I64, 8) => i64::from_le_bytes(v.data().try_into().expect("8 bytes")),
                (Dtype::I32, 4) => i32::from_le_bytes(v.data().try_into().expect("4 bytes")) as i64,
                _ => {
                    return Err(Error::Checkpoint(format!(
                        "{name} is {:?} {:?}, expected a scalar I64",
                        v.dtype(),
                        v.shape()
                    )))
                }
            };
            let n = u64::try_from(n)
                .map_err(|_| Error::Checkpoint(format!("{name} is negative ({n})")))?;
            most = Some(most.map_or(n, |m| m.max(n)));
        }
        Ok(most)
    }
}

/// Names that hold optimiser or method state rather than the model (`_`-prefixed).
fn is_training_state(name: &str) -> bool {
    name.starts_with(MOMENTUM) || name == PSKD_PREDICTIONS
}

/// The metadata strings (empty for a plain state_dict).
fn metadata(bytes: &[u8]) -> Result<HashMap<String, String>> {
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(ck)?;
    Ok(header.metadata().clone().unwrap_or_default())
}

/// An inference-only copy: weights, running statistics and `num_batches_tracked`, with the
/// model and class names as metadata; no momentum, configuration, state or history.
pub fn inference_only(bytes: &[u8]) -> Result<Vec<u8>> {
    let st = SafeTensors::deserialize(bytes).map_err(ck)?;
    state_dict::check_all(&st)?;
    let meta = metadata(bytes)?;
    let keep: HashMap<String, String> = meta
        .into_iter()
        .filter(|(k, _)| ["format", "model", "classes"].contains(&k.as_str()))
        .collect();
    let views: Vec<(String, TensorView)> = st
        .tensors()
        .into_iter()
        .filter(|(n, _)| !is_training_state(n))
        .collect();
    safetensors::serialize(views, Some(keep)).map_err(ck)
}

fn ck(e: safetensors::SafeTensorError) -> Error {
    Error::Checkpoint(e.to_string())
}

/// Metadata values are strings: JSON of plain data.
fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_config(config: &str) -> Vec<u8> {
        let meta = HashMap::from([
            (
                "model".to_string(),
                r#"{"name":"smallcnn","width":4,"classes":10}"#.to_string(),
            ),
            ("config".to_string(), config.to_string()),
        ]);
        safetensors::serialize(Vec::<(String, TensorView)>::new(), Some(meta)).unwrap()
    }

    #[test]
    fn runs_saved_before_calibration_resume_without_a_held_out_split() {
        let old = info(&with_config(r#"{"perClass":0}"#)).unwrap();
        assert_eq!(old.config.unwrap().calibration_fraction, 0.0);
        let new = info(&with_config(r#"{"calibrationFraction":0.2}"#)).unwrap();
        assert_eq!(new.config.unwrap().calibration_fraction, 0.2);
    }
}
