//! `cskd step`: exactly one optimiser step from a checkpoint on given training-set indices, with no
//! augmentation, saving the updated checkpoint. The PyTorch twin's tests repeat the same step and
//! compare weights, momentum buffers and running statistics.

use super::data::resolve;
use crate::error::{Error, Result};
use crate::model::limits;
use crate::train::checkpoint_file::{read as read_file, write as write_file};
use crate::train::{checkpoint, Method, Trainer};

/// The most anchors one step takes (the trainer's largest batch).
const MAX_ANCHORS: usize = 4096;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct StepArgs {
    #[arg(long)]
    checkpoint: PathBuf,
    /// CIFAR archive, extracted folder or .bin file (default: $CSKD_DATA). Indices refer to its
    /// whole training split.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Anchor indices, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    anchors: Vec<u32>,
    /// Partner indices (CS-KD), one per anchor, each of its anchor's class.
    #[arg(long, value_delimiter = ',')]
    partners: Vec<u32>,
    /// Method (default: the checkpoint's).
    #[arg(long, value_enum)]
    method: Option<Method>,
    /// Learning rate (default: the checkpoint's schedule at its epoch).
    #[arg(long)]
    lr: Option<f32>,
    /// Output .safetensors file (the checkpoint after the step).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(a: StepArgs) -> Result<()> {
    crate::files::refuse_overwriting_input(&a.out, &[("--checkpoint", &a.checkpoint)])
        .map_err(Error::Config)?;
    if a.anchors.len() > MAX_ANCHORS {
        return Err(Error::Config(format!(
            "--anchors: {} indices, but one step takes at most {MAX_ANCHORS}",
            a.anchors.len()
        )));
    }
    let bytes = read_file(&a.checkpoint)?;
    let info = checkpoint::info(&bytes).map_err(|e| e.in_file(&a.checkpoint))?;
    let data = resolve(a.data.as_deref(), None)?;
    let mut config =
        super::eval::trained_config(&info, &data).map_err(|e| e.in_file(&a.checkpoint))?;
    (config.per_class, config.test_per_class) = (0, 0); // indices refer to the whole file
    config.calibration_fraction = 0.0; // nothing carved out of the file either
    config.augment = false;
    if let Some(m) = a.method {
        config.method = m;
    }
    if config.uses_soft_loss() {
        return Err(Error::Config(
            "cskd step runs the ce, cskd and ls steps the PyTorch twin mirrors (no PS-KD, mixing or KD)"
                .into(),
        ));
    }
    if config.method != Method::Cskd && !a.partners.is_empty() {
        return Err(Error::Config(
            "--partners only makes sense with --method cskd".into(),
        ));
    }
    let epoch = info.state.as_ref().map_or(0, |s| s.epoch);
    let lr = a.lr.unwrap_or_else(|| config.lr_at(epoch));
    // Checked as `train` checks its configuration, except that 0 is allowed here: a step at lr 0
    // continues the momentum without moving the weights (the PyTorch twin's tests use it).
    config.validate()?;
    if !(lr.is_finite() && lr >= 0.0) {
        return Err(Error::Config(format!(
            "lr = {lr} is invalid: expected a finite number ≥ 0"
        )));
    }
    let gpu = Arc::new(super::open_gpu()?);
    let k = data.num_classes();
    // The anchors (and partners) are one batch: it must fit the adapter, as `train` checks.
    limits::check_fits(
        &config.model_config(k),
        a.anchors.len(),
        gpu.limits.max_storage_buffer_binding_size as u64,
    )?;
    let mut trainer = Trainer::new(gpu, config, data)?;
    // Weights and running statistics as given, then the checkpoint's momentum (if it has any).
    trainer
        .load_checkpoint(&bytes, false)
        .map_err(|e| e.in_file(&a.checkpoint))?;
    trainer
        .load_momentum(&bytes)
        .map_err(|e| e.in_file(&a.checkpoint))?;
    let [loss, ce, kl] = pollster::block_on(trainer.twin_step(&a.anchors, &a.partners, lr))?;
    let out = pollster::block_on(trainer.save_checkpoint())?;
    write_file(&a.out, &out)?;
    println!(
        "{}",
        serde_json::json!({ "loss": loss, "ce": ce, "kl": kl, "lr": lr })
    );
    Ok(())
}
