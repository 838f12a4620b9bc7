//! The KD teacher: any cskd checkpoint (another model or width), loaded into its own `Model` and
//! only ever run in eval mode. Its classes (count and names) must match the data; nothing else
//! has to. Its fingerprint goes into the student's checkpoints, so a resume with another teacher
//! is refused.

use super::checkpoint;
use super::identity::fingerprint_f32;
use super::state_dict::{self, Want};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::model::Model;
use safetensors::SafeTensors;

pub struct Teacher {
    pub model: Model,
    /// A hash of its weights and running statistics (hex).
    pub fingerprint: String,
}

/// Builds the teacher of a task with these class names from checkpoint bytes; every weight and
/// running statistic is checked (name, shape, type, finite, variances ≥ 0) before the model is
/// returned.
pub fn load_teacher(gpu: &Gpu, bytes: &[u8], classes: &[String]) -> Result<Teacher> {
    let info = checkpoint::info(bytes)?;
    if info.model.classes != classes.len() {
        return Err(Error::Checkpoint(format!(
            "the teacher predicts {} classes, the data has {}",
            info.model.classes,
            classes.len()
        )));
    }
    if !info.classes.is_empty() && info.classes != classes {
        return Err(Error::Checkpoint(format!(
            "the teacher was trained on the classes {} but the data's are {}",
            info.classes.join(", "),
            classes.join(", ")
        )));
    }
    let model = Model::new(gpu, &info.model, 0)?;
    let st = SafeTensors::deserialize(bytes).map_err(|e| Error::Checkpoint(e.to_string()))?;
    let store = &model.store;
    let named: Vec<_> = store
        .params
        .iter()
        .map(|p| (&p.name, &p.value))
        .chain(store.buffers.iter().map(|b| (&b.name, &b.value)))
        .collect();
    let want: Vec<Want> = named
        .iter()
        .map(|(name, t)| Want {
            name: name.to_string(),
            shape: t.shape(),
            required: true,
        })
        .collect();
    let values = state_dict::read(&st, &want, &info.model, |_| true)?;
    let values: Vec<Vec<f32>> = values.into_iter().map(|v| v.expect("required")).collect();
    for ((_, t), data) in named.iter().zip(&values) {
        t.write(gpu, data);
    }
    let fingerprint = fingerprint_f32(values.iter().map(Vec::as_slice));
    Ok(Teacher { model, fingerprint })
}
