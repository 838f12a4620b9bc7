//! Checkpoints in safetensors: parameters and batch-norm running statistics under their PyTorch
//! names (plus `num_batches_tracked`), SGD momentum buffers under `_momentum.<name>`, and as
//! metadata the configuration, the training state and the metrics history (JSON strings).
//! In PyTorch: `sd = safetensors.torch.load_file(p); model.load_state_dict({k: v for k, v in
//! sd.items() if not k.startswith("_momentum.")})`.

use super::trainer::{EpochRecord, TrainState, Trainer};
use super::TrainConfig;
use crate::error::{Error, Result};
use crate::gpu::{readback, Recorder, Tensor};
use crate::model::ModelConfig;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::collections::HashMap;

const MOMENTUM: &str = "_momentum.";

/// What the metadata of a checkpoint says.
pub struct CheckpointInfo {
    pub model: ModelConfig,
    pub config: Option<TrainConfig>,
    pub state: Option<TrainState>,
    pub history: Vec<EpochRecord>,
    pub classes: Vec<String>,
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
    let pool = crate::gpu::BufferPool::new();
    let mut rec = Recorder::new(&trainer.gpu, &pool);
    let values =
        readback::read_many(&mut rec, &named.iter().map(|(_, t)| *t).collect::<Vec<_>>()).await?;
    let bytes: Vec<Vec<u8>> = values
        .iter()
        .map(|v| bytemuck::cast_slice(v).to_vec())
        .collect();
    // PyTorch counts one batch per training-mode forward: anchors, and partners for CS-KD.
    let forwards = trainer.state.steps_done as i64
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
    let meta = HashMap::from([
        ("format".to_string(), "cskd-1".to_string()),
        ("model".to_string(), json(&trainer.model.config)),
        ("config".to_string(), json(&trainer.config)),
        ("state".to_string(), json(&trainer.state)),
        ("history".to_string(), json(&trainer.history)),
        ("classes".to_string(), json(&trainer.data.classes)),
    ]);
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
    let config = meta
        .get("config")
        .and_then(|s| serde_json::from_str(s).ok());
    let state = meta.get("state").and_then(|s| serde_json::from_str(s).ok());
    let history = meta
        .get("history")
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    let classes = meta
        .get("classes")
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    Ok(CheckpointInfo {
        model,
        config,
        state,
        history,
        classes,
    })
}

/// Loads weights and running statistics into the trainer's model (names and shapes must match);
/// with `resume`, also the momentum buffers, the training state and the history.
pub fn load(trainer: &mut Trainer, bytes: &[u8], resume: bool) -> Result<()> {
    let st = SafeTensors::deserialize(bytes).map_err(ck)?;
    let meta = info(bytes)?;
    if meta.model != trainer.model.config {
        return Err(Error::Checkpoint(format!(
            "checkpoint holds {:?}, the trainer has {:?}",
            meta.model, trainer.model.config
        )));
    }
    // Check everything before writing anything, so a bad file changes nothing.
    let store = &trainer.model.store;
    let mut writes: Vec<(&Tensor, Vec<f32>)> = Vec::new();
    let want = |name: &str, t: &'_ Tensor| -> Result<Vec<f32>> {
        let v = st
            .tensor(name)
            .map_err(|_| Error::Checkpoint(format!("tensor {name:?} is missing")))?;
        if v.dtype() != Dtype::F32 || v.shape() != t.shape() {
            return Err(Error::Checkpoint(format!(
                "tensor {name:?} is {:?} {:?}, expected F32 {:?}",
                v.dtype(),
                v.shape(),
                t.shape()
            )));
        }
        Ok(bytemuck::pod_collect_to_vec(v.data()))
    };
    for p in &store.params {
        writes.push((&p.value, want(&p.name, &p.value)?));
        if resume {
            writes.push((
                &p.velocity,
                want(&format!("{MOMENTUM}{}", p.name), &p.velocity)?,
            ));
        }
    }
    for b in &store.buffers {
        writes.push((&b.value, want(&b.name, &b.value)?));
    }
    let state = if resume {
        Some(
            meta.state
                .ok_or_else(|| Error::Checkpoint("no training state to resume from".into()))?,
        )
    } else {
        None
    };
    for (t, data) in writes {
        t.write(&trainer.gpu.queue, &data);
    }
    if !resume {
        // Fine-tuning from given weights starts with fresh momentum.
        for p in &trainer.model.store.params {
            p.velocity
                .write(&trainer.gpu.queue, &vec![0f32; p.velocity.numel()]);
        }
    }
    if let Some(state) = state {
        trainer.restore(state, meta.history);
    }
    Ok(())
}

fn ck(e: safetensors::SafeTensorError) -> Error {
    Error::Checkpoint(e.to_string())
}

/// Metadata values are strings: JSON of plain data.
fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data serialises")
}
