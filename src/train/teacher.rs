//! The KD teacher: any cskd checkpoint (another model or width), loaded into its own `Model` and
//! only ever run in eval mode. Its class count must match the data; nothing else has to.

use super::checkpoint;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::model::Model;
use safetensors::tensor::Dtype;
use safetensors::SafeTensors;

/// Builds the teacher of a `classes`-class task from checkpoint bytes; every weight and running
/// statistic is checked (name, shape, f32) before the model is returned.
pub fn load_teacher(gpu: &Gpu, bytes: &[u8], classes: usize) -> Result<Model> {
    let info = checkpoint::info(bytes)?;
    if info.model.classes != classes {
        return Err(Error::Checkpoint(format!(
            "the teacher predicts {} classes, the data has {classes}",
            info.model.classes
        )));
    }
    let model = Model::new(gpu, &info.model, 0)?;
    let st =
        SafeTensors::deserialize(bytes).map_err(|e| Error::Checkpoint(format!("teacher: {e}")))?;
    let store = &model.store;
    let named = store
        .params
        .iter()
        .map(|p| (&p.name, &p.value))
        .chain(store.buffers.iter().map(|b| (&b.name, &b.value)));
    let mut writes = Vec::new();
    for (name, t) in named {
        let v = st
            .tensor(name)
            .map_err(|_| Error::Checkpoint(format!("teacher: tensor {name} is missing")))?;
        if v.shape() != t.shape() || v.dtype() != Dtype::F32 {
            return Err(Error::Checkpoint(format!(
                "teacher: {name} is {:?} {:?}, expected F32 {:?}",
                v.dtype(),
                v.shape(),
                t.shape()
            )));
        }
        writes.push((t, bytemuck::pod_collect_to_vec::<u8, f32>(v.data())));
    }
    for (t, data) in writes {
        t.write(&gpu.queue, &data);
    }
    Ok(model)
}
