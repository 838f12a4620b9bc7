//! Reading tensors out of a safetensors file for a model, without a GPU: every name, shape and
//! type checked, every value finite, every running variance ≥ 0, and all problems reported at
//! once with a hint where the cause is recognisable (a `module.` prefix from
//! DistributedDataParallel, another width, another class count). The checkpoint, teacher and
//! export paths read through here, and so does the `state_dict` fuzz target.

use crate::error::{Error, Result};
use crate::model::ModelConfig;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

/// A tensor the model wants from the file.
pub struct Want<'a> {
    pub name: String,
    pub shape: &'a [usize],
    /// Missing is an error (else the tensor is optional, e.g. momentum outside a resume).
    pub required: bool,
}

/// The values of `want`, in its order (`None` for an absent optional tensor). `known` says which
/// other names in the file are fine to ignore (e.g. `num_batches_tracked`).
pub fn read(
    st: &SafeTensors,
    want: &[Want],
    model: &ModelConfig,
    known: impl Fn(&str) -> bool,
) -> Result<Vec<Option<Vec<f32>>>> {
    let (mut missing, mut wrong) = (Vec::new(), Vec::new());
    let mut values = Vec::with_capacity(want.len());
    for w in want {
        values.push(match st.tensor(&w.name) {
            Err(_) => {
                if w.required {
                    missing.push(format!("{} {:?}", w.name, w.shape));
                }
                None
            }
            Ok(v) if v.shape() != w.shape => {
                wrong.push(format!(
                    "{} is {:?}, expected {:?}",
                    w.name,
                    v.shape(),
                    w.shape
                ));
                None
            }
            Ok(v) => match to_f32(&v) {
                Some(data) => {
                    check_values(&w.name, &data)?;
                    Some(data)
                }
                None => {
                    wrong.push(format!(
                        "{} is {:?}, expected F32 (or F64)",
                        w.name,
                        v.dtype()
                    ));
                    None
                }
            },
        });
    }
    let mut extra: Vec<String> = st
        .names()
        .into_iter()
        .filter(|n| !want.iter().any(|w| &w.name == n) && !known(n))
        .map(str::to_string)
        .collect();
    extra.sort();
    if missing.is_empty() && wrong.is_empty() && extra.is_empty() {
        return Ok(values);
    }
    let mut parts = Vec::new();
    for (what, list) in [
        ("missing", &missing),
        ("wrong shape or type", &wrong),
        ("extra", &extra),
    ] {
        if !list.is_empty() {
            parts.push(format!("{what} ({}): {}", list.len(), list.join(", ")));
        }
    }
    let mut message = format!("the tensors do not match {model} — {}", parts.join("; "));
    if let Some(hint) = hint(st, want, model) {
        message = format!("{hint}. {message}");
    }
    Err(Error::Checkpoint(message))
}

/// Every value finite, and a running variance never negative: the error names the tensor.
pub fn check_values(name: &str, data: &[f32]) -> Result<()> {
    if let Some((i, v)) = data.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(Error::Checkpoint(format!(
            "tensor {name} holds {v} at index {i} of {}: the file is damaged or was saved from a diverged run",
            data.len()
        )));
    }
    if name.ends_with("running_var") {
        if let Some((i, v)) = data.iter().enumerate().find(|(_, v)| **v < 0.0) {
            return Err(Error::Checkpoint(format!(
                "tensor {name} holds {v} at index {i}: a running variance is never negative"
            )));
        }
    }
    Ok(())
}

/// Every floating-point tensor of the file passes [`check_values`] (export, which has no model).
pub fn check_all(st: &SafeTensors) -> Result<()> {
    let mut names = st.names();
    names.sort();
    for name in names {
        let v = st
            .tensor(name)
            .map_err(|e| Error::Checkpoint(e.to_string()))?;
        if let Some(data) = to_f32(&v) {
            check_values(name, &data)?;
        }
    }
    Ok(())
}

/// The recognisable causes of a mismatch, in words.
fn hint(st: &SafeTensors, want: &[Want], model: &ModelConfig) -> Option<String> {
    let names = st.names();
    let prefixed = want
        .iter()
        .filter(|w| w.required)
        .all(|w| names.iter().any(|n| *n == format!("module.{}", w.name)));
    if prefixed {
        return Some(
            "the names start with \"module.\" (a DistributedDataParallel model's state_dict): save \
             model.module.state_dict(), or strip the prefix: {k.removeprefix('module.'): v for k, v in sd.items()}"
                .into(),
        );
    }
    // The stem convolution (the first 4-D tensor reading 3 input channels) scales with the width.
    let stem = want
        .iter()
        .find(|w| w.shape.len() == 4 && w.shape[1] == 3)?;
    let theirs = st.tensor(&stem.name).ok()?;
    let (got, expected) = (*theirs.shape().first()?, stem.shape[0]);
    let scaled = got
        .checked_mul(model.width)
        .filter(|s| s.is_multiple_of(expected));
    if let Some(scaled) = scaled.filter(|_| theirs.shape().len() == 4 && got != expected) {
        let width = scaled / expected;
        return Some(format!(
            "this looks like a {} of width {width}: pass --width {width}",
            model.name
        ));
    }
    // The classifier: the last 2-D tensor.
    let head = want.iter().rev().find(|w| w.shape.len() == 2)?;
    let theirs = st.tensor(&head.name).ok()?;
    match theirs.shape() {
        [k, _] if *k != head.shape[0] => Some(format!(
            "this model predicts {k} classes, the data has {}",
            model.classes
        )),
        _ => None,
    }
}

pub fn to_f32(v: &TensorView) -> Option<Vec<f32>> {
    match v.dtype() {
        Dtype::F32 => Some(bytemuck::pod_collect_to_vec(v.data())),
        Dtype::F64 => Some(
            bytemuck::pod_collect_to_vec::<u8, f64>(v.data())
                .into_iter()
                .map(|x| x as f32)
                .collect(),
        ),
        _ => None,
    }
}
