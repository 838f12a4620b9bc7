//! Checkpoints in safetensors: parameters and batch-norm running statistics under their PyTorch
//! names (plus `num_batches_tracked`), SGD momentum buffers under `_momentum.<name>` (and PS-KD's
//! last-epoch predictions under `_pskd.predictions`), and as
//! metadata the configuration, the training state and the metrics history (JSON strings).
//! In PyTorch: `sd = safetensors.torch.load_file(p); model.load_state_dict({k: v for k, v in
//! sd.items() if not k.startswith("_")})`.

use super::identity::DataIdentity;
use super::state_dict::{self, check_values, to_f32, Want};
use super::trainer::{EpochRecord, TrainState, Trainer};
use super::TrainConfig;
use crate::error::{Error, Result};
use crate::gpu::{readback, Recorder, Tensor};
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

/// Serialises the trainer's weights, momentum, running statistics, state and history.
pub async fn save(trainer: &Trainer) -> Result<Vec<u8>> {
    let store = &trainer.model.store;
    let mut named: Vec<(String, &Tensor)> = Vec::new();
    for p in &store.params {
        named.push((p.name.clone(), &p.value));
        named.push((format!("{MOMENTUM}{}", p.name), &p.velocity));
    }
    for b in &store.buffers {
        named.push((b.name.clone(), &b.value));
    }
    if let Some(p) = trainer.pskd_predictions() {
        named.push((PSKD_PREDICTIONS.to_string(), p));
    }
    let pool = crate::gpu::BufferPool::new();
    let mut rec = Recorder::new(&trainer.gpu, &pool);
    let values =
        readback::read_many(&mut rec, &named.iter().map(|(_, t)| *t).collect::<Vec<_>>()).await?;
    let bytes: Vec<Vec<u8>> = values
        .iter()
        .map(|v| bytemuck::cast_slice(v).to_vec())
        .collect();
    // PyTorch counts one batch per training-mode forward: anchors, and partners for CS-KD.
    let forwards = trainer.state.bn_batches_before as i64
        + trainer.state.steps_done as i64
            * if trainer.config.method == super::Method::Cskd {
                2
            } else {
                1
            };
    let tracked = forwards.to_le_bytes();
    let mut views: Vec<(String, TensorView)> = Vec::new();
    for ((name, t), b) in named.iter().zip(&bytes) {
        views.push((
            name.clone(),
            TensorView::new(Dtype::F32, t.shape().to_vec(), b).map_err(ck)?,
        ));
    }
    for b in &store.buffers {
        if let Some(bn) = b.name.strip_suffix(".running_mean") {
            views.push((
                format!("{bn}.num_batches_tracked"),
                TensorView::new(Dtype::I64, vec![], &tracked).map_err(ck)?,
            ));
        }
    }
    let mut meta = HashMap::from([
        ("format".to_string(), "cskd-1".to_string()),
        ("model".to_string(), json(&trainer.model.config)),
        ("config".to_string(), json(&trainer.config)),
        ("state".to_string(), json(&trainer.state)),
        ("history".to_string(), json(&trainer.history)),
        ("classes".to_string(), json(&trainer.data.classes)),
        ("data".to_string(), json(&trainer.data_identity)),
        ("epochSums".to_string(), json(trainer.epoch_sums())),
    ]);
    if let Some(f) = trainer.teacher_fingerprint() {
        meta.insert(TEACHER.to_string(), f.to_string());
    }
    safetensors::serialize(views, Some(meta)).map_err(ck)
}

/// Reads the metadata (which model, config, state) without touching any GPU.
pub fn info(bytes: &[u8]) -> Result<CheckpointInfo> {
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(ck)?;
    let meta = header.metadata().clone().unwrap_or_default();
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

/// Loads weights and running statistics into the trainer's model; with `resume`, also the
/// momentum buffers, the training state and the history.
///
/// A plain PyTorch `state_dict` saved with `safetensors.torch.save_file` (no cskd metadata) is
/// accepted for the trainer's own model: momentum buffers and `num_batches_tracked` are optional.
/// Every name and shape is checked before anything is written, so a bad file changes nothing; a
/// mismatch lists every missing, extra and wrongly shaped tensor.
pub fn load(trainer: &mut Trainer, bytes: &[u8], resume: bool) -> Result<()> {
    let st = SafeTensors::deserialize(bytes).map_err(ck)?;
    let meta = metadata(bytes)?;
    if let Some(m) = meta.get("model") {
        let model: ModelConfig = serde_json::from_str(m)
            .map_err(|e| Error::Checkpoint(format!("model metadata: {e}")))?;
        if model != trainer.model.config {
            return Err(Error::Checkpoint(format!(
                "the checkpoint holds a {model}, but this run's model is a {}",
                trainer.model.config
            )));
        }
    }
    let (state, history, sums) = if resume {
        let info = info(bytes)?;
        let state = info
            .state
            .ok_or_else(|| Error::Checkpoint("no training state to resume from".into()))?;
        if let Some(theirs) = meta.get("data") {
            let theirs: DataIdentity = serde_json::from_str(theirs)
                .map_err(|e| Error::Checkpoint(format!("data metadata: {e}")))?;
            if let Some(diff) = theirs.difference(&trainer.data_identity) {
                return Err(Error::Checkpoint(format!(
                    "the run was trained on other data: checkpoint {diff} given now; resume with the same data and subset sizes"
                )));
            }
        }
        if let Some(theirs) = meta.get(TEACHER) {
            match trainer.teacher_fingerprint() {
                Some(mine) if mine != theirs => {
                    return Err(Error::Checkpoint(format!(
                        "the run was trained with another teacher (fingerprint {theirs}; the given --teacher is {mine}): resume with the run's own teacher"
                    )))
                }
                _ => {}
            }
        }
        // Older checkpoints have no sums: the epoch's loss then averages the steps after the resume.
        let sums = meta
            .get("epochSums")
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        (Some(state), info.history, sums)
    } else {
        (None, Vec::new(), Default::default())
    };
    let writes = check_tensors(&st, trainer, resume)?;
    let bn_batches = tracked_batches(&st)?;
    for (t, data) in writes {
        t.write(&trainer.gpu.queue, &data);
    }
    if !resume {
        // Fine-tuning from given weights starts with fresh momentum.
        for p in &trainer.model.store.params {
            p.velocity
                .write(&trainer.gpu.queue, &vec![0f32; p.velocity.numel()]);
        }
        trainer.state.bn_batches_before = bn_batches.unwrap_or(0);
    }
    if let Some(state) = state {
        trainer.restore(state, history, sums);
    }
    Ok(())
}

/// Sets the SGD momentum buffers from the checkpoint's `_momentum.<name>` tensors, where it has
/// them (a continued step without the rest of a resume); returns how many it set. Shapes and
/// types are checked before anything is written.
pub fn load_momentum(trainer: &mut Trainer, bytes: &[u8]) -> Result<usize> {
    let st = SafeTensors::deserialize(bytes).map_err(ck)?;
    let mut writes = Vec::new();
    for p in &trainer.model.store.params {
        let name = format!("{MOMENTUM}{}", p.name);
        let Ok(v) = st.tensor(&name) else { continue };
        match to_f32(&v).filter(|_| v.shape() == p.velocity.shape()) {
            Some(data) => {
                check_values(&name, &data)?;
                writes.push((&p.velocity, data))
            }
            None => {
                return Err(Error::Checkpoint(format!(
                    "tensor {name:?} is {:?} {:?}, expected F32 {:?}",
                    v.dtype(),
                    v.shape(),
                    p.velocity.shape()
                )))
            }
        }
    }
    for (t, data) in &writes {
        t.write(&trainer.gpu.queue, data);
    }
    Ok(writes.len())
}

/// Every tensor the model needs, read and checked (`state_dict::read`: names, shapes, types,
/// finite values, running variances ≥ 0); all problems reported at once.
fn check_tensors<'t>(
    st: &SafeTensors,
    trainer: &'t Trainer,
    resume: bool,
) -> Result<Vec<(&'t Tensor, Vec<f32>)>> {
    let store = &trainer.model.store;
    let mut targets: Vec<&Tensor> = Vec::new();
    let mut want: Vec<Want> = Vec::new();
    let mut put = |name: String, t: &'t Tensor, required: bool| {
        want.push(Want {
            name,
            shape: t.shape(),
            required,
        });
        targets.push(t);
    };
    for p in &store.params {
        put(p.name.clone(), &p.value, true);
        put(format!("{MOMENTUM}{}", p.name), &p.velocity, resume);
    }
    for b in &store.buffers {
        put(b.name.clone(), &b.value, true);
    }
    if let Some(p) = trainer.pskd_predictions() {
        // Older checkpoints lack it: the resumed epoch then learns from one-hot targets.
        put(PSKD_PREDICTIONS.to_string(), p, false);
    }
    let is_known = |n: &str| {
        n == PSKD_PREDICTIONS
            || n.strip_suffix(".num_batches_tracked").is_some_and(|bn| {
                store
                    .buffers
                    .iter()
                    .any(|b| b.name == format!("{bn}.running_mean"))
            })
    };
    let values = state_dict::read(st, &want, &trainer.model.config, is_known)?;
    // Momentum and PS-KD's predictions are training state: only a resume uses them.
    Ok(targets
        .into_iter()
        .zip(&want)
        .zip(values)
        .filter(|((_, w), _)| resume || !is_training_state(&w.name))
        .filter_map(|((t, _), v)| v.map(|v| (t, v)))
        .collect())
}

/// Names that hold optimiser or method state rather than the model (`_`-prefixed).
fn is_training_state(name: &str) -> bool {
    name.starts_with(MOMENTUM) || name == PSKD_PREDICTIONS
}

/// The largest `num_batches_tracked` in the file (PyTorch keeps one per BN layer, all equal).
fn tracked_batches(st: &SafeTensors) -> Result<Option<u64>> {
    let mut most: Option<u64> = None;
    for (name, v) in st.tensors() {
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
        let n =
            u64::try_from(n).map_err(|_| Error::Checkpoint(format!("{name} is negative ({n})")))?;
        most = Some(most.map_or(n, |m| m.max(n)));
    }
    Ok(most)
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
